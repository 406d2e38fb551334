// create-repo: checks every name and every setting locally first (nothing is created when
// anything is wrong), then creates private or public repositories with their settings, or
// with ifNotExists accepts existing ones and with apply brings them in line.
import { checkLifecyclePolicyText, checkRepositoryPolicyText } from '../policy/policy-text.js';
import { loadProjectConfig } from '../config/project-config.js';
import {
  type CatalogData,
  connectEcrPublic,
  createPublicRepository,
  describePublicRepository,
  hasCatalogData,
  putCatalogData,
} from '../ecr/public-repositories.js';
import {
  describeRepository,
  ensureRepository,
  type RepositorySpec,
  type TagMutability,
  updateRepository,
} from '../ecr/repositories.js';
import { settingsFromSession } from '../ecr/aws-config.js';
import { EcrctlError, RuleViolation, UsageError } from '../errors.js';
import {
  houseRuleWarnings,
  type ResourceTag,
  repositoryNameRule,
  suggestRepositoryName,
  validateMutabilityExclusionFilters,
  validateRepositoryName,
  validateResourceTags,
} from '../policy/naming.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/**
 * A value given as it is, or a function that returns it. The function is called only when the
 * op gets to that value, after the cheaper checks: the CLI reads files (or standard input)
 * this way, so a bad name is reported before a missing file.
 */
export type Deferred<T> = T | (() => Promise<T>);

/** Returns the value of a Deferred. */
export async function resolveDeferred<T>(value: Deferred<T>): Promise<T> {
  return typeof value === 'function' ? (value as () => Promise<T>)() : value;
}

/** What createRepositories accepts. Private settings apply without `public`, catalog data with it. */
export interface CreateRepositoriesOptions {
  /** Repository names, e.g. `team/payment-api`; every one is checked before anything is created. */
  names: readonly string[];
  /** Create ECR Public repositories (us-east-1) with catalog data instead of private ones. */
  public?: boolean;
  /** private: whether tags can be moved (default: ECR's, MUTABLE). */
  tagMutability?: TagMutability;
  /** private: shorthand for `tagMutability: 'IMMUTABLE'` (contradicting another setting is a UsageError). */
  immutable?: boolean;
  /** private: tag wildcards excluded from an `*_WITH_EXCLUSION` mutability setting (1–5). */
  mutabilityExclusions?: readonly string[];
  /** private: scan images when they are pushed; false turns it off (with `apply`). */
  scanOnPush?: boolean;
  /** private: encryption at rest (fixed once created); `kmsKey` alone means KMS. */
  encryption?: 'AES256' | 'KMS';
  /** private: the KMS key for KMS encryption (default: the AWS managed key aws/ecr). */
  kmsKey?: string;
  /** private: the lifecycle policy JSON, already validated (`ecrctl lifecycle validate`). */
  lifecyclePolicy?: Deferred<string>;
  /** private: the repository policy JSON, already checked (at most 10,240 characters). */
  repositoryPolicy?: Deferred<string>;
  /** Resource tags as `KEY=VALUE` (an empty value is `KEY=`); at most 50. */
  tags?: readonly string[];
  /** Treat the house naming rules as errors (RuleViolation) rather than warnings. */
  strictNames?: boolean;
  /** An existing repository is success rather than an error. */
  ifNotExists?: boolean;
  /** With ifNotExists: change the settings given here that differ on an existing repository. */
  apply?: boolean;
  /** public: the catalog data, every limit checked (description, about and usage texts, badges, logo). */
  catalog?: Deferred<CatalogData>;
  /**
   * Check everything and say what would be done (`plan` in the result); create and change
   * nothing. ECR is only read: which repositories exist, and how they differ.
   */
  dryRun?: boolean;
}

/** What a dry run would do with one repository. */
export interface PlannedRepository {
  /** The repository name. */
  name: string;
  /** True for an ECR Public repository. */
  public: boolean;
  /**
   * create: it would be created; exists: it is there and would be left as it is; update: it is
   * there and apply would change `changes`; refuse: it is there and ifNotExists is not given.
   */
  action: 'create' | 'exists' | 'update' | 'refuse';
  /** The URI of a repository that exists. */
  uri?: string;
  /** private: the settings it would be created with (only those given; ECR's defaults otherwise). */
  settings: {
    tagMutability?: TagMutability;
    mutabilityExclusions?: string[];
    scanOnPush?: boolean;
    encryption?: { type: 'AES256' | 'KMS'; kmsKey?: string };
  };
  /** The resource tags it would get. */
  resourceTags: ResourceTag[];
  /** private: the lifecycle policy it would get, as a JSON document. */
  lifecyclePolicy?: unknown;
  /** private: the repository policy it would get, as a JSON document. */
  repositoryPolicy?: unknown;
  /** public: the catalog data it would get (texts as their length; the logo as its size). */
  catalog?: {
    description?: string;
    operatingSystems?: string[];
    architectures?: string[];
    aboutTextChars?: number;
    usageTextChars?: number;
    logoBytes?: number;
  };
  /** An existing repository: what differs from the options given (apply would change it). */
  changes: string[];
}

/** What createRepositories reports per repository. */
export interface CreatedRepository {
  /** The repository name. */
  name: string;
  /** The repository URI to push to and pull from (`<registry>/<name>`). */
  uri: string;
  /** The repository ARN. */
  arn: string;
  /** public repositories: the registry (account) id. */
  registryId?: string;
  /** True for an ECR Public repository. */
  public: boolean;
  /** created: new; exists: there already and left as it was; updated: there and changed (apply). */
  status: 'created' | 'exists' | 'updated';
  /** Changes made (updated) or, without apply, the differences found. */
  changes: string[];
  /** What could not be compared or changed (logged too). */
  warnings: string[];
}

/** What createRepositories did: the repositories it created or accepted, and what failed. */
export interface CreateRepositoriesResult {
  /** One entry per name that succeeded, in the order given. */
  repositories: CreatedRepository[];
  /** One error per name that failed (the other names were still done). */
  errors: EcrctlError[];
  /** dryRun: what would be done with each name, in the order given (nothing was created). */
  plan?: PlannedRepository[];
}

/**
 * Creates (or accepts, or updates) each repository. Names, house rules (errors with
 * strictNames or the project config's `naming.houseRulesAsErrors`), resource tags and settings
 * are checked first: RuleViolation or UsageError, and nothing is created. A failure of one
 * name does not stop the others; it is returned in `errors`. Logs what happened to each.
 */
export async function createRepositories(
  session: Session,
  opts: CreateRepositoriesOptions,
): Promise<CreateRepositoriesResult> {
  const isPublic = opts.public === true;
  const names = [...opts.names];
  // The project config can make the house naming rules errors, as strictNames does.
  const config = await loadProjectConfig(session.cwd, session.configFile);
  checkNames(session, names, opts.strictNames === true || config?.houseRulesAsErrors?.value === true, isPublic);

  const tags = parseResourceTags(opts.tags ?? []);
  const results: CreatedRepository[] = [];
  const errors: EcrctlError[] = [];
  const settings = settingsFromSession(session);
  if (opts.dryRun === true) return planRepositories(session, opts, names, tags);

  if (isPublic) {
    const catalog = opts.catalog === undefined ? {} : await resolveDeferred(opts.catalog);
    const conn = await connectEcrPublic(settings, session.aws.registryId ? { registryId: session.aws.registryId } : {});
    for (const name of names) {
      try {
        const made = await createPublicRepository(conn, { name, catalogData: catalog, tags });
        if (made.created) {
          results.push({ ...made.repository, public: true, status: 'created', changes: [], warnings: [] });
          continue;
        }
        if (!opts.ifNotExists) throw alreadyExists(name);
        const info = await describePublicRepository(conn, name);
        if (!info)
          throw new EcrctlError(`public repository ${name} exists but DescribeRepositories did not find it; try again`);
        // Catalog data cannot be read back as it was sent (the logo comes back as a URL), so
        // apply replaces it whenever catalog data is given.
        const changes = hasCatalogData(catalog) ? ['catalog data: replaced'] : [];
        if (opts.apply && changes.length > 0) await putCatalogData(conn, name, catalog);
        const warnings =
          tags.length > 0 ? ['resource tags of an existing public repository are not compared or changed'] : [];
        results.push({
          ...info,
          public: true,
          status: opts.apply && changes.length > 0 ? 'updated' : 'exists',
          changes: opts.apply ? changes : [],
          warnings,
        });
      } catch (err) {
        errors.push(asEcrctlError(err));
      }
    }
  } else {
    const spec = await privateSpec(opts, tags);
    const conn = await ecrConnection(session);
    for (const name of names) {
      try {
        const r = await ensureRepository(
          conn,
          { ...spec, name },
          { ifNotExists: opts.ifNotExists === true, apply: opts.apply === true },
        );
        results.push({ ...r, public: false });
      } catch (err) {
        errors.push(asEcrctlError(err));
      }
    }
  }

  for (const r of results) {
    const what = `${r.public ? 'public repository' : 'repository'} ${r.name}`;
    if (r.status === 'created') session.log.info(`created ${what}`);
    else if (r.status === 'updated') session.log.info(`updated ${what}: ${r.changes.join('; ')}`);
    else session.log.info(`${what} exists`);
    if (r.status === 'exists' && r.changes.length > 0) {
      session.log.warn(`${what} differs from the options given: ${r.changes.join('; ')} (add --apply to change it)`);
    }
    for (const w of r.warnings) session.log.warn(w);
  }
  return { repositories: results, errors };
}

/** The dry run of createRepositories: every check, then reads only; returns the plan. */
async function planRepositories(
  session: Session,
  opts: CreateRepositoriesOptions,
  names: readonly string[],
  tags: ResourceTag[],
): Promise<CreateRepositoriesResult> {
  const plan: PlannedRepository[] = [];
  const errors: EcrctlError[] = [];
  const refuse = (name: string, isPublic: boolean) =>
    new EcrctlError(`${isPublic ? 'public ' : ''}repository ${name} already exists`, {
      rule: 'create-repo creates new repositories; an existing one is an error unless --if-not-exists is given',
      value: name,
      fix: 'add --if-not-exists to accept an existing repository (and --apply to bring its settings in line)',
    });
  if (opts.public === true) {
    const catalog = opts.catalog === undefined ? {} : await resolveDeferred(opts.catalog);
    const conn = await connectEcrPublic(
      settingsFromSession(session),
      session.aws.registryId ? { registryId: session.aws.registryId } : {},
    );
    const summary: NonNullable<PlannedRepository['catalog']> = {};
    if (catalog.description !== undefined) summary.description = catalog.description;
    if (catalog.operatingSystems) summary.operatingSystems = [...catalog.operatingSystems];
    if (catalog.architectures) summary.architectures = [...catalog.architectures];
    if (catalog.aboutText !== undefined) summary.aboutTextChars = catalog.aboutText.length;
    if (catalog.usageText !== undefined) summary.usageTextChars = catalog.usageText.length;
    if (catalog.logo !== undefined) summary.logoBytes = catalog.logo.length;
    for (const name of names) {
      const info = await describePublicRepository(conn, name);
      const changes = info && hasCatalogData(catalog) ? ['catalog data: replaced'] : [];
      const action = plannedAction(info !== undefined, opts, changes);
      if (action === 'refuse') errors.push(refuse(name, true));
      plan.push({
        name,
        public: true,
        action,
        ...(info ? { uri: info.uri } : {}),
        settings: {},
        resourceTags: tags,
        ...(hasCatalogData(catalog) ? { catalog: summary } : {}),
        changes,
      });
    }
  } else {
    const spec = await privateSpec(opts, tags);
    const conn = await ecrConnection(session);
    const settings: PlannedRepository['settings'] = {};
    if (spec.tagMutability) settings.tagMutability = spec.tagMutability;
    if (spec.mutabilityExclusions) settings.mutabilityExclusions = spec.mutabilityExclusions;
    if (spec.scanOnPush !== undefined) settings.scanOnPush = spec.scanOnPush;
    if (spec.encryption) settings.encryption = spec.encryption;
    for (const name of names) {
      const info = await describeRepository(conn, name);
      let changes: string[] = [];
      // Reads only (apply: false): the policies and tags it has, compared with the options.
      if (info && opts.ifNotExists)
        changes = (await updateRepository(conn, { ...spec, name }, info, { apply: false })).changes;
      const action = plannedAction(info !== undefined, opts, changes);
      if (action === 'refuse') errors.push(refuse(name, false));
      plan.push({
        name,
        public: false,
        action,
        ...(info ? { uri: info.uri } : {}),
        settings,
        resourceTags: tags,
        ...(spec.lifecyclePolicy !== undefined ? { lifecyclePolicy: JSON.parse(spec.lifecyclePolicy) } : {}),
        ...(spec.policy !== undefined ? { repositoryPolicy: JSON.parse(spec.policy) } : {}),
        changes,
      });
    }
  }
  for (const p of plan) {
    const what = `${p.public ? 'public repository' : 'repository'} ${p.name}`;
    if (p.action === 'create') session.log.info(`dry run: would create ${what}`);
    else if (p.action === 'update') session.log.info(`dry run: would update ${what}: ${p.changes.join('; ')}`);
    else if (p.action === 'exists') {
      session.log.info(`dry run: ${what} exists; left as it is`);
      if (p.changes.length > 0)
        session.log.warn(`${what} differs from the options given: ${p.changes.join('; ')} (add --apply to change it)`);
    }
  }
  return { repositories: [], errors, plan };
}

function asEcrctlError(err: unknown): EcrctlError {
  return err instanceof EcrctlError
    ? err
    : new EcrctlError(err instanceof Error ? err.message : String(err), { cause: err });
}

function alreadyExists(name: string): EcrctlError {
  return new EcrctlError(`public repository ${name} already exists`, {
    rule: 'create-repo creates new repositories; an existing one is an error unless --if-not-exists is given',
    value: name,
    fix: 'add --if-not-exists to accept an existing repository',
  });
}

/** Validates every name (all at once) and applies the house rules; throws RuleViolation. */
function checkNames(session: Session, names: readonly string[], strictNames: boolean, isPublic: boolean): void {
  const rule = { public: isPublic };
  const invalid = names.filter((n) => validateRepositoryName(n, rule).length > 0);
  if (invalid.length > 0) {
    const problems = invalid.flatMap((n) =>
      validateRepositoryName(n, rule).map((p) => (names.length > 1 ? `${n}: ${p.message}` : p.message)),
    );
    const suggestions = invalid.map((n) => {
      const s = suggestRepositoryName(n, rule);
      return s ? `'${s}' instead of '${n}'` : `a name with lowercase letters and digits instead of '${n}'`;
    });
    throw new RuleViolation(
      invalid.length === 1
        ? `'${invalid[0]}' is not a valid ${isPublic ? 'public ' : ''}repository name; nothing was created`
        : `${invalid.length} names are not valid ${isPublic ? 'public ' : ''}repository names; nothing was created`,
      {
        rule: repositoryNameRule(rule),
        value: invalid.join(' '),
        fix: `use ${suggestions.join(', ')}`,
        problems,
      },
    );
  }
  const strict: string[] = [];
  const fixes: string[] = [];
  for (const name of names) {
    for (const w of houseRuleWarnings(name, session.env)) {
      if (strictNames) {
        strict.push(w.message);
        if (w.suggestion) fixes.push(`'${w.suggestion}' instead of '${name}'`);
      } else {
        session.log.warn(`${w.message}${w.suggestion ? ` (e.g. '${w.suggestion}')` : ''}`);
      }
    }
  }
  if (strict.length > 0) {
    throw new RuleViolation(
      `${strict.length === 1 ? 'a name breaks a house rule' : 'names break house rules'} (--strict-names); nothing was created`,
      {
        rule: 'house rules: repository names use lowercase letters, digits and hyphens only; in CodeBuild the name equals the project name',
        fix:
          fixes.length > 0
            ? `use ${[...new Set(fixes)].join(', ')}`
            : 'rename, or drop --strict-names to get warnings instead',
        problems: strict,
      },
    );
  }
}

/** Returns resource tags from KEY=VALUE texts, checked against the limits. */
export function parseResourceTags(options: readonly string[]): ResourceTag[] {
  const tags: ResourceTag[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    if (eq < 0) {
      throw new UsageError(`a resource tag takes KEY=VALUE, not "${o}"`, {
        value: o,
        fix: `write e.g. --resource-tag team=payments (an empty value is --resource-tag ${o}=)`,
      });
    }
    tags.push({ key: o.slice(0, eq), value: o.slice(eq + 1) });
  }
  if (tags.length === 0) return tags;
  const problems = validateResourceTags(tags);
  if (problems.length > 0) {
    throw new RuleViolation(
      problems.length === 1 ? `resource tags: ${problems[0]?.message}` : 'the resource tags break the limits',
      {
        rule: 'a repository has at most 50 resource tags; keys have 1–128 characters, values at most 256; keys do not start with aws:',
        fix: 'shorten or remove the tags named above',
        ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
      },
    );
  }
  return tags;
}

/** What a dry run says create-repo would do with one name: create it, refuse it, update it or leave it. */
function plannedAction(
  exists: boolean,
  opts: Pick<CreateRepositoriesOptions, 'ifNotExists' | 'apply'>,
  changes: readonly string[],
): PlannedRepository['action'] {
  if (!exists) return 'create';
  if (!opts.ifNotExists) return 'refuse';
  return opts.apply && changes.length > 0 ? 'update' : 'exists';
}

/** Returns the private repository settings from the options, every one checked. */
export async function privateSpec(
  opts: CreateRepositoriesOptions,
  tags: ResourceTag[],
): Promise<Omit<RepositorySpec, 'name'>> {
  let mutability = opts.tagMutability;
  if (opts.immutable) {
    if (mutability !== undefined && mutability !== 'IMMUTABLE') {
      throw new UsageError(`--immutable contradicts --tag-mutability ${mutability}`, { fix: 'give one of them' });
    }
    mutability = 'IMMUTABLE';
  }
  const exclusions = [...(opts.mutabilityExclusions ?? [])];
  const withExclusion = mutability?.endsWith('_WITH_EXCLUSION') === true;
  if (exclusions.length > 0 && !withExclusion) {
    throw new UsageError('--mutability-exclusion needs an *_WITH_EXCLUSION tag mutability', {
      value: exclusions.join(' '),
      fix:
        mutability === 'MUTABLE'
          ? 'use --tag-mutability MUTABLE_WITH_EXCLUSION (the patterns name the tags that become immutable)'
          : 'use --tag-mutability IMMUTABLE_WITH_EXCLUSION (the patterns name the tags that stay mutable)',
    });
  }
  if (withExclusion) {
    const problems = validateMutabilityExclusionFilters(exclusions);
    if (problems.length > 0) {
      throw new RuleViolation(
        `--mutability-exclusion: ${problems.length === 1 ? problems[0]?.message : 'the exclusion filters break the rules'}`,
        {
          rule: `${mutability} takes 1–5 --mutability-exclusion patterns of letters, digits, '.', '_', '-' and '*' (1–128 characters each)`,
          fix:
            exclusions.length === 0
              ? `add e.g. --mutability-exclusion "dev-*"`
              : 'fix or remove the patterns named above',
          ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
        },
      );
    }
  }
  if (opts.kmsKey !== undefined && opts.encryption === 'AES256') {
    throw new UsageError('--kms-key works with --encryption KMS, not AES256', {
      fix: 'use --encryption KMS --kms-key ARN, or drop --kms-key',
    });
  }
  const encryption = opts.encryption ?? (opts.kmsKey !== undefined ? 'KMS' : undefined);

  const spec: Omit<RepositorySpec, 'name'> = {};
  if (mutability) spec.tagMutability = mutability;
  if (withExclusion) spec.mutabilityExclusions = exclusions;
  if (opts.scanOnPush !== undefined) spec.scanOnPush = opts.scanOnPush;
  if (encryption) spec.encryption = { type: encryption, ...(opts.kmsKey ? { kmsKey: opts.kmsKey } : {}) };
  if (tags.length > 0) spec.tags = tags;
  if (opts.lifecyclePolicy !== undefined)
    spec.lifecyclePolicy = checkLifecyclePolicyText(await resolveDeferred(opts.lifecyclePolicy), 'lifecyclePolicy');
  if (opts.repositoryPolicy !== undefined)
    spec.policy = checkRepositoryPolicyText(await resolveDeferred(opts.repositoryPolicy), 'repositoryPolicy');
  return spec;
}

// `ecrctl create-repo NAME…`: checks every name and every option locally first (nothing is
// created when anything is wrong), then creates private or public repositories with their
// settings, or with --if-not-exists accepts existing ones and --apply brings them in line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { EcrctlError, NotFoundError, RuleViolation, UsageError } from '../../errors.js';
import type { ResourceTag } from '../../policy/naming.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { lifecyclePolicyText, readInputFile, repositoryPolicyText } from '../inputs.js';
import { render } from '../output.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
type Mutability = (typeof MUTABILITIES)[number];

/** The options of create-repo as commander hands them over. */
export interface CreateRepoOptions {
  tagMutability?: Mutability;
  immutable?: boolean;
  mutabilityExclusion?: string[];
  scanOnPush?: boolean;
  encryption?: 'AES256' | 'KMS';
  kmsKey?: string;
  lifecycle?: string;
  policy?: string;
  tag?: string[];
  strictNames?: boolean;
  ifNotExists?: boolean;
  apply?: boolean;
  public?: boolean;
  description?: string;
  about?: string;
  usage?: string;
  os?: string[];
  arch?: string[];
  logo?: string;
}

/** What create-repo reports per repository. */
interface CreatedRepository {
  name: string;
  uri: string;
  arn: string;
  public: boolean;
  status: 'created' | 'exists' | 'updated';
  changes: string[];
  warnings: string[];
}

/** Declares `ecrctl create-repo`. */
export function defineCreateRepo(program: Command, host: CommandHost): void {
  program
    .command('create-repo')
    .summary('create repositories that follow the naming rules, with their settings')
    .description(
      'Creates one or more ECR repositories (or ECR Public ones with --public). Every name and\n' +
        'option is checked locally first: an invalid name exits 3 with the rule broken and a\n' +
        'corrected name, and nothing is created. House rules (lowercase letters, digits and\n' +
        'hyphens; in CodeBuild the project name) are warnings, errors with --strict-names.\n' +
        'With --if-not-exists an existing repository is success; add --apply to change the\n' +
        'settings given here that differ (tag mutability, scan on push, lifecycle and repository\n' +
        'policies, resource tags). Prints the repository URI.',
    )
    .argument('<names...>', 'repository names, e.g. team/payment-api')
    .addOption(new Option('--tag-mutability <setting>', 'whether tags can be moved').choices(MUTABILITIES))
    .option('--immutable', 'shorthand for --tag-mutability IMMUTABLE')
    .option(
      '--mutability-exclusion <pattern>',
      'a tag wildcard excluded from the mutability setting (repeatable, ≤ 5)',
      collect,
    )
    .option('--scan-on-push', 'scan images when they are pushed')
    .option('--no-scan-on-push', 'do not scan on push (with --apply: turn it off)')
    .addOption(new Option('--encryption <type>', 'encryption at rest (fixed once created)').choices(['AES256', 'KMS']))
    .option('--kms-key <arn>', 'KMS key for --encryption KMS (default: the AWS managed key aws/ecr)')
    .option('--lifecycle <file|preset:NAME[,k=v...]>', 'lifecycle policy JSON file, or a preset with its parameters')
    .option('--policy <file>', 'repository policy JSON file (≤ 10,240 characters)')
    .option('--tag <key=value>', 'a resource tag (repeatable; ≤ 50)', collect)
    .option('--strict-names', 'treat house naming rules as errors (exit 3)')
    .option('--if-not-exists', 'an existing repository is success (for re-runnable scripts)')
    .option('--apply', 'with --if-not-exists: change the settings given here that differ')
    .option('--public', 'create an ECR Public repository')
    .option('--description <text>', 'public: short description (≤ 255 characters)')
    .option('--about <file>', 'public: "about" text, Markdown (≤ 10,240 characters)')
    .option('--usage <file>', 'public: usage text, Markdown (≤ 10,240 characters)')
    .option('--os <name>', 'public: operating system badge, Linux or Windows (repeatable)', collect)
    .option('--arch <name>', "public: architecture badge, ARM, 'ARM 64' (or ARM64), x86, x86-64 (repeatable)", collect)
    .option('--logo <file>', 'public: logo PNG, 60–2048 px per side, ≤ 500 KB')
    .addHelpText(
      'after',
      examples(
        'ecrctl create-repo team/payment-api --immutable --scan-on-push',
        'ecrctl create-repo app --lifecycle preset:expire-untagged,days=7 --tag team=payments',
        'ecrctl create-repo app --if-not-exists --apply --tag-mutability IMMUTABLE_WITH_EXCLUSION --mutability-exclusion "dev-*"',
        'ecrctl create-repo tools --public --description "Build tools" --os Linux --arch x86-64 --arch ARM64 --logo logo.png',
        'eval "$(ecrctl create-repo app --if-not-exists --output env)"; echo "$REPOSITORY_URI"',
      ),
    )
    .action(async (names: string[], opts: CreateRepoOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await runCreateRepo(ctx, names, opts);
    });
}

/** Checks everything, creates (or accepts / updates) each repository and prints the URIs. */
export async function runCreateRepo(ctx: CliContext, names: string[], opts: CreateRepoOptions): Promise<void> {
  const isPublic = opts.public === true;
  checkCombinations(opts, isPublic);
  // The project config can make the house naming rules errors, as --strict-names does.
  const { loadProjectConfig } = await import('../../config/project-config.js');
  const config = await loadProjectConfig(ctx.cwd, ctx.globals.config);
  await checkNames(ctx, names, config?.houseRulesAsErrors?.value ? { ...opts, strictNames: true } : opts, isPublic);

  const tags = await parseResourceTags(opts.tag ?? []);
  const results: CreatedRepository[] = [];
  const errors: EcrctlError[] = [];
  const { settingsFromContext, requireRegion } = await import('../../ecr/aws-config.js');
  const settings = settingsFromContext(ctx);

  if (isPublic) {
    const catalog = await readCatalogData(ctx, opts);
    const pub = await import('../../ecr/public-repositories.js');
    const conn = await pub.connectEcrPublic(
      settings,
      ctx.globals.registryId ? { registryId: ctx.globals.registryId } : {},
    );
    for (const name of names) {
      try {
        const made = await pub.createPublicRepository(conn, { name, catalogData: catalog, tags });
        if (made.created) {
          results.push({ ...made.repository, public: true, status: 'created', changes: [], warnings: [] });
          continue;
        }
        if (!opts.ifNotExists) throw alreadyExists(name);
        const info = await pub.describePublicRepository(conn, name);
        if (!info)
          throw new EcrctlError(`public repository ${name} exists but DescribeRepositories did not find it; try again`);
        // Catalog data cannot be read back as it was sent (the logo comes back as a URL), so
        // --apply replaces it whenever catalog options are given.
        const changes = pub.hasCatalogData(catalog) ? ['catalog data: replaced'] : [];
        if (opts.apply && changes.length > 0) await pub.putCatalogData(conn, name, catalog);
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
    const spec = await privateSpec(ctx, opts, tags);
    const region = requireRegion(settings);
    const repos = await import('../../ecr/repositories.js');
    const conn = await repos.connectEcr(settings, {
      region,
      ...(ctx.globals.registryId ? { registryId: ctx.globals.registryId } : {}),
    });
    for (const name of names) {
      try {
        const r = await repos.ensureRepository(
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
    if (r.status === 'created') ctx.log.info(`created ${what}`);
    else if (r.status === 'updated') ctx.log.info(`updated ${what}: ${r.changes.join('; ')}`);
    else ctx.log.info(`${what} exists`);
    if (r.status === 'exists' && r.changes.length > 0) {
      ctx.log.warn(`${what} differs from the options given: ${r.changes.join('; ')} (add --apply to change it)`);
    }
    for (const w of r.warnings) ctx.log.warn(w);
  }
  if (results.length > 0 || errors.length === 0) {
    render(
      ctx,
      { repositories: results },
      {
        text: (d) => d.repositories.map((r) => r.uri).join('\n'),
        env: (d): Record<string, string> => {
          const first = d.repositories[0];
          if (d.repositories.length === 1 && first) {
            return {
              REPOSITORY_URI: first.uri,
              REPOSITORY_NAME: first.name,
              REPOSITORY_ARN: first.arn,
              REPOSITORY_STATUS: first.status,
            };
          }
          return { REPOSITORY_URIS: d.repositories.map((r) => r.uri).join(' ') };
        },
      },
    );
  }
  const first = errors[0];
  if (first) {
    for (const e of errors.slice(1)) ctx.log.warn(e.message);
    if (errors.length > 1)
      first.message = `${first.message} (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''} above)`;
    throw first;
  }
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

/** Throws UsageError for options that do not go together. */
function checkCombinations(opts: CreateRepoOptions, isPublic: boolean): void {
  if (opts.apply && !opts.ifNotExists) {
    throw new UsageError('--apply works only with --if-not-exists', {
      fix: 'add --if-not-exists (an existing repository is then updated)',
    });
  }
  const publicOnly = (['description', 'about', 'usage', 'os', 'arch', 'logo'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (!isPublic && publicOnly.length > 0) {
    throw new UsageError(`${publicOnly.map((k) => `--${k}`).join(', ')} set catalog data of public repositories`, {
      fix: 'add --public to create an ECR Public repository, or drop these options',
    });
  }
  if (isPublic) {
    const privateOnly = (
      [
        ['tagMutability', '--tag-mutability'],
        ['immutable', '--immutable'],
        ['mutabilityExclusion', '--mutability-exclusion'],
        ['scanOnPush', '--scan-on-push'],
        ['encryption', '--encryption'],
        ['kmsKey', '--kms-key'],
        ['lifecycle', '--lifecycle'],
        ['policy', '--policy'],
      ] as const
    ).filter(([k]) => opts[k] !== undefined);
    if (privateOnly.length > 0) {
      throw new UsageError(
        `${privateOnly.map(([, f]) => f).join(', ')} apply to private repositories, not to ECR Public`,
        {
          fix: 'drop these options, or drop --public',
        },
      );
    }
  }
}

/** Validates every name (all at once) and applies the house rules; throws RuleViolation. */
async function checkNames(ctx: CliContext, names: string[], opts: CreateRepoOptions, isPublic: boolean): Promise<void> {
  const naming = await import('../../policy/naming.js');
  const rule = { public: isPublic };
  const invalid = names.filter((n) => naming.validateRepositoryName(n, rule).length > 0);
  if (invalid.length > 0) {
    const problems = invalid.flatMap((n) =>
      naming.validateRepositoryName(n, rule).map((p) => (names.length > 1 ? `${n}: ${p.message}` : p.message)),
    );
    const suggestions = invalid.map((n) => {
      const s = naming.suggestRepositoryName(n, rule);
      return s ? `'${s}' instead of '${n}'` : `a name with lowercase letters and digits instead of '${n}'`;
    });
    throw new RuleViolation(
      invalid.length === 1
        ? `'${invalid[0]}' is not a valid ${isPublic ? 'public ' : ''}repository name; nothing was created`
        : `${invalid.length} names are not valid ${isPublic ? 'public ' : ''}repository names; nothing was created`,
      {
        rule: naming.repositoryNameRule(rule),
        value: invalid.join(' '),
        fix: `use ${suggestions.join(', ')}`,
        problems,
      },
    );
  }
  const strict: string[] = [];
  const fixes: string[] = [];
  for (const name of names) {
    for (const w of naming.houseRuleWarnings(name, ctx.env)) {
      if (opts.strictNames) {
        strict.push(w.message);
        if (w.suggestion) fixes.push(`'${w.suggestion}' instead of '${name}'`);
      } else {
        ctx.log.warn(`${w.message}${w.suggestion ? ` (e.g. '${w.suggestion}')` : ''}`);
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

/** Returns resource tags from KEY=VALUE options, checked against the limits. */
async function parseResourceTags(options: readonly string[]): Promise<ResourceTag[]> {
  const tags: ResourceTag[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    if (eq < 0) {
      throw new UsageError(`--tag takes KEY=VALUE, not "${o}"`, {
        value: o,
        fix: `write e.g. --tag team=payments (an empty value is --tag ${o}=)`,
      });
    }
    tags.push({ key: o.slice(0, eq), value: o.slice(eq + 1) });
  }
  if (tags.length === 0) return tags;
  const { validateResourceTags } = await import('../../policy/naming.js');
  const problems = validateResourceTags(tags);
  if (problems.length > 0) {
    throw new RuleViolation(
      problems.length === 1 ? `--tag: ${problems[0]?.message}` : '--tag: the resource tags break the limits',
      {
        rule: 'a repository has at most 50 resource tags; keys have 1–128 characters, values at most 256; keys do not start with aws:',
        fix: 'shorten or remove the tags named above',
        ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
      },
    );
  }
  return tags;
}

/** Returns the private repository settings from the options, every one checked. */
async function privateSpec(
  ctx: CliContext,
  opts: CreateRepoOptions,
  tags: ResourceTag[],
): Promise<Omit<import('../../ecr/repositories.js').RepositorySpec, 'name'>> {
  let mutability = opts.tagMutability;
  if (opts.immutable) {
    if (mutability !== undefined && mutability !== 'IMMUTABLE') {
      throw new UsageError(`--immutable contradicts --tag-mutability ${mutability}`, { fix: 'give one of them' });
    }
    mutability = 'IMMUTABLE';
  }
  const exclusions = opts.mutabilityExclusion ?? [];
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
    const { validateMutabilityExclusionFilters } = await import('../../policy/naming.js');
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

  const spec: Omit<import('../../ecr/repositories.js').RepositorySpec, 'name'> = {};
  if (mutability) spec.tagMutability = mutability;
  if (withExclusion) spec.mutabilityExclusions = exclusions;
  if (opts.scanOnPush !== undefined) spec.scanOnPush = opts.scanOnPush;
  if (encryption) spec.encryption = { type: encryption, ...(opts.kmsKey ? { kmsKey: opts.kmsKey } : {}) };
  if (tags.length > 0) spec.tags = tags;
  if (opts.lifecycle !== undefined) spec.lifecyclePolicy = await lifecyclePolicyText(ctx, opts.lifecycle);
  if (opts.policy !== undefined) spec.policy = await repositoryPolicyText(ctx, opts.policy);
  return spec;
}

/** Returns the catalog data of --public from the options and files, every limit checked. */
async function readCatalogData(
  ctx: CliContext,
  opts: CreateRepoOptions,
): Promise<import('../../ecr/public-repositories.js').CatalogData> {
  const pub = await import('../../ecr/public-repositories.js');
  const catalog: import('../../ecr/public-repositories.js').CatalogData = {};
  if (opts.description !== undefined) catalog.description = opts.description;
  if (opts.about !== undefined) catalog.aboutText = await readInputFile(ctx, opts.about, 'about text');
  if (opts.usage !== undefined) catalog.usageText = await readInputFile(ctx, opts.usage, 'usage text');
  if (opts.os) catalog.operatingSystems = [...new Set(opts.os.map(pub.normalizeOperatingSystem))];
  if (opts.arch) catalog.architectures = [...new Set(opts.arch.map(pub.normalizeArchitecture))];
  if (opts.logo !== undefined) {
    try {
      catalog.logo = new Uint8Array(await readFile(path.resolve(ctx.cwd, opts.logo)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`logo file ${opts.logo} does not exist`, { value: opts.logo, fix: 'check the path' });
      }
      throw new EcrctlError(`cannot read logo file ${opts.logo}: ${(err as Error).message}`, { cause: err });
    }
  }
  pub.assertCatalogData(catalog, {
    ...(opts.logo !== undefined ? { logo: opts.logo } : {}),
    ...(opts.about !== undefined ? { about: opts.about } : {}),
    ...(opts.usage !== undefined ? { usage: opts.usage } : {}),
  });
  return catalog;
}

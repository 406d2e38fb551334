// What tag-push decides before any blob moves: the tags (given, and derived by tag
// strategies from CI variables or git), the project config's tag rules, the repository's tag
// mutability (DescribeRepositories, for ECR), and what each tag at the target points at now.
// A broken rule or an immutable tag at another digest stops the push here, with nothing sent.
import { AuthError, EcrctlError, NotFoundError, RuleViolation } from '../errors.js';
import { findPlatform, manifestKind, type PlatformSpec, parseManifest } from '../oci/copy.js';
import type { ImageLocation } from '../oci/reference.js';
import type { ImageSource, ImageTarget } from '../oci/store.js';
import type { ImageIndex } from '../oci/types.js';
import type { DerivedTag, RuleCheck, TagState, TagStrategy } from '../policy/tags.js';
import type { ProjectConfig, RepositoryConfig } from '../config/project-config.js';
import type { Session } from '../session.js';
import { defaultRegistryHost, ecrConnection, ecrTarget } from './ecr.js';
import { createOnPushTemplate } from '../ecr/templates.js';
import { describeRepository, ensureRepository, type EcrConnection } from '../ecr/repositories.js';
import { requireRegion, settingsFromSession } from '../ecr/aws-config.js';
import { loadProjectConfig, rulesFor } from '../config/project-config.js';
import * as tagsPolicy from '../policy/tags.js';
import * as naming from '../policy/naming.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gitFacts } from '../ci/git.js';
import { privateSpec } from './create-repo.js';
import { brokenRules, conflictsOf, IMMUTABLE_TAG_RULE, tagsAt } from './tag-plan.js';

type RegistryLocation = Extract<ImageLocation, { transport: 'registry' }>;

export interface PushPlanRequest {
  /** The target repository (no tag). */
  target: RegistryLocation;
  targetStore: ImageTarget;
  source: ImageSource;
  sourceRef: string;
  platform?: PlatformSpec | undefined;
  /** Tags named directly: TARGET's own tag and every --tag. */
  tags: readonly string[];
  /** --tag-strategy values as typed. */
  strategies: readonly string[];
  semverAliases?: boolean | undefined;
  createRepo?: boolean | undefined;
  dryRun?: boolean | undefined;
  /**
   * Apply the project config's default tag strategies when `strategies` is empty (default
   * true). copy sets false: a copy writes the tags it is given, nothing derived.
   */
  configStrategies?: boolean | undefined;
  /** The verb in messages ("nothing was pushed" / "nothing was copied"); default push. */
  verb?: 'push' | 'copy' | undefined;
}

/** The tag mutability of the target repository, when the ECR API told it. */
export interface KnownMutability {
  setting: string;
  exclusions: string[];
}

export interface PushPlan {
  repository: string;
  digest: string;
  /** Every tag the push writes: the given ones, the derived ones, else `latest`. */
  tags: string[];
  /** The tags named directly (the target's own tag and `tags`). */
  given: string[];
  /** The tags the strategies derived, with where each came from. */
  derived: DerivedTag[];
  states: TagState[];
  checks: RuleCheck[];
  config?: string;
  pattern?: string;
  mutability?: KnownMutability;
  /** The repository does not exist and --create-repo will create it (created unless dry-run). */
  createRepository?: boolean;
  /** What each tag pointed at when the plan looked (undefined: absent), so the copy need not ask again. */
  present: ReadonlyMap<string, string | undefined>;
  /** Set when a tag rule is broken or an immutable tag points elsewhere: nothing may be pushed. */
  violation?: RuleViolation;
}

/** Returns the digest the copy will tag: the root manifest's, or the chosen platform's. */
async function plannedDigest(
  source: ImageSource,
  ref: string,
  platform: PlatformSpec | undefined,
  signal: AbortSignal,
): Promise<string> {
  const root = await source.getManifest(ref, { signal });
  if (!platform) return root.digest;
  const doc = parseManifest(root);
  if (manifestKind(root, doc) !== 'index') return root.digest;
  const match = findPlatform((doc as ImageIndex).manifests, platform);
  // No match: the copy engine reports it with the platforms on offer.
  return match?.digest ?? root.digest;
}

/** Returns what each tag points at in target (undefined: absent), asking for all tags at once. */
async function tagsAtOnce(
  target: Pick<ImageTarget, 'headManifest'>,
  tags: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, string | undefined>> {
  // tagsAt asks one tag at a time; each answer here is independent, so none waits for another.
  const answers = await Promise.all(tags.map((t) => tagsAt(target, [t], signal)));
  return new Map(answers.flatMap((m) => [...m]));
}

/** Returns the tags the strategies give in this environment (CI variables, then git). */
export async function deriveStrategyTags(
  ctx: Session,
  strategies: readonly TagStrategy[],
  semverAliases: boolean,
): Promise<DerivedTag[]> {
  if (strategies.length === 0) return [];
  const tags = tagsPolicy;
  const pullRequest = await pullRequestHeadOf(ctx, strategies);
  const fromEnv = tags.factsFromEnv(ctx.env, pullRequest ? { pullRequest } : {});
  const wanted = new Set([...tags.factsNeeded(strategies)].filter((k) => fromEnv[k] === undefined));
  let facts = fromEnv;
  let notes = {};
  if (wanted.size > 0) {
    const git = await gitFacts(ctx.cwd, ctx.env, wanted, { signal: ctx.signal });
    facts = tags.mergeFacts(fromEnv, git.facts);
    notes = git.notes;
  }
  return tags.deriveTags(strategies, facts, { semverAliases, gitNotes: notes });
}

/**
 * Returns the pull request head on a GitHub pull request event (GITHUB_EVENT_NAME), read from
 * the event payload (GITHUB_EVENT_PATH), when a strategy needs the commit or branch. On such
 * events GITHUB_SHA is a merge commit (or the base branch's head for pull_request_target):
 * a `branch-sha` tag from it would name a commit nobody pushed.
 */
async function pullRequestHeadOf(
  ctx: Session,
  strategies: readonly TagStrategy[],
): Promise<tagsPolicy.PullRequestHead | undefined> {
  const event = ctx.env.GITHUB_EVENT_NAME;
  if (!tagsPolicy.isPullRequestEvent(event)) return undefined;
  const needed = tagsPolicy.factsNeeded(strategies);
  if (!needed.has('commit') && !needed.has('branch')) return undefined;
  const file = ctx.env.GITHUB_EVENT_PATH;
  const fallback = `tags use GITHUB_SHA, the ${event === 'pull_request_target' ? "base branch's head" : 'merge commit'}`;
  if (!file) {
    ctx.log.warn(`GITHUB_EVENT_NAME is ${event} but GITHUB_EVENT_PATH is not set: ${fallback}`);
    return undefined;
  }
  let head: tagsPolicy.PullRequestHead | undefined;
  try {
    head = tagsPolicy.pullRequestHead(JSON.parse(await readFile(path.resolve(ctx.cwd, file), 'utf8')));
  } catch (err) {
    ctx.log.warn(`cannot read the ${event} event payload ${file} (${(err as Error).message}): ${fallback}`);
    return undefined;
  }
  if (!head?.sha) ctx.log.warn(`the ${event} event payload ${file} has no pull_request.head.sha: ${fallback}`);
  else ctx.log.verbose(`${event} event: tags use the pull request head ${head.sha}, not GITHUB_SHA`);
  return head;
}

/** An ECR API connection with the region it uses. */
interface PlanConnection {
  conn: EcrConnection;
  region: string;
}

/**
 * Decides everything about a push before any blob moves; throws RuleViolation (exit 3) for a
 * broken tag rule or an immutable tag that points elsewhere, NotFoundError for a missing ECR
 * repository without --create-repo. Creates the repository with --create-repo (not on dry-run).
 */
export async function planPush(ctx: Session, req: PushPlanRequest): Promise<PushPlan> {
  const config: ProjectConfig | undefined = await loadProjectConfig(ctx.cwd, ctx.configFile);
  const repository = req.target.reference.repository;
  const host = req.target.reference.registry;
  const rules = rulesFor(config, repository);
  if (config)
    ctx.log.verbose(
      `config ${config.file}: ${rules ? `pattern ${rules.pattern} (${rules.at}) applies to ${repository}` : `no pattern matches ${repository}`}`,
    );

  // --tag-strategy values, else the config's defaults (not for copy, nor with `none`).
  const strategies = tagsPolicy.chooseStrategies(
    req.strategies,
    req.configStrategies === false ? [] : rules?.strategies?.value,
  );
  const done = req.verb === 'copy' ? 'copied' : 'pushed';
  const derived = await deriveStrategyTags(ctx, strategies, req.semverAliases ?? rules?.semverAliases?.value ?? false);
  let tags = [...new Set([...req.tags, ...derived.map((d) => d.tag)])];
  if (tags.length === 0) {
    ctx.log.warn('no tag given: pushing as "latest" (name a tag in TARGET, with --tag or with --tag-strategy)');
    tags = ['latest'];
  }

  // The repository: its mutability when the ECR API answers; missing → --create-repo or stop.
  let mutability: KnownMutability | undefined;
  let createRepository = false;
  let ecr = await ecrTarget(ctx, host);
  // A loopback data plane (ecrctl local) names no region: a copy consults the ECR API only
  // for the default registry's host, where the region is known. Another loopback host may be
  // another region's data plane or no ECR at all (a docker-registry); its answers decide.
  if (ecr && req.verb === 'copy' && ecr.region === undefined && !(await isDefaultRegistry(ctx, host))) {
    ctx.log.verbose(`${host} is not the default ECR registry: repository and tag mutability are left to its answers`);
    ecr = undefined;
  }
  let ecrConn: PlanConnection | undefined;
  if (ecr) {
    try {
      const region = ecr.region ?? requireRegion(settingsFromSession(ctx));
      ecrConn = { conn: await ecrConnection(ctx, { ...ecr, region }), region };
      const info = await describeRepository(ecrConn.conn, repository);
      if (info) {
        mutability = { setting: info.tagMutability, exclusions: info.mutabilityExclusions };
      } else if (req.createRepo) {
        createRepository = true;
        const setting = rules?.create?.tagMutability ?? (rules?.requireImmutable?.value ? 'IMMUTABLE' : 'MUTABLE');
        mutability = { setting, exclusions: rules?.create?.mutabilityExclusions ?? [] };
      } else {
        // ECR creates the repository on push when a CREATE_ON_PUSH template covers it.
        const template = await createOnPushTemplate(ecrConn.conn, repository);
        if (template) {
          ctx.log.info(`${repository} does not exist: the creation template ${template.prefix} creates it on push`);
          mutability = {
            setting: template.tagMutability ?? 'MUTABLE',
            exclusions: template.mutabilityExclusions ?? [],
          };
        } else {
          // A loopback data plane (ecrctl local) does not name its region: say which was asked.
          const regionUnknown = ecr.region === undefined;
          throw new NotFoundError(
            `repository ${repository} does not exist in ${host} (region ${ecrConn.region}); nothing was ${done}`,
            {
              rule: `ECR repositories must exist before a ${req.verb ?? 'push'}`,
              value: repository,
              fix:
                `add --create-repo, run \`ecrctl create-repo ${repository}${regionUnknown ? ` --region ${ecrConn.region}` : ''}\` first, or add a CREATE_ON_PUSH creation template (\`ecrctl template create\`)` +
                (regionUnknown
                  ? `; if ${host} is the data plane of another region, pass --region with that region`
                  : ''),
            },
          );
        }
      }
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      // Credentials that may push but not describe: the registry's answer decides.
      ctx.log.verbose(`DescribeRepositories not allowed (${err.message}); tag mutability unknown`);
      ecrConn = undefined;
    }
  } else if (req.createRepo) {
    ctx.log.info(
      `--create-repo: ${host} is not known as an ECR registry; a registry like it creates repositories on push`,
    );
  }

  if (createRepository) await checkRepositoryName(ctx, repository, config, done);

  const checks = tagsPolicy.checkTagRules({
    repository,
    tags,
    ...(rules ? { rules } : {}),
    ...(mutability ? { mutability } : {}),
  });
  // The source's digest and every tag's target in one round: a re-push whose tags all point
  // at the digest already is then settled (the copy sends nothing, asks nothing more).
  // Within one registry the source is asked first: the first answer settles how the host is
  // spoken to (HTTP or HTTPS on loopback), which parallel first requests would each guess.
  const sameHost = req.source.registry?.host === host;
  const digestOf = () => plannedDigest(req.source, req.sourceRef, req.platform, ctx.signal);
  const first = sameHost ? await digestOf() : undefined;
  const [digest, present] = await Promise.all([
    first ?? digestOf(),
    createRepository
      ? new Map<string, string | undefined>(tags.map((t) => [t, undefined]))
      : tagsAtOnce(req.targetStore, tags, ctx.signal),
  ]);
  const states = tagsPolicy.planTagStates(digest, present, mutability);

  const plan: PushPlan = {
    repository,
    digest,
    tags,
    given: [...req.tags],
    derived,
    states,
    checks,
    present,
    ...(config ? { config: config.file } : {}),
    ...(rules ? { pattern: rules.pattern } : {}),
    ...(mutability ? { mutability } : {}),
    ...(createRepository ? { createRepository } : {}),
  };
  if (!req.dryRun) for (const c of checks) if (c.status === 'warning') ctx.log.warn(`${c.rule}: ${c.message}`);

  const broken = brokenRules(checks, {
    nothing: `nothing was ${done}`,
    value: tags.join(','),
    fix: rules
      ? `change the tags, or the rule in ${config?.file} (pattern ${rules.pattern}, ${rules.at})`
      : 'change the tags',
  });
  if (broken) plan.violation = broken;
  const conflicts = conflictsOf(states);
  if (conflicts.length > 0 && !plan.violation) {
    plan.violation = new RuleViolation(
      `${conflicts.length === 1 ? `tag '${conflicts[0]?.tag}' already exists` : `${conflicts.length} tags already exist`} in ${repository} at another image, and tags there are immutable (${mutability?.setting}); nothing was ${done}`,
      {
        rule: IMMUTABLE_TAG_RULE,
        value: tags.join(','),
        fix: `push under a new tag (a new version or commit tag), or move an environment tag to an existing image with \`ecrctl promote ${repository}@${conflicts[0]?.current} TAG\` in a repository whose exclusions allow it`,
        problems: conflicts.map(
          (c) => `tag '${c.tag}': points at ${c.current}; this ${req.verb ?? 'push'} is ${digest}`,
        ),
      },
    );
  }
  // A dry run reports the plan, broken rules included; the caller decides (the CLI exits 3).
  if (plan.violation && !req.dryRun) throw plan.violation;
  if (!req.dryRun) {
    for (const s of states) if (s.action === 'moves') ctx.log.info(`tag ${s.tag} moves from ${s.current} to ${digest}`);
    if (createRepository && ecrConn) await createTargetRepository(ctx, ecrConn, repository, rules);
  }
  return plan;
}

/** Returns true when host is the data plane of the session's default ECR registry. */
async function isDefaultRegistry(ctx: Session, host: string): Promise<boolean> {
  try {
    return (await defaultRegistryHost(ctx)) === host;
  } catch {
    return false; // no token for the default registry: the host is not known as it
  }
}

/** Checks the repository name (naming rules, then house rules as the config says) before creating it. */
async function checkRepositoryName(
  ctx: Session,
  repository: string,
  config: ProjectConfig | undefined,
  done: string,
): Promise<void> {
  naming.assertRepositoryName(repository);
  const strict = config?.houseRulesAsErrors?.value === true;
  const warnings = naming.houseRuleWarnings(repository, ctx.env);
  if (warnings.length === 0) return;
  if (!strict) {
    for (const w of warnings) ctx.log.warn(`${w.message}${w.suggestion ? ` (e.g. '${w.suggestion}')` : ''}`);
    return;
  }
  throw new RuleViolation(
    `the repository name ${repository} breaks ${warnings.length === 1 ? 'a house rule' : 'house rules'}; nothing was created or ${done}`,
    {
      rule: `house rules are errors here (houseRulesAsErrors: true, ${config?.houseRulesAsErrors?.at})`,
      value: repository,
      fix: warnings[0]?.suggestion ? `push to '${warnings[0].suggestion}'` : 'rename the repository',
      problems: warnings.map((w) => w.message),
    },
  );
}

/**
 * Creates the target repository with the config's `create:` settings for its pattern, checked
 * by create-repo's own rules (privateSpec), in the region and account of the target host.
 */
async function createTargetRepository(
  ctx: Session,
  ecr: PlanConnection,
  repository: string,
  rules: RepositoryConfig | undefined,
): Promise<void> {
  const c = rules?.create;
  const setting = c?.tagMutability ?? (rules?.requireImmutable?.value ? 'IMMUTABLE' : undefined);
  const settings = await privateSpec(
    {
      names: [repository],
      ...(setting ? { tagMutability: setting } : {}),
      ...(c?.mutabilityExclusions && c.mutabilityExclusions.length > 0
        ? { mutabilityExclusions: c.mutabilityExclusions }
        : {}),
      ...(c?.scanOnPush !== undefined ? { scanOnPush: c.scanOnPush } : {}),
    },
    [],
  );
  const r = await ensureRepository(ecr.conn, { ...settings, name: repository }, { ifNotExists: true });
  ctx.log.info(
    `${r.status === 'created' ? 'created' : 'found'} repository ${repository}${setting ? ` (${setting})` : ''}`,
  );
}

/** Returns err as a RuleViolation when a registry refused to move an immutable tag, else err. */
export function immutableTagRefusal(err: unknown, repository: string): unknown {
  if (
    err instanceof EcrctlError &&
    /TAG_INVALID|ImageTagAlreadyExists/.test(`${err.value ?? ''} ${err.message}`) &&
    /immutable|already exists/i.test(err.message)
  ) {
    return new RuleViolation(`the registry refused to move an immutable tag in ${repository}`, {
      rule: IMMUTABLE_TAG_RULE,
      fix: 'push under a new tag (a new version or commit tag)',
      cause: err,
      problems: [err.message],
    });
  }
  return err;
}

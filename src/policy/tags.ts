// Tag strategies and tag rules (ECR-FACTS.md "Tag strategies"). Pure: the environment comes
// in as a plain record and git facts are handed in by the caller, so every source, every
// sanitising case and every missing-variable message can be pinned by tables.
import { UsageError } from '../errors.js';
import { OCI_TAG, validateImageTag } from './naming.js';

/** A tag strategy as `--tag-strategy` and the project config name them. */
export type TagStrategy =
  | { kind: 'branch-sha' }
  | { kind: 'semver' }
  | { kind: 'sha' }
  | { kind: 'env'; name: string }
  | { kind: 'latest' };

/** The strategy names, for help and error messages. */
export const STRATEGY_NAMES = ['branch-sha', 'semver', 'sha', 'env:NAME', 'latest'] as const;

/** Characters of the short commit in `branch-sha` and `sha` tags (git's usual abbreviation). */
export const SHORT_SHA_LENGTH = 7;

/** Returns the strategy that text names, or throws UsageError listing the known ones. */
export function parseTagStrategy(text: string): TagStrategy {
  const t = text.trim();
  if (t === 'branch-sha' || t === 'semver' || t === 'sha' || t === 'latest') return { kind: t };
  if (t.startsWith('env:')) {
    const name = t.slice(4);
    if (!OCI_TAG.test(name)) {
      throw new UsageError(`the tag strategy ${JSON.stringify(text)} names an environment that is not a valid tag`, {
        rule: 'env:NAME tags the image NAME (e.g. env:staging); NAME follows the tag rule [A-Za-z0-9_][A-Za-z0-9._-]{0,127}',
        value: text,
        fix: 'write e.g. --tag-strategy env:staging',
      });
    }
    return { kind: 'env', name };
  }
  throw new UsageError(`unknown tag strategy ${JSON.stringify(text)}`, {
    rule: `tag strategies are ${STRATEGY_NAMES.join(', ')}`,
    value: text,
    fix: 'see `ecrctl help tag-strategies`',
  });
}

/**
 * The `--tag-strategy` value (and what `--no-tag-strategy` passes) that turns tag strategies
 * off for one push: the project config's defaults are not applied, only the given tags are.
 */
export const NO_TAG_STRATEGY = 'none';

/**
 * Returns the strategies a push uses: the given ones, else the config's defaults; none at all
 * when the given list is `none` (throws UsageError when `none` comes with other strategies).
 */
export function chooseStrategies(
  given: readonly string[],
  defaults: readonly TagStrategy[] | undefined,
): TagStrategy[] {
  if (given.includes(NO_TAG_STRATEGY)) {
    const others = given.filter((g) => g !== NO_TAG_STRATEGY);
    if (others.length > 0) {
      throw new UsageError(`the tag strategy none turns strategies off, so it cannot come with ${others.join(', ')}`, {
        rule: '--no-tag-strategy (or --tag-strategy none) means: only the tags given in TARGET and with --tag',
        value: given.join(','),
        fix: 'drop --no-tag-strategy, or drop the other --tag-strategy options',
      });
    }
    return [];
  }
  if (given.length > 0) return given.map(parseTagStrategy);
  return [...(defaults ?? [])];
}

/** Returns the name of a strategy as the user writes it. */
export function formatTagStrategy(s: TagStrategy): string {
  return s.kind === 'env' ? `env:${s.name}` : s.kind;
}

/** A fact about the build and where it was read (a variable name or a git command). */
export interface Fact {
  value: string;
  from: string;
}

/** What the build environment tells about the source: commit, branch, version tag. */
export interface BuildFacts {
  commit?: Fact;
  branch?: Fact;
  /** A git tag on the built commit (used by `semver` when it parses as a version). */
  versionTag?: Fact;
}

/** Which facts each strategy needs. */
export function factsNeeded(strategies: readonly TagStrategy[]): Set<keyof BuildFacts> {
  const need = new Set<keyof BuildFacts>();
  for (const s of strategies) {
    if (s.kind === 'branch-sha') {
      need.add('branch');
      need.add('commit');
    } else if (s.kind === 'sha') need.add('commit');
    else if (s.kind === 'semver') need.add('versionTag');
  }
  return need;
}

/** The variables looked at for each fact, in order, for "missing" messages. */
export const FACT_SOURCES: Record<keyof BuildFacts, string> = {
  commit:
    'CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_SOURCE_VERSION (a commit id), pull_request.head.sha of GITHUB_EVENT_PATH (pull request events), GITHUB_SHA',
  branch:
    'CODEBUILD_WEBHOOK_HEAD_REF (refs/heads/…), CODEBUILD_SOURCE_VERSION (a branch), GITHUB_HEAD_REF, pull_request.head.ref of GITHUB_EVENT_PATH, GITHUB_REF_NAME with GITHUB_REF_TYPE=branch',
  versionTag:
    'CODEBUILD_WEBHOOK_HEAD_REF or CODEBUILD_SOURCE_VERSION (refs/tags/…), GITHUB_REF_NAME with GITHUB_REF_TYPE=tag',
};

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

type Env = Readonly<Record<string, string | undefined>>;

/** What a CodeBuild source version or head ref names. */
function refKind(text: string): { kind: 'branch' | 'tag' | 'commit' | 'pr'; name: string } {
  if (text.startsWith('refs/heads/')) return { kind: 'branch', name: text.slice('refs/heads/'.length) };
  if (text.startsWith('refs/tags/')) return { kind: 'tag', name: text.slice('refs/tags/'.length) };
  if (FULL_SHA.test(text)) return { kind: 'commit', name: text.toLowerCase() };
  // CodeBuild names pull request builds `pr/123`.
  if (/^pr\/[0-9]+$/.test(text)) return { kind: 'pr', name: text };
  return { kind: 'branch', name: text };
}

/** The head of a pull request as a GitHub event payload names it. */
export interface PullRequestHead {
  /** The head commit (`pull_request.head.sha`): what the author pushed, not the merge commit. */
  sha?: string;
  /** The head branch (`pull_request.head.ref`). */
  ref?: string;
}

/** Where the pull request head facts are said to come from, in messages and dry runs. */
export const PR_HEAD_SHA_SOURCE = 'pull_request.head.sha (GITHUB_EVENT_PATH)';
export const PR_HEAD_REF_SOURCE = 'pull_request.head.ref (GITHUB_EVENT_PATH)';

/**
 * Returns true when a GitHub event (GITHUB_EVENT_NAME) is about a pull request: then
 * GITHUB_SHA is a merge commit (pull_request) or the base branch's head (pull_request_target),
 * never the commit the author pushed, and the event payload has the head.
 */
export function isPullRequestEvent(eventName: string | undefined): boolean {
  return eventName !== undefined && /^pull_request(_target|_review|_review_comment)?$/.test(eventName);
}

/** Returns the pull request head from a GitHub event payload (parsed JSON), or undefined. */
export function pullRequestHead(payload: unknown): PullRequestHead | undefined {
  const pr = (payload as { pull_request?: { head?: { sha?: unknown; ref?: unknown } } } | null)?.pull_request;
  const head = pr?.head;
  if (!head || typeof head !== 'object') return undefined;
  const out: PullRequestHead = {};
  if (typeof head.sha === 'string' && FULL_SHA.test(head.sha)) out.sha = head.sha.toLowerCase();
  if (typeof head.ref === 'string' && head.ref !== '') out.ref = head.ref;
  return out.sha || out.ref ? out : undefined;
}

/** What factsFromEnv takes beyond the variables. */
export interface EnvFactsOptions {
  /** The pull request head from the GitHub event payload, on a pull_request event. */
  pullRequest?: PullRequestHead;
}

/**
 * Returns the facts that CI variables give: CodeBuild's first, then GitHub Actions'. Each
 * fact is taken from the first source that has it. On a GitHub pull request event the head
 * commit of the event payload comes before GITHUB_SHA (a merge commit nobody pushed).
 */
export function factsFromEnv(env: Env, opts: EnvFactsOptions = {}): BuildFacts {
  const facts: BuildFacts = {};
  const set = (key: keyof BuildFacts, value: string | undefined, from: string) => {
    if (value && facts[key] === undefined) facts[key] = { value, from };
  };
  // CodeBuild.
  const resolved = env.CODEBUILD_RESOLVED_SOURCE_VERSION;
  if (resolved && FULL_SHA.test(resolved)) set('commit', resolved.toLowerCase(), 'CODEBUILD_RESOLVED_SOURCE_VERSION');
  const headRef = env.CODEBUILD_WEBHOOK_HEAD_REF;
  if (headRef) {
    const r = refKind(headRef);
    if (r.kind === 'branch') set('branch', r.name, 'CODEBUILD_WEBHOOK_HEAD_REF');
    if (r.kind === 'tag') set('versionTag', r.name, 'CODEBUILD_WEBHOOK_HEAD_REF');
  }
  const sourceVersion = env.CODEBUILD_SOURCE_VERSION;
  if (sourceVersion && env.CODEBUILD_BUILD_ID) {
    const r = refKind(sourceVersion);
    if (r.kind === 'commit') set('commit', r.name, 'CODEBUILD_SOURCE_VERSION');
    else if (r.kind === 'tag') set('versionTag', r.name, 'CODEBUILD_SOURCE_VERSION');
    else if (r.kind === 'branch' || r.kind === 'pr') set('branch', r.name, 'CODEBUILD_SOURCE_VERSION');
  }
  // GitHub Actions.
  const pr = opts.pullRequest;
  if (pr?.sha) set('commit', pr.sha, PR_HEAD_SHA_SOURCE);
  const sha = env.GITHUB_SHA;
  if (sha && FULL_SHA.test(sha)) set('commit', sha.toLowerCase(), 'GITHUB_SHA');
  set('branch', env.GITHUB_HEAD_REF, 'GITHUB_HEAD_REF');
  if (pr?.ref) set('branch', pr.ref, PR_HEAD_REF_SOURCE);
  if (env.GITHUB_REF_NAME) {
    if (env.GITHUB_REF_TYPE === 'branch') set('branch', env.GITHUB_REF_NAME, 'GITHUB_REF_NAME');
    if (env.GITHUB_REF_TYPE === 'tag') set('versionTag', env.GITHUB_REF_NAME, 'GITHUB_REF_NAME');
  }
  return facts;
}

/** Returns facts with the gaps filled from fallback (e.g. git). */
export function mergeFacts(first: BuildFacts, fallback: BuildFacts): BuildFacts {
  return {
    ...fallback,
    ...Object.fromEntries(Object.entries(first).filter(([, v]) => v !== undefined)),
  };
}

/**
 * Returns text made into part of a valid tag: lowercase, every run of characters a tag
 * cannot hold (and '/') turned into one '-', no separator at either end, at most max
 * characters. Empty when nothing usable is left.
 */
export function sanitizeTagPart(text: string, max = 128): string {
  let s = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  s = s.replace(/[^a-z0-9._-]+/g, '-').replace(/-{2,}/g, '-');
  s = s.replace(/^[.-]+|[._-]+$/g, '');
  if (s.length > max) s = s.slice(0, max).replace(/[._-]+$/g, '');
  return s;
}

/** A parsed semantic version tag (`v1.2.3`, `1.2.3-rc.1`, `v2.0.0+build.5`). */
export interface SemVer {
  prefix: '' | 'v';
  major: number;
  minor: number;
  patch: number;
  prerelease?: string;
  build?: string;
}

const SEMVER =
  /^(v?)(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** Returns the version text names, or undefined when it is not semver (`v` prefix allowed). */
export function parseSemver(text: string): SemVer | undefined {
  const m = SEMVER.exec(text.trim());
  if (!m) return undefined;
  const v: SemVer = { prefix: m[1] === 'v' ? 'v' : '', major: Number(m[2]), minor: Number(m[3]), patch: Number(m[4]) };
  if (m[5]) v.prerelease = m[5];
  if (m[6]) v.build = m[6];
  return v;
}

/** One tag a strategy gave, with where its parts came from. */
export interface DerivedTag {
  tag: string;
  strategy: string;
  /** The facts used: `GITHUB_SHA`, `git rev-parse HEAD`, … (empty for fixed tags). */
  from: string[];
}

export interface DeriveOptions {
  /** semver also tags `vMAJOR.MINOR` and `vMAJOR` (not for pre-releases). */
  semverAliases?: boolean;
  /** Why git gave nothing (not a repository, not installed, HEAD detached), for messages. */
  gitNotes?: Partial<Record<keyof BuildFacts, string>>;
}

function missing(strategy: TagStrategy, fact: keyof BuildFacts, what: string, opts: DeriveOptions): UsageError {
  const git = opts.gitNotes?.[fact];
  const name = formatTagStrategy(strategy);
  return new UsageError(`the tag strategy ${name} needs ${what}, and none was found`, {
    rule: `${what} comes from ${FACT_SOURCES[fact]}, else from git in the working directory${git ? ` (git: ${git})` : ''}`,
    value: name,
    fix:
      fact === 'versionTag'
        ? 'run on a version tag (git tag v1.2.3), or set GITHUB_REF_TYPE=tag with GITHUB_REF_NAME=v1.2.3; or drop the semver strategy for this build'
        : `set one of those variables, or run where git can see the checkout (git -C DIR rev-parse HEAD)`,
  });
}

/**
 * Returns the tags the strategies give for facts, in strategy order without repeats; throws
 * UsageError naming the variable or git fact that is missing.
 */
export function deriveTags(
  strategies: readonly TagStrategy[],
  facts: BuildFacts,
  opts: DeriveOptions = {},
): DerivedTag[] {
  const out: DerivedTag[] = [];
  const add = (tag: string, strategy: TagStrategy, from: string[]) => {
    if (!out.some((d) => d.tag === tag)) out.push({ tag, strategy: formatTagStrategy(strategy), from });
  };
  for (const s of strategies) {
    switch (s.kind) {
      case 'latest':
        add('latest', s, []);
        break;
      case 'env':
        add(s.name, s, []);
        break;
      case 'sha': {
        if (!facts.commit) throw missing(s, 'commit', 'the commit id', opts);
        add(facts.commit.value.slice(0, SHORT_SHA_LENGTH), s, [facts.commit.from]);
        break;
      }
      case 'branch-sha': {
        if (!facts.branch) throw missing(s, 'branch', 'the branch name', opts);
        if (!facts.commit) throw missing(s, 'commit', 'the commit id', opts);
        const short = facts.commit.value.slice(0, SHORT_SHA_LENGTH);
        const branch = sanitizeTagPart(facts.branch.value, 128 - SHORT_SHA_LENGTH - 1);
        if (branch === '') {
          throw new UsageError(
            `the branch name ${JSON.stringify(facts.branch.value)} (from ${facts.branch.from}) has nothing a tag can hold`,
            {
              rule: "tags use letters, digits, '.', '_' and '-'",
              value: facts.branch.value,
              fix: 'use the sha strategy for this branch',
            },
          );
        }
        add(`${branch}-${short}`, s, [facts.branch.from, facts.commit.from]);
        break;
      }
      case 'semver': {
        if (!facts.versionTag) throw missing(s, 'versionTag', 'a version tag (v1.2.3)', opts);
        const v = parseSemver(facts.versionTag.value);
        if (!v) {
          throw new UsageError(
            `the tag strategy semver needs a version tag, but ${facts.versionTag.from} is ${JSON.stringify(facts.versionTag.value)}`,
            {
              rule: 'a version tag is MAJOR.MINOR.PATCH with an optional v prefix, pre-release and build (v1.2.3, 1.4.0-rc.1)',
              value: facts.versionTag.value,
              fix: 'tag the commit with a version (git tag v1.2.3), or drop the semver strategy for this build',
            },
          );
        }
        const from = [facts.versionTag.from];
        // '+' cannot appear in a tag: build metadata joins with '-' as docker/metadata-action does.
        const full = `${v.prefix}${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ''}${v.build ? `-${v.build}` : ''}`;
        add(full, s, from);
        if (opts.semverAliases && v.prerelease === undefined) {
          add(`${v.prefix}${v.major}.${v.minor}`, s, from);
          add(`${v.prefix}${v.major}`, s, from);
        }
        break;
      }
    }
  }
  return out;
}

// ---- rules ------------------------------------------------------------------------------

/** Returns true when a tag cannot be moved under a repository's tag mutability setting. */
export function tagIsImmutable(mutability: string, exclusions: readonly string[], tag: string): boolean {
  const excluded = exclusions.some((f) => wildcard(f).test(tag));
  switch (mutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}

/** Returns a regular expression for an ECR wildcard filter (`*` matches any run). */
export function wildcard(filter: string): RegExp {
  return new RegExp(`^${filter.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** Where a setting came from in the project config, for messages (`.ecrctl.yaml:12`). */
export type ConfigPlace = string;

/** The tag rules of the project config that apply to one repository. */
export interface RepositoryTagRules {
  /** The pattern that matched, and where it is. */
  pattern: string;
  at: ConfigPlace;
  /** Every pushed tag must match one of these (full-match regular expressions). */
  allowedTags?: { pattern: string; at: ConfigPlace }[];
  /** Tags (wildcards with *) that may never be pushed. */
  forbid?: { tag: string; at: ConfigPlace }[];
  requireImmutable?: { value: boolean; at: ConfigPlace };
  /** Whether the repository is production (overrides the name heuristic). */
  production?: { value: boolean; at: ConfigPlace };
}

/** One rule checked for a push: passed, a warning, or an error (exit 3). */
export interface RuleCheck {
  rule: string;
  status: 'ok' | 'warning' | 'error' | 'unknown';
  message: string;
}

/** Returns true when a repository name marks it as production (a `prod` or `production` word). */
export function looksLikeProduction(repository: string): boolean {
  return repository.split(/[/._-]+/).some((w) => w === 'prod' || w === 'production' || w === 'prd');
}

export interface TagRuleInput {
  repository: string;
  tags: readonly string[];
  rules?: RepositoryTagRules;
  /** The repository's tag mutability when known (DescribeRepositories), else undefined. */
  mutability?: { setting: string; exclusions: readonly string[] };
}

/**
 * Returns every rule checked for pushing tags to a repository: the OCI tag rule, the
 * project config's allowed and forbidden tags and requireImmutable, and the defaults from
 * the guides (no `latest` in production, production repositories immutable) as warnings.
 */
export function checkTagRules(input: TagRuleInput): RuleCheck[] {
  const checks: RuleCheck[] = [];
  const { rules, tags, repository } = input;

  const bad = tags.flatMap((t) => validateImageTag(t).map((p) => `tag '${t}': ${p.message}`));
  checks.push(
    bad.length > 0
      ? { rule: 'oci-tag', status: 'error', message: bad.join('; ') }
      : { rule: 'oci-tag', status: 'ok', message: 'every tag follows [A-Za-z0-9_][A-Za-z0-9._-]{0,127}' },
  );

  if (rules?.allowedTags && rules.allowedTags.length > 0) {
    const allowed = rules.allowedTags;
    const outside = tags.filter((t) => !allowed.some((a) => new RegExp(`^(?:${a.pattern})$`).test(t)));
    const list = allowed.map((a) => a.pattern).join(', ');
    const at = allowed[0]?.at ?? rules.at;
    checks.push(
      outside.length > 0
        ? {
            rule: 'allowedTags',
            status: 'error',
            message: `${outside.map((t) => `'${t}'`).join(', ')} match none of the allowed tag patterns ${list} (${at})`,
          }
        : { rule: 'allowedTags', status: 'ok', message: `every tag matches one of ${list} (${at})` },
    );
  }

  const forbidden = (rules?.forbid ?? []).flatMap((f) =>
    tags.filter((t) => wildcard(f.tag).test(t)).map((t) => ({ t, f })),
  );
  if (rules?.forbid && rules.forbid.length > 0) {
    checks.push(
      forbidden.length > 0
        ? {
            rule: 'forbid',
            status: 'error',
            message: forbidden.map(({ t, f }) => `tag '${t}' is forbidden by forbid: ${f.tag} (${f.at})`).join('; '),
          }
        : { rule: 'forbid', status: 'ok', message: `no tag is one of ${rules.forbid.map((f) => f.tag).join(', ')}` },
    );
  }

  const production = rules?.production?.value ?? looksLikeProduction(repository);
  const why = rules?.production
    ? `production: ${rules.production.value} at ${rules.production.at}`
    : `the name '${repository}' says production`;
  if (production && tags.includes('latest') && !forbidden.some(({ t }) => t === 'latest')) {
    checks.push({
      rule: 'production-latest',
      status: 'warning',
      message: `pushing 'latest' to a production repository (${why}): deploys should pin a version or commit tag, or a digest; add forbid: [latest] to make this an error`,
    });
  }

  const m = input.mutability;
  const mutableTags = m ? tags.filter((t) => !tagIsImmutable(m.setting, m.exclusions, t)) : [];
  if (rules?.requireImmutable?.value) {
    const at = rules.requireImmutable.at;
    if (!m) {
      checks.push({
        rule: 'requireImmutable',
        status: 'unknown',
        message: `requireImmutable (${at}): the registry does not tell tag mutability; the registry's answer decides`,
      });
    } else if (mutableTags.length > 0) {
      checks.push({
        rule: 'requireImmutable',
        status: 'error',
        message: `${repository} has tag mutability ${m.setting}, so ${mutableTags.map((t) => `'${t}'`).join(', ')} could be moved later; requireImmutable: true (${at})`,
      });
    } else {
      checks.push({
        rule: 'requireImmutable',
        status: 'ok',
        message: `${repository} keeps these tags immutable (${m.setting}) (${at})`,
      });
    }
  } else if (production && m && m.setting === 'MUTABLE') {
    checks.push({
      rule: 'production-immutable',
      status: 'warning',
      message: `${repository} is a production repository (${why}) with mutable tags: set IMMUTABLE (ecrctl create-repo ${repository} --if-not-exists --apply --immutable), or requireImmutable: true in .ecrctl.yaml to enforce it`,
    });
  }
  return checks;
}

/** What pushing a tag would do, given what the target has now. */
export interface TagState {
  tag: string;
  /** new: absent; unchanged: already at the digest; moves: at another digest, mutable; conflict: at another digest, immutable. */
  action: 'new' | 'unchanged' | 'moves' | 'conflict';
  current?: string;
}

/**
 * Returns what each tag would do when pointed at digest, given the digests the target
 * answered (undefined = absent) and the tag mutability when known. With the mutability
 * unknown a moved tag is 'moves': the registry's answer decides.
 */
export function planTagStates(
  digest: string,
  present: ReadonlyMap<string, string | undefined>,
  mutability?: { setting: string; exclusions: readonly string[] },
): TagState[] {
  return [...present].map(([tag, current]): TagState => {
    if (current === undefined) return { tag, action: 'new' };
    if (current === digest) return { tag, action: 'unchanged', current };
    if (mutability && tagIsImmutable(mutability.setting, mutability.exclusions, tag))
      return { tag, action: 'conflict', current };
    return { tag, action: 'moves', current };
  });
}

// Pure checks for replication rules, pull-through cache rules and repository creation
// templates: the limits and patterns ECR enforces, checked before any call so a mistake
// exits 3 with every problem named. No I/O, no SDK.

/** One replication destination: a region and a registry (account). */
export interface ReplicationDestination {
  region: string;
  registryId: string;
}

/** A repository filter of a replication rule (PREFIX_MATCH is the only type). */
export interface ReplicationFilter {
  filter: string;
  filterType: string;
}

/** A replication rule as the API spells it. */
export interface ReplicationRule {
  destinations: ReplicationDestination[];
  repositoryFilters?: ReplicationFilter[];
}

/** ECR's replication limits (ECR-FACTS.md, service quotas). */
export const REPLICATION_LIMITS = { rules: 10, uniqueDestinations: 25, filtersPerRule: 100 } as const;

const REGION = /^[0-9a-z-]{2,25}$/;
const ACCOUNT = /^[0-9]{12}$/;
// The API model's RepositoryFilterValue (2–256 characters).
const FILTER = /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/;

/** Returns the destination `REGION[:ACCOUNT]` names (the account defaults to defaultAccount). */
export function parseDestination(text: string, defaultAccount: string): ReplicationDestination | { problem: string } {
  const [region = '', account, extra] = text.split(':');
  if (extra !== undefined) return { problem: `destination "${text}": write REGION or REGION:ACCOUNT` };
  if (!REGION.test(region))
    return { problem: `destination "${text}": "${region}" is not a region name (e.g. eu-west-1)` };
  const registryId = account ?? defaultAccount;
  if (!ACCOUNT.test(registryId))
    return { problem: `destination "${text}": the account "${registryId}" is not 12 digits` };
  return { region, registryId };
}

/** Returns the problem with a replication filter, or undefined when it is valid. */
export function filterProblem(filter: string): string | undefined {
  if (filter.length < 2 || filter.length > 256) return `filter "${filter}": a prefix is 2–256 characters`;
  if (!FILTER.test(filter)) {
    return `filter "${filter}": a prefix is lowercase letters, digits, '.', '_', '-' and '/' between name parts (a repository name prefix, e.g. team/ or prod-)`;
  }
  return undefined;
}

/** Returns `region:account`, how ecrctl writes a destination. */
export function formatDestination(d: ReplicationDestination): string {
  return `${d.region}:${d.registryId}`;
}

/**
 * Returns every problem with a replication configuration: at most 10 rules, at most 25
 * unique destinations in all, 1–100 PREFIX_MATCH filters per rule (when given), valid
 * regions and accounts, no rule replicating into its own source registry.
 */
export function checkReplicationRules(rules: readonly ReplicationRule[], source?: ReplicationDestination): string[] {
  const problems: string[] = [];
  if (rules.length > REPLICATION_LIMITS.rules) {
    problems.push(`${rules.length} rules: a replication configuration has at most ${REPLICATION_LIMITS.rules}`);
  }
  const unique = new Set<string>();
  rules.forEach((rule, i) => {
    const where = `rule ${i + 1}`;
    if (!Array.isArray(rule.destinations) || rule.destinations.length === 0)
      problems.push(`${where}: has no destination`);
    for (const d of rule.destinations ?? []) {
      if (typeof d.region !== 'string' || !REGION.test(d.region))
        problems.push(`${where}: "${String(d.region)}" is not a region name`);
      if (typeof d.registryId !== 'string' || !ACCOUNT.test(d.registryId))
        problems.push(`${where}: the account "${String(d.registryId)}" is not 12 digits`);
      if (source && d.region === source.region && d.registryId === source.registryId) {
        problems.push(`${where}: ${formatDestination(d)} is the source registry itself`);
      }
      unique.add(formatDestination(d));
    }
    const filters = rule.repositoryFilters;
    if (filters !== undefined) {
      if (filters.length === 0)
        problems.push(`${where}: an empty filter list (leave repositoryFilters out to replicate every repository)`);
      if (filters.length > REPLICATION_LIMITS.filtersPerRule) {
        problems.push(`${where}: ${filters.length} filters, at most ${REPLICATION_LIMITS.filtersPerRule} per rule`);
      }
      for (const f of filters) {
        if (f.filterType !== 'PREFIX_MATCH')
          problems.push(`${where}: filter type "${String(f.filterType)}" (only PREFIX_MATCH exists)`);
        const p = typeof f.filter === 'string' ? filterProblem(f.filter) : 'a filter without a prefix';
        if (p) problems.push(`${where}: ${p}`);
      }
    }
  });
  if (unique.size > REPLICATION_LIMITS.uniqueDestinations) {
    problems.push(
      `${unique.size} unique destinations: ECR allows at most ${REPLICATION_LIMITS.uniqueDestinations} across all rules`,
    );
  }
  return problems;
}

/** Returns whether a repository is covered by a rule's filters (none: every repository). */
export function ruleCovers(rule: ReplicationRule, repository: string): boolean {
  const filters = rule.repositoryFilters ?? [];
  return (
    filters.length === 0 || filters.some((f) => f.filterType === 'PREFIX_MATCH' && repository.startsWith(f.filter))
  );
}

// ---- pull-through cache ------------------------------------------------------------

/** The upstream registries ECR can cache from. */
export const UPSTREAMS = [
  'ecr',
  'ecr-public',
  'quay',
  'k8s',
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
] as const;
export type Upstream = (typeof UPSTREAMS)[number];

/** Upstreams that need a Secrets Manager secret holding the upstream's credentials. */
export const UPSTREAMS_NEEDING_SECRET: readonly Upstream[] = [
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
];

/** The fixed upstream hosts; ecr and azure-container-registry depend on the user's registry. */
const UPSTREAM_HOSTS: Partial<Record<Upstream, string>> = {
  'ecr-public': 'public.ecr.aws',
  quay: 'quay.io',
  k8s: 'registry.k8s.io',
  'docker-hub': 'registry-1.docker.io',
  'github-container-registry': 'ghcr.io',
  'gitlab-container-registry': 'registry.gitlab.com',
  chainguard: 'cgr.dev',
};

/** The prefix every pull-through cache secret's name starts with. */
export const CACHE_SECRET_PREFIX = 'ecr-pullthroughcache/';

const CACHE_PREFIX = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):([0-9]{12}):secret:(.+)$/;

/** Returns the problem with a cache (or template) prefix, or undefined. maxLength: 30 for cache rules. */
export function prefixProblem(prefix: string, maxLength: number): string | undefined {
  if (prefix === 'ROOT') return undefined;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const min = maxLength === 30 ? 2 : 1;
  if (prefix.length < min || prefix.length > maxLength)
    return `prefix "${prefix}": ${min}–${maxLength} characters, or ROOT`;
  if (!CACHE_PREFIX.test(bare)) {
    return `prefix "${prefix}": a repository namespace of lowercase letters, digits, '.', '_', '-' separated by '/' (e.g. docker-hub or team/base), or ROOT`;
  }
  return undefined;
}

/**
 * Returns the upstream registry URL for an upstream name; ecr needs an account and region
 * (or the URL), azure-container-registry the `<name>.azurecr.io` URL.
 */
export function upstreamUrlFor(
  upstream: Upstream,
  given: { url?: string; account?: string; region?: string },
): { url: string } | { problem: string } {
  if (upstream === 'ecr') {
    if (given.url) {
      return /^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(given.url)
        ? { url: given.url }
        : { problem: `upstream URL "${given.url}": an ecr upstream is <account>.dkr.ecr.<region>.amazonaws.com` };
    }
    if (!given.account || !ACCOUNT.test(given.account) || !given.region || !REGION.test(given.region)) {
      return {
        problem: 'an ecr upstream needs --upstream-account (12 digits) and --upstream-region, or --upstream-url',
      };
    }
    return { url: `${given.account}.dkr.ecr.${given.region}.amazonaws.com` };
  }
  if (upstream === 'azure-container-registry') {
    if (!given.url) return { problem: 'an azure-container-registry upstream needs --upstream-url <name>.azurecr.io' };
    return /^[a-z0-9]+\.azurecr\.io$/.test(given.url)
      ? { url: given.url }
      : {
          problem: `upstream URL "${given.url}": an Azure registry is <name>.azurecr.io (lowercase letters and digits)`,
        };
  }
  const fixed = UPSTREAM_HOSTS[upstream] as string;
  if (given.url && given.url !== fixed)
    return { problem: `upstream URL "${given.url}": the ${upstream} upstream is ${fixed}` };
  return { url: fixed };
}

/** Returns every problem with a pull-through cache secret for upstream (undefined arn: none given). */
export function credentialArnProblems(upstream: Upstream, arn: string | undefined): string[] {
  const needs = UPSTREAMS_NEEDING_SECRET.includes(upstream);
  if (arn === undefined) {
    return needs
      ? [
          `the ${upstream} upstream needs --secret-arn: a Secrets Manager secret whose name starts with ${CACHE_SECRET_PREFIX} (holding username and accessToken)`,
        ]
      : [];
  }
  if (upstream === 'ecr' || upstream === 'ecr-public' || upstream === 'k8s') {
    return [
      `the ${upstream} upstream takes no secret${upstream === 'ecr' ? ' (it uses an IAM role: --role-arn)' : ''}`,
    ];
  }
  const m = SECRET_ARN.exec(arn);
  if (!m) return [`secret "${arn}": not a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)`];
  const name = m[3] as string;
  if (!name.startsWith(CACHE_SECRET_PREFIX) || name.length === CACHE_SECRET_PREFIX.length) {
    return [
      `secret "${arn}": its name "${name}" must start with ${CACHE_SECRET_PREFIX} (ECR reads only secrets named so)`,
    ];
  }
  return [];
}

/** What a repository creation template applies to. */
export const TEMPLATE_USES = ['CREATE_ON_PUSH', 'REPLICATION', 'PULL_THROUGH_CACHE'] as const;

/**
 * Returns the template ECR applies to a new repository `name` for `use`: the one whose
 * prefix is the longest namespace `name` is under (`prod` covers `prod/…`), else ROOT.
 */
export function templateForRepository<T extends { prefix: string; appliedFor: readonly string[] }>(
  templates: readonly T[],
  name: string,
  use: (typeof TEMPLATE_USES)[number],
): T | undefined {
  const usable = templates.filter((t) => t.appliedFor.includes(use));
  let best: T | undefined;
  for (const t of usable) {
    const prefix = t.prefix.endsWith('/') ? t.prefix.slice(0, -1) : t.prefix;
    if (prefix === 'ROOT') continue;
    if (name.startsWith(`${prefix}/`) && (!best || prefix.length > best.prefix.length)) best = t;
  }
  return best ?? usable.find((t) => t.prefix === 'ROOT');
}

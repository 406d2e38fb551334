// Pull-through cache rules: Create/Describe/Update/Delete/ValidatePullThroughCacheRule, with
// the API model's prefix rule (2–30 characters, or ROOT), the upstream registries ECR knows,
// and the Secrets Manager rule for the authenticated upstreams (the secret's name starts
// with `ecr-pullthroughcache/`). The emulator has no network and no Secrets Manager: rules
// are stored and checked, but nothing is ever pulled through from an upstream.
import { ApiError, invalidParameter } from '../errors.js';
import { secretArnProblem } from '../rules.js';
import type { RegistryRecord } from '../store.js';
import { list, type OperationTable, page, privateRegistry, reqStr, str, ts } from './kit.js';

/** The upstream registries of the API model. */
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
type Upstream = (typeof UPSTREAMS)[number];

/** Upstreams that need a Secrets Manager secret with the registry's credentials. */
const NEEDS_SECRET = new Set<Upstream>([
  'docker-hub',
  'github-container-registry',
  'azure-container-registry',
  'gitlab-container-registry',
  'chainguard',
]);
/** Upstreams that take no secret (ecr authenticates with an IAM role, customRoleArn). */
const NO_SECRET = new Set<Upstream>(['ecr', 'ecr-public', 'k8s']);

interface CacheRuleRecord {
  ecrRepositoryPrefix: string;
  upstreamRegistryUrl: string;
  upstreamRegistry: Upstream;
  credentialArn?: string;
  customRoleArn?: string;
  upstreamRepositoryPrefix?: string;
  createdAt: number;
  updatedAt?: number;
}

// The model's PullThroughCacheRuleRepositoryPrefix (2–30 characters).
const PREFIX = /^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\/?|ROOT)$/;
const PREFIX_TEXT = '^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$';
// The model's CredentialArn: a Secrets Manager secret named ecr-pullthroughcache/….
const CREDENTIAL_ARN = /^arn:aws:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr-pullthroughcache\/[a-zA-Z0-9/_+=.@-]+$/;
const CREDENTIAL_ARN_TEXT =
  '^arn:aws:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\\-pullthroughcache\\/[a-zA-Z0-9\\/_+=.@-]+$';
const ROLE_ARN = /^arn:aws:iam::[0-9]{12}:role\/\S+$/;
const MAX_RULES = 50;

/** Returns the upstream a URL names, as ECR infers it when upstreamRegistry is absent. */
function upstreamOfUrl(url: string): Upstream | undefined {
  const host = url
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  if (host === 'public.ecr.aws') return 'ecr-public';
  if (host === 'quay.io') return 'quay';
  if (host === 'registry.k8s.io') return 'k8s';
  if (host === 'registry-1.docker.io') return 'docker-hub';
  if (host === 'ghcr.io') return 'github-container-registry';
  if (host === 'registry.gitlab.com') return 'gitlab-container-registry';
  if (host === 'cgr.dev') return 'chainguard';
  if (/^[a-z0-9]+\.azurecr\.io$/.test(host)) return 'azure-container-registry';
  if (/^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host)) return 'ecr';
  return undefined;
}

function rulesOf(registry: RegistryRecord): CacheRuleRecord[] {
  registry.settings ??= {};
  const s = registry.settings as { pullThroughCacheRules?: CacheRuleRecord[] };
  s.pullThroughCacheRules ??= [];
  return s.pullThroughCacheRules;
}

function prefixOf(input: Record<string, unknown>): string {
  const prefix = reqStr(input, 'ecrRepositoryPrefix', { min: 2, max: 30, pattern: PREFIX, patternText: PREFIX_TEXT });
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

function notFound(prefix: string, registry: RegistryRecord): ApiError {
  return new ApiError(
    'PullThroughCacheRuleNotFoundException',
    `The pull through cache rule with prefix '${prefix}' does not exist in the registry with id '${registry.account}'`,
  );
}

function describeRule(registry: RegistryRecord, r: CacheRuleRecord) {
  return {
    ecrRepositoryPrefix: r.ecrRepositoryPrefix,
    upstreamRegistryUrl: r.upstreamRegistryUrl,
    createdAt: ts(r.createdAt),
    registryId: registry.account,
    upstreamRegistry: r.upstreamRegistry,
    ...(r.credentialArn !== undefined ? { credentialArn: r.credentialArn } : {}),
    ...(r.customRoleArn !== undefined ? { customRoleArn: r.customRoleArn } : {}),
    ...(r.upstreamRepositoryPrefix !== undefined ? { upstreamRepositoryPrefix: r.upstreamRepositoryPrefix } : {}),
    ...(r.updatedAt !== undefined ? { updatedAt: ts(r.updatedAt) } : {}),
  };
}

/** Checks a credentialArn against the upstream's needs; returns it (or undefined). */
function credentialOf(
  input: Record<string, unknown>,
  upstream: Upstream,
  required: boolean,
  region: string,
): string | undefined {
  const arn = str(input, 'credentialArn', {
    min: 50,
    max: 612,
    pattern: CREDENTIAL_ARN,
    patternText: CREDENTIAL_ARN_TEXT,
  });
  if (arn === undefined && required && NEEDS_SECRET.has(upstream)) {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter: a credentialArn is required for upstream registry '${upstream}'; store the credentials in a Secrets Manager secret whose name starts with 'ecr-pullthroughcache/'`,
    );
  }
  // ECR checks the secret reference's partition and region before it asks Secrets Manager.
  const problem = arn === undefined ? undefined : secretArnProblem(arn, region);
  if (problem) throw invalidParameter('credentialArn', problem);
  if (arn !== undefined && NO_SECRET.has(upstream)) {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter: credentialArn is not supported for upstream registry '${upstream}'`,
    );
  }
  return arn;
}

export const cacheRuleOperations: OperationTable = {
  async CreatePullThroughCacheRule(req) {
    const registry = privateRegistry(req);
    const ecrRepositoryPrefix = prefixOf(req.input);
    const upstreamRegistryUrl = reqStr(req.input, 'upstreamRegistryUrl', { min: 1 });
    const named = str(req.input, 'upstreamRegistry');
    if (named !== undefined && !(UPSTREAMS as readonly string[]).includes(named)) {
      throw invalidParameter('upstreamRegistry', `Member must satisfy enum value set: [${UPSTREAMS.join(', ')}]`);
    }
    const inferred = upstreamOfUrl(upstreamRegistryUrl);
    const upstream = (named as Upstream | undefined) ?? inferred;
    if (!upstream || (named !== undefined && inferred !== named)) {
      throw new ApiError(
        'UnsupportedUpstreamRegistryException',
        `The upstream registry URL '${upstreamRegistryUrl}' is not supported${named ? ` for upstream registry '${named}'` : ''}`,
      );
    }
    const credentialArn = credentialOf(req.input, upstream, true, registry.region);
    const customRoleArn = str(req.input, 'customRoleArn', { max: 2048 });
    if (customRoleArn !== undefined && !ROLE_ARN.test(customRoleArn))
      throw invalidParameter('customRoleArn', 'Invalid IAM role ARN');
    const upstreamRepositoryPrefix = str(req.input, 'upstreamRepositoryPrefix', {
      min: 2,
      max: 30,
      pattern: PREFIX,
      patternText: PREFIX_TEXT,
    });
    if (upstreamRepositoryPrefix !== undefined && upstream !== 'ecr') {
      throw new ApiError(
        'InvalidParameterException',
        `Invalid parameter: upstreamRepositoryPrefix is supported only for upstream registry 'ecr'`,
      );
    }
    const rule = await req.ctx.store.mutate(() => {
      const rules = rulesOf(registry);
      if (rules.some((r) => r.ecrRepositoryPrefix === ecrRepositoryPrefix)) {
        throw new ApiError(
          'PullThroughCacheRuleAlreadyExistsException',
          `A pull through cache rule with prefix '${ecrRepositoryPrefix}' already exists in the registry with id '${registry.account}'`,
        );
      }
      if (rules.length >= MAX_RULES) {
        throw new ApiError(
          'LimitExceededException',
          `The maximum number of pull through cache rules (${MAX_RULES}) has been reached`,
        );
      }
      const r: CacheRuleRecord = {
        ecrRepositoryPrefix,
        upstreamRegistryUrl,
        upstreamRegistry: upstream,
        createdAt: req.ctx.now(),
      };
      if (credentialArn !== undefined) r.credentialArn = credentialArn;
      if (customRoleArn !== undefined) r.customRoleArn = customRoleArn;
      if (upstreamRepositoryPrefix !== undefined) r.upstreamRepositoryPrefix = upstreamRepositoryPrefix;
      rules.push(r);
      return r;
    });
    return describeRule(registry, rule);
  },

  async DescribePullThroughCacheRules(req) {
    const registry = privateRegistry(req);
    const prefixes = list<unknown>(req.input, 'ecrRepositoryPrefixes', { min: 1, max: 100 });
    const rules = rulesOf(registry);
    let chosen = rules;
    if (prefixes) {
      chosen = prefixes.map((p) => {
        const text = typeof p === 'string' ? p.replace(/\/$/, '') : '';
        const r = rules.find((x) => x.ecrRepositoryPrefix === text);
        if (!r) throw notFound(text, registry);
        return r;
      });
    }
    const p = page(chosen, (r) => r.ecrRepositoryPrefix, req.input);
    return {
      pullThroughCacheRules: p.items.map((r) => describeRule(registry, r)),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async UpdatePullThroughCacheRule(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const current = rulesOf(registry).find((r) => r.ecrRepositoryPrefix === prefix);
    if (!current) throw notFound(prefix, registry);
    const credentialArn = credentialOf(req.input, current.upstreamRegistry, false, registry.region);
    const customRoleArn = str(req.input, 'customRoleArn', { max: 2048 });
    if (customRoleArn !== undefined && !ROLE_ARN.test(customRoleArn))
      throw invalidParameter('customRoleArn', 'Invalid IAM role ARN');
    const rule = await req.ctx.store.mutate(() => {
      const r = rulesOf(registry).find((x) => x.ecrRepositoryPrefix === prefix);
      if (!r) throw notFound(prefix, registry);
      if (credentialArn !== undefined) r.credentialArn = credentialArn;
      if (customRoleArn !== undefined) r.customRoleArn = customRoleArn;
      r.updatedAt = req.ctx.now();
      return r;
    });
    return {
      ecrRepositoryPrefix: rule.ecrRepositoryPrefix,
      registryId: registry.account,
      updatedAt: ts(rule.updatedAt),
      ...(rule.credentialArn !== undefined ? { credentialArn: rule.credentialArn } : {}),
      ...(rule.customRoleArn !== undefined ? { customRoleArn: rule.customRoleArn } : {}),
      ...(rule.upstreamRepositoryPrefix !== undefined
        ? { upstreamRepositoryPrefix: rule.upstreamRepositoryPrefix }
        : {}),
    };
  },

  async DeletePullThroughCacheRule(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const removed = await req.ctx.store.mutate(() => {
      const rules = rulesOf(registry);
      const i = rules.findIndex((r) => r.ecrRepositoryPrefix === prefix);
      if (i < 0) throw notFound(prefix, registry);
      return rules.splice(i, 1)[0] as CacheRuleRecord;
    });
    // The model's DeletePullThroughCacheRuleResponse has neither upstreamRegistry nor updatedAt.
    const { upstreamRegistry: _u, updatedAt: _t, ...answer } = describeRule(registry, removed);
    return answer;
  },

  async ValidatePullThroughCacheRule(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const r = rulesOf(registry).find((x) => x.ecrRepositoryPrefix === prefix);
    if (!r) throw notFound(prefix, registry);
    // No network and no Secrets Manager here, so the part of the check that matters — ECR
    // signing in to the upstream with the secret's credentials — cannot be made. Saying
    // "valid" would be kinder than ECR; the answer says what was and was not checked.
    const unchecked = r.credentialArn
      ? `it cannot reach ${r.upstreamRegistryUrl} or read the secret ${r.credentialArn}`
      : `it cannot reach ${r.upstreamRegistryUrl}`;
    return {
      ecrRepositoryPrefix: r.ecrRepositoryPrefix,
      registryId: registry.account,
      upstreamRegistryUrl: r.upstreamRegistryUrl,
      ...(r.credentialArn !== undefined ? { credentialArn: r.credentialArn } : {}),
      ...(r.customRoleArn !== undefined ? { customRoleArn: r.customRoleArn } : {}),
      ...(r.upstreamRepositoryPrefix !== undefined ? { upstreamRepositoryPrefix: r.upstreamRepositoryPrefix } : {}),
      isValid: false,
      failure: `not checked: ecrctl local is offline (${unchecked}); the rule's prefix, upstream URL and ARNs have the form ECR requires`,
    };
  },
};

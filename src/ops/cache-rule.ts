// cache-rule: pull-through cache rules. The upstream URL is filled in from the upstream's
// name, and the rules ECR applies are checked first (prefix 2–30 characters or ROOT; the
// authenticated upstreams need a Secrets Manager secret named ecr-pullthroughcache/…), so a
// mistake is a RuleViolation before anything is created.
import {
  type CacheRule,
  type CacheRuleSpec,
  createCacheRule as createEcrCacheRule,
  deleteCacheRule as deleteEcrCacheRule,
  listCacheRules as listEcrCacheRules,
  validateCacheRule as validateEcrCacheRule,
} from '../ecr/cache-rules.js';
import { EcrctlError, RuleViolation } from '../errors.js';
import {
  CACHE_SECRET_PREFIX,
  credentialArnProblems,
  prefixProblem,
  type Upstream,
  UPSTREAMS_NEEDING_SECRET,
  upstreamUrlFor,
} from '../policy/replication.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

export type { CacheRule, Upstream };

/** What createCacheRule accepts. */
export interface CreateCacheRuleOptions {
  /** The repository prefix in your registry (2–30 characters), or ROOT. */
  prefix: string;
  /** The upstream registry (see UPSTREAMS: ecr, ecr-public, quay, k8s, docker-hub, …). */
  upstream: Upstream;
  /** The upstream host (needed for azure-container-registry: NAME.azurecr.io; filled in for the others). */
  upstreamUrl?: string;
  /** ecr upstream: its account id. */
  upstreamAccount?: string;
  /** ecr upstream: its region. */
  upstreamRegion?: string;
  /** ecr upstream: the repository prefix there (default ROOT). */
  upstreamPrefix?: string;
  /** The Secrets Manager secret with the upstream credentials (name starts with ecr-pullthroughcache/). */
  secretArn?: string;
  /** ecr upstream: the IAM role ECR assumes to pull from it. */
  roleArn?: string;
}

/** What a prefix names: one rule. */
export interface CacheRulePrefix {
  /** The rule's repository prefix, or ROOT. */
  prefix: string;
}

/** What ECR said when asked to check a rule. */
export interface CacheRuleValidation {
  /** The rule's prefix. */
  prefix: string;
  /** The upstream registry URL the rule points at. */
  upstreamUrl: string;
  /** True when ECR could sign in to the upstream with the rule's secret. */
  valid: boolean;
  /** Why not, as ECR says it. */
  failure?: string;
}

/** Creates a pull-through cache rule; RuleViolation naming every problem, and nothing created, when it breaks a rule. */
export async function createCacheRule(session: Session, opts: CreateCacheRuleOptions): Promise<CacheRule> {
  const spec = checkedSpec(opts);
  const conn = await ecrConnection(session);
  const rule = await createEcrCacheRule(conn, spec);
  session.log.info(`created pull-through cache rule ${rule.prefix} → ${rule.upstreamUrl}`);
  return rule;
}

/** Lists the pull-through cache rules of the session's default registry. */
export async function listCacheRules(session: Session): Promise<{ rules: CacheRule[] }> {
  const conn = await ecrConnection(session);
  return { rules: await listEcrCacheRules(conn) };
}

/** Deletes a rule (the repositories it cached stay); returns it. */
export async function deleteCacheRule(session: Session, opts: CacheRulePrefix): Promise<CacheRule> {
  checkPrefix(opts.prefix);
  const conn = await ecrConnection(session);
  const rule = await deleteEcrCacheRule(conn, opts.prefix);
  session.log.info(`deleted pull-through cache rule ${rule.prefix}`);
  return rule;
}

/** Asks ECR whether a rule can reach its upstream; see cacheRuleValidationError for the error an invalid one is. */
export async function validateCacheRule(session: Session, opts: CacheRulePrefix): Promise<CacheRuleValidation> {
  checkPrefix(opts.prefix);
  const conn = await ecrConnection(session);
  return validateEcrCacheRule(conn, opts.prefix);
}

/** Returns the error an invalid rule amounts to (exit 1), or undefined when it is valid. */
export function cacheRuleValidationError(v: CacheRuleValidation, prefix: string): EcrctlError | undefined {
  if (v.valid) return undefined;
  return new EcrctlError(`pull-through cache rule ${prefix} is not valid${v.failure ? `: ${v.failure}` : ''}`, {
    fix: 'check the secret (username and accessToken) and that ECR may read it',
  });
}

function checkPrefix(prefix: string): void {
  const p = prefixProblem(prefix, 30);
  if (p)
    throw new RuleViolation(p, {
      rule: 'a pull-through cache prefix is 2–30 characters of a repository namespace, or ROOT',
      value: prefix,
    });
}

/** Returns the rule to create, or throws RuleViolation naming every problem. */
function checkedSpec(opts: CreateCacheRuleOptions): CacheRuleSpec {
  const { prefix } = opts;
  const problems: string[] = [];
  const p = prefixProblem(prefix, 30);
  if (p) problems.push(p);
  const url = upstreamUrlFor(opts.upstream, {
    ...(opts.upstreamUrl ? { url: opts.upstreamUrl.replace(/^https?:\/\//, '').replace(/\/$/, '') } : {}),
    ...(opts.upstreamAccount ? { account: opts.upstreamAccount } : {}),
    ...(opts.upstreamRegion ? { region: opts.upstreamRegion } : {}),
  });
  if ('problem' in url) problems.push(url.problem);
  problems.push(...credentialArnProblems(opts.upstream, opts.secretArn));
  if (opts.upstreamPrefix !== undefined) {
    if (opts.upstream !== 'ecr') problems.push('--upstream-prefix works only with --upstream ecr');
    const up = prefixProblem(opts.upstreamPrefix, 30);
    if (up) problems.push(`--upstream-prefix: ${up}`);
  }
  if (opts.roleArn !== undefined && !/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/\S+$/.test(opts.roleArn)) {
    problems.push(`--role-arn "${opts.roleArn}": not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
  }
  if (problems.length > 0 || 'problem' in url) {
    throw new RuleViolation(
      problems.length === 1
        ? (problems[0] as string)
        : `the cache rule breaks ${problems.length} rules; nothing was created`,
      {
        rule: `prefix 2–30 characters or ROOT; ${UPSTREAMS_NEEDING_SECRET.join(', ')} need a Secrets Manager secret named ${CACHE_SECRET_PREFIX}…`,
        fix: 'fix the problems listed',
        ...(problems.length > 1 ? { problems } : {}),
      },
    );
  }
  return {
    prefix: prefix.replace(/\/$/, ''),
    upstream: opts.upstream,
    upstreamUrl: url.url,
    ...(opts.secretArn ? { credentialArn: opts.secretArn } : {}),
    ...(opts.roleArn ? { customRoleArn: opts.roleArn } : {}),
    ...(opts.upstreamPrefix ? { upstreamPrefix: opts.upstreamPrefix } : {}),
  };
}

// Pull-through cache rule calls behind one adapter: create, list (all pages), delete,
// validate. Returns our own types; maps service exceptions to our error kinds.
import { EcrctlError } from '../errors.js';
import type { Upstream } from '../policy/replication.js';
import { callEcr, type EcrConnection } from './repositories.js';

function registry(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** A pull-through cache rule as ecrctl shows it. */
export interface CacheRule {
  prefix: string;
  upstream: string;
  upstreamUrl: string;
  credentialArn?: string;
  customRoleArn?: string;
  upstreamPrefix?: string;
  createdAt?: Date;
}

/** What `cache-rule create` asks for (checked by the caller). */
export interface CacheRuleSpec {
  prefix: string;
  upstream: Upstream;
  upstreamUrl: string;
  credentialArn?: string;
  customRoleArn?: string;
  upstreamPrefix?: string;
}

type SdkRule = {
  ecrRepositoryPrefix?: string | undefined;
  upstreamRegistry?: string | undefined;
  upstreamRegistryUrl?: string | undefined;
  credentialArn?: string | undefined;
  customRoleArn?: string | undefined;
  upstreamRepositoryPrefix?: string | undefined;
  createdAt?: Date | undefined;
};

function toRule(r: SdkRule, operation: string): CacheRule {
  if (!r.ecrRepositoryPrefix || !r.upstreamRegistryUrl)
    throw new EcrctlError(`${operation} returned a rule without a prefix or upstream URL`);
  const rule: CacheRule = {
    prefix: r.ecrRepositoryPrefix,
    upstream: r.upstreamRegistry ?? '',
    upstreamUrl: r.upstreamRegistryUrl,
  };
  if (r.credentialArn) rule.credentialArn = r.credentialArn;
  if (r.customRoleArn) rule.customRoleArn = r.customRoleArn;
  if (r.upstreamRepositoryPrefix) rule.upstreamPrefix = r.upstreamRepositoryPrefix;
  if (r.createdAt) rule.createdAt = r.createdAt;
  return rule;
}

/** Creates a pull-through cache rule. */
export async function createCacheRule(conn: EcrConnection, spec: CacheRuleSpec): Promise<CacheRule> {
  const { CreatePullThroughCacheRuleCommand } = conn.sdk;
  const out = await callEcr(conn, 'CreatePullThroughCacheRule', `prefix ${spec.prefix}`, () =>
    conn.client.send(
      new CreatePullThroughCacheRuleCommand({
        ...registry(conn),
        ecrRepositoryPrefix: spec.prefix,
        upstreamRegistryUrl: spec.upstreamUrl,
        upstreamRegistry: spec.upstream,
        ...(spec.credentialArn ? { credentialArn: spec.credentialArn } : {}),
        ...(spec.customRoleArn ? { customRoleArn: spec.customRoleArn } : {}),
        ...(spec.upstreamPrefix ? { upstreamRepositoryPrefix: spec.upstreamPrefix } : {}),
      }),
    ),
  );
  return toRule(out, 'CreatePullThroughCacheRule');
}

/** Returns every pull-through cache rule of the registry. */
export async function listCacheRules(conn: EcrConnection): Promise<CacheRule[]> {
  const { DescribePullThroughCacheRulesCommand } = conn.sdk;
  const all: CacheRule[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'DescribePullThroughCacheRules', undefined, () =>
      conn.client.send(
        new DescribePullThroughCacheRulesCommand({ ...registry(conn), ...(token ? { nextToken: token } : {}) }),
      ),
    );
    for (const r of out.pullThroughCacheRules ?? []) all.push(toRule(r, 'DescribePullThroughCacheRules'));
    nextToken = out.nextToken;
  } while (nextToken);
  return all;
}

/** Deletes a pull-through cache rule; returns what it was. */
export async function deleteCacheRule(conn: EcrConnection, prefix: string): Promise<CacheRule> {
  const { DeletePullThroughCacheRuleCommand } = conn.sdk;
  const out = await callEcr(conn, 'DeletePullThroughCacheRule', `prefix ${prefix}`, () =>
    conn.client.send(new DeletePullThroughCacheRuleCommand({ ...registry(conn), ecrRepositoryPrefix: prefix })),
  );
  return toRule(out, 'DeletePullThroughCacheRule');
}

/** Asks ECR to check a rule (it signs in to the upstream with the rule's secret). */
export async function validateCacheRule(
  conn: EcrConnection,
  prefix: string,
): Promise<{ prefix: string; upstreamUrl: string; valid: boolean; failure?: string }> {
  const { ValidatePullThroughCacheRuleCommand } = conn.sdk;
  const out = await callEcr(conn, 'ValidatePullThroughCacheRule', `prefix ${prefix}`, () =>
    conn.client.send(new ValidatePullThroughCacheRuleCommand({ ...registry(conn), ecrRepositoryPrefix: prefix })),
  );
  if (out.isValid === undefined) throw new EcrctlError('ValidatePullThroughCacheRule returned no isValid');
  return {
    prefix: out.ecrRepositoryPrefix ?? prefix,
    upstreamUrl: out.upstreamRegistryUrl ?? '',
    valid: out.isValid,
    ...(out.failure ? { failure: out.failure } : {}),
  };
}

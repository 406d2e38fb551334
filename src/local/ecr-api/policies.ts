// Registry policies: PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy. The policy
// is kept in the registry's settings. As on ECR, a registry policy may only name the actions
// ECR enforces at registry level (ecr:ReplicateImage, ecr:BatchImportUpstreamImage,
// ecr:CreateRepository, or a wildcard); anything else is "Invalid registry policy provided".
// (Repository policies live with the repository operations, in repositories.ts.)
import { actionsMatching, REGISTRY_POLICY_ACTIONS } from '../../policy/iam.js';
import { ApiError, invalidParameter } from '../errors.js';
import type { RegistryRecord } from '../store.js';
import { type OperationTable, privateRegistry, reqStr } from './kit.js';

const KEY = 'registryPolicyText';

function policyOf(registry: RegistryRecord): string | undefined {
  const text = registry.settings?.[KEY];
  return typeof text === 'string' ? text : undefined;
}

function notFound(registry: RegistryRecord): ApiError {
  return new ApiError(
    'RegistryPolicyNotFoundException',
    `Registry policy does not exist in the registry with id '${registry.account}'`,
  );
}

/** Returns true when every action of every statement is allowed in a registry policy. */
function registryActionsOnly(doc: unknown): boolean {
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  for (const s of list) {
    if (!s || typeof s !== 'object') return false;
    const raw = (s as { Action?: unknown }).Action;
    const actions = Array.isArray(raw) ? raw : [raw];
    for (const a of actions) {
      if (typeof a !== 'string') return false;
      // A wildcard is accepted (the user guide advises against it, but ECR takes it).
      if (a.includes('*') && actionsMatching(a).length > 0) continue;
      if (!(REGISTRY_POLICY_ACTIONS as readonly string[]).some((r) => r.toLowerCase() === a.toLowerCase()))
        return false;
    }
  }
  return true;
}

export const policyOperations: OperationTable = {
  async PutRegistryPolicy(req) {
    const registry = privateRegistry(req);
    const text = reqStr(req.input, 'policyText', { min: 0, max: 10240 });
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    if (!doc || typeof doc !== 'object' || !(doc as { Statement?: unknown }).Statement || !registryActionsOnly(doc)) {
      throw invalidParameter('PolicyText', 'Invalid registry policy provided');
    }
    await req.ctx.store.mutate(() => {
      registry.settings = { ...registry.settings, [KEY]: text };
    });
    return { registryId: registry.account, policyText: text };
  },

  async GetRegistryPolicy(req) {
    const registry = privateRegistry(req);
    const text = policyOf(registry);
    if (text === undefined) throw notFound(registry);
    return { registryId: registry.account, policyText: text };
  },

  async DeleteRegistryPolicy(req) {
    const registry = privateRegistry(req);
    const text = await req.ctx.store.mutate(() => {
      const current = policyOf(registry);
      if (current === undefined) throw notFound(registry);
      const { [KEY]: _removed, ...rest } = registry.settings ?? {};
      registry.settings = rest;
      return current;
    });
    return { registryId: registry.account, policyText: text };
  },
};

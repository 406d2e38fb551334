// Registry policies: PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy. The policy
// is kept in the registry's settings. As on ECR, a registry policy may only name the actions
// ECR enforces at registry level (ecr:ReplicateImage, ecr:BatchImportUpstreamImage,
// ecr:CreateRepository, or a wildcard) and every statement needs a Principal; anything else
// is "Invalid registry policy provided". acceptablePolicy also checks repository policies
// (whose operations live in repositories.ts).
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

/**
 * Returns true when ECR would take the policy document: a JSON object whose Statement (one
 * or a non-empty list) holds statements with an Effect, a Principal (or NotPrincipal), and
 * actions that name ECR actions (`*`, or `ecr:` names and patterns that match one). A
 * repository policy may not name a Resource (the repository is the resource); a registry
 * policy may only name the actions ECR enforces at registry level. Principals are not
 * looked up (ECR's "Principal not found"): there is no IAM here.
 */
export function acceptablePolicy(text: string, scope: 'repository' | 'registry'): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return false;
  const statements = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  if (list.length === 0) return false;
  return list.every((s) => acceptableStatement(s, scope));
}

function acceptableStatement(s: unknown, scope: 'repository' | 'registry'): boolean {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return false;
  const st = s as Record<string, unknown>;
  if (st.Effect !== 'Allow' && st.Effect !== 'Deny') return false;
  if (st.Principal === undefined && st.NotPrincipal === undefined) return false;
  if (scope === 'repository' && (Object.hasOwn(st, 'Resource') || Object.hasOwn(st, 'NotResource'))) return false;
  const raw = st.Action ?? st.NotAction;
  if (raw === undefined) return false;
  const actions = Array.isArray(raw) ? raw : [raw];
  if (actions.length === 0) return false;
  return actions.every((a) => typeof a === 'string' && acceptableAction(a, scope));
}

function acceptableAction(action: string, scope: 'repository' | 'registry'): boolean {
  if (action === '*') return true;
  if (!action.toLowerCase().startsWith('ecr:')) return scope === 'repository';
  const matches = actionsMatching(action);
  if (matches.length === 0) return false;
  // A wildcard is accepted in a registry policy (the user guide advises against it, but ECR takes it).
  if (scope === 'registry' && !action.includes('*'))
    return (REGISTRY_POLICY_ACTIONS as readonly string[]).some((r) => r.toLowerCase() === action.toLowerCase());
  return true;
}

export const policyOperations: OperationTable = {
  async PutRegistryPolicy(req) {
    const registry = privateRegistry(req);
    const text = reqStr(req.input, 'policyText', { min: 0, max: 10240 });
    if (!acceptablePolicy(text, 'registry')) throw invalidParameter('PolicyText', 'Invalid registry policy provided');
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

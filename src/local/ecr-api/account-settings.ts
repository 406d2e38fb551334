// Account settings: GetAccountSetting / PutAccountSetting. ECR keeps them per account and
// region (the API has no registryId), so they live on the private registry of the caller's
// account in the request's region. BLOB_MOUNTING decides whether the data plane mounts
// blobs across repositories (registry/dataplane.ts reads it through blobMountingEnabled).
import { ApiError } from '../errors.js';
import type { RegistryRecord } from '../store.js';
import { type OperationTable, reqStr } from './kit.js';

/** Where the settings a caller changed are kept in RegistryRecord.settings. */
const SETTINGS_KEY = 'accountSettings';

/** Each setting ECR knows, its accepted values and what an account that never set it reads. */
export const ACCOUNT_SETTINGS: Record<string, { values: readonly string[]; default: string }> = {
  // Off unless enabled, as on ECR (a mount is then answered 202 with a normal upload).
  BLOB_MOUNTING: { values: ['ENABLED', 'DISABLED'], default: 'DISABLED' },
  // The model documents AWS_NATIVE only (Clair was retired); new accounts read it.
  BASIC_SCAN_TYPE_VERSION: { values: ['AWS_NATIVE'], default: 'AWS_NATIVE' },
  // The model documents V2 only; V1 is what older registries report before they move.
  REGISTRY_POLICY_SCOPE: { values: ['V2'], default: 'V2' },
};

const NAMES = Object.keys(ACCOUNT_SETTINGS);

function storedSettings(registry: RegistryRecord): Record<string, string> {
  return (registry.settings?.[SETTINGS_KEY] as Record<string, string> | undefined) ?? {};
}

/** Returns a registry's value of an account setting (its default when never set). */
export function accountSetting(registry: RegistryRecord, name: string): string | undefined {
  return storedSettings(registry)[name] ?? ACCOUNT_SETTINGS[name]?.default;
}

/** Returns true when the registry's account has BLOB_MOUNTING enabled. */
export function blobMountingEnabled(registry: RegistryRecord): boolean {
  return accountSetting(registry, 'BLOB_MOUNTING') === 'ENABLED';
}

function nameOf(input: Record<string, unknown>): string {
  const name = reqStr(input, 'name', { min: 1, max: 64 });
  if (!Object.hasOwn(ACCOUNT_SETTINGS, name)) {
    throw new ApiError(
      'ValidationException',
      `Invalid account setting name '${name}'. Valid names: ${NAMES.join(', ')}`,
    );
  }
  return name;
}

export const accountSettingOperations: OperationTable = {
  async GetAccountSetting(req) {
    const name = nameOf(req.input);
    const registry = req.ctx.store.registry('private', req.ctx.account, req.region);
    return { name, value: accountSetting(registry, name) };
  },

  async PutAccountSetting(req) {
    const name = nameOf(req.input);
    const value = reqStr(req.input, 'value', { min: 1, max: 64 });
    const allowed = ACCOUNT_SETTINGS[name]?.values ?? [];
    if (!allowed.includes(value)) {
      throw new ApiError(
        'ValidationException',
        `Invalid value '${value}' for account setting '${name}'. Valid values: ${allowed.join(', ')}`,
      );
    }
    const registry = req.ctx.store.registry('private', req.ctx.account, req.region);
    await req.ctx.store.mutate(() => {
      registry.settings = { ...registry.settings, [SETTINGS_KEY]: { ...storedSettings(registry), [name]: value } };
    });
    return { name, value };
  },
};

// account-setting: reads and changes ECR's account settings (per account and region).
// BLOB_MOUNTING decides whether ECR mounts a blob that another repository of the registry
// already holds instead of taking its bytes again — what makes copies between repositories
// cheap; BASIC_SCAN_TYPE_VERSION and REGISTRY_POLICY_SCOPE are the other two names ECR knows.
import { callEcr } from '../ecr/repositories.js';
import { UsageError } from '../errors.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/** The account settings ECR knows, with the values its API documents. */
export const ACCOUNT_SETTING_VALUES: Record<string, readonly string[]> = {
  BLOB_MOUNTING: ['ENABLED', 'DISABLED'],
  BASIC_SCAN_TYPE_VERSION: ['AWS_NATIVE'],
  REGISTRY_POLICY_SCOPE: ['V2'],
};

/** One account setting as ECR reports it. */
export interface AccountSetting {
  /** The setting's name, e.g. BLOB_MOUNTING. */
  name: string;
  /** Its value, e.g. ENABLED. */
  value: string;
  /** The region the setting applies to (ECR keeps account settings per region). */
  region: string;
}

function checkName(name: string): string {
  const upper = name.toUpperCase().replaceAll('-', '_');
  if (!Object.hasOwn(ACCOUNT_SETTING_VALUES, upper)) {
    throw new UsageError(`unknown account setting: ${name}`, {
      rule: 'ECR knows the account settings BLOB_MOUNTING, BASIC_SCAN_TYPE_VERSION and REGISTRY_POLICY_SCOPE',
      value: name,
      fix: 'give one of BLOB_MOUNTING, BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE',
    });
  }
  return upper;
}

function checkValue(name: string, value: string): string {
  const allowed = ACCOUNT_SETTING_VALUES[name] ?? [];
  const upper = value.toUpperCase();
  if (!allowed.includes(upper)) {
    throw new UsageError(`${value} is not a value of ${name}`, {
      rule: `${name} takes ${allowed.join(' or ')}`,
      value,
      fix: `give ${allowed.join(' or ')}`,
    });
  }
  return upper;
}

/** Returns the value of an account setting in the session's region. */
export async function getAccountSetting(session: Session, opts: { name: string }): Promise<AccountSetting> {
  const name = checkName(opts.name);
  const conn = await ecrConnection(session);
  const { GetAccountSettingCommand } = conn.sdk;
  const out = await callEcr(conn, 'GetAccountSetting', undefined, () =>
    conn.client.send(new GetAccountSettingCommand({ name })),
  );
  return { name: out.name ?? name, value: out.value ?? '', region: conn.region };
}

/** Sets an account setting in the session's region and returns what ECR reports back. */
export async function setAccountSetting(
  session: Session,
  opts: { name: string; value: string },
): Promise<AccountSetting> {
  const name = checkName(opts.name);
  const value = checkValue(name, opts.value);
  const conn = await ecrConnection(session);
  const { PutAccountSettingCommand } = conn.sdk;
  const out = await callEcr(conn, 'PutAccountSetting', undefined, () =>
    conn.client.send(new PutAccountSettingCommand({ name, value })),
  );
  session.log.info(`${name} is ${out.value ?? value} in ${conn.region}`);
  return { name: out.name ?? name, value: out.value ?? value, region: conn.region };
}

// What can be known about the AWS setup without loading the SDK: the shared config and
// credentials files, the region, the endpoint, and a fingerprint of whose credentials will
// be used. The credential helper answers from the token cache with only this, so a cached
// `get` never pays for loading the SDK.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthError, UsageError } from '../errors.js';
import type { AwsCredentialsInput, Session } from '../session.js';

/** How a command wants to reach AWS: the global options plus the environment. */
export interface AwsSettings {
  env: NodeJS.ProcessEnv;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  /**
   * A role to assume (STS AssumeRole) on top of the credentials the profile or default chain
   * gives: the project config's `registries:` entries name one per registry.
   */
  roleArn?: string;
  /** The AssumeRole ExternalId, when the role's trust policy asks for one. */
  externalId?: string;
  /** Credentials given by a library caller, used instead of the default chain. */
  credentials?: AwsCredentialsInput;
  /** Says what happens, for --verbose (never given a secret). */
  log?: (message: string) => void;
  /**
   * Called with every secret the moment it is known (a registry password, an AWS secret key),
   * before anything is printed: CliContext.secrets.add masks it in GitHub Actions.
   */
  onSecret?: (secret: string) => void;
}

type IniSections = Map<string, Record<string, string>>;

/** Returns the sections of an INI file (`[name]` → key = value), or an empty map when absent. */
export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s*[#;].*$/, '');
    if (line.trim() === '') continue;
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim();
      current = sections.get(name) ?? {};
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    if (!current) continue;
    // Indented lines continue a nested block (s3 = …); they never hold what we need.
    if (/^\s/.test(line) && lastKey !== undefined) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    lastKey = line.slice(0, eq).trim().toLowerCase();
    current[lastKey] = line
      .slice(eq + 1)
      .replace(/\s[#;].*$/, '')
      .trim();
  }
  return sections;
}

function readIni(file: string): IniSections {
  try {
    return parseIni(readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || env.USERPROFILE || os.homedir();
}

/** Returns the paths of the shared config and credentials files (AWS_CONFIG_FILE etc.). */
export function sharedFilePaths(env: NodeJS.ProcessEnv): { config: string; credentials: string } {
  return {
    config: env.AWS_CONFIG_FILE || path.join(home(env), '.aws', 'config'),
    credentials: env.AWS_SHARED_CREDENTIALS_FILE || path.join(home(env), '.aws', 'credentials'),
  };
}

/** The profiles of the shared files, merged: credentials-file keys win as the SDK does. */
export interface SharedProfiles {
  files: { config: string; credentials: string };
  profiles: Map<string, Record<string, string>>;
}

/** Returns every profile found in the shared config and credentials files. */
export function loadSharedProfiles(env: NodeJS.ProcessEnv): SharedProfiles {
  const files = sharedFilePaths(env);
  const profiles = new Map<string, Record<string, string>>();
  for (const [name, values] of readIni(files.config)) {
    const profile = name === 'default' ? 'default' : /^profile\s+(.+)$/.exec(name)?.[1]?.trim();
    if (profile === undefined) continue; // sso-session, services, …
    profiles.set(profile, { ...profiles.get(profile), ...values });
  }
  for (const [name, values] of readIni(files.credentials)) {
    profiles.set(name, { ...profiles.get(name), ...values });
  }
  return { files, profiles };
}

/** Returns the profile that will be used: --profile, then AWS_PROFILE; undefined for the default chain. */
export function selectedProfile(settings: Pick<AwsSettings, 'env' | 'profile'>): string | undefined {
  return settings.profile || settings.env.AWS_PROFILE || undefined;
}

/** Throws AuthError when a profile was asked for that neither shared file has; lists those found. */
export function checkProfileExists(settings: Pick<AwsSettings, 'env' | 'profile'>, shared?: SharedProfiles): void {
  const profile = selectedProfile(settings);
  if (profile === undefined) return;
  const found = shared ?? loadSharedProfiles(settings.env);
  if (found.profiles.has(profile)) return;
  const names = [...found.profiles.keys()].sort();
  throw new AuthError(
    `AWS profile "${profile}" was not found in ${found.files.config} or ${found.files.credentials}` +
      (names.length > 0 ? `; profiles found: ${names.join(', ')}` : '; no profiles were found there'),
    {
      value: profile,
      fix:
        names.length > 0
          ? `pass one of the profiles above with --profile (or AWS_PROFILE), or add [profile ${profile}] to ${found.files.config}`
          : `run \`aws configure --profile ${profile}\`, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at your files`,
    },
  );
}

/** Returns the region: --region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`. */
export function resolveRegion(settings: AwsSettings, shared?: SharedProfiles): string | undefined {
  const direct = settings.region || settings.env.AWS_REGION || settings.env.AWS_DEFAULT_REGION;
  if (direct) return direct;
  const profiles = (shared ?? loadSharedProfiles(settings.env)).profiles;
  return profiles.get(selectedProfile(settings) ?? 'default')?.region || undefined;
}

/** Returns the region or throws a UsageError that says how to set one. */
export function requireRegion(settings: AwsSettings, shared?: SharedProfiles): string {
  const region = resolveRegion(settings, shared);
  if (region) return region;
  throw new UsageError('no AWS region is set', {
    rule: 'ECR registries are regional: ecrctl needs to know which region to use',
    fix: 'pass --region (e.g. --region us-east-1), set AWS_REGION, or add `region = …` to your profile',
  });
}

/**
 * Returns the ECR API endpoint override: --endpoint-url, then AWS_ENDPOINT_URL_ECR (or
 * AWS_ENDPOINT_URL_ECR_PUBLIC for ECR Public), then AWS_ENDPOINT_URL, as the SDKs read them.
 */
export function resolveEndpoint(settings: AwsSettings, service: 'ecr' | 'ecr-public' = 'ecr'): string | undefined {
  const env = settings.env;
  if (settings.endpointUrl) return settings.endpointUrl;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  const specific = service === 'ecr' ? env.AWS_ENDPOINT_URL_ECR : env.AWS_ENDPOINT_URL_ECR_PUBLIC;
  return specific || env.AWS_ENDPOINT_URL || undefined;
}

const PROFILE_SOURCE_KEYS = [
  'role_arn',
  'source_profile',
  'credential_source',
  'web_identity_token_file',
  'credential_process',
  'sso_session',
  'sso_start_url',
  'sso_account_id',
  'sso_role_name',
  'login_session',
];

/**
 * Returns a short hash that identifies whose credentials the default chain will pick,
 * computed without the SDK: the access key id when it is static (environment or profile),
 * otherwise the profile's role / SSO / process settings, the web identity role, the
 * container credentials URI, or instance metadata. Token cache entries are keyed by it, so
 * a token is never served to a different identity. The key id itself is never stored.
 */
export function credentialFingerprint(
  settings: Pick<AwsSettings, 'env' | 'profile' | 'roleArn'>,
  shared?: SharedProfiles,
): string {
  const env = settings.env;
  const profile = selectedProfile(settings);
  let source: string;
  if (profile === undefined && env.AWS_ACCESS_KEY_ID) {
    source = `env:${env.AWS_ACCESS_KEY_ID}`;
  } else {
    const values = (shared ?? loadSharedProfiles(env)).profiles.get(profile ?? 'default');
    if (values?.aws_access_key_id) {
      source = `key:${values.aws_access_key_id}`;
    } else if (values && PROFILE_SOURCE_KEYS.some((k) => values[k])) {
      source = `profile:${profile ?? 'default'}:${JSON.stringify(PROFILE_SOURCE_KEYS.map((k) => values[k] ?? ''))}`;
    } else if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
      source = `web-identity:${env.AWS_ROLE_ARN}`;
    } else if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
      source = `container:${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ?? env.AWS_CONTAINER_CREDENTIALS_FULL_URI}`;
    } else {
      source = `instance-metadata:${profile ?? ''}`;
    }
  }
  // An assumed role is a different identity from the credentials that assume it.
  if (settings.roleArn) source = `${source}|role:${settings.roleArn}`;
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/** Returns AwsSettings for a session: its AWS options, environment, verbose log and masking. */
export function settingsFromSession(session: Session): AwsSettings {
  const settings: AwsSettings = {
    env: session.env,
    log: (m) => session.log.verbose(m),
    onSecret: (s) => session.secrets.add(s),
  };
  const aws = session.aws;
  if (aws.region) settings.region = aws.region;
  if (aws.profile) settings.profile = aws.profile;
  if (aws.endpointUrl) settings.endpointUrl = aws.endpointUrl;
  if (aws.credentials) settings.credentials = aws.credentials;
  return settings;
}

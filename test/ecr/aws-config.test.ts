import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkProfileExists,
  credentialFingerprint,
  parseIni,
  resolveEndpoint,
  resolveRegion,
} from '../../src/ecr/aws-config.js';
import { AuthError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-aws-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = path.join(dir, 'config');
const credentials = path.join(dir, 'credentials');
writeFileSync(
  config,
  [
    '[default]',
    'region = eu-west-1 ; comment',
    '[profile sso]',
    'sso_session = corp',
    'sso_account_id = 123456789012',
    'sso_role_name = Dev',
    'region = ap-southeast-2',
    '[profile role]',
    'role_arn = arn:aws:iam::123456789012:role/ci',
    'source_profile = default',
    's3 =',
    '  max_concurrent_requests = 20',
    '[sso-session corp]',
    'sso_region = us-east-1',
  ].join('\n'),
);
writeFileSync(
  credentials,
  '[default]\naws_access_key_id = AKIDDEFAULTEXAMPLE01\naws_secret_access_key = x\n[static]\naws_access_key_id=AKIDSTATICEXAMPLE001\n',
);
const files = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };

describe('shared config', () => {
  it('parses INI sections, comments and nested blocks', () => {
    const ini = parseIni('# c\n[a]\nx = 1 # trailing\ny=2\ns3 =\n  k = v\nz = 3\n[b]\n');
    expect(ini.get('a')).toEqual({ x: '1', y: '2', s3: '', z: '3' });
    expect(ini.get('b')).toEqual({});
  });

  it.each([
    [{ region: 'us-west-2', env: { ...files, AWS_REGION: 'x', AWS_DEFAULT_REGION: 'y' } }, 'us-west-2'],
    [{ env: { ...files, AWS_REGION: 'ca-central-1', AWS_DEFAULT_REGION: 'y' } }, 'ca-central-1'],
    [{ env: { ...files, AWS_DEFAULT_REGION: 'sa-east-1' } }, 'sa-east-1'],
    [{ env: { ...files, AWS_PROFILE: 'sso' } }, 'ap-southeast-2'],
    [{ profile: 'sso', env: { ...files } }, 'ap-southeast-2'],
    [{ env: { ...files } }, 'eu-west-1'],
    [{ profile: 'role', env: { ...files } }, undefined],
  ])('region %#', (settings, region) => {
    expect(resolveRegion(settings)).toBe(region);
  });

  it('lists the profiles found when the one asked for is missing', () => {
    expect(() => checkProfileExists({ profile: 'sso', env: files })).not.toThrow();
    let err: unknown;
    try {
      checkProfileExists({ env: { ...files, AWS_PROFILE: 'nope' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toBe(
      `AWS profile "nope" was not found in ${config} or ${credentials}; profiles found: default, role, sso, static`,
    );
  });

  it('fingerprints whose credentials are used, without storing the key id', () => {
    const env = (extra: NodeJS.ProcessEnv) => ({ ...files, ...extra });
    const a = credentialFingerprint({ env: env({ AWS_ACCESS_KEY_ID: 'AKIDAAAAAAAAAAAAAAAA' }) });
    const b = credentialFingerprint({ env: env({ AWS_ACCESS_KEY_ID: 'AKIDBBBBBBBBBBBBBBBB' }) });
    const dflt = credentialFingerprint({ env: env({}) });
    const staticProfile = credentialFingerprint({
      profile: 'static',
      env: env({ AWS_ACCESS_KEY_ID: 'AKIDAAAAAAAAAAAAAAAA' }),
    });
    const sso = credentialFingerprint({ profile: 'sso', env: env({}) });
    const role = credentialFingerprint({ profile: 'role', env: env({}) });
    const all = [a, b, dflt, staticProfile, sso, role];
    expect(new Set(all).size).toBe(all.length);
    for (const f of all) expect(f).toMatch(/^[0-9a-f]{16}$/);
    expect(credentialFingerprint({ env: env({ AWS_ACCESS_KEY_ID: 'AKIDAAAAAAAAAAAAAAAA' }) })).toBe(a);
  });

  it.each([
    [
      { endpointUrl: 'http://a', env: { AWS_ENDPOINT_URL_ECR: 'http://b', AWS_ENDPOINT_URL: 'http://c' } },
      'ecr',
      'http://a',
    ],
    [{ env: { AWS_ENDPOINT_URL_ECR: 'http://b', AWS_ENDPOINT_URL: 'http://c' } }, 'ecr', 'http://b'],
    [{ env: { AWS_ENDPOINT_URL_ECR: 'http://b', AWS_ENDPOINT_URL: 'http://c' } }, 'ecr-public', 'http://c'],
    [{ env: { AWS_ENDPOINT_URL_ECR_PUBLIC: 'http://d' } }, 'ecr-public', 'http://d'],
    [{ env: { AWS_ENDPOINT_URL: 'http://c', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' } }, 'ecr', undefined],
    [{ env: {} }, 'ecr', undefined],
  ] as const)('endpoint %#', (settings, service, expected) => {
    expect(resolveEndpoint({ ...settings, env: { ...settings.env } }, service)).toBe(expected);
  });
});

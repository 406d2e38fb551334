// Issue 12, login and credentials: token failures are reported as themselves (never as a
// later 401), `registries:` in .ecrctl.yaml gives each registry its own profile or role,
// ECR Public's region is said in --verbose. Against `ecrctl local`, in-process.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assumeRoleOptions } from '../../src/ecr/clients.js';
import { failingEndpoint } from '../ecr/env.js';
import { type FieldEnv, KEY, requestsOf, startField } from './field-env.js';

let f: FieldEnv;
let host: string;
let src: string;

beforeAll(async () => {
  f = await startField('creds');
  host = await f.host();
  await f.createRepo('field/app');
  src = f.layout('src', 1).ref;
  const pushed = await f.cli(['tag-push', src, `${host}/field/app:v1`, '--endpoint-url', f.server.url]);
  expect(pushed.code, pushed.stderr).toBe(0);
});
afterAll(async () => {
  await f.close();
});

const DENIED =
  'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action';

describe('a GetAuthorizationToken failure is the error a transfer reports', () => {
  it('tag-push with GetAuthorizationToken denied exits 5 naming ecr:GetAuthorizationToken, not a 401', async () => {
    const denied = await failingEndpoint('AccessDeniedException', DENIED);
    try {
      const r = await f.cli(['tag-push', src, `${host}/field/app:v2`, '--endpoint-url', denied.url]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain('GetAuthorizationToken needs the IAM permission ecr:GetAuthorizationToken');
      expect(r.stderr).not.toMatch(/401|requires authentication|refused the credentials/);
    } finally {
      await denied.close();
    }
  });

  it('copy with GetAuthorizationToken denied exits 5 with the token failure', async () => {
    const denied = await failingEndpoint('AccessDeniedException', DENIED);
    try {
      const r = await f.cli(['copy', `${host}/field/app:v1`, `${host}/field/app:copy`, '--endpoint-url', denied.url]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain('ecr:GetAuthorizationToken');
      expect(r.stderr).not.toMatch(/401|requires authentication/);
    } finally {
      await denied.close();
    }
  });

  it('pull with no AWS credentials at all exits 5 saying how to provide them, not a 401', async () => {
    const r = await f.cli(
      ['pull', `${host}/field/app:v1`, `oci:${path.join(f.dir, 'out-nocreds')}`, '--endpoint-url', f.server.url],
      {
        env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      },
    );
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('no AWS credentials were found');
    expect(r.stderr).not.toMatch(/401|requires authentication/);
  });

  it('tag-push with an unknown --profile names it and lists the profiles found (exit 5)', async () => {
    const configFile = path.join(f.home, 'aws-config-profiles');
    writeFileSync(configFile, '[default]\nregion = us-east-1\n[profile dev]\n[profile prod]\n');
    const r = await f.cli(
      ['tag-push', src, `${host}/field/app:v3`, '--endpoint-url', f.server.url, '--profile', 'staging'],
      {
        env: { AWS_CONFIG_FILE: configFile },
      },
    );
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('AWS profile "staging" was not found');
    expect(r.stderr).toContain('profiles found: default, dev, prod');
  });
});

describe('registries: in .ecrctl.yaml — many accounts, one machine', () => {
  const PROD = 'AKIDFIELDPROD0000001';
  const DEV = 'AKIDFIELDDEV00000001';

  it('reads from one account with profile prod and writes to another with profile dev, each token cached', async () => {
    const [host1, host2] = await Promise.all([
      f.host('us-east-1', '111111111111'),
      f.host('us-east-1', '222222222222'),
    ]);
    await f.createRepo('team/api', { account: '111111111111' });
    await f.createRepo('team/api', { account: '222222222222' });
    const project = path.join(f.dir, 'project-profiles');
    mkdirSync(project);
    writeFileSync(
      path.join(project, '.ecrctl.yaml'),
      `registries:\n  - match: '${host1}'\n    account: '111111111111'\n    profile: prod\n  - match: '${host2}'\n    account: '222222222222'\n    profile: dev\n`,
    );
    const credentialsFile = path.join(f.home, 'aws-credentials-two');
    writeFileSync(
      credentialsFile,
      `[prod]\naws_access_key_id = ${PROD}\naws_secret_access_key = prod-secret\n[dev]\naws_access_key_id = ${DEV}\naws_secret_access_key = dev-secret\n`,
    );
    const env = { AWS_SHARED_CREDENTIALS_FILE: credentialsFile };
    const push = await f.cli(['tag-push', src, `${host1}/team/api:v1`, '--endpoint-url', f.server.url], {
      cwd: project,
      env,
    });
    expect(push.code, push.stderr).toBe(0);
    const copy = await f.cli(
      ['copy', `${host1}/team/api:v1`, `${host2}/team/api:v1`, '--endpoint-url', f.server.url, '--verbose'],
      {
        cwd: project,
        env,
      },
    );
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stderr).toContain('profile prod');
    expect(copy.stderr).toContain('profile dev');

    const tokens = requestsOf(f.server, 'ecr:GetAuthorizationToken').filter((r) =>
      r.registryIds?.some((id) => id !== '123456789012'),
    );
    const byAccount = (id: string) =>
      new Set(tokens.filter((r) => r.registryIds?.includes(id)).map((r) => r.accessKeyId));
    expect(byAccount('111111111111')).toEqual(new Set([PROD]));
    expect(byAccount('222222222222')).toEqual(new Set([DEV]));
    expect(tokens.some((r) => r.accessKeyId === KEY.accessKeyId)).toBe(false);

    // A second run takes both tokens from the cache: no new GetAuthorizationToken call.
    const before = requestsOf(f.server, 'ecr:GetAuthorizationToken').length;
    const again = await f.cli(
      ['copy', `${host1}/team/api:v1`, `${host2}/team/api:v2`, '--endpoint-url', f.server.url],
      { cwd: project, env },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(requestsOf(f.server, 'ecr:GetAuthorizationToken').length).toBe(before);
  });

  it('a registries entry with roleArn assumes the role (STS AssumeRole) and uses its credentials for that registry', async () => {
    const sts = await fakeSts();
    try {
      const host2 = await f.host('us-east-1', '222222222222');
      await f.createRepo('team/role', { account: '222222222222' });
      const project = path.join(f.dir, 'project-role');
      mkdirSync(project);
      writeFileSync(
        path.join(project, '.ecrctl.yaml'),
        `registries:\n  - match: '${host2}'\n    account: '222222222222'\n    roleArn: arn:aws:iam::222222222222:role/pusher\n    externalId: field-ext-1\n`,
      );
      const r = await f.cli(['tag-push', src, `${host2}/team/role:v1`, '--endpoint-url', f.server.url], {
        cwd: project,
        env: { AWS_ENDPOINT_URL_STS: sts.url },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(sts.calls).toHaveLength(1);
      expect(sts.calls[0]).toMatchObject({
        accessKeyId: KEY.accessKeyId,
        RoleArn: 'arn:aws:iam::222222222222:role/pusher',
        ExternalId: 'field-ext-1',
      });
      const last = requestsOf(f.server, 'ecr:GetAuthorizationToken')
        .filter((q) => q.registryIds?.includes('222222222222'))
        .at(-1);
      expect(last?.accessKeyId).toBe('ASIAFIELDROLE0000001');
    } finally {
      await sts.close();
    }
  });

  it('builds the AssumeRole parameters from the entry (unit)', () => {
    const master = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' });
    const o = assumeRoleOptions(
      { env: {}, region: 'eu-west-1', roleArn: 'arn:aws:iam::111111111111:role/x', externalId: 'ext' },
      master,
    );
    expect(o.params).toMatchObject({ RoleArn: 'arn:aws:iam::111111111111:role/x', ExternalId: 'ext' });
    expect(o.params.RoleSessionName).toMatch(/^ecrctl-\d+$/);
    expect(o.masterCredentials).toBe(master);
    expect(o.clientConfig).toEqual({ region: 'eu-west-1' });
  });

  it('refuses a registries entry without a registry or without credentials, naming the line (exit 3)', async () => {
    const project = path.join(f.dir, 'project-bad');
    mkdirSync(project);
    writeFileSync(
      path.join(project, '.ecrctl.yaml'),
      `registries:\n  - profile: prod\n  - account: '1234'\n    profile: prod\n  - match: 'x.dkr.ecr.*'\n`,
    );
    const r = await f.cli(['tag-push', src, `${host}/field/app:bad`, '--endpoint-url', f.server.url], { cwd: project });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('.ecrctl.yaml:2: registries[0] names no registry');
    expect(r.stderr).toContain('registries[1].account is a 12-digit account id');
    expect(r.stderr).toContain('registries[2] says nothing about credentials');
  });
});

describe('ECR Public', () => {
  it('authenticates in us-east-1 whatever region is configured, and says so in --verbose', async () => {
    const r = await f.cli([
      'login',
      '--public',
      '--password-stdout',
      '--verbose',
      '--endpoint-url',
      f.server.url,
      '--region',
      'eu-west-1',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('ECR Public API: region us-east-1 (ECR Public issues tokens only there)');
    expect(r.stdout.trim().length).toBeGreaterThan(2048);
  });
});

/** A scripted STS endpoint answering AssumeRole with fixed temporary credentials. */
async function fakeSts(): Promise<{ url: string; calls: Record<string, string>[]; close(): Promise<void> }> {
  const calls: Record<string, string>[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      const accessKeyId = /Credential=([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? '';
      calls.push({ ...form, accessKeyId });
      const xml =
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>' +
        '<AccessKeyId>ASIAFIELDROLE0000001</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey>' +
        '<SessionToken>role-session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>' +
        '<AssumedRoleUser><AssumedRoleId>AROAFIELD:ecrctl</AssumedRoleId><Arn>arn:aws:sts::222222222222:assumed-role/pusher/ecrctl</Arn></AssumedRoleUser>' +
        '</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>';
      res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

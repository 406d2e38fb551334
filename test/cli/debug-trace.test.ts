// --debug: an HTTP trace on stderr of every registry request and every ECR API call, with
// method, URL, status and time, and no secret in it — against `ecrctl local`, which
// redirects blob downloads to presigned URLs as ECR does.
import path from 'node:path';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789';
const creds = {
  AWS_ACCESS_KEY_ID: 'AKIDDEBUGTRACE',
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
  AWS_SESSION_TOKEN: SESSION_TOKEN,
};

let env: RepoTestEnv;
let src: string;
let registryHost: string;
let registryPassword: string;

beforeAll(async () => {
  env = await startRepoEnv();
  src = path.join(env.dir, 'src');
  writeOciLayout(src, [{ image: buildImage(301, { layers: 2, layerSize: 3000 }), tag: 'latest' }]);
  const auth = await env.ecr.send(new GetAuthorizationTokenCommand({}));
  const data = auth.authorizationData?.[0];
  registryHost = new URL(data?.proxyEndpoint ?? '').host;
  registryPassword =
    Buffer.from(data?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .split(':')[1] ?? '';
});
afterAll(async () => {
  await env?.close();
});

/** Checks that none of the secrets a run handled appears in text. */
function expectNoSecrets(text: string): void {
  expect(text).not.toContain(SECRET_KEY);
  expect(text).not.toContain(SESSION_TOKEN);
  expect(registryPassword.length).toBeGreaterThan(8);
  expect(text).not.toContain(registryPassword);
  // Whatever the scheme, only the word is printed, never the credential.
  expect(text).not.toMatch(/authorization: (Basic|Bearer|AWS4-HMAC-SHA256) [^*]/i);
  expect(text).not.toMatch(/X-Amz-Signature=[^*]/);
  expect(text).not.toMatch(/X-Amz-Credential=[^*]/);
  expect(text).not.toMatch(/x-amz-security-token: [^*]/i);
}

describe('--debug', () => {
  it('traces tag-push: registry HEAD/PUT/POST and ECR API calls with statuses, no secrets, stdout untouched', async () => {
    const plain = await env.cli(['tag-push', `oci:${src}:latest`, `${registryHost}/debug/app:v1`, '--create-repo'], {
      env: creds,
    });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('http: ');

    const r = await env.cli(
      ['--debug', 'tag-push', `oci:${src}:latest`, `${registryHost}/debug/app:v2`, '-o', 'json'],
      // A fresh token cache, so that the registry token is fetched (and traced) in this run.
      { env: { ...creds, XDG_CACHE_HOME: path.join(env.dir, 'cache-debug') } },
    );
    expect(r.code, r.stderr).toBe(0);
    // stdout is the data alone.
    expect(JSON.parse(r.stdout).tags).toContain('v2');
    expect(r.stdout).not.toContain('http: ');
    const lines = r.stderr.split('\n').filter((l) => /^http: \S/.test(l));
    // Registry side: the manifest and blobs checked (HEAD) and the manifest put (PUT), with status.
    expect(
      lines.some((l) =>
        /^http: registry HEAD http:\/\/\S+\/v2\/debug\/app\/blobs\/sha256:[0-9a-f]{64} -> (200|404) in \d+ ms$/.test(l),
      ),
    ).toBe(true);
    expect(
      lines.some((l) => /^http: registry PUT http:\/\/\S+\/v2\/debug\/app\/manifests\/v2 -> 201 in \d+ ms$/.test(l)),
    ).toBe(true);
    // API side: the operations by name, with method, URL and status.
    expect(
      lines.some((l) =>
        /^http: ECR API GetAuthorizationToken POST http:\/\/127\.0\.0\.1:\d+\/ -> 200 in \d+ ms$/.test(l),
      ),
    ).toBe(true);
    expect(lines.some((l) => /^http: ECR API DescribeRepositories POST \S+ -> 200 in \d+ ms$/.test(l))).toBe(true);
    // Headers are shown, credentials redacted.
    expect(r.stderr).toMatch(/http: {3}> authorization: Basic \*\*\*/i);
    expect(r.stderr).toMatch(/http: {3}> authorization: AWS4-HMAC-SHA256 \*\*\*/i);
    expect(r.stderr).toMatch(/http: {3}> x-amz-security-token: \*\*\*/i);
    expectNoSecrets(r.stderr);
  });

  it('traces a pull: the 307 to a presigned URL and the download, signature redacted', async () => {
    const r = await env.cli(
      ['--debug', 'pull', `${registryHost}/debug/app:v1`, `oci:${path.join(env.dir, 'out')}:v1`],
      {
        env: creds,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^http: registry GET http:\/\/\S+\/v2\/debug\/app\/blobs\/sha256:[0-9a-f]{64} -> 307 in \d+ ms$/m,
    );
    expect(r.stderr).toMatch(/^http: registry GET http:\/\/\S+\?\S*X-Amz-Signature=\*\*\*\S* -> 200 in \d+ ms$/m);
    expect(r.stderr).toMatch(/http: {3}< location: \S+X-Amz-Signature=\*\*\*/i);
    expect(r.stderr).toMatch(/^http: registry GET http:\/\/\S+\/v2\/debug\/app\/manifests\/v1 -> 200 in \d+ ms$/m);
    expectNoSecrets(r.stderr);
  });

  it('traces a control-plane command (images) through the SDK, and ECRCTL_DEBUG turns it on too', async () => {
    const r = await env.cli(['images', 'debug/app'], { env: { ...creds, ECRCTL_DEBUG: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('http: ');
    expect(r.stderr).toMatch(/^http: ECR API DescribeImages POST http:\/\/127\.0\.0\.1:\d+\/ -> 200 in \d+ ms$/m);
    expect(r.stderr).toMatch(/http: {3}> x-amz-target: AmazonEC2ContainerRegistry_V20150921\.DescribeImages/i);
    expectNoSecrets(r.stderr);
  });
});

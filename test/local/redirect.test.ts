// Blob downloads through the emulator's S3 (issue 19 #2): ECR answers a blob GET with 307 to
// a presigned URL on another host, which refuses an Authorization header (400 InvalidArgument)
// and expired URLs (403). ecrctl follows without credentials and, when a download drops and
// its URL expires meanwhile, goes back to the registry for a fresh one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetAuthorizationTokenCommand, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { tempHome, type TempHome } from '../ecr/env.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, type FixtureImage, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { ecrClient, start } from './helpers.js';

let server: LocalServer;
let home: TempHome;
let endpoint: string;
let registry: string;
let auth: string;
let image: FixtureImage;
let bigLayer: { digest: string; size: number };

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...home.env, AWS_ENDPOINT_URL: server.url, ...extra };
}

beforeAll(async () => {
  home = tempHome('ecrctl-redirect-');
  server = await start(path.join(home.dir, 'data'));
  endpoint = await server.registryEndpoint('us-east-1');
  registry = new URL(endpoint).host;
  const ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
  ecr.destroy();
  const created = await runCli(['create-repo', 'big/app'], { env: env() });
  expect(created.code, created.stderr).toBe(0);
  image = buildImage(77, { layers: 2, layerSize: 300_000 });
  const layout = path.join(home.dir, 'layout');
  writeOciLayout(layout, [{ image, tag: 'v1' }]);
  const push = await runCli(['tag-push', `oci:${layout}:v1`, `${registry}/big/app:v1`], { env: env() });
  expect(push.code, push.stderr).toBe(0);
  const layer = image.layers[0];
  if (!layer) throw new Error('no layer');
  bigLayer = { digest: layer.descriptor.digest, size: layer.bytes.length };
});
afterAll(async () => {
  await server.close();
  home.remove();
});
beforeEach(() => {
  server.faults.length = 0;
});

describe('blob downloads redirect to the blob host, as ECR redirects to S3', () => {
  it('answers a blob GET with 307 to a short-lived presigned URL on another host; HEAD stays here', async () => {
    const res = await fetch(`${endpoint}/v2/big/app/blobs/${bigLayer.digest}`, {
      headers: { Authorization: auth },
      redirect: 'manual',
    });
    expect(res.status, await res.clone().text()).toBe(307);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.hostname).toBe('localhost');
    expect(location.host).not.toBe(registry);
    expect(location.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(location.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(location.searchParams.get('X-Amz-Signature')).toBeTruthy();
    const head = await fetch(`${endpoint}/v2/big/app/blobs/${bigLayer.digest}`, {
      method: 'HEAD',
      headers: { Authorization: auth },
      redirect: 'manual',
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bigLayer.size));
  });

  it('the blob host refuses Authorization (400), serves ranges without it, and 403s once expired', async () => {
    const res = await fetch(`${endpoint}/v2/big/app/blobs/${bigLayer.digest}`, {
      headers: { Authorization: auth },
      redirect: 'manual',
    });
    const location = res.headers.get('location') ?? '';
    const withAuth = await fetch(location, { headers: { Authorization: auth } });
    expect(withAuth.status).toBe(400);
    const refusal = await withAuth.text();
    expect(refusal).toContain('<Code>InvalidArgument</Code>');
    expect(refusal).toContain('Only one auth mechanism allowed');
    const part = await fetch(location, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${bigLayer.size}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(image.layers[0]?.bytes.subarray(10, 20));
    const forged = new URL(location);
    forged.searchParams.set('X-Amz-Signature', 'x');
    expect((await fetch(forged)).status).toBe(403);
    // The clock passes the URL's 10 minutes.
    server.faults.push({ operation: 's3:GET blob', kind: 'expire-tokens', times: 1 });
    const expired = await fetch(location);
    expect(expired.status).toBe(403);
    const text = await expired.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
  });

  it('GetDownloadUrlForLayer returns the same kind of URL', async () => {
    const ecr = ecrClient(server);
    const out = await ecr.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: 'big/app', layerDigest: bigLayer.digest }),
    );
    ecr.destroy();
    const url = new URL(out.downloadUrl ?? '');
    expect(url.hostname).toBe('localhost');
    expect(url.searchParams.get('X-Amz-Signature')).toBeTruthy();
    const body = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(sha256(body)).toBe(bigLayer.digest);
    expect((await fetch(url, { headers: { Authorization: auth } })).status).toBe(400);
  });

  it('ecrctl pulls through the redirect without sending credentials to the blob host', async () => {
    const before = server.calls.filter((c) => c === 's3:GET blob').length;
    const out = path.join(home.dir, 'pulled');
    const pull = await runCli(['pull', `${registry}/big/app:v1`, `oci:${out}:v1`], { env: env() });
    expect(pull.code, pull.stderr).toBe(0);
    // config + 2 layers, each from the blob host (which answers 400 to a request with credentials)
    expect(server.calls.filter((c) => c === 's3:GET blob').length - before).toBe(3);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.descriptor.digest);
  });

  it('a dropped download whose URL expired resumes with a fresh URL from the registry', async () => {
    server.faults.push({ operation: 's3:GET blob', kind: 'drop', afterBytes: 100_000, times: 1 });
    const registryGets = server.calls.filter((c) => c === 'registry:GET blobs').length;
    const out = path.join(home.dir, 'resumed');
    const pull = await runCli(['pull', '--verbose', `${registry}/big/app:v1`, `oci:${out}:v1`], { env: env() });
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stderr).toMatch(/dropped after 100000 bytes; resuming/);
    expect(server.faults[0]?.times).toBe(0);
    // 3 blobs + 1 resume: the resume asked the registry again (the old URL had expired; so had
    // the URL of a download that started meanwhile, which is asked for again too)
    expect(server.calls.filter((c) => c === 'registry:GET blobs').length - registryGets).toBeGreaterThanOrEqual(4);
    const layout = path.join(out, 'blobs', 'sha256');
    for (const layer of image.layers) {
      expect(sha256(readFileSync(path.join(layout, layer.descriptor.digest.slice(7))))).toBe(layer.descriptor.digest);
    }
  });

  it('a blob download slower than the small-response deadline is not cut off behind the redirect', async () => {
    server.faults.push({ operation: 's3:GET blob', kind: 'delay', delayMs: 1500 });
    const out = path.join(home.dir, 'slow');
    const pull = await runCli(['pull', `${registry}/big/app:v1`, `oci:${out}:v1`], {
      env: env({ ECRCTL_REQUEST_TIMEOUT: '1s' }),
    });
    expect(pull.code, pull.stderr).toBe(0);
  });
});

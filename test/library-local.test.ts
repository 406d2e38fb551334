// `ecrctl/local` as a library user sees it: startLocal() in-process, the real SDK against
// its API endpoint, plain fetch against its data plane, then close() leaves nothing behind.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LocalEmulator, startLocal } from '../src/local-entry.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };
const started: LocalEmulator[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.close()));
  vi.restoreAllMocks();
});

async function run(options?: Parameters<typeof startLocal>[0]): Promise<LocalEmulator> {
  const emulator = await startLocal(options);
  started.push(emulator);
  return emulator;
}

function client(emulator: LocalEmulator): ECRClient {
  return new ECRClient({ endpoint: emulator.endpoint, region: emulator.region, credentials, maxAttempts: 1 });
}

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Resolves true when something accepts a TCP connection on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Returns the Basic credentials GetAuthorizationToken gives, and the proxyEndpoint. */
async function login(ecr: ECRClient): Promise<{ auth: string; proxyEndpoint: string }> {
  const out = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = out.authorizationData?.[0];
  expect(data?.authorizationToken).toBeTruthy();
  return { auth: `Basic ${data!.authorizationToken}`, proxyEndpoint: data!.proxyEndpoint! };
}

/** Pushes one blob (POST, then PUT with the digest) and returns its digest. */
async function pushBlob(base: string, repo: string, auth: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const started = await fetch(`${base}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: { Authorization: auth },
  });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get('location')!, base);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
    body: bytes,
  });
  expect(done.status).toBe(201);
  expect(done.headers.get('docker-content-digest')).toBe(digest);
  return digest;
}

describe('startLocal', () => {
  it('serves the ECR API to the SDK and the data plane to fetch; close() frees the port and removes the temp dir', async () => {
    const emulator = await run();
    expect(emulator.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.registryHost).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(emulator.account).toBe('123456789012');
    expect(emulator.region).toBe('us-east-1');
    expect(existsSync(emulator.data)).toBe(true);

    const ecr = client(emulator);
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
    expect(created.repository?.repositoryUri).toBe(`${emulator.registryHost}/team/app`);

    const { auth, proxyEndpoint } = await login(ecr);
    expect(proxyEndpoint).toBe(`http://${emulator.registryHost}`);
    const base = `http://${emulator.registryHost}`;
    expect((await fetch(`${base}/v2/`)).status).toBe(401);
    expect((await fetch(`${base}/v2/`, { headers: { Authorization: auth } })).status).toBe(200);

    const layer = Buffer.from('hello from startLocal\n');
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: await pushBlob(base, 'team/app', auth, config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: await pushBlob(base, 'team/app', auth, layer),
            size: layer.length,
          },
        ],
      }),
    );
    const put = await fetch(`${base}/v2/team/app/manifests/v1`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digestOf(manifest));

    const got = await fetch(`${base}/v2/team/app/manifests/v1`, {
      headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(manifest)).toBe(true);
    const blob = await fetch(`${base}/v2/team/app/blobs/${digestOf(layer)}`, { headers: { Authorization: auth } });
    expect(blob.status).toBe(200);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer)).toBe(true);

    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'team/app' }));
    expect(images.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[digestOf(manifest), ['v1']]]);

    const apiPort = Number(new URL(emulator.endpoint).port);
    const registryPort = Number(emulator.registryHost.split(':')[1]);
    await emulator.close();
    await emulator.close(); // again: nothing happens
    expect(await accepts('127.0.0.1', apiPort)).toBe(false);
    expect(await accepts('127.0.0.1', registryPort)).toBe(false);
    expect(existsSync(emulator.data)).toBe(false);
  });

  it('keeps a given data directory, so a second start sees the same repositories', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-library-local-'));
    try {
      const first = await run({ data: dir, account: '111122223333', region: 'eu-west-1' });
      expect(first.account).toBe('111122223333');
      expect(first.region).toBe('eu-west-1');
      expect(first.data).toBe(dir);
      await client(first).send(new CreateRepositoryCommand({ repositoryName: 'kept' }));
      const { proxyEndpoint } = await login(client(first));
      expect(proxyEndpoint).toBe(`http://${first.registryHost}`);
      await first.close();
      expect(existsSync(dir)).toBe(true);

      const second = await run({ data: dir, account: '111122223333', region: 'eu-west-1' });
      const repos = await client(second).send(new DescribeRepositoriesCommand({}));
      expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['kept']);
      await second.close();
      expect(existsSync(dir)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on the port asked for', async () => {
    const probe = await run();
    const port = Number(new URL(probe.endpoint).port);
    await probe.close();
    const emulator = await run({ port });
    expect(emulator.endpoint).toBe(`http://127.0.0.1:${port}`);
  });

  it('prints nothing, leaves process.env and signal handlers alone', async () => {
    const env = { ...process.env };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const listeners = signals.map((s) => process.listenerCount(s));
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));

    const emulator = await run();
    await client(emulator).send(new CreateRepositoryCommand({ repositoryName: 'quiet' }));
    await fetch(`http://${emulator.registryHost}/v2/`);
    await emulator.close();

    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    expect(process.env).toEqual(env);
    expect(signals.map((s) => process.listenerCount(s))).toEqual(listeners);
  });

  it('gives tokens the lifetime tokenTtl asks for; an expired one gets 403 DENIED as on ECR', async () => {
    const emulator = await run({ tokenTtl: '1s' });
    const ecr = client(emulator);
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const expiresAt = out.authorizationData?.[0]?.expiresAt?.getTime() ?? 0;
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(1000);
    const { auth } = await login(ecr);
    const base = `http://${emulator.registryHost}`;
    expect((await fetch(`${base}/v2/`, { headers: { Authorization: auth } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await fetch(`${base}/v2/`, { headers: { Authorization: auth } });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    // Seconds as a number work too; the default stays 12 hours.
    const numeric = await run({ tokenTtl: 90 });
    const t = (await client(numeric).send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    expect(Math.round(((t?.expiresAt?.getTime() ?? 0) - Date.now()) / 1000)).toBe(90);
    const byDefault = await run();
    const d = (await client(byDefault).send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    expect(Math.round(((d?.expiresAt?.getTime() ?? 0) - Date.now()) / 3600_000)).toBe(12);
  });

  it('refuses bad options before starting anything', async () => {
    await expect(startLocal({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(startLocal({ account: '42' })).rejects.toThrow(/12 digits/);
    await expect(startLocal({ port: 70000 })).rejects.toThrow(/port/);
    await expect(startLocal({ region: 'Not A Region' })).rejects.toThrow(/region/);
    await expect(startLocal({ tokenTtl: 'soon' })).rejects.toThrow(/tokenTtl .*e\.g\. 30s/);
    await expect(startLocal({ tokenTtl: 0 })).rejects.toThrow(/tokenTtl/);
  });
});

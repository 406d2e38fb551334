// Issue 19 #10 on the data plane: `ecrctl local` paces registry requests at ECR's published
// rates (ECR-FACTS.md) — manifest PUTs as PutImage (10/s per repository), upload starts as
// InitiateLayerUpload (100/s per account and region), blob HEADs as
// BatchCheckLayerAvailability (1,000/s) … — and answers `429` TOOMANYREQUESTS with a
// Retry-After, as ECR does; `throttleScale` scales the rates or turns them off.
//
// The endpoint's clock is Date.now() (plus advanceClock): the tests stop Date (only Date;
// timers run) so that no bucket refills while a slow machine sends the requests, and refill
// the buckets by moving the endpoint's clock.
import {
  CreateRepositoryCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LocalServer, LocalServerOptions } from '../../src/local/server.js';
import { basicAuth, digestOf, ecrClient, start, tempDir, tinyImage } from './helpers.js';

const tmp = tempDir('ecrctl-dp-throttle-');
let servers: LocalServer[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-03-01T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  tmp.remove();
});

interface Env {
  server: LocalServer;
  ecr: ECRClient;
  endpoint: string;
  auth: string;
}

let count = 0;
const image = tinyImage('throttle');
/** Starts a server with repositories t/a and t/b, each holding one image (tag v0). */
async function env(opts: Partial<LocalServerOptions> = {}): Promise<Env> {
  const server = await start(`${tmp.dir}/d${count++}`, opts);
  servers.push(server);
  const ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  const endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  const auth = basicAuth(token.authorizationData?.[0]?.authorizationToken as string);
  for (const name of ['t/a', 't/b']) {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    // One request at a time with the clock moved on between them, so that even the slowest
    // scale lets the set-up through.
    for (const blob of [image.layer, image.config]) {
      const res = await fetch(`${endpoint}/v2/${name}/blobs/uploads/?digest=${digestOf(blob)}`, {
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
        body: blob,
      });
      expect(res.status).toBe(201);
      server.advanceClock(60_000);
    }
    const res = await fetch(`${endpoint}/v2/${name}/manifests/v0`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': image.mediaType },
      body: image.manifest,
    });
    expect(res.status).toBe(201);
  }
  // Every bucket full again: the set-up's requests are not counted against the test.
  server.advanceClock(60_000);
  return { server, ecr, endpoint, auth };
}

/** PUTs the image's manifest under count new tags, one after another; returns the statuses. */
async function putTags(e: Env, repo: string, count: number, prefix = 'x'): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${e.endpoint}/v2/${repo}/manifests/${prefix}${i}`, {
      method: 'PUT',
      headers: { Authorization: e.auth, 'Content-Type': image.mediaType },
      body: image.manifest,
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

/** Sends count requests (method, path) one after another; returns the statuses. */
async function send(e: Env, method: string, path: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${e.endpoint}${path}`, { method, headers: { Authorization: e.auth } });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

const times = (n: number, status: number) => Array(n).fill(status);

describe('data-plane throttling at ECR rates (default scale 1)', () => {
  it('refuses the 11th manifest PUT in a second of one repository with 429 TOOMANYREQUESTS and Retry-After', async () => {
    const e = await env();
    expect(await putTags(e, 't/a', 10)).toEqual(times(10, 201));
    const res = await fetch(`${e.endpoint}/v2/t/a/manifests/over`, {
      method: 'PUT',
      headers: { Authorization: e.auth, 'Content-Type': image.mediaType },
      body: image.manifest,
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ errors: [{ code: 'TOOMANYREQUESTS', message: 'Rate exceeded' }] });
    // Nothing was stored by the refused PUT.
    expect((await send(e, 'HEAD', '/v2/t/a/manifests/over', 1))[0]).toBe(404);
    // PutImage is counted per repository: t/b has its own bucket.
    expect(await putTags(e, 't/b', 10)).toEqual(times(10, 201));
    // The API's PutImage shares the bucket, as ECR meters both alike.
    const api = await e.ecr
      .send(
        new PutImageCommand({
          repositoryName: 't/a',
          imageManifest: image.manifest.toString(),
          imageTag: 'api',
        }),
      )
      .catch((err: { name: string }) => err.name);
    expect(api).toBe('ThrottlingException');
    // A second later (the endpoint's clock) the bucket has refilled.
    e.server.advanceClock(1000);
    expect(await putTags(e, 't/a', 10, 'y')).toEqual(times(10, 201));
    // Each request was recorded, the refused ones too (two more are the set-up's).
    expect(e.server.calls.filter((c) => c === 'registry:PUT manifests')).toHaveLength(33);
  });

  it('counts upload starts per account and region (InitiateLayerUpload, 100/s) across repositories', async () => {
    const e = await env();
    const a = await send(e, 'POST', '/v2/t/a/blobs/uploads/', 60);
    const b = await send(e, 'POST', '/v2/t/b/blobs/uploads/', 60);
    expect([...a, ...b]).toEqual([...times(100, 202), ...times(20, 429)]);
    // A monolithic upload (POST ?digest=) is an upload start too; its body is read and dropped.
    const blob = Buffer.from('refused while throttled');
    const res = await fetch(`${e.endpoint}/v2/t/a/blobs/uploads/?digest=${digestOf(blob)}`, {
      method: 'POST',
      headers: { Authorization: e.auth, 'Content-Type': 'application/octet-stream' },
      body: blob,
    });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('TOOMANYREQUESTS');
    expect((await send(e, 'HEAD', `/v2/t/a/blobs/${digestOf(blob)}`, 1))[0]).toBe(404);
    e.server.advanceClock(1000);
    expect(await send(e, 'POST', '/v2/t/b/blobs/uploads/', 1)).toEqual([202]);
  });
});

describe('throttleScale', () => {
  it('scales the layer rates: at 0.1, blob HEADs stop after 100 and manifest GETs after 200 in a second', async () => {
    const e = await env({ throttleScale: 0.1 });
    const heads = await send(e, 'HEAD', `/v2/t/a/blobs/${image.layerDigest}`, 101);
    expect(heads).toEqual([...times(100, 200), 429]);
    const gets = await send(e, 'GET', '/v2/t/b/manifests/v0', 201);
    expect(gets).toEqual([...times(200, 200), 429]);
    // PUT manifests at 1/s: one, then 429 with a Retry-After of one token's refill time.
    expect(await putTags(e, 't/a', 2)).toEqual([201, 429]);
  });

  it('gives a slow rate a Retry-After of one refill and never refuses for ever (scale 0.01: PutImage 0.1/s)', async () => {
    const e = await env({ throttleScale: 0.01 });
    expect(await putTags(e, 't/a', 1)).toEqual([201]);
    const res = await fetch(`${e.endpoint}/v2/t/a/manifests/again`, {
      method: 'PUT',
      headers: { Authorization: e.auth, 'Content-Type': image.mediaType },
      body: image.manifest,
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('10');
    e.server.advanceClock(10_000);
    expect(await putTags(e, 't/a', 1, 'z')).toEqual([201]);
  });

  it('off: no data-plane throttling at all', async () => {
    const e = await env({ throttleScale: 'off' });
    expect(await putTags(e, 't/a', 30)).toEqual(times(30, 201));
    expect(await send(e, 'POST', '/v2/t/a/blobs/uploads/', 150)).toEqual(times(150, 202));
  });
});

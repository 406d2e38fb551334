// Issue 19 #10: `ecrctl local` throttles as ECR does — token buckets at ECR's published
// rates (PutImage 10/s per repository, GetAuthorizationToken 500/s, …), answered with
// ThrottlingException on the API — and a scale multiplies the rates or turns them off.
// (The server's option and its default of 1 are wired in server.ts; until then these tests
// drive the API listener with a context of their own.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, describe, expect, it } from 'vitest';
import { handleApiRequest } from '../../src/local/api.js';
import type { LocalContext } from '../../src/local/context.js';
import { ECR_RATES, parseThrottleScale, takeDataPlaneToken, takeToken } from '../../src/local/throttle.js';
import { credentials } from './helpers.js';

/** A context enough for the API listener to reach the throttle (the store knows no repository). */
function stubContext(throttleScale?: number | 'off'): LocalContext {
  return {
    account: '123456789012',
    tokenTtlMs: 3_600_000,
    calls: [],
    requests: [],
    faults: [],
    // A clock that stands still: no bucket refills while the test runs, however slow it is.
    now: () => 1_000_000,
    advanceClock: () => {},
    log: () => {},
    store: {
      registry: (kind: string, account: string, region: string) => ({ kind, account, region, repositories: {} }),
      // Nothing to settle (replicas land before each request, see replication.ts).
      state: { version: 1, registries: {} },
    },
    ...(throttleScale !== undefined ? { throttleScale } : {}),
  } as unknown as LocalContext;
}

let servers: Server[] = [];

/** Serves the API with ctx on a free port and returns an SDK client without retries. */
async function clientFor(ctx: LocalContext): Promise<ECRClient> {
  const server = createServer((req, res) => void handleApiRequest(ctx, req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new ECRClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials, maxAttempts: 1 });
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** Sends count PutImage calls one after another and returns the error names. */
async function putImages(ecr: ECRClient, repositoryName: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      await ecr.send(new PutImageCommand({ repositoryName, imageManifest: '{}', imageTag: `t${i}` }));
      names.push('ok');
    } catch (err) {
      names.push((err as { name: string }).name);
    }
  }
  return names;
}

describe('the API listener', () => {
  it('answers ThrottlingException once PutImage passes 10 per second in a repository, at scale 1', async () => {
    const ecr = await clientFor(stubContext(1));
    const names = await putImages(ecr, 'throttle/a', 15);
    // Within the rate the request reaches its handler (which finds no repository here).
    expect(names.slice(0, 10)).toEqual(Array(10).fill('RepositoryNotFoundException'));
    expect(names.slice(10)).toEqual(Array(5).fill('ThrottlingException'));
    // Another repository has its own PutImage bucket.
    expect(await putImages(ecr, 'throttle/b', 3)).toEqual(Array(3).fill('RepositoryNotFoundException'));
  });

  it('does not throttle with off, nor in a context that names no scale', async () => {
    for (const ctx of [stubContext('off'), stubContext()]) {
      const names = await putImages(await clientFor(ctx), 'throttle/c', 15);
      expect(names).toEqual(Array(15).fill('RepositoryNotFoundException'));
    }
  });
});

describe('the buckets', () => {
  const fakeCtx = (throttleScale?: number | 'off') => {
    let now = 1_000_000;
    const ctx = {
      now: () => now,
      ...(throttleScale !== undefined ? { throttleScale } : {}),
    } as unknown as LocalContext;
    return { ctx, advance: (ms: number) => (now += ms) };
  };
  const where = { account: '123456789012', region: 'us-east-1', repository: 'r' };
  const count = (ctx: LocalContext, op: string, n: number, w = where) => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (takeToken(ctx, op, w)) ok++;
    return ok;
  };

  it('allow one second of requests at the published rate, then refill with time', () => {
    const { ctx, advance } = fakeCtx(1);
    expect(count(ctx, 'PutImage', 50)).toBe(ECR_RATES.PutImage);
    advance(500);
    expect(count(ctx, 'PutImage', 50)).toBe(5);
    expect(count(ctx, 'GetAuthorizationToken', 1000)).toBe(500);
    // Per account and region for the layer APIs; PutImage per repository.
    expect(count(ctx, 'PutImage', 50, { ...where, repository: 'other' })).toBe(10);
    expect(count(ctx, 'InitiateLayerUpload', 200, { ...where, repository: 'x' })).toBe(100);
    expect(count(ctx, 'InitiateLayerUpload', 200, { ...where, repository: 'y' })).toBe(0);
    // An operation without a published rate is never throttled.
    expect(count(ctx, 'DescribeImages', 5000)).toBe(5000);
  });

  it('scale by throttleScale, or stop with off; the data plane counts against the same APIs', () => {
    expect(count(fakeCtx(3).ctx, 'PutImage', 100)).toBe(30);
    expect(count(fakeCtx('off').ctx, 'PutImage', 100)).toBe(100);
    expect(count(fakeCtx().ctx, 'PutImage', 100)).toBe(100);
    const { ctx } = fakeCtx(1);
    let ok = 0;
    for (let i = 0; i < 20; i++) if (takeDataPlaneToken(ctx, 'PUT manifests', where)) ok++;
    expect(ok).toBe(10);
    expect(parseThrottleScale('off')).toBe('off');
    expect(parseThrottleScale('0.5')).toBe(0.5);
    expect(() => parseThrottleScale('0')).toThrow('--throttle-scale must be a positive number or off');
  });
});

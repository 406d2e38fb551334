// A registry that trickles: headers, then a byte now and then, which resets an idle timeout
// forever. Two rules stop it: a deadline for small responses (manifests, tag lists, tokens:
// ECRCTL_REQUEST_TIMEOUT) and a minimum throughput for everything (ECRCTL_MIN_THROUGHPUT),
// which a slow reader on our side does not trip. Scripted loopback servers, small values.
import { afterEach, describe, expect, it } from 'vitest';
import { EcrctlError, UsageError } from '../../../src/errors.js';
import {
  minThroughputFromEnv,
  type RegistryTransport,
  requestTimeoutFromEnv,
  type TransportOptions,
} from '../../../src/oci/transport/http.js';
import { transportFixture } from './scripted-server.js';

const fixture = transportFixture();
const { serve } = fixture;
const timers: NodeJS.Timeout[] = [];

afterEach(() => {
  for (const t of timers.splice(0)) clearInterval(t);
});

function transport(env: NodeJS.ProcessEnv, opts: TransportOptions = {}): RegistryTransport {
  return fixture.transport({ env, retry: { baseDelayMs: 5, maxRetries: 0 }, ...opts });
}

/** Sends headers, then one byte every intervalMs, forever. */
function trickle(intervalMs: number) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
    timers.push(setInterval(() => res.write(' '), intervalMs));
  };
}

describe('ECRCTL_REQUEST_TIMEOUT: a deadline for small responses', () => {
  it('stops a manifest that trickles in, with a message naming the variable', async () => {
    const s = await serve(trickle(50));
    const t = transport({ ECRCTL_REQUEST_TIMEOUT: '400ms', ECRCTL_MIN_THROUGHPUT: '0' });
    const started = Date.now();
    const err = await t
      .request({ method: 'GET', host: s.host, path: '/v2/app/manifests/v1', what: 'manifest app:v1' })
      .then((res) => res.body.text())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as Error).message).toBe(`${s.host} did not finish answering manifest app:v1 within 400ms`);
    expect((err as EcrctlError).fix).toContain('ECRCTL_REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops a registry that never sends headers, before the (longer) header timeout', async () => {
    const s = await serve(() => {});
    const t = transport({ ECRCTL_REQUEST_TIMEOUT: '300ms' }, { headersTimeoutMs: 30_000 });
    const err = await t.request({ method: 'GET', host: s.host, path: '/v2/app/tags/list' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${s.host} did not finish answering GET /v2/app/tags/list within 300ms`);
  });

  it('does not apply to blob downloads', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '6' });
      res.write('abc');
      setTimeout(() => res.end('def'), 600);
    });
    const t = transport({ ECRCTL_REQUEST_TIMEOUT: '300ms', ECRCTL_MIN_THROUGHPUT: '0' });
    const res = await t.request({ method: 'GET', host: s.host, path: '/v2/app/blobs/sha256:abc' });
    expect(await res.body.text()).toBe('abcdef');
  });
});

describe('ECRCTL_MIN_THROUGHPUT: a minimum rate for every response body', () => {
  it('stops a blob that arrives below the rate for the whole window', async () => {
    const s = await serve(trickle(100)); // 10 bytes/s
    const t = transport({ ECRCTL_MIN_THROUGHPUT: '1024/500ms' });
    const started = Date.now();
    const err = await t
      .request({ method: 'GET', host: s.host, path: '/v2/app/blobs/sha256:abc', what: 'blob sha256:abc' })
      .then((res) => res.body.text())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^${s.host} sent blob sha256:abc at \\d+ bytes/s over the last 500ms, below the minimum of 1024 bytes/s$`,
      ),
    );
    expect((err as EcrctlError).fix).toContain('ECRCTL_MIN_THROUGHPUT');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('does not count the time our side takes to read', async () => {
    const body = Buffer.alloc(256 * 1024, 'x');
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
    const t = transport({ ECRCTL_MIN_THROUGHPUT: '1024/300ms' });
    const res = await t.request({ method: 'GET', host: s.host, path: '/v2/app/blobs/sha256:abc' });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await res.body.text()).length).toBe(body.length);
  });
});

describe('parsing the variables', () => {
  it('reads durations and rates, defaults when unset, refuses nonsense', () => {
    expect(requestTimeoutFromEnv({})).toBe(60_000);
    expect(requestTimeoutFromEnv({ ECRCTL_REQUEST_TIMEOUT: '90' })).toBe(90_000);
    expect(requestTimeoutFromEnv({ ECRCTL_REQUEST_TIMEOUT: '2m' })).toBe(120_000);
    expect(requestTimeoutFromEnv({ ECRCTL_REQUEST_TIMEOUT: '0' })).toBeUndefined();
    expect(minThroughputFromEnv({})).toEqual({ bytesPerSecond: 1024, windowMs: 60_000 });
    expect(minThroughputFromEnv({ ECRCTL_MIN_THROUGHPUT: '10KiB/30s' })).toEqual({
      bytesPerSecond: 10240,
      windowMs: 30_000,
    });
    expect(minThroughputFromEnv({ ECRCTL_MIN_THROUGHPUT: '512' })).toEqual({ bytesPerSecond: 512, windowMs: 60_000 });
    expect(minThroughputFromEnv({ ECRCTL_MIN_THROUGHPUT: '0' })).toBeUndefined();
    expect(() => requestTimeoutFromEnv({ ECRCTL_REQUEST_TIMEOUT: 'soon' })).toThrow(UsageError);
    expect(() => minThroughputFromEnv({ ECRCTL_MIN_THROUGHPUT: 'fast/1s' })).toThrow(UsageError);
    expect(() => minThroughputFromEnv({ ECRCTL_MIN_THROUGHPUT: '1024/0s' })).toThrow(UsageError);
  });
});

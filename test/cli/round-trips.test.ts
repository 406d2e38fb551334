// Round trips on the critical path, counted at a recording proxy in front of Debian's
// docker-registry: a pull asks nothing after its last blob that could have run beside the
// blobs; a re-push whose tags all point at the image already asks one manifest HEAD per tag
// and nothing else; otherwise every blob existence check goes out in one parallel round.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';

interface Recorded {
  method: string;
  url: string;
  /** When the request reached the proxy, and when its answer was fully sent back (ms). */
  start: number;
  end: number;
}

interface RecordingProxy {
  host: string;
  requests: Recorded[];
  stop(): Promise<void>;
}

/**
 * Forwards to upstream and records each request's start and end; requests matching slow are
 * held for holdMs before they are forwarded (a slow link for them, so their order shows).
 */
async function startRecordingProxy(upstream: string, slow: RegExp, holdMs: number): Promise<RecordingProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const requests: Recorded[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', start: performance.now(), end: Infinity };
    requests.push(rec);
    const forward = () => {
      const up = http.request(
        { host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers, agent },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    res.on('finish', () => {
      rec.end = performance.now();
    });
    if (slow.test(`${req.method} ${req.url}`)) setTimeout(forward, holdMs);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}

let reg: StartedRegistry;
let tmp: string;
beforeAll(async () => {
  reg = await startRegistry();
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-round-trips-'));
});
afterAll(async () => {
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});
const env = () => ({ DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp });

describe('pull', () => {
  it('asks nothing after its last blob that could have run beside the blobs (manifest, referrers, tag fallback)', async () => {
    const image = buildImage(261, { layers: 3, layerSize: 20_000 });
    const src = path.join(tmp, 'pull-src');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    expect((await runCli(['tag-push', `oci:${src}:latest`, `${reg.host}/rt/pull:v1`], { env: env() })).code).toBe(0);
    // Blob GETs are held 300 ms: anything still asked after them shows up after their end.
    const proxy = await startRecordingProxy(reg.host, /^GET \/v2\/.*\/blobs\/sha256:/, 300);
    try {
      const out = path.join(tmp, 'pull-out');
      const r = await runCli(['pull', `${proxy.host}/rt/pull:v1`, `oci:${out}:v1`, '-o', 'json'], { env: env() });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).digest).toBe(image.manifest.digest);
      const blobs = proxy.requests.filter((q) => q.method === 'GET' && /\/blobs\/sha256:/.test(q.url));
      expect(blobs).toHaveLength(4);
      const lastBlobEnd = Math.max(...blobs.map((q) => q.end));
      const others = proxy.requests.filter((q) => !blobs.includes(q));
      // The tag, the referrers API (404 here) and the sha256-<hex> tag fallback: all beside the blobs.
      const named = others.map((q) => `${q.method} ${q.url.replace(/sha256[:-][0-9a-f]{64}/, '<digest>')}`);
      expect(named.sort()).toEqual([
        'GET /v2/rt/pull/manifests/<digest>',
        'GET /v2/rt/pull/manifests/v1',
        'GET /v2/rt/pull/referrers/<digest>',
      ]);
      for (const q of others) expect(q.start, `${q.method} ${q.url} waited for the blobs`).toBeLessThan(lastBlobEnd);
      // The manifest is read once: never again by digest after the tag (the <digest> read
      // above is the referrers tag sha256-<hex>).
      expect(others.filter((q) => q.url.endsWith(`/manifests/${image.manifest.digest}`))).toHaveLength(0);
    } finally {
      await proxy.stop();
    }
  });
});

describe('re-push', () => {
  const tags = ['v1', 'v2', 'v3'];
  const image = buildImage(262, { layers: 5, layerSize: 5_000 });
  const blobCount = 6;

  it('settles an unchanged image in one manifest HEAD per tag: no blob HEAD, no write', async () => {
    const src = path.join(tmp, 'repush-src');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    const args = (host: string) => [
      'tag-push',
      `oci:${src}:latest`,
      `${host}/rt/repush:v1`,
      ...tags.slice(1).flatMap((t) => ['--tag', t]),
      '-o',
      'json',
    ];
    expect((await runCli(args(reg.host), { env: env() })).code).toBe(0);
    // Manifest HEADs held 200 ms: asked at once means every one arrives before the first answer.
    const proxy = await startRecordingProxy(reg.host, /^HEAD \/v2\/.*\/manifests\//, 200);
    try {
      const r = await runCli(args(proxy.host), { env: env() });
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.unchangedTags).toEqual(tags);
      expect(out.blobs).toEqual({ total: blobCount, uploaded: 0, skipped: blobCount, mounted: 0 });
      const seen = proxy.requests.filter((q) => q.url !== '/v2/').map((q) => `${q.method} ${q.url}`);
      expect(seen.sort()).toEqual(tags.map((t) => `HEAD /v2/rt/repush/manifests/${t}`));
      // All three asked at once: each was sent before any answer came back.
      const heads = proxy.requests.filter((q) => q.url.includes('/manifests/'));
      const firstEnd = Math.min(...heads.map((q) => q.end));
      for (const q of heads) expect(q.start).toBeLessThanOrEqual(firstEnd);
    } finally {
      await proxy.stop();
    }
  });

  it('with a tag that moves, checks every blob in one parallel round, then uploads nothing present', async () => {
    const src = path.join(tmp, 'repush-src');
    // Blob HEADs held 200 ms: one round means every HEAD was sent before the first answer.
    const proxy = await startRecordingProxy(reg.host, /^HEAD \/v2\/.*\/blobs\//, 200);
    try {
      const r = await runCli(['tag-push', `oci:${src}:latest`, `${proxy.host}/rt/repush:new`, '-o', 'json'], {
        env: env(),
      });
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.blobs).toEqual({ total: blobCount, uploaded: 0, skipped: blobCount, mounted: 0 });
      const heads = proxy.requests.filter((q) => q.method === 'HEAD' && q.url.includes('/blobs/'));
      expect(heads).toHaveLength(blobCount);
      const firstEnd = Math.min(...heads.map((q) => q.end));
      for (const q of heads) expect(q.start).toBeLessThan(firstEnd);
      expect(proxy.requests.filter((q) => q.method === 'POST' || q.url.includes('/uploads/'))).toHaveLength(0);
    } finally {
      await proxy.stop();
    }
  });
});

describe('many small layers', () => {
  it('keeps more small blobs in flight than --concurrency: 8 upload sessions open at once over HTTP/1.1', async () => {
    const image = buildImage(263, { layers: 23, layerSize: 2_000 });
    const blobCount = 24;
    const src = path.join(tmp, 'small-src');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    // POSTs held 200 ms: how many were sent before the first answer is how many run at once.
    const proxy = await startRecordingProxy(reg.host, /^POST \/v2\/.*\/blobs\/uploads\//, 200);
    try {
      const r = await runCli(['tag-push', `oci:${src}:latest`, `${proxy.host}/rt/small:v1`, '-o', 'json'], {
        env: env(),
      });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).blobs).toEqual({ total: blobCount, uploaded: blobCount, skipped: 0, mounted: 0 });
      const count = (m: string, re: RegExp) => proxy.requests.filter((q) => q.method === m && re.test(q.url)).length;
      // Per blob: one HEAD (all in one round), one POST, one PUT; nothing else.
      expect(count('HEAD', /\/blobs\//)).toBe(blobCount);
      expect(count('POST', /\/blobs\/uploads\//)).toBe(blobCount);
      expect(count('PUT', /\/blobs\/uploads\//)).toBe(blobCount);
      expect(count('PATCH', /./)).toBe(0);
      const posts = proxy.requests.filter((q) => q.method === 'POST');
      const firstEnd = Math.min(...posts.map((q) => q.end));
      // 16 blobs in flight (4 × the default 4); over plain HTTP/1.1 the 8 connections per
      // host bound the requests on the wire (h2 would carry all 16 on one).
      expect(posts.filter((q) => q.start < firstEnd)).toHaveLength(8);
    } finally {
      await proxy.stop();
    }
  });
});

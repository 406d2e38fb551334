// The real CLI against a real registry with a fault-injecting proxy in between: each fault
// either heals (ecrctl retries or resumes and the image arrives with the right digest) or
// ends in a clear message, exit code 1, no partial output and no tag pushed.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, type FixtureImage, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { skopeo, type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { type Fault, type FaultProxy, startFaultProxy } from './fault-proxy.js';

let reg: StartedRegistry;
let proxy: FaultProxy;
let tmp: string;
let image: FixtureImage;
let src: string;
/** A repository on the registry (reached without the proxy) that pulls read from. */
const PULL_REPO = 'faults/pull';

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-faults-'));
  // Two layers of 1 MiB random data: big enough to cut in the middle of.
  image = buildImage(301, { layers: 2, layerSize: 1024 * 1024 });
  src = path.join(tmp, 'src');
  writeOciLayout(src, [{ image, tag: 'v1' }]);
  const seeded = await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/${PULL_REPO}:v1`], { env: env() });
  expect(seeded.code).toBe(0);
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  proxy.clear();
  proxy.requests.length = 0;
});

const env = (extra: NodeJS.ProcessEnv = {}) => ({
  DOCKER_CONFIG: path.join(tmp, 'no-docker-config'),
  HOME: tmp,
  ECRCTL_HTTP_TIMEOUT_MS: '1000',
  ...extra,
});

/** Returns the tags of repo, read from the registry directly ([] when it has none). */
async function tagsOf(repo: string): Promise<string[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/** Returns the blob files of a layout whose bytes do not hash to their name. */
function badBlobs(dir: string): string[] {
  const blobs = path.join(dir, 'blobs', 'sha256');
  return readdirSync(blobs).filter(
    (hex) =>
      createHash('sha256')
        .update(readFileSync(path.join(blobs, hex)))
        .digest('hex') !== hex,
  );
}

const UPLOAD = /\/blobs\/uploads\//;
const BLOB = /\/blobs\/sha256:/;
const MANIFEST = /\/manifests\//;

let repoCounter = 0;
const freshRepo = () => `faults/push${++repoCounter}`;

describe('push through faults that heal', () => {
  const cases: Array<{ name: string; rules: Array<{ method?: string; path?: RegExp; times?: number; fault: Fault }> }> =
    [
      {
        name: 'a connection reset in the middle of a blob upload',
        rules: [{ method: 'PUT', path: UPLOAD, fault: { kind: 'reset-request', afterBytes: 300_000 } }],
      },
      {
        name: '429 with Retry-After on the first blob check',
        rules: [
          { method: 'HEAD', path: BLOB, fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } } },
        ],
      },
      {
        name: 'a burst of 500s on uploads',
        rules: [{ method: 'PUT', path: UPLOAD, times: 3, fault: { kind: 'status', status: 500 } }],
      },
      {
        name: 'a burst of 503s on the manifest',
        rules: [{ method: 'PUT', path: MANIFEST, times: 3, fault: { kind: 'status', status: 503 } }],
      },
      {
        name: 'a registry that stops answering once (timeout, then retry)',
        rules: [{ method: 'HEAD', path: MANIFEST, fault: { kind: 'hang' } }],
      },
    ];
  for (const c of cases) {
    it(`survives ${c.name}`, async () => {
      for (const rule of c.rules) proxy.rule(rule);
      const repo = freshRepo();
      const r = await runCli(['tag-push', `oci:${src}:v1`, `${proxy.host}/${repo}:v1`, '-o', 'json'], { env: env() });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).digest).toBe(image.manifest.digest);
      // The fault did happen, and the registry holds the exact image.
      expect(proxy.requests.some((q) => q.fault !== undefined)).toBe(true);
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}:v1`]);
      expect(sha256(raw.stdout)).toBe(image.manifest.digest);
      const pulled = path.join(tmp, `check-${repo.replace('/', '-')}`);
      expect((await runCli(['pull', `${reg.host}/${repo}:v1`, `oci:${pulled}`], { env: env() })).code).toBe(0);
      expect(badBlobs(pulled)).toEqual([]);
    });
  }
});

describe('push through faults that do not heal', () => {
  const cases: Array<{ name: string; rule: { method?: string; path?: RegExp; fault: Fault }; message: RegExp }> = [
    {
      name: 'uploads that always answer 503',
      rule: { method: 'PUT', path: UPLOAD, fault: { kind: 'status', status: 503 } },
      message: /answered 503/,
    },
    {
      name: 'a registry that always answers 429 (Retry-After: 0)',
      rule: { method: 'HEAD', path: BLOB, fault: { kind: 'status', status: 429, headers: { 'retry-after': '0' } } },
      message: /429 Too Many Requests/,
    },
    {
      name: 'a registry that stops answering uploads',
      rule: { method: 'PUT', path: UPLOAD, fault: { kind: 'hang' } },
      message: /stopped answering .*timed out/,
    },
    {
      name: 'uploads reset every time',
      rule: { method: 'PUT', path: UPLOAD, fault: { kind: 'reset-request', afterBytes: 100_000 } },
      message: /upload of blob sha256:[0-9a-f]{64} to .* failed|ECONNRESET|EPIPE|socket/,
    },
  ];
  for (const c of cases) {
    it(`fails cleanly on ${c.name}: exit 1, a clear message, no tag`, async () => {
      proxy.rule({ ...c.rule, times: Number.POSITIVE_INFINITY });
      const repo = freshRepo();
      const r = await runCli(['tag-push', `oci:${src}:v1`, `${proxy.host}/${repo}:v1`], {
        env: env(),
        timeoutMs: 55_000,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: /m);
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
      expect(await tagsOf(repo)).toEqual([]);
    });
  }
});

describe('pull through faults', () => {
  const heals: Array<{ name: string; fault: Fault; times?: number }> = [
    { name: 'a connection reset in the middle of a download', fault: { kind: 'reset-response', afterBytes: 400_000 } },
    { name: 'a body cut short', fault: { kind: 'cut-response', afterBytes: 400_000 } },
    { name: 'a burst of 503s on blob downloads', fault: { kind: 'status', status: 503 }, times: 3 },
    {
      name: '429 with Retry-After on a download',
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    },
  ];
  for (const c of heals) {
    it(`survives ${c.name} and writes blobs that all hash right`, async () => {
      proxy.rule({ method: 'GET', path: BLOB, times: c.times ?? 1, fault: c.fault });
      const out = path.join(tmp, `pull-${c.fault.kind}-${c.times ?? 1}`);
      const r = await runCli(['pull', `${proxy.host}/${PULL_REPO}:v1`, `oci:${out}`, '-o', 'json'], { env: env() });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).digest).toBe(image.manifest.digest);
      expect(proxy.requests.some((q) => q.fault !== undefined)).toBe(true);
      expect(badBlobs(out)).toEqual([]);
      expect(readdirSync(path.join(out, 'blobs', 'sha256')).sort()).toEqual(
        [image.manifest.digest, ...image.blobs.keys()].map((d) => d.slice(7)).sort(),
      );
    });
  }

  const fails: Array<{ name: string; rule: { method?: string; path?: RegExp; fault: Fault }; message: RegExp }> = [
    {
      name: 'a blob whose bytes do not match its digest',
      rule: { method: 'GET', path: BLOB, fault: { kind: 'corrupt-response', atByte: 1000 } },
      message: /does not match its digest/,
    },
    {
      name: 'a registry that stops answering',
      rule: { method: 'GET', path: MANIFEST, fault: { kind: 'hang' } },
      message: /stopped answering .*timed out/,
    },
    {
      // (A download cut after some bytes each time would heal: every resume makes progress.)
      name: 'downloads cut off before their first byte every time',
      rule: { method: 'GET', path: BLOB, fault: { kind: 'cut-response', afterBytes: 0 } },
      message: /download of sha256:[0-9a-f]{64} from .* failed/,
    },
  ];
  for (const c of fails) {
    it(`fails cleanly on ${c.name}: exit 1, a clear message, no output, no temp files`, async () => {
      proxy.rule({ ...c.rule, times: Number.POSITIVE_INFINITY });
      const parent = mkdtempSync(path.join(tmp, 'pullfail-'));
      const out = path.join(parent, 'out');
      const r = await runCli(['pull', `${proxy.host}/${PULL_REPO}:v1`, `oci:${out}`], {
        env: env(),
        timeoutMs: 55_000,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: /m);
      expect(r.stderr).toMatch(c.message);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(parent)).toEqual([]);
    });
  }
});

describe('ECRCTL_HTTP_TIMEOUT_MS', () => {
  it('refuses a value that is not a number of milliseconds, exit 2', async () => {
    const r = await runCli(['tags', `${reg.host}/${PULL_REPO}`], { env: env({ ECRCTL_HTTP_TIMEOUT_MS: 'soon' }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ECRCTL_HTTP_TIMEOUT_MS must be a whole number of milliseconds');
  });
});

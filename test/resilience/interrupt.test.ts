// Ctrl-C during a transfer: the real CLI process gets SIGINT once blob bytes are moving (the
// proxy slows them down and says when the first ones pass). It must stop within 2 s with
// exit code 130, leave no temporary files next to the output, and move no tag.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { type FaultProxy, type ProxiedRequest, startFaultProxy } from './fault-proxy.js';

let reg: StartedRegistry;
let proxy: FaultProxy;
let tmp: string;
let v1: FixtureImage;
let v2: FixtureImage;
let src: string;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sigint-'));
  v1 = buildImage(401, { layers: 1, layerSize: 64 * 1024 });
  v2 = buildImage(402, { layers: 2, layerSize: 2 * 1024 * 1024 });
  src = path.join(tmp, 'src');
  writeOciLayout(src, [
    { image: v1, tag: 'v1' },
    { image: v2, tag: 'v2' },
  ]);
  // The tag `live` points at v1; an interrupted push of v2 must leave it there.
  expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/sig/app:live`], { env: env() })).code).toBe(0);
  expect((await runCli(['tag-push', `oci:${src}:v2`, `${reg.host}/sig/pull:v2`], { env: env() })).code).toBe(0);
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const env = () => ({ DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp });

/** Runs the CLI and sends SIGINT when the first blob bytes pass the proxy; returns the result and how long it took to stop. */
async function interrupted(args: string[]): Promise<{ code: number | null; stderr: string; stopMs: number }> {
  // 256 KB/s: a 2 MiB layer takes ~8 s, far longer than the 2 s the process has to stop.
  proxy.clear();
  proxy.rule({
    path: /\/blobs\//,
    times: Number.POSITIVE_INFINITY,
    fault: { kind: 'throttle', bytesPerSecond: 256 * 1024 },
  });
  let child: ChildProcess | undefined;
  let sentAt = 0;
  // Only this run's requests count: throttled bytes of the previous run may still trickle.
  const first = proxy.requests.length;
  const firstBytes = new Promise<void>((resolve) => {
    const onBytes = (record: ProxiedRequest) => {
      if (proxy.requests.indexOf(record) < first) return;
      proxy.events.off('blob-bytes', onBytes);
      sentAt = performance.now();
      child?.kill('SIGINT');
      resolve();
    };
    proxy.events.on('blob-bytes', onBytes);
  });
  const result = await runCli(args, { env: env(), onSpawn: (c) => (child = c), timeoutMs: 30_000 });
  const stoppedAt = performance.now();
  await firstBytes;
  proxy.clear();
  return { code: result.code, stderr: result.stderr, stopMs: stoppedAt - sentAt };
}

describe('SIGINT during a transfer', () => {
  it('stops a push promptly with exit 130 and leaves the tag where it was', async () => {
    const r = await interrupted(['tag-push', `oci:${src}:v2`, `${proxy.host}/sig/app:live`, '-o', 'json']);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted');
    expect(r.stopMs).toBeLessThan(5000);
    const res = await fetch(`${reg.url}/v2/sig/app/manifests/live`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.headers.get('docker-content-digest')).toBe(v1.manifest.digest);
  });

  it('stops a pull promptly with exit 130, no output and no temporary files', async () => {
    const parent = mkdtempSync(path.join(tmp, 'pull-'));
    const out = path.join(parent, 'out');
    const r = await interrupted(['pull', `${proxy.host}/sig/pull:v2`, `oci:${out}`]);
    expect(r.code).toBe(130);
    expect(r.stopMs).toBeLessThan(5000);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('stops a pull into an existing layout without leaving .tmp- files in it', async () => {
    const out = path.join(tmp, 'existing');
    expect((await runCli(['pull', `${reg.host}/sig/app:live`, `oci:${out}:live`], { env: env() })).code).toBe(0);
    const before = readdirSync(path.join(out, 'blobs', 'sha256')).sort();
    const r = await interrupted(['pull', `${proxy.host}/sig/pull:v2`, `oci:${out}:v2`]);
    expect(r.code).toBe(130);
    expect(r.stopMs).toBeLessThan(5000);
    const leftovers = [...readdirSync(out), ...readdirSync(path.join(out, 'blobs'))].filter((f) => f.includes('.tmp-'));
    expect(leftovers).toEqual([]);
    // Blobs finished before the interrupt may stay (content-addressed); index.json has no v2.
    const index = JSON.parse((await import('node:fs')).readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(
      index.manifests.map(
        (m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'],
      ),
    ).toEqual(['live']);
    expect(before.every((b) => readdirSync(path.join(out, 'blobs', 'sha256')).includes(b))).toBe(true);
  });
});

// pull of a multi-platform image into a docker-archive (which holds one platform): this
// machine's platform is chosen, as `docker pull` does, and an index without it is refused
// before any blob is downloaded. Debian's docker-registry behind a counting proxy; skopeo
// reads the archive back.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/ops/transfer.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, writeOciLayout } from '../helpers/fixtures.js';
import { skopeo, type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { type FaultProxy, startFaultProxy } from '../resilience/fault-proxy.js';

let reg: StartedRegistry;
let proxy: FaultProxy;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-pull-platform-'));
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const env = () => ({ DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp });

describe('hostPlatform', () => {
  it("maps Node's architecture names to OCI's", () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(hostPlatform('arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(hostPlatform('ia32')).toEqual({ os: 'linux', architecture: '386' });
    expect(hostPlatform('ppc64', 'LE')).toEqual({ os: 'linux', architecture: 'ppc64le' });
    expect(hostPlatform('s390x')).toEqual({ os: 'linux', architecture: 's390x' });
  });

  it('is linux/amd64 on this machine (the tests below rely on it)', () => {
    expect(hostPlatform()).toEqual({ os: 'linux', architecture: 'amd64' });
  });
});

describe('pull of an index into a docker-archive', () => {
  it("takes this machine's platform, says so, and skopeo reads the archive as the amd64 image", async () => {
    const amd = buildImage(601, { platform: { os: 'linux', architecture: 'amd64' }, format: 'docker' });
    const arm = buildImage(602, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, format: 'docker' });
    const index = buildIndex([arm, amd], 'docker');
    const src = path.join(tmp, 'multi');
    writeOciLayout(src, [{ manifest: index, tag: 'v1', extraImages: [amd, arm] }]);
    expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/multi/app:v1`], { env: env() })).code).toBe(0);

    const file = path.join(tmp, 'multi.tar');
    const seen = proxy.requests.length;
    const r = await runCli(['pull', `${proxy.host}/multi/app:v1`, `docker-archive:${file}`, '-o', 'json'], {
      env: env(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `${proxy.host}/multi/app:v1 is a multi-platform image (linux/arm64/v8, linux/amd64): pulling linux/amd64, this machine's platform, into the docker-archive (--platform picks another)`,
    );
    const out = JSON.parse(r.stdout);
    expect(out.digest).toBe(amd.manifest.digest);
    expect(out.platforms).toEqual(['linux/amd64']);
    // Only the amd64 image's blobs were downloaded, none of the arm64 one's.
    const blobGets = proxy.requests
      .slice(seen)
      .filter((q) => q.method === 'GET' && q.url.includes('/blobs/'))
      .map((q) => q.url.replace(/^.*\/blobs\//, ''));
    expect(blobGets.sort()).toEqual([...amd.blobs.keys()].sort());

    const info = JSON.parse((await skopeo(['inspect', `docker-archive:${file}`])).stdout);
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.Layers).toEqual(JSON.parse(amd.config.bytes.toString()).rootfs.diff_ids);
    const config = JSON.parse((await skopeo(['inspect', '--config', `docker-archive:${file}`])).stdout);
    expect(config.config.Env).toEqual(['SEED=601']);
  });

  it('--platform still picks another platform', async () => {
    const file = path.join(tmp, 'multi-arm.tar');
    const r = await runCli(
      ['pull', `${proxy.host}/multi/app:v1`, `docker-archive:${file}`, '--platform', 'linux/arm64'],
      { env: env() },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("this machine's platform");
    const info = JSON.parse((await skopeo(['inspect', `docker-archive:${file}`])).stdout);
    expect(info.Architecture).toBe('arm64');
  });

  it('refuses an index without this machine platform before any blob download, naming the platforms', async () => {
    const arm = buildImage(611, { platform: { os: 'linux', architecture: 'arm64' } });
    const armv7 = buildImage(612, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    const index = buildIndex([arm, armv7]);
    const src = path.join(tmp, 'armonly');
    writeOciLayout(src, [{ manifest: index, tag: 'v1', extraImages: [arm, armv7] }]);
    expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/arm/only:v1`], { env: env() })).code).toBe(0);

    const file = path.join(tmp, 'armonly.tar');
    const seen = proxy.requests.length;
    const r = await runCli(['pull', `${proxy.host}/arm/only:v1`, `docker-archive:${file}`], { env: env() });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(
      `error: ${proxy.host}/arm/only:v1 is a multi-platform image without linux/amd64, this machine's platform, and a docker-archive holds one platform; nothing was downloaded`,
    );
    expect(r.stderr).toMatch(/value: +linux\/arm64, linux\/arm\/v7/);
    expect(r.stderr).toMatch(
      /fix: +choose one with --platform \(--platform linux\/arm64, --platform linux\/arm\/v7\), or pull into oci:DIR/,
    );
    const sent = proxy.requests.slice(seen);
    expect(sent.filter((q) => q.url.includes('/blobs/'))).toEqual([]);
    // The index was read, no image manifest.
    expect(sent.filter((q) => q.method === 'GET' && q.url.includes('/manifests/')).map((q) => q.url)).toEqual([
      '/v2/arm/only/manifests/v1',
    ]);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('armonly.tar'))).toEqual([]);
  });

  it('an OCI layout keeps every platform (no platform chosen)', async () => {
    const out = path.join(tmp, 'multi-oci');
    const r = await runCli(['pull', `${proxy.host}/multi/app:v1`, `oci:${out}`, '-o', 'json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).platforms).toEqual(['linux/arm64/v8', 'linux/amd64']);
    expect(r.stderr).not.toContain("this machine's platform");
  });
});

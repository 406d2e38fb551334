// ecrctl build, rebase and check-base as ops against real servers on loopback: Debian's
// docker-registry (a base in "another registry"), `ecrctl local` (the ECR target; its recorded
// calls show every blob request), OCI layouts checked with Debian's umoci and skopeo.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { RegistryClient, type RegistryRepository } from '../../src/oci/registry.js';
import { build } from '../../src/ops/build.js';
import { checkBase } from '../../src/ops/check-base.js';
import { registryClient } from '../../src/ops/ecr.js';
import { rebase } from '../../src/ops/rebase.js';
import { createSession, type Session } from '../../src/session.js';
import { buildImage, buildIndex, type FixtureImage, pushFixture } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { credentials, ecrClient, start } from '../local/helpers.js';

let reg: StartedRegistry;
let server: LocalServer;
let tmp: string;
let localData: string;
let localHost: string;
const plain = new RegistryClient({ retry: { maxRetries: 0 } });

const BIG = 3 * 1024 * 1024;
const baseImage = buildImage(11, { layers: 2, layerSize: 2000 });
const bigBase = buildImage(12, { layers: 1, layerSize: BIG });
const amd = buildImage(21, { layers: 1, layerSize: 1000 });
const arm = buildImage(22, { layers: 1, layerSize: 1000, platform: { os: 'linux', architecture: 'arm64' } });
const patched = buildImage(13, { layers: 2, layerSize: 2000 });

async function seed(repo: RegistryRepository, images: FixtureImage[], tag: string, index = false) {
  return pushFixture(repo, images, tag, index);
}

function session(cwd = tmp, env: Record<string, string> = {}, ecr = true): Session {
  return createSession({
    // Without an endpoint, a loopback docker-registry is not taken for the emulator's data plane.
    ...(ecr ? { endpointUrl: server.url } : {}),
    region: 'us-east-1',
    credentials,
    env: { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp, ...env },
    cwd,
  });
}

/** Writes the app fixture: a file, an executable, a symlink, a nested dir, an ignored file. */
function writeApp(dir: string, mtime: number): void {
  mkdirSync(path.join(dir, 'app', 'lib'), { recursive: true });
  writeFileSync(path.join(dir, 'app', 'index.js'), 'console.log("hi")\n');
  writeFileSync(path.join(dir, 'app', 'run.sh'), '#!/bin/sh\nexec node /app/index.js\n');
  chmodSync(path.join(dir, 'app', 'run.sh'), 0o755);
  chmodSync(path.join(dir, 'app', 'index.js'), 0o644);
  writeFileSync(path.join(dir, 'app', 'lib', 'util.js'), 'module.exports = 1\n');
  chmodSync(path.join(dir, 'app', 'lib', 'util.js'), 0o644);
  chmodSync(path.join(dir, 'app', 'lib'), 0o755);
  chmodSync(path.join(dir, 'app'), 0o755);
  writeFileSync(path.join(dir, 'app', 'secret.env'), 'TOKEN=x\n');
  symlinkSync('index.js', path.join(dir, 'app', 'main.js'));
  writeFileSync(path.join(dir, '.buildignore'), '*.env\n');
  for (const f of ['app/index.js', 'app/run.sh', 'app/lib/util.js', 'app/lib', 'app']) {
    utimesSync(path.join(dir, f), mtime, mtime);
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-build-test-'));
  localData = mkdtempSync(path.join(tmpdir(), 'ecrctl-build-local-'));
  reg = await startRegistry();
  server = await start(localData);
  const ecr = ecrClient(server);
  for (const name of ['team/app', 'team/base', 'team/fn'])
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  const s = session();
  const client = await registryClient(s);
  const { GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
  localHost = new URL(auth.authorizationData![0]!.proxyEndpoint!).host;
  await seed(plain.repository(reg.host, 'base'), [baseImage], '1');
  await seed(plain.repository(reg.host, 'big'), [bigBase], '1');
  await seed(plain.repository(reg.host, 'multi'), [amd, arm], '1', true);
  await seed(client.repository(localHost, 'team/app'), [baseImage], 'base-1');
  await seed(client.repository(localHost, 'team/base'), [baseImage], '1');
  writeApp(tmp, 1_000_000);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
  rmSync(localData, { recursive: true, force: true });
});

const appArgs = {
  add: ['./app:/app', './app/run.sh:/usr/local/bin/run:0750:1000:1000'],
  ignoreFile: '.buildignore',
  entrypoint: '["node","/app/index.js"]',
  env: ['NODE_ENV=production', 'SEED=replaced'],
  labels: ['team=platform'],
};

describe('build to an OCI layout', () => {
  it('gives a layout umoci unpacks with the base files plus /app (modes, owners) and a config skopeo shows', async () => {
    const r = await build(session(), { from: `${reg.host}/base:1`, target: 'oci:./out:v1', ...appArgs });
    expect(r.layers).toHaveLength(2);
    const bundle = path.join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', 'out:v1', bundle], { cwd: tmp, stdio: 'pipe' });
    const rootfs = path.join(bundle, 'rootfs');
    expect(readdirSync(rootfs)).toEqual(expect.arrayContaining(['file-11-0.bin', 'file-11-1.bin', 'app', 'usr']));
    expect(readFileSync(path.join(rootfs, 'app', 'index.js'), 'utf8')).toBe('console.log("hi")\n');
    expect(lstatSync(path.join(rootfs, 'app', 'run.sh')).mode & 0o777).toBe(0o755);
    expect(lstatSync(path.join(rootfs, 'app', 'index.js')).mode & 0o777).toBe(0o644);
    expect(lstatSync(path.join(rootfs, 'usr', 'local', 'bin', 'run')).mode & 0o777).toBe(0o750);
    expect(lstatSync(path.join(rootfs, 'app', 'main.js')).isSymbolicLink()).toBe(true);
    expect(readdirSync(path.join(rootfs, 'app')).sort()).toEqual(['index.js', 'lib', 'main.js', 'run.sh']);

    // Owners as stored in the layers (umoci --rootless maps them to the caller).
    const layout = path.join(tmp, 'out');
    const listing = (digest: string) =>
      execFileSync('tar', ['--numeric-owner', '-tvzf', path.join(layout, 'blobs', 'sha256', digest.slice(7))], {
        encoding: 'utf8',
      });
    const appLayer = listing(r.layers[0]!.digest);
    expect(appLayer).toMatch(/-rwxr-xr-x 0\/0 .* app\/run\.sh/);
    expect(appLayer).toMatch(/lrwxrwxrwx 0\/0 .* app\/main\.js -> index\.js/);
    expect(appLayer).toContain('1970-01-01');
    expect(appLayer).not.toContain('secret.env');
    expect(listing(r.layers[1]!.digest)).toMatch(/-rwxr-x--- 1000\/1000 .* usr\/local\/bin\/run/);

    const cfg = JSON.parse(
      execFileSync('skopeo', ['--insecure-policy', 'inspect', '--config', 'oci:out:v1'], {
        cwd: tmp,
        encoding: 'utf8',
      }),
    );
    expect(cfg.config.Entrypoint).toEqual(['node', '/app/index.js']);
    expect(cfg.config.Env).toEqual(['SEED=replaced', 'NODE_ENV=production']);
    expect(cfg.config.Labels).toEqual({ team: 'platform' });
    expect(cfg.rootfs.diff_ids).toHaveLength(4);
    const history = cfg.history.map((h: { created_by: string }) => h.created_by);
    expect(history).toEqual([
      'ecrctl build --add app:/app',
      'ecrctl build --add app/run.sh:/usr/local/bin/run:0750:1000:1000',
      'ecrctl build --entrypoint --env NODE_ENV --env SEED --label team',
    ]);
    const manifest = JSON.parse(
      execFileSync('skopeo', ['--insecure-policy', 'inspect', '--raw', 'oci:out:v1'], { cwd: tmp, encoding: 'utf8' }),
    );
    expect(manifest.annotations).toEqual({
      'org.opencontainers.image.base.name': `${reg.host}/base:1`,
      'org.opencontainers.image.base.digest': baseImage.manifest.digest,
    });
    // The base's layers move; its config does not (the image has a new one).
    expect(r.outcome).toEqual({ new: 3, mounted: 0, skipped: 0, streamed: 2 });
  });

  it('gives the same digest twice, and from a copy of the inputs with other mtimes', async () => {
    const a = await build(session(), { from: `${reg.host}/base:1`, target: 'oci:./same:a', ...appArgs });
    const b = await build(session(), { from: `${reg.host}/base:1`, target: 'oci:./same:b', ...appArgs });
    const other = path.join(tmp, 'checkout2');
    mkdirSync(other);
    cpSync(path.join(tmp, 'app'), path.join(other, 'app'), { recursive: true, verbatimSymlinks: true });
    cpSync(path.join(tmp, '.buildignore'), path.join(other, '.buildignore'));
    for (const f of ['app/index.js', 'app/run.sh', 'app/lib/util.js', 'app/lib', 'app'])
      utimesSync(path.join(other, f), 2_000_000_000, 2_000_000_000);
    const c = await build(session(other), { from: `${reg.host}/base:1`, target: 'oci:./same:c', ...appArgs });
    expect(b.digest).toBe(a.digest);
    expect(c.digest).toBe(a.digest);
    // SOURCE_DATE_EPOCH changes the times, hence the digest; the same value gives the same one.
    const d = await build(session(tmp, { SOURCE_DATE_EPOCH: '1700000000' }), {
      from: `${reg.host}/base:1`,
      target: 'oci:./same:d',
      ...appArgs,
    });
    const e = await build(session(other), {
      from: `${reg.host}/base:1`,
      target: 'oci:./same:e',
      created: '2023-11-14T22:13:20Z',
      ...appArgs,
    });
    expect(d.digest).not.toBe(a.digest);
    expect(e.digest).toBe(d.digest);
  });

  it('refuses hard links with the rule and a fix', async () => {
    const dir = path.join(tmp, 'hl');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a'), 'x');
    execFileSync('ln', [path.join(dir, 'a'), path.join(dir, 'b')]);
    await expect(
      build(session(), { from: `${reg.host}/base:1`, target: 'oci:./hl-out', add: ['./hl:/x'] }),
    ).rejects.toThrow(/hard link/);
  });
});

describe('build to a registry', () => {
  it('with BASE in the same ECR repository uploads only the new blobs: no base blob PUT or GET', async () => {
    const from = server.calls.length;
    const r = await build(session(), {
      from: `${localHost}/team/app:base-1`,
      target: `${localHost}/team/app:v1`,
      add: ['./app:/app'],
    });
    const calls = server.calls.slice(from).filter((c) => /blob|upload/.test(c));
    const baseDigests = baseImage.layers.map((l) => l.descriptor.digest);
    expect(r.outcome).toEqual({ new: 2, mounted: 0, skipped: 2, streamed: 0 });
    expect(
      r.blobList
        .filter((b) => b.origin === 'base')
        .map((b) => b.digest)
        .sort(),
    ).toEqual(baseDigests.sort());
    // One blob GET: the base's config (a few hundred bytes), which the new config extends.
    // No base layer is read or sent; the two PUTs are the new layer and the new config.
    expect(calls.filter((c) => /^registry:GET blob/.test(c))).toEqual(['registry:GET blobs']);
    expect(calls.filter((c) => /^registry:PUT/.test(c))).toHaveLength(2);
    const newBytes = r.blobList.filter((b) => b.origin === 'new').reduce((n, b) => n + b.size, 0);
    expect(r.bytesUploaded).toBe(newBytes);
    expect(r.imageUri).toBe(`${localHost}/team/app@${r.digest}`);
    expect(r.tags).toEqual(['v1']);
  });

  it('with BASE in another registry streams base blobs and writes nothing base-sized to disk', async () => {
    const before = sizes(tmp);
    const r = await build(session(), {
      from: `${reg.host}/big:1`,
      target: `${localHost}/team/fn:v1`,
      add: ['./app:/app'],
    });
    expect(r.outcome).toEqual({ new: 2, mounted: 0, skipped: 0, streamed: 1 });
    expect(r.blobList.find((b) => b.size === bigBase.layers[0]!.bytes.length)?.result).toBe('streamed');
    const after = sizes(tmp);
    const grown = [...after].filter(([f, n]) => before.get(f) !== n && n >= BIG / 2);
    expect(grown).toEqual([]);
  });

  it('with a two-platform BASE gives a two-platform index with the layer on both', async () => {
    const r = await build(session(), {
      from: `${reg.host}/multi:1`,
      target: `${localHost}/team/app:multi`,
      add: ['./app:/app'],
    });
    expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    const repo = (await registryClient(session())).repository(localHost, 'team/app');
    const index = JSON.parse((await repo.getManifest('multi')).bytes.toString('utf8'));
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual([
      'amd64',
      'arm64',
    ]);
    const layer = r.layers[0]!.digest;
    for (const m of index.manifests) {
      const child = JSON.parse((await repo.getManifest(m.digest)).bytes.toString('utf8'));
      expect(child.layers.at(-1).digest).toBe(layer);
      expect(child.layers).toHaveLength(2);
    }
    expect(index.annotations['org.opencontainers.image.base.digest']).toBe(buildIndex([amd, arm]).digest);
  });
});

describe('build: more targets and platforms', () => {
  it('mounts base blobs within one registry that allows it (docker-registry), uploading only new blobs', async () => {
    const r = await build(session(tmp, {}, false), {
      from: `${reg.host}/base:1`,
      target: `${reg.host}/app:v1`,
      add: ['./app:/app'],
    });
    expect(r.outcome).toEqual({ new: 2, mounted: 2, skipped: 0, streamed: 0 });
    const again = await build(session(tmp, {}, false), {
      from: `${reg.host}/base:1`,
      target: `${reg.host}/app:v1`,
      add: ['./app:/app'],
    });
    expect(again.digest).toBe(r.digest);
    expect(again.outcome).toEqual({ new: 0, mounted: 0, skipped: 4, streamed: 0 });
    expect(again.unchangedTags).toEqual(['v1']);
  });

  it('writes a docker-archive skopeo reads', async () => {
    const r = await build(session(), {
      from: `${reg.host}/base:1`,
      target: 'docker-archive:./app.tar:app:v1',
      add: ['./app:/app'],
      cmd: 'node /app/index.js',
    });
    const cfg = JSON.parse(
      execFileSync('skopeo', ['--insecure-policy', 'inspect', '--config', 'docker-archive:app.tar'], {
        cwd: tmp,
        encoding: 'utf8',
      }),
    );
    expect(cfg.config.Cmd).toEqual(['node', '/app/index.js']);
    expect(cfg.rootfs.diff_ids.at(-1)).toBe(r.layers[0]!.diffId);
  });

  it('builds one platform of an index with --platform, and adds a per-platform --layer only there', async () => {
    const layerDir = path.join(tmp, 'native');
    mkdirSync(layerDir);
    writeFileSync(path.join(layerDir, 'bin'), 'arm64 binary');
    execFileSync('tar', [
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '-cf',
      path.join(tmp, 'arm64.tar'),
      '-C',
      layerDir,
      'bin',
    ]);
    const both = await build(session(), {
      from: `${reg.host}/multi:1`,
      target: 'oci:./multi-out:v1',
      add: ['./app:/app'],
      layers: ['linux/arm64=arm64.tar'],
    });
    expect(both.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    const index = JSON.parse(
      execFileSync('skopeo', ['--insecure-policy', 'inspect', '--raw', 'oci:multi-out:v1'], {
        cwd: tmp,
        encoding: 'utf8',
      }),
    );
    const sizes = [];
    for (const m of index.manifests) {
      const child = JSON.parse(readFileSync(path.join(tmp, 'multi-out', 'blobs', 'sha256', m.digest.slice(7)), 'utf8'));
      sizes.push(child.layers.length);
    }
    expect(sizes).toEqual([2, 3]);
    const one = await build(session(), {
      from: `${reg.host}/multi:1`,
      target: 'oci:./arm-out:v1',
      add: ['./app:/app'],
      platforms: ['linux/arm64'],
    });
    expect(one.platforms).toEqual(['linux/arm64']);
    await expect(
      build(session(), {
        from: `${reg.host}/multi:1`,
        target: 'oci:./x',
        add: ['./app:/app'],
        platforms: ['linux/s390x'],
      }),
    ).rejects.toThrow(/has no image for linux\/s390x/);
  });
});

describe('rebase and check-base', () => {
  it('check-base is up to date until the base tag moves; rebase swaps base layers and keeps the top layer', async () => {
    const s = session();
    const built = await build(s, {
      from: `${localHost}/team/base:1`,
      target: `${localHost}/team/app:onbase`,
      add: ['./app:/app'],
    });
    const first = await checkBase(s, { image: `${localHost}/team/app:onbase` });
    expect(first).toMatchObject({
      upToDate: true,
      base: `${localHost}/team/base:1`,
      builtOn: baseImage.manifest.digest,
    });

    const client = await registryClient(s);
    const oldDigest = baseImage.manifest.digest;
    await client.repository(localHost, 'team/base').putManifest(baseImage.manifest, 'old');
    await seed(client.repository(localHost, 'team/base'), [patched], '1');
    const moved = await checkBase(s, { image: `${localHost}/team/app:onbase` });
    expect(moved).toMatchObject({ upToDate: false, current: patched.manifest.digest, builtOn: oldDigest });

    const r = await rebase(s, {
      image: `${localHost}/team/app:onbase`,
      oldBase: `${localHost}/team/base@${oldDigest}`,
      newBase: `${localHost}/team/base:1`,
      target: `${localHost}/team/app:rebased`,
    });
    const repo = client.repository(localHost, 'team/app');
    const before = JSON.parse((await repo.getManifest(built.digest)).bytes.toString('utf8'));
    const after = JSON.parse((await repo.getManifest(r.digest)).bytes.toString('utf8'));
    expect(after.layers.at(-1)).toEqual(before.layers.at(-1));
    expect(after.layers.slice(0, -1).map((l: { digest: string }) => l.digest)).toEqual(
      patched.layers.map((l) => l.descriptor.digest),
    );
    expect(after.annotations['org.opencontainers.image.base.digest']).toBe(patched.manifest.digest);
    expect(await checkBase(s, { image: `${localHost}/team/app:rebased` })).toMatchObject({ upToDate: true });

    await expect(
      rebase(s, {
        image: `${localHost}/team/app:rebased`,
        oldBase: `${localHost}/team/base@${oldDigest}`,
        newBase: `${localHost}/team/base:1`,
        target: `${localHost}/team/app:x`,
      }),
    ).rejects.toThrow(/is not built on/);
  });
});

/** Returns every file under dir with its size. */
function sizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const f = path.join(e.parentPath, e.name);
      out.set(f, lstatSync(f).size);
    }
  }
  return out;
}

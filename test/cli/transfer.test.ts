// tag-push, pull, copy, inspect and tags end to end: the built CLI against Debian's
// docker-registry on loopback, with skopeo as the independent client.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { skopeo, type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../resilience/fault-proxy.js';

let reg: StartedRegistry;
let reg2: StartedRegistry;
let tmp: string;

beforeAll(async () => {
  [reg, reg2] = await Promise.all([startRegistry(), startRegistry()]);
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-transfer-'));
});
afterAll(async () => {
  await Promise.all([reg?.stop(), reg2?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const env = () => ({ DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp });

/** Returns every blob file of a layout whose bytes do not hash to its name. */
function badBlobs(dir: string): string[] {
  const blobs = path.join(dir, 'blobs', 'sha256');
  return readdirSync(blobs).filter(
    (hex) =>
      createHash('sha256')
        .update(readFileSync(path.join(blobs, hex)))
        .digest('hex') !== hex,
  );
}

describe('tag-push', () => {
  it('pushes an OCI layout with several tags; skopeo reads the same digest', async () => {
    const image = buildImage(1, { layers: 3, layerSize: 50_000 });
    const src = path.join(tmp, 'src1');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    const r = await runCli(['tag-push', `oci:${src}:latest`, `${reg.host}/team/app:v1`, '--tag', 'main-abc1234'], {
      env: env(),
    });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(image.manifest.digest);
    expect(r.stdout).toContain('4 blobs: 4 uploaded, 0 skipped, 0 mounted');
    for (const tag of ['v1', 'main-abc1234']) {
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/app:${tag}`]);
      expect(sha256(raw.stdout)).toBe(image.manifest.digest);
    }
  });

  it('re-pushes an unchanged image with nothing uploaded and the tag reported unchanged', async () => {
    const image = buildImage(1, { layers: 3, layerSize: 50_000 });
    const src = path.join(tmp, 'src1');
    if (!existsSync(src)) writeOciLayout(src, [{ image, tag: 'latest' }]);
    await runCli(['tag-push', `oci:${src}:latest`, `${reg.host}/team/again:v1`], { env: env() });
    const r = await runCli(['tag-push', `oci:${src}:latest`, `${reg.host}/team/again:v1`, '-o', 'json'], {
      env: env(),
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.blobs).toEqual({ total: 4, uploaded: 0, skipped: 4, mounted: 0 });
    expect(out.bytesUploaded).toBe(0);
    expect(out.unchangedTags).toEqual(['v1']);
  });

  it('prints IMAGE_URI, IMAGE_DIGEST and IMAGE_TAGS with --output env, the URI pinned by digest', async () => {
    const image = buildImage(2);
    const src = path.join(tmp, 'src2');
    writeOciLayout(src, [{ image, tag: 'x' }]);
    const r = await runCli(['tag-push', `oci:${src}:x`, `${reg.host}/env/app:v2`, '-t', 'extra', '-o', 'env'], {
      env: env(),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `IMAGE_URI=${reg.host}/env/app@${image.manifest.digest}\nIMAGE_DIGEST=${image.manifest.digest}\nIMAGE_TAGS=v2,extra\n`,
    );
  });

  it('mounts blobs from another repository of the same registry instead of uploading', async () => {
    const image = buildImage(3, { layers: 2 });
    const src = path.join(tmp, 'src3');
    writeOciLayout(src, [{ image, tag: 't' }]);
    expect((await runCli(['tag-push', `oci:${src}:t`, `${reg.host}/mount/a:t`], { env: env() })).code).toBe(0);
    const r = await runCli(['copy', `${reg.host}/mount/a:t`, `${reg.host}/mount/b:t`, '-o', 'json'], { env: env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).blobs).toEqual({ total: 3, uploaded: 0, skipped: 0, mounted: 3 });
  });

  it('refuses a layout blob whose bytes do not match its digest: the registry checks it, exit 1, no tag', async () => {
    const image = buildImage(31, { layers: 2, layerSize: 40_000 });
    const src = path.join(tmp, 'tampered');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    const layer = image.layers[0]!.descriptor.digest;
    const file = path.join(src, 'blobs', 'sha256', layer.slice(7));
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0xff; // same size, one byte changed
    writeFileSync(file, bytes);
    const r = await runCli(['tag-push', `oci:${src}:latest`, `${reg.host}/team/tampered:v1`], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refused blob ${layer}: its bytes do not match its digest`);
    expect(r.stderr).toMatch(/corrupt or altered copy of this blob/);
    const tags = await fetch(`http://${reg.host}/v2/team/tampered/tags/list`);
    expect(tags.status).toBe(404); // no manifest, so no repository and no tag
  });

  it('checks and uploads blobs over a few kept-alive connections (a HEAD does not close one)', async () => {
    const image = buildImage(32, { layers: 12, layerSize: 2_000 });
    const src = path.join(tmp, 'many');
    writeOciLayout(src, [{ image, tag: 'latest' }]);
    const proxy = await startFaultProxy(reg.host);
    try {
      const first = await runCli(
        ['tag-push', `oci:${src}:latest`, `${proxy.host}/team/many:v1`, '--concurrency', '2'],
        { env: env() },
      );
      expect(first.code).toBe(0);
      const afterPush = proxy.connections;
      // A new tag: the target has every blob, which one parallel round of HEADs finds out.
      const before = proxy.requests.length;
      const again = await runCli(
        ['tag-push', `oci:${src}:latest`, `${proxy.host}/team/many:v2`, '--concurrency', '2'],
        { env: env() },
      );
      expect(again.code).toBe(0);
      const sent = proxy.requests.slice(before);
      const heads = sent.filter((q) => q.method === 'HEAD' && q.url.includes('/blobs/'));
      expect(heads).toHaveLength(13);
      expect(sent.filter((q) => q.method === 'PUT' && q.url.includes('/blobs/'))).toEqual([]);
      // 13 blob HEADs at once: at most the transport's 8 pooled connections, not one per HEAD
      // (13 or more when undici closed each one after a HEAD).
      expect(proxy.connections - afterPush).toBeLessThanOrEqual(8);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a push target with a digest, exit 2', async () => {
    const r = await runCli(['tag-push', 'oci:./nowhere', `${reg.host}/a/b@sha256:${'0'.repeat(64)}`], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a push target names a tag, not a digest');
  });
});

describe('pull', () => {
  it('pulls what skopeo pushed into a layout whose blobs all hash right', async () => {
    // skopeo 1.9's oci: transport only sees OCI media types in index.json.
    const image = buildImage(4, { layers: 2, layerSize: 100_000 });
    const src = path.join(tmp, 'src4');
    writeOciLayout(src, [{ image, tag: 'v1' }]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:v1`, `docker://${reg.host}/sk/app:v1`]);
    const out = path.join(tmp, 'out4');
    const r = await runCli(['pull', `${reg.host}/sk/app:v1`, `oci:${out}`], { env: env() });
    expect(r.code).toBe(0);
    expect(badBlobs(out)).toEqual([]);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.manifest.digest);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
    // skopeo reads the pulled layout back with the same digest.
    const raw = await skopeo(['inspect', '--raw', `oci:${out}:v1`]);
    expect(sha256(raw.stdout)).toBe(image.manifest.digest);
  });

  it('-o json reports a pull in download words: blobs.downloaded and bytesDownloaded', async () => {
    const image = buildImage(40, { layers: 2, layerSize: 20_000 });
    const src = path.join(tmp, 'src40');
    writeOciLayout(src, [{ image, tag: 'v1' }]);
    expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/pulljson/app:v1`], { env: env() })).code).toBe(0);
    const out = path.join(tmp, 'out40');
    const r = await runCli(['pull', `${reg.host}/pulljson/app:v1`, `oci:${out}`, '-o', 'json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const layers = image.layers.reduce((n, l) => n + l.bytes.length, 0);
    expect(doc.action).toBe('pulled');
    expect(doc.blobs).toEqual({ total: 3, downloaded: 3, skipped: 0, mounted: 0 });
    expect(doc.bytesDownloaded).toBe(layers + image.config.bytes.length);
    expect(doc).not.toHaveProperty('bytesUploaded');
  });

  it('pulls into a docker-archive that skopeo reads, named after the source', async () => {
    const image = buildImage(5, { format: 'docker' });
    const src = path.join(tmp, 'src5');
    writeOciLayout(src, [{ image, tag: 'v1' }]);
    await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/arch/app:v1`], { env: env() });
    const file = path.join(tmp, 'app.tar');
    const r = await runCli(['pull', `${reg.host}/arch/app:v1`, `docker-archive:${file}`], { env: env() });
    expect(r.code).toBe(0);
    // skopeo reports a docker-archive's layers by their uncompressed digests (diff IDs).
    const info = JSON.parse((await skopeo(['inspect', `docker-archive:${file}`])).stdout);
    expect(info.Layers).toEqual(JSON.parse(image.config.bytes.toString()).rootfs.diff_ids);
    // docker load names the image from manifest.json's RepoTags.
    const manifestJson = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifestJson[0].RepoTags).toEqual(['arch/app:v1']);
    const manifest = JSON.parse(
      (await runCli(['inspect', `docker-archive:${file}`, '-o', 'json'], { env: env() })).stdout,
    );
    expect(manifest.digest).toBe(image.manifest.digest);
  });

  it('fails with exit 6 for a missing tag and leaves no output behind', async () => {
    const out = path.join(tmp, 'missing-out');
    const r = await runCli(['pull', `${reg.host}/arch/app:nope`, `oci:${out}`], { env: env() });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/MANIFEST_UNKNOWN|not found/i);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('missing-out'))).toEqual([]);
  });

  it('picks one platform from an index with --platform', async () => {
    const amd = buildImage(6, { platform: { os: 'linux', architecture: 'amd64' } });
    const arm = buildImage(7, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    const index = buildIndex([amd, arm]);
    const src = path.join(tmp, 'src6');
    writeOciLayout(src, [{ manifest: index, tag: 'multi', extraImages: [amd, arm] }]);
    expect((await runCli(['tag-push', `oci:${src}:multi`, `${reg.host}/multi/app:m`], { env: env() })).code).toBe(0);
    const out = path.join(tmp, 'out6');
    const r = await runCli(
      ['pull', `${reg.host}/multi/app:m`, `oci:${out}:arm`, '--platform', 'linux/arm64', '-o', 'json'],
      {
        env: env(),
      },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).digest).toBe(arm.manifest.digest);
    const bad = await runCli(['pull', `${reg.host}/multi/app:m`, `oci:${out}-x`, '--platform', 'windows/amd64'], {
      env: env(),
    });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain('choose one of: linux/amd64, linux/arm64/v8');
  });
});

describe('copy', () => {
  it('copies a multi-platform index between registries with every digest preserved', async () => {
    const amd = buildImage(8, { platform: { os: 'linux', architecture: 'amd64' }, format: 'docker' });
    const arm = buildImage(9, { platform: { os: 'linux', architecture: 'arm64' }, format: 'docker' });
    const list = buildIndex([amd, arm], 'docker');
    const src = path.join(tmp, 'src8');
    writeOciLayout(src, [{ manifest: list, tag: 'v1', extraImages: [amd, arm] }]);
    expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/cp/app:v1`], { env: env() })).code).toBe(0);
    const r = await runCli(['copy', `${reg.host}/cp/app:v1`, `${reg2.host}/mirror/app:v1`], { env: env() });
    expect(r.code).toBe(0);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg2.host}/mirror/app:v1`]);
    expect(sha256(raw.stdout)).toBe(list.digest);
    for (const img of [amd, arm]) {
      const child = await skopeo([
        'inspect',
        '--raw',
        '--tls-verify=false',
        `docker://${reg2.host}/mirror/app@${img.manifest.digest}`,
      ]);
      expect(sha256(child.stdout)).toBe(img.manifest.digest);
    }
  });

  it('copies every tag with --all-tags', async () => {
    const a = buildImage(10);
    const b = buildImage(11);
    const src = path.join(tmp, 'src10');
    writeOciLayout(src, [
      { image: a, tag: 'a' },
      { image: b, tag: 'b' },
    ]);
    for (const t of ['a', 'b'])
      await runCli(['tag-push', `oci:${src}:${t}`, `${reg.host}/all/app:${t}`], { env: env() });
    const r = await runCli(['copy', `${reg.host}/all/app`, `${reg2.host}/all/app`, '--all-tags'], { env: env() });
    expect(r.code).toBe(0);
    const tags = await runCli(['tags', `${reg2.host}/all/app`, '-o', 'json'], { env: env() });
    expect(JSON.parse(tags.stdout).tags.sort()).toEqual(['a', 'b']);
  });

  it('--all-tags --dry-run plans each tag and writes nothing at the target', async () => {
    const a = buildImage(15);
    const b = buildImage(16);
    const src = path.join(tmp, 'src15');
    writeOciLayout(src, [
      { image: a, tag: 'a' },
      { image: b, tag: 'b' },
    ]);
    for (const t of ['a', 'b'])
      expect((await runCli(['tag-push', `oci:${src}:${t}`, `${reg.host}/alldry/app:${t}`], { env: env() })).code).toBe(
        0,
      );
    const proxy = await startFaultProxy(reg2.host);
    try {
      const r = await runCli(
        ['copy', `${reg.host}/alldry/app`, `${proxy.host}/alldry/app`, '--all-tags', '--dry-run', '-o', 'json'],
        {
          env: env(),
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const plans = JSON.parse(r.stdout);
      expect(plans.map((p: { tags: { tag: string }[]; digest: string }) => [p.tags[0]?.tag, p.digest]).sort()).toEqual([
        ['a', a.manifest.digest],
        ['b', b.manifest.digest],
      ]);
      for (const p of plans) expect(p.blobs).toMatchObject({ total: 3, upload: 3, present: 0, mount: 0 });
      // Reads only: HEADs and GETs, not one write.
      expect(proxy.requests.filter((q) => !['GET', 'HEAD'].includes(q.method))).toEqual([]);
      const tags = await fetch(`http://${reg2.host}/v2/alldry/app/tags/list`);
      expect(tags.status).toBe(404);
    } finally {
      await proxy.stop();
    }
  });
});

describe('inspect and tags', () => {
  it('inspect shows layers and size; --raw prints the exact manifest bytes', async () => {
    const image = buildImage(12, { layers: 2 });
    const src = path.join(tmp, 'src12');
    writeOciLayout(src, [{ image, tag: 'v1' }]);
    await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/insp/app:v1`], { env: env() });
    const text = await runCli(['inspect', `${reg.host}/insp/app:v1`], { env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`digest:     ${image.manifest.digest}`);
    expect(text.stdout).toContain('in 2 layers');
    const raw = await runCli(['inspect', `${reg.host}/insp/app:v1`, '--raw'], { env: env() });
    // exactly the bytes, no newline added: `ecrctl inspect --raw REF | sha256sum` is the digest
    expect(raw.code, raw.stderr).toBe(0);
    expect(sha256(raw.stdout)).toBe(image.manifest.digest);
    expect(raw.stdout).toBe(image.manifest.bytes.toString('utf8'));
  });

  it('tags lists more than one page of tags', async () => {
    const image = buildImage(13, { layers: 1 });
    const src = path.join(tmp, 'src13');
    writeOciLayout(src, [{ image, tag: 'v' }]);
    const extra = Array.from({ length: 12 }, (_, i) => ['-t', `t${i}`]).flat();
    expect((await runCli(['tag-push', `oci:${src}:v`, `${reg.host}/paged/app:v`, ...extra], { env: env() })).code).toBe(
      0,
    );
    const r = await runCli(['tags', `${reg.host}/paged/app`], { env: env() });
    expect(r.stdout.trim().split('\n').sort()).toEqual(['v', ...Array.from({ length: 12 }, (_, i) => `t${i}`)].sort());
  });
});

describe('registries with auth', () => {
  it('uses the Docker config for a Basic-auth registry, and exits 5 without it', async () => {
    const secure = await startRegistry({ auth: 'basic' });
    try {
      const image = buildImage(14, { layers: 1 });
      const src = path.join(tmp, 'src14');
      writeOciLayout(src, [{ image, tag: 'v' }]);
      const none = await runCli(['tag-push', `oci:${src}:v`, `${secure.host}/auth/app:v`], { env: env() });
      expect(none.code).toBe(5);
      expect(none.stderr).toContain(secure.host);
      const dockerConfig = path.join(tmp, 'docker-basic');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dockerConfig, { recursive: true });
      const auth = Buffer.from(`${secure.username}:${secure.password}`).toString('base64');
      writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [secure.host]: { auth } } }));
      const ok = await runCli(['tag-push', `oci:${src}:v`, `${secure.host}/auth/app:v`, '--verbose'], {
        env: { ...env(), DOCKER_CONFIG: dockerConfig },
      });
      expect(ok.stderr).not.toContain(secure.password!);
      expect(ok.code).toBe(0);
    } finally {
      await secure.stop();
    }
  });
});

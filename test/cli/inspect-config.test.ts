// inspect --config (the image configuration of each platform, cross-checked with skopeo's
// `inspect --config` against Debian's docker-registry) and inspect --referrers (the tree of
// what refers to an image, against `ecrctl local`).
import { writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/oci/media-types.js';
import type { ImageManifest, Platform } from '../../src/oci/types.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, type FixtureImage, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, skopeo, startRegistry } from '../helpers/registry.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let reg: StartedRegistry;
let dir: string;
let amd: FixtureImage;
let arm: FixtureImage;

/** Returns a fixture image with a configuration as a Dockerfile build would write it. */
function richImage(seed: number, platform: Platform): FixtureImage {
  const base = buildImage(seed, { layers: 2, layerSize: 1500, platform });
  const config = {
    created: '2026-11-30T10:00:00Z',
    author: 'ecrctl tests',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      User: '1000:1000',
      WorkingDir: '/srv/app',
      Entrypoint: ['/usr/bin/tini', '--'],
      Cmd: ['node', 'server.js', '--port', '8080'],
      Env: ['PATH=/usr/local/bin:/usr/bin:/bin', `SEED=${seed}`, 'NODE_ENV=production'],
      ExposedPorts: { '8080/tcp': {}, '9090/udp': {} },
      Labels: { 'org.opencontainers.image.source': 'https://example.com/app', maintainer: 'team@example.com' },
    },
    rootfs: { type: 'layers', diff_ids: ['sha256:aa', 'sha256:bb'] },
    history: [
      { created: '2026-11-30T09:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
      { created: '2026-11-30T09:00:01Z', created_by: 'ENV NODE_ENV=production', empty_layer: true },
      { created: '2026-11-30T10:00:00Z', created_by: 'COPY . /srv/app # buildkit', comment: 'buildkit.dockerfile.v0' },
    ],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc = { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length };
  const manifestJson: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: base.layers.map((l) => l.descriptor),
  };
  const bytes = Buffer.from(JSON.stringify(manifestJson));
  const blobs = new Map<string, Buffer>([[configDesc.digest, configBytes]]);
  for (const l of base.layers) blobs.set(l.descriptor.digest, l.bytes);
  return {
    manifest: { mediaType: MediaType.ociManifest, digest: sha256(bytes), bytes },
    config: { descriptor: configDesc, bytes: configBytes },
    layers: base.layers,
    blobs,
    descriptor: { mediaType: MediaType.ociManifest, digest: sha256(bytes), size: bytes.length, platform },
  };
}

beforeAll(async () => {
  reg = await startRegistry();
  dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-inspect-config-'));
  amd = richImage(501, { os: 'linux', architecture: 'amd64' });
  arm = richImage(502, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  const layout = path.join(dir, 'src');
  const index = buildIndex([amd, arm]);
  writeOciLayout(layout, [
    { image: amd, tag: 'single' },
    { manifest: index, tag: 'multi', extraImages: [amd, arm] },
  ]);
  for (const tag of ['single', 'multi']) {
    const r = await runCli(['tag-push', `oci:${layout}:${tag}`, `${reg.host}/team/app:${tag}`]);
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(async () => {
  await reg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inspect --config', () => {
  it('gives the same configuration skopeo inspect --config parses, for one image', async () => {
    const r = await runCli(['inspect', `${reg.host}/team/app:single`, '--config', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const sk = JSON.parse(
      (await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${reg.host}/team/app:single`])).stdout,
    );
    expect(out.kind).toBe('image');
    expect(out.images).toHaveLength(1);
    const img = out.images[0];
    // The document is the one skopeo reads, and the fields are taken from it.
    expect(img.config).toEqual(sk);
    expect(img.configDigest).toBe(amd.config.descriptor.digest);
    expect(img.platform).toBe('linux/amd64');
    expect(img.entrypoint).toEqual(sk.config.Entrypoint);
    expect(img.cmd).toEqual(sk.config.Cmd);
    expect(img.env).toEqual(sk.config.Env);
    expect(img.user).toBe(sk.config.User);
    expect(img.workingDir).toBe(sk.config.WorkingDir);
    expect(img.labels).toEqual(sk.config.Labels);
    expect(img.exposedPorts).toEqual(Object.keys(sk.config.ExposedPorts));
    expect(img.created).toBe(sk.created);
    expect(img.history).toEqual(
      sk.history.map((h: Record<string, unknown>) => ({
        created: h.created,
        createdBy: h.created_by,
        ...(h.comment ? { comment: h.comment } : {}),
        emptyLayer: h.empty_layer === true,
      })),
    );
  });

  it('gives each platform of an index, each matching skopeo for that platform', async () => {
    const r = await runCli(['inspect', `${reg.host}/team/app:multi`, '--config', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kind).toBe('index');
    expect(out.images.map((i: { platform: string }) => i.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    for (const [i, want] of [amd, arm].entries()) {
      const sk = JSON.parse(
        (
          await skopeo([
            'inspect',
            '--config',
            '--tls-verify=false',
            `docker://${reg.host}/team/app@${want.manifest.digest}`,
          ])
        ).stdout,
      );
      expect(out.images[i].manifestDigest).toBe(want.manifest.digest);
      expect(out.images[i].config).toEqual(sk);
      expect(out.images[i].env).toContain(`SEED=${501 + i}`);
    }
  });

  it('prints readable blocks per platform in text', async () => {
    const r = await runCli(['inspect', `${reg.host}/team/app:multi`, '--config']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('platform linux/amd64\n');
    expect(r.stdout).toContain('platform linux/arm64/v8\n');
    expect(r.stdout).toContain('  entrypoint:  ["/usr/bin/tini","--"]\n');
    expect(r.stdout).toContain('  cmd:         ["node","server.js","--port","8080"]\n');
    expect(r.stdout).toContain('  workdir:     /srv/app\n');
    expect(r.stdout).toContain('  user:        1000:1000\n');
    expect(r.stdout).toContain('  ports:       8080/tcp, 9090/udp\n');
    expect(r.stdout).toContain('    NODE_ENV=production\n');
    expect(r.stdout).toContain('    maintainer=team@example.com\n');
    expect(r.stdout).toContain('  created:     2026-11-30T10:00:00Z\n');
    expect(r.stdout).toMatch(/ {4}2026-11-30T09:00:01Z \(empty\) ENV NODE_ENV=production\n/);
    expect(r.stdout).toMatch(/ {4}2026-11-30T10:00:00Z layer {3}COPY \. \/srv\/app # buildkit/);
    // Every line fits a terminal.
    for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120);
  });

  it('reads an OCI layout too, and refuses two views at once', async () => {
    const r = await runCli(['inspect', `oci:${path.join(dir, 'src')}:single`, '--config', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).images[0].configDigest).toBe(amd.config.descriptor.digest);
    const both = await runCli(['inspect', `${reg.host}/team/app:single`, '--config', '--raw']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--raw and --config cannot be used together');
  });
});

describe('inspect --referrers', () => {
  let env: RepoTestEnv;
  beforeAll(async () => {
    env = await startRepoEnv();
    const layout = path.join(env.dir, 'img');
    writeOciLayout(layout, [{ image: amd, tag: 'v1' }]);
    expect((await env.cli(['tag-push', `oci:${layout}:v1`, 'team/app:v1', '--create-repo'])).code).toBe(0);
    const f = path.join(env.dir, 'sbom.json');
    writeFileSync(f, '{"spdxVersion":"SPDX-2.3"}');
    const a = await env.cli(['attach', 'team/app:v1', f, '--artifact-type', 'application/spdx+json']);
    expect(a.code, a.stderr).toBe(0);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('prints the referrers tree, as discover does', async () => {
    const r = await env.cli(['inspect', 'team/app:v1', '--referrers']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`team/app:v1@${amd.manifest.digest}$`));
    expect(lines[1]).toBe('└── application/spdx+json');
    expect(lines[2]).toMatch(/^ {4}└── sha256:[0-9a-f]{64}$/);
    const j = await env.cli(['inspect', 'team/app:v1', '--referrers', '-o', 'json']);
    const out = JSON.parse(j.stdout);
    expect(out.digest).toBe(amd.manifest.digest);
    expect(out.total).toBe(1);
    expect(out.referrers[0].artifactType).toBe('application/spdx+json');
  });
});

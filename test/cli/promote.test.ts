// `ecrctl promote` against `ecrctl local` (ECR API: PutImage with the media type, DescribeImages
// for the 1,000-tag limit) and against docker-registry (registry API): manifests only, no blobs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { makeImages, type RepoTestEnv, sha256, startRepoEnv, uploadBlob } from './repos-fixtures.js';

let env: RepoTestEnv;
let reg: StartedRegistry;
let plain: string;

beforeAll(async () => {
  [env, reg] = await Promise.all([startRepoEnv(), startRegistry()]);
  plain = path.join(env.dir, 'plain');
  mkdirSync(plain);
});
afterAll(async () => {
  await Promise.all([env?.close(), reg?.stop()]);
});

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

/** The calls after `from` that touch blobs or upload anything. */
const blobCalls = (from: number) => env.server.calls.slice(from).filter((c) => /blobs|uploads|Layer/.test(c));

describe('promote on ECR', () => {
  it('adds tags through PutImage without moving a blob; a re-run is unchanged', async () => {
    expect((await env.cli(['create-repo', 'pro/app'])).code).toBe(0);
    const [img] = await makeImages(env.ecr, 'pro/app', 1, { tags: () => ['main-abc1234'] });
    const mark = env.server.calls.length;
    const r = await env.cli(['promote', 'pro/app:main-abc1234', 'staging', 'qa'], { cwd: plain });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^promoted .*/pro/app@${img!.digest}: staging \\(added\\), qa \\(added\\)\\n$`),
    );
    expect(await tagsOf('pro/app')).toEqual({ 'main-abc1234': img!.digest, staging: img!.digest, qa: img!.digest });
    expect(env.server.calls.slice(mark).filter((c) => c === 'ecr:PutImage')).toHaveLength(2);
    expect(blobCalls(mark)).toEqual([]);

    const again = await env.cli(['promote', 'pro/app:main-abc1234', 'staging', '-o', 'json'], { cwd: plain });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: [], unchanged: ['staging'], digest: img!.digest });
  });

  it('retags an OCI artifact whose manifest has no mediaType (the media type goes with PutImage)', async () => {
    expect((await env.cli(['create-repo', 'pro/chart'])).code).toBe(0);
    const config = await uploadBlob(env.ecr, 'pro/chart', Buffer.from('{"name":"chart","version":"0.1.0"}'));
    const layer = await uploadBlob(env.ecr, 'pro/chart', Buffer.from('chart-bytes'));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: config, size: 34 },
      layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: layer, size: 11 }],
    });
    await env.ecr.send(
      new PutImageCommand({
        repositoryName: 'pro/chart',
        imageManifest: manifest,
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        imageTag: '0.1.0',
      }),
    );
    const r = await env.cli(['promote', 'pro/chart:0.1.0', 'stable'], { cwd: plain });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await tagsOf('pro/chart')).toEqual({ '0.1.0': sha256(manifest), stable: sha256(manifest) });
  });

  it('refuses an immutable tag on another image before writing anything, exit 3', async () => {
    expect((await env.cli(['create-repo', 'pro/imm', '--immutable'])).code).toBe(0);
    const [a, b] = await makeImages(env.ecr, 'pro/imm', 2, { tags: (i) => [i === 0 ? 'v1' : 'v2'] });
    const mark = env.server.calls.length;
    const r = await env.cli(['promote', 'pro/imm:v2', 'new-tag', 'v1'], { cwd: plain });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("error: tag 'v1' is immutable in pro/imm and on another image; no tag was added");
    expect(r.stderr).toContain(`  - tag 'v1': points at ${a!.digest}; promoting ${b!.digest}`);
    expect(env.server.calls.slice(mark)).not.toContain('ecr:PutImage');
    expect(await tagsOf('pro/imm')).toEqual({ v1: a!.digest, v2: b!.digest });
  });

  it('applies the tag rules of .ecrctl.yaml', async () => {
    const proj = path.join(env.dir, 'proj');
    mkdirSync(proj);
    writeFileSync(path.join(proj, '.ecrctl.yaml'), 'repositories:\n  - pattern: pro/*\n    forbid: [latest]\n');
    const r = await env.cli(['promote', 'pro/app:main-abc1234', 'latest'], { cwd: proj });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("  - forbid: tag 'latest' is forbidden by forbid: latest (.ecrctl.yaml:3)");
  });

  it("refuses to pass ECR's 1,000 tags per image, counting with DescribeImages, before PutImage", async () => {
    expect((await env.cli(['create-repo', 'pro/many'])).code).toBe(0);
    const tags = Array.from({ length: 999 }, (_, i) => `t${i}`);
    await makeImages(env.ecr, 'pro/many', 1, { tags: () => tags });
    const mark = env.server.calls.length;
    const r = await env.cli(['promote', 'pro/many:t0', 'x1', 'x2', 't5'], { cwd: plain });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/has 999 tags; 2 more would pass ECR's limit of 1000 tags per image/);
    expect(env.server.calls.slice(mark)).toContain('ecr:DescribeImages');
    expect(env.server.calls.slice(mark)).not.toContain('ecr:PutImage');
    const one = await env.cli(['promote', 'pro/many:t0', 'x1', 't5'], { cwd: plain });
    expect(one.code).toBe(0);
  }, 180_000); // 999 PutImage calls to set up: ~7 s alone, more on a loaded machine
});

describe('promote on another registry', () => {
  it('writes the manifest under the new tag through the registry API', async () => {
    const image = buildImage(201);
    const src = path.join(env.dir, 'src-reg');
    writeOciLayout(src, [{ image, tag: 'v1' }]);
    const e = { DOCKER_CONFIG: path.join(env.dir, 'no-docker'), HOME: env.dir };
    expect((await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/pro/app:v1`], { env: e, cwd: plain })).code).toBe(
      0,
    );
    const r = await runCli(['promote', `${reg.host}/pro/app:v1`, 'production', 'v1', '-o', 'env'], {
      env: e,
      cwd: plain,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `IMAGE_URI=${reg.host}/pro/app@${image.manifest.digest}\nIMAGE_DIGEST=${image.manifest.digest}\nIMAGE_TAGS=production,v1\n`,
    );
    const tags = await runCli(['tags', `${reg.host}/pro/app`], { env: e, cwd: plain });
    expect(tags.stdout.split('\n').filter(Boolean).sort()).toEqual(['production', 'v1']);
    const inspect = await runCli(['inspect', `${reg.host}/pro/app:production`, '-o', 'json'], { env: e, cwd: plain });
    expect(JSON.parse(inspect.stdout).digest).toBe(image.manifest.digest);
  });
});

// copy checks the target before any blob moves, as tag-push does: a missing ECR repository
// (exit 6, or --create-repo with the config's settings), an immutable tag at another image
// (exit 3, both digests), and --dry-run says what would move and writes nothing. Against
// `ecrctl local`, whose recorded calls show every request.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/cli/output.js';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let imageA: FixtureImage;
let imageB: FixtureImage;
let srcA: string;
let srcB: string;
/** A directory with no .ecrctl.yaml. */
let plain: string;
/** A directory whose .ecrctl.yaml sets create: defaults and house rules as errors for cp/*. */
let proj: string;

beforeAll(async () => {
  env = await startRepoEnv();
  imageA = buildImage(701, { layers: 2, layerSize: 3000 });
  imageB = buildImage(702, { layers: 2, layerSize: 3000 });
  srcA = path.join(env.dir, 'srcA');
  srcB = path.join(env.dir, 'srcB');
  writeOciLayout(srcA, [{ image: imageA, tag: 'latest' }]);
  writeOciLayout(srcB, [{ image: imageB, tag: 'latest' }]);
  plain = path.join(env.dir, 'plain');
  mkdirSync(plain);
  proj = path.join(env.dir, 'proj');
  mkdirSync(proj);
  writeFileSync(
    path.join(proj, '.ecrctl.yaml'),
    [
      'naming:',
      '  houseRulesAsErrors: true',
      'repositories:',
      '  - pattern: cp/*',
      '    strategies: [sha]',
      '    create:',
      '      tagMutability: IMMUTABLE',
      '      scanOnPush: true',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await env?.close();
});

/** Returns the calls the server saw from index `from` on that write something. */
function writesSince(from: number): string[] {
  return env.server.calls
    .slice(from)
    .filter((c) =>
      /^registry:(PUT|POST|PATCH|DELETE)|^ecr:(PutImage|CompleteLayerUpload|InitiateLayerUpload|UploadLayerPart|CreateRepository|BatchDeleteImage)$/.test(
        c,
      ),
    );
}

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

const blobBytes = (img: FixtureImage) => [...img.blobs.values()].reduce((n, b) => n + b.length, 0);

describe('copy to a missing ECR repository', () => {
  it('exits 6 naming repository, registry and region, with the fix; no blob upload is attempted', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcA}`, 'cp/missing:v1'], { cwd: plain });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(
      /error: repository cp\/missing does not exist in 127\.0\.0\.1:\d+ \(region us-east-1\); nothing was copied/,
    );
    expect(r.stderr).toContain('add --create-repo, run `ecrctl create-repo cp/missing --region us-east-1` first');
    expect(r.stderr).not.toContain('NAME_UNKNOWN');
    expect(r.stderr).not.toContain('mount');
    const seen = env.server.calls.slice(mark);
    expect(seen).toContain('ecr:DescribeRepositories');
    expect(writesSince(mark)).toEqual([]);
    expect(seen.filter((c) => c.includes('blobs') || c.includes('uploads'))).toEqual([]);
  });

  it('--create-repo creates it with the config defaults before any blob moves, then copies', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcA}`, 'cp/created:v1', '--create-repo', '-o', 'json'], { cwd: proj });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('created repository cp/created (IMMUTABLE)');
    const out = JSON.parse(r.stdout);
    expect(out.repositoryCreated).toBe(true);
    expect(out.digest).toBe(imageA.manifest.digest);
    // Only the tag given: the config's sha strategy is for tag-push, not for copies.
    expect(out.tags).toEqual(['v1']);
    const seen = env.server.calls.slice(mark);
    const created = seen.indexOf('ecr:CreateRepository');
    const firstUpload = seen.findIndex((c) => /^registry:(POST|PUT|PATCH)/.test(c));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(firstUpload).toBeGreaterThan(created);
    const repo = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['cp/created'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    expect(repo?.imageScanningConfiguration?.scanOnPush).toBe(true);
    expect(await tagsOf('cp/created')).toEqual({ v1: imageA.manifest.digest });
  });

  it('--create-repo checks the name first: a house rule as error creates and copies nothing', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcA}`, 'cp/my_app:v1', '--create-repo'], { cwd: proj });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error: the repository name cp/my_app breaks a house rule; nothing was created or copied',
    );
    expect(writesSince(mark)).toEqual([]);
  });
});

describe('copy onto an immutable tag', () => {
  it('re-copying the same image is unchanged; another image exits 3 with both digests before any blob moves', async () => {
    expect((await env.cli(['create-repo', 'cpimm/app', '--immutable'])).code).toBe(0);
    expect((await env.cli(['copy', `oci:${srcA}`, 'cpimm/app:v1'], { cwd: plain })).code).toBe(0);

    let mark = env.server.calls.length;
    const again = await env.cli(['copy', `oci:${srcA}`, 'cpimm/app:v1', '-o', 'json'], { cwd: plain });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).unchangedTags).toEqual(['v1']);
    expect(writesSince(mark)).toEqual([]);

    mark = env.server.calls.length;
    const other = await env.cli(['copy', `oci:${srcB}`, 'cpimm/app:v1'], { cwd: plain });
    expect(other.code).toBe(3);
    expect(other.stderr).toContain(
      "error: tag 'v1' already exists in cpimm/app at another image, and tags there are immutable (IMMUTABLE); nothing was copied",
    );
    expect(other.stderr).toContain(
      `  - tag 'v1': points at ${imageA.manifest.digest}; this copy is ${imageB.manifest.digest}`,
    );
    expect(other.stderr).not.toContain('TAG_INVALID');
    expect(writesSince(mark)).toEqual([]);
    expect(env.server.calls.slice(mark).filter((c) => c.includes('blobs') || c.includes('uploads'))).toEqual([]);
    expect(await tagsOf('cpimm/app')).toEqual({ v1: imageA.manifest.digest });
  });
});

describe('copy --dry-run', () => {
  beforeAll(async () => {
    expect((await env.cli(['create-repo', 'dry/a'])).code).toBe(0);
    expect((await env.cli(['create-repo', 'dry/b'])).code).toBe(0);
    expect((await env.cli(['copy', `oci:${srcA}`, 'dry/a:v0'], { cwd: plain })).code).toBe(0);
  });

  it('says which blobs would be uploaded and which are present, with bytes; writes nothing', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcB}`, 'dry/a:v0', '--dry-run'], { cwd: plain });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^would copy oci:.*srcB to 127\\.0\\.0\\.1:\\d+/dry/a as ${imageB.manifest.digest}\\n`),
    );
    expect(r.stdout).toContain(`TAG  NOW\nv0   moves (at ${imageA.manifest.digest})\n`);
    const size = formatBytes(blobBytes(imageB));
    expect(r.stdout).toContain(
      `3 blobs, ${size}: 3 to upload (${size}), 0 present; 1 manifest; tag mutability MUTABLE\n`,
    );
    expect(r.stdout).toMatch(/\nBLOB +SIZE +ACTION\n([0-9a-f]{12} +[0-9.]+ k?B +upload\n){3}/);
    expect(r.stdout).toMatch(/nothing copied \(--dry-run\)\n$/);
    expect(writesSince(mark)).toEqual([]);
    expect(await tagsOf('dry/a')).toEqual({ v0: imageA.manifest.digest });
  });

  it('-o json: present blobs, a new tag, and the rules checked', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcA}`, 'dry/a:v1', '--dry-run', '-o', 'json'], { cwd: plain });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({
      dryRun: true,
      digest: imageA.manifest.digest,
      tags: [{ tag: 'v1', action: 'new' }],
      mutability: 'MUTABLE',
      manifests: 1,
      blobs: { total: 3, upload: 0, present: 3, mount: 0, bytesToUpload: 0, bytesTotal: blobBytes(imageA) },
    });
    expect(plan.blobs.list.map((b: { digest: string }) => b.digest).sort()).toEqual([...imageA.blobs.keys()].sort());
    expect(plan.checks[0]).toMatchObject({ rule: 'oci-tag', status: 'ok' });
    expect(plan).not.toHaveProperty('violation');
    expect(writesSince(mark)).toEqual([]);
    expect(await tagsOf('dry/a')).toEqual({ v0: imageA.manifest.digest });
  });

  it('within one registry the blobs are mountable; -o env gives the counts', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', 'dry/a:v0', 'dry/b:v1', '--dry-run', '-o', 'env'], { cwd: plain });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `DRY_RUN=true\nIMAGE_DIGEST=${imageA.manifest.digest}\nIMAGE_TAGS=v1\nBLOBS_TO_UPLOAD=0\nBYTES_TO_UPLOAD=0\nCREATE_REPOSITORY=false\n`,
    );
    const json = await env.cli(['copy', 'dry/a:v0', 'dry/b:v1', '--dry-run', '-o', 'json'], { cwd: plain });
    expect(JSON.parse(json.stdout).blobs).toMatchObject({ mount: 3, upload: 0, bytesToMount: blobBytes(imageA) });
    expect(writesSince(mark)).toEqual([]);
    expect(await tagsOf('dry/b')).toEqual({});
  });

  it('with --create-repo says the repository would be created, and creates nothing', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcA}`, 'dry/new:v1', '--create-repo', '--dry-run'], { cwd: plain });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^would copy .* as sha256:[0-9a-f]{64} \(the repository would be created\)\n/);
    expect(r.stdout).toContain('3 blobs');
    expect(r.stdout).toContain(': 3 to upload');
    expect(writesSince(mark)).toEqual([]);
    const missing = await env.cli(['repos', '-o', 'json']);
    expect(missing.stdout).not.toContain('dry/new');
  });

  it('an immutable conflict is printed, then exit 3', async () => {
    const mark = env.server.calls.length;
    const r = await env.cli(['copy', `oci:${srcB}`, 'cpimm/app:v1', '--dry-run'], { cwd: plain });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`v1   conflict (at ${imageA.manifest.digest})`);
    expect(r.stderr).toContain(`this copy is ${imageB.manifest.digest}`);
    expect(writesSince(mark)).toEqual([]);
  });
});

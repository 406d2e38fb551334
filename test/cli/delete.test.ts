// `ecrctl delete` and `ecrctl delete-repo` against `ecrctl local`: batches of at most 100 ids,
// per-reference results from BatchDeleteImage's failures, --untag-only, exit codes 6 and 1.
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, type RepoTestEnv, sha256, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;

beforeAll(async () => {
  env = await startRepoEnv();
});
afterAll(async () => {
  await env.close();
});

async function imagesOf(repo: string): Promise<{ digest: string; tags: string[] }[]> {
  const out: { digest: string; tags: string[] }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await env.ecr.send(
      new DescribeImagesCommand({ repositoryName: repo, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const d of page.imageDetails ?? [])
      out.push({ digest: d.imageDigest ?? '', tags: [...(d.imageTags ?? [])].sort() });
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

const batchCalls = () => env.server.calls.filter((c) => c === 'ecr:BatchDeleteImage').length;

describe('delete', () => {
  it('deletes 130 images by digest in two BatchDeleteImage calls', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'bulk' }));
    const made = await makeImages(env.ecr, 'bulk', 135);
    const before = batchCalls();
    const r = await env.cli(['delete', ...made.slice(0, 130).map((m) => `bulk@${m.digest}`), '--output', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { deleted: number; results: { status: string }[] };
    expect(doc.deleted).toBe(130);
    expect(batchCalls() - before).toBe(2);
    expect((await imagesOf('bulk')).map((i) => i.digest).sort()).toEqual(
      made
        .slice(130)
        .map((m) => m.digest)
        .sort(),
    );
  });

  it('deletes by tag: the image goes with all its tags; other images stay', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const made = await makeImages(env.ecr, 'app', 3, {
      tags: (i) => [[`v1`, 'latest'], ['v2'], ['v3', 'stable']][i] ?? [],
    });
    const r = await env.cli(['delete', 'app:v1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`deleted   app:v1 (${made[0]?.digest}, tags latest, v1)\n`);
    expect((await imagesOf('app')).map((i) => i.tags)).not.toContainEqual(['latest', 'v1']);
  });

  it('--untag-only removes a tag and keeps the image; refuses the last tag', async () => {
    const r = await env.cli(['delete', 'app:stable', '--untag-only']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^untagged {2}app:stable \(image sha256:[0-9a-f]{64} kept\)\n$/);
    expect((await imagesOf('app')).map((i) => i.tags).sort()).toEqual([['v2'], ['v3']]);
    const last = await env.cli(['delete', 'app:v3', '--untag-only']);
    expect(last.code).toBe(1);
    expect(last.stdout).toContain('failed    app:v3: OnlyTag: v3 is the last tag of sha256:');
    expect(last.stdout).toContain('ECR deletes an image when its last tag is removed');
    expect(last.stderr).toContain('1 of 1 reference could not be deleted');
    expect((await imagesOf('app')).map((i) => i.tags).sort()).toEqual([['v2'], ['v3']]);
    const digest = await env.cli(['delete', `app@${sha256('x')}`, '--untag-only']);
    expect(digest.code).toBe(2);
  });

  it('exits 6 when a reference is not found, after deleting the rest', async () => {
    const r = await env.cli(['delete', 'app:v2', 'app:nope', `app@${sha256('absent')}`, 'ghost:v1']);
    expect(r.code).toBe(6);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^deleted {3}app:v2 /);
    expect(lines[1]).toBe('not found app:nope: no image is tagged nope');
    expect(lines[2]).toBe(`not found app@${sha256('absent')}: Requested image not found`);
    expect(lines[3]).toMatch(/^not found ghost:v1: .*ghost/);
    expect(r.stderr).toContain('3 of 4 references were not found');
    expect((await imagesOf('app')).map((i) => i.tags)).toEqual([['v3']]);
  });

  it("reports BatchDeleteImage's failures per reference (exit 1)", async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'multi' }));
    const [child] = await makeImages(env.ecr, 'multi', 1, { tags: () => ['amd64'] });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: child?.digest,
          size: Buffer.byteLength(child?.manifest ?? ''),
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    await env.ecr.send(new PutImageCommand({ repositoryName: 'multi', imageManifest: index, imageTag: 'v1' }));
    const r = await env.cli(['delete', `multi@${child?.digest}`, '--output', 'json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as {
      results: { status: string; code: string; reason: string }[];
      deleted: number;
    };
    expect(doc.deleted).toBe(0);
    expect(doc.results[0]).toMatchObject({ status: 'failed', code: 'ImageReferencedByManifestList' });
    expect(doc.results[0]?.reason).toContain(sha256(index));
  });

  it('takes a full registry reference (the local data plane host with --endpoint-url)', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'hosted' }));
    await makeImages(env.ecr, 'hosted', 1, { tags: () => ['v1'] });
    const uri = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['hosted'] }))).repositories?.[0]
      ?.repositoryUri;
    const r = await env.cli(['delete', `${uri}:v1`]);
    expect(r.code).toBe(0);
    expect(await imagesOf('hosted')).toEqual([]);
    const noTag = await env.cli(['delete', 'hosted']);
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toContain('hosted names no tag or digest');
  });
});

describe('delete --dry-run', () => {
  it('says what would go, from one listing, and deletes nothing', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'dry' }));
    const made = await makeImages(env.ecr, 'dry', 3, { tags: (i) => [['v1', 'latest'], ['v2'], []][i] ?? [] });
    const before = await imagesOf('dry');
    const batches = batchCalls();
    const missing = `sha256:${'0'.repeat(64)}`;
    const refs = ['dry:v1', `dry@${made[2]?.digest}`, `dry@${missing}`, 'dry:nope'];
    const r = await env.cli(['delete', ...refs, '--dry-run', '--output', 'json']);
    expect(r.code).toBe(6);
    const doc = JSON.parse(r.stdout) as { dryRun: boolean; deleted: number; results: Record<string, unknown>[] };
    expect(doc.dryRun).toBe(true);
    expect(doc.results.map((x) => [x.ref, x.status, x.tags])).toEqual([
      ['dry:v1', 'deleted', ['latest', 'v1']],
      [`dry@${made[2]?.digest}`, 'deleted', []],
      [`dry@${missing}`, 'not-found', undefined],
      ['dry:nope', 'not-found', undefined],
    ]);
    expect(batchCalls()).toBe(batches);
    expect(await imagesOf('dry')).toEqual(before);

    const text = await env.cli(['delete', 'dry:v2', '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(`dry run: nothing deleted\nwould delete dry:v2 (${made[1]?.digest}, tags v2)\n`);
    expect(await imagesOf('dry')).toEqual(before);
  });
});

describe('delete-repo', () => {
  it('refuses a repository with images without --force (exit 1, count and fix)', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'full' }));
    await makeImages(env.ecr, 'full', 3);
    const r = await env.cli(['delete-repo', 'full']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('repository full holds 3 images; not deleted');
    expect(r.stderr).toContain('run `ecrctl delete-repo full --force` to delete it with its 3 images');
    const forced = await env.cli(['delete-repo', 'full', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('deleted repository full and its 3 images');
    expect(forced.stdout).toMatch(/^127\.0\.0\.1:\d+\/full\n$/);
  });

  it('deletes an empty repository; a missing one exits 6', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'hollow' }));
    const r = await env.cli(['delete-repo', 'hollow', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'hollow', imagesDeleted: 0 });
    const again = await env.cli(['delete-repo', 'hollow']);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain('repository hollow does not exist in us-east-1');
  });
});

// --public on repos, images, tags, delete and delete-repo, against `ecrctl local`'s ECR
// Public API (cross-checked with the SDK); and delete-repo --dry-run.
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  CreateRepositoryCommand as CreatePublicRepositoryCommand,
  DescribeImagesCommand as DescribePublicImagesCommand,
  DescribeImageTagsCommand,
  DescribeRepositoriesCommand as DescribePublicRepositoriesCommand,
  type ECRPUBLICClient,
  GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr-public';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { skopeo } from '../helpers/registry.js';
import { publicClient } from '../local/helpers.js';
import { makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let pub: ECRPUBLICClient;
beforeAll(async () => {
  env = await startRepoEnv();
  pub = publicClient(env.server);
  for (const name of ['tools', 'tools-old', 'other'])
    await pub.send(new CreatePublicRepositoryCommand({ repositoryName: name }));
  // Two images in the public repository `shelf`: a → v1, v2, latest; b → v3.
  const uri = (await pub.send(new CreatePublicRepositoryCommand({ repositoryName: 'shelf' }))).repository
    ?.repositoryUri as string;
  const layout = path.join(env.dir, 'images');
  writeOciLayout(layout, [
    { image: buildImage(71), tag: 'a' },
    { image: buildImage(72), tag: 'b' },
  ]);
  // Pushed with skopeo (the registry protocol, ECR Public's token flow with the password of
  // GetAuthorizationToken), so this test does not depend on ecrctl's own push.
  const token = (await pub.send(new GetPublicAuthorizationTokenCommand({}))).authorizationData?.authorizationToken;
  const authFile = path.join(env.dir, 'public-auth.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [uri.split('/')[0] as string]: { auth: token } } }));
  for (const [from, to] of [
    ['a', 'v1'],
    ['a', 'v2'],
    ['a', 'latest'],
    ['b', 'v3'],
  ]) {
    await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-authfile',
      authFile,
      `oci:${layout}:${from}`,
      `docker://${uri}:${to}`,
    ]);
  }
});
afterAll(async () => {
  await env.close();
});

/** The public repository's tags by digest, as the SDK reads them. */
const shelf = async () => {
  const out: Record<string, string[]> = {};
  for (const d of (await pub.send(new DescribePublicImagesCommand({ repositoryName: 'shelf' }))).imageDetails ?? [])
    out[d.imageDigest as string] = [...(d.imageTags ?? [])].sort();
  return out;
};

const publicNames = async () =>
  ((await pub.send(new DescribePublicRepositoriesCommand({}))).repositories ?? []).map((r) => r.repositoryName).sort();

describe('--public', () => {
  it('repos --public lists the public repositories (glob, URI, image count)', async () => {
    const r = await env.cli(['repos', 'tools*', '--public', '--output', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).repositories as { name: string; uri: string; imageCount: number }[];
    expect(rows.map((x) => [x.name, x.imageCount])).toEqual([
      ['tools', 0],
      ['tools-old', 0],
    ]);
    const sdk = (await pub.send(new DescribePublicRepositoriesCommand({ repositoryNames: ['tools'] }))).repositories;
    expect(rows[0]?.uri).toBe(sdk?.[0]?.repositoryUri);
    const text = await env.cli(['repos', '--public', '--no-count']);
    expect(text.stdout.split('\n')[0]).toMatch(/^NAME +URI +CREATED$/);
  });

  it('images --public reads the public repository (and says when it is empty)', async () => {
    const r = await env.cli(['images', 'tools', '--public', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ repository: 'tools', images: [] });
    expect(r.stderr).toContain('repository tools has no images');
    const missing = await env.cli(['images', 'nope', '--public']);
    expect(missing.code).toBe(6);
  });

  it('tags --public lists every tag of a public repository, as DescribeImageTags does', async () => {
    const r = await env.cli(['tags', 'shelf', '--public', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const sdk = (await pub.send(new DescribeImageTagsCommand({ repositoryName: 'shelf' }))).imageTagDetails ?? [];
    expect(JSON.parse(r.stdout)).toEqual({
      repository: 'shelf',
      tags: sdk.map((t) => t.imageTag).sort(),
    });
    expect(JSON.parse(r.stdout).tags).toEqual(['latest', 'v1', 'v2', 'v3']);
    const text = await env.cli(['tags', 'shelf', '--public']);
    expect(text.stdout).toBe('latest\nv1\nv2\nv3\n');
    const empty = await env.cli(['tags', 'tools', '--public']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('public repository tools has no tags');
    const missing = await env.cli(['tags', 'nope', '--public']);
    expect(missing.code).toBe(6);
    // Without --public the name is a private repository, which does not exist.
    expect((await env.cli(['tags', 'shelf'])).code).toBe(6);
  });

  it('delete --public --dry-run says what would go, from the public listing, and deletes nothing', async () => {
    const before = await shelf();
    const [a] = Object.entries(before).find(([, tags]) => tags.includes('v1')) ?? [];
    const r = await env.cli(['delete', 'shelf:v1', 'shelf:v3', 'shelf:nope', '--public', '--dry-run', '-o', 'json']);
    expect(r.code).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ deleted: 2, notFound: 1, failed: 0, dryRun: true });
    expect(out.results[0]).toMatchObject({
      ref: 'shelf:v1',
      status: 'deleted',
      digest: a,
      tags: ['latest', 'v1', 'v2'],
    });
    expect(out.results[2]).toMatchObject({ ref: 'shelf:nope', status: 'not-found', code: 'ImageNotFound' });
    expect(await shelf()).toEqual(before);
    const untag = await env.cli(['delete', 'shelf:v2', '--public', '--untag-only', '--dry-run']);
    expect(untag.code).toBe(0);
    expect(untag.stdout).toMatch(new RegExp(`^would untag +shelf:v2 \\(image ${a} kept\\)$`, 'm'));
    const missing = await env.cli(['delete', 'gone:v1', '--public', '--dry-run', '-o', 'json']);
    expect(missing.code).toBe(6);
    expect(JSON.parse(missing.stdout).results[0]).toMatchObject({ status: 'not-found', code: 'RepositoryNotFound' });
    const bad = await env.cli(['delete', 'shelf', '--public']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('shelf names no public repository with a tag or digest');
  });

  it('delete --public deletes through ECR Public BatchDeleteImage: an image, and a tag alone with --untag-only', async () => {
    const before = await shelf();
    const [a] = Object.entries(before).find(([, tags]) => tags.includes('v1')) ?? [];
    const [b] = Object.entries(before).find(([, tags]) => tags.includes('v3')) ?? [];
    const untag = await env.cli(['delete', 'shelf:v2', '--public', '--untag-only']);
    expect(untag.code).toBe(0);
    expect(await shelf()).toEqual({ [a as string]: ['latest', 'v1'], [b as string]: ['v3'] });
    const r = await env.cli(['delete', 'shelf:v3', 'shelf:nope', '--public', '-o', 'json']);
    expect(r.code).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ deleted: 1, notFound: 1, failed: 0 });
    expect(out.results[0]).toMatchObject({ ref: 'shelf:v3', status: 'deleted', digest: b });
    expect(await shelf()).toEqual({ [a as string]: ['latest', 'v1'] });
  });

  it('delete-repo --public deletes a public repository (--dry-run first deletes nothing)', async () => {
    const dry = await env.cli(['delete-repo', 'tools-old', '--public', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would delete .*tools-old\n$/);
    expect(await publicNames()).toContain('tools-old');
    const wet = await env.cli(['delete-repo', 'tools-old', '--public']);
    expect(wet.code).toBe(0);
    expect(await publicNames()).toEqual(['other', 'shelf', 'tools']);
    const again = await env.cli(['delete-repo', 'tools-old', '--public']);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain('`ecrctl repos --public` lists the public repositories');
  });
});

describe('delete-repo --dry-run', () => {
  it('reports the image count and deletes nothing; without --force it still refuses', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/dry' }));
    await makeImages(env.ecr, 'team/dry', 3);
    const refused = await env.cli(['delete-repo', 'team/dry', '--dry-run']);
    expect(refused.code).toBe(1);
    const dry = await env.cli(['delete-repo', 'team/dry', '--force', '--dry-run', '-o', 'json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ name: 'team/dry', imagesDeleted: 3, dryRun: true });
    expect(dry.stderr).toContain('dry run: would delete repository team/dry and its 3 images');
    const still = await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/dry'] }));
    expect(still.repositories).toHaveLength(1);
  });
});

// --public on repos, images and delete-repo, against `ecrctl local`'s ECR Public API; and
// delete-repo --dry-run.
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import {
  CreateRepositoryCommand as CreatePublicRepositoryCommand,
  DescribeRepositoriesCommand as DescribePublicRepositoriesCommand,
  type ECRPUBLICClient,
} from '@aws-sdk/client-ecr-public';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicClient } from '../local/helpers.js';
import { makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let pub: ECRPUBLICClient;
beforeAll(async () => {
  env = await startRepoEnv();
  pub = publicClient(env.server);
  for (const name of ['tools', 'tools-old', 'other'])
    await pub.send(new CreatePublicRepositoryCommand({ repositoryName: name }));
});
afterAll(async () => {
  await env.close();
});

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

  it('delete-repo --public deletes a public repository (--dry-run first deletes nothing)', async () => {
    const dry = await env.cli(['delete-repo', 'tools-old', '--public', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would delete .*tools-old\n$/);
    expect(await publicNames()).toContain('tools-old');
    const wet = await env.cli(['delete-repo', 'tools-old', '--public']);
    expect(wet.code).toBe(0);
    expect(await publicNames()).toEqual(['other', 'tools']);
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

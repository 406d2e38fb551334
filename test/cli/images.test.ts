// `ecrctl images` against `ecrctl local`: sorted newest push first (ECR returns images in no
// useful order), other sorts, tag and age filters.
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MadeImage, makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let made: MadeImage[];

interface Listed {
  digest: string;
  tags: string[];
  sizeBytes: number;
  pushedAt: string;
}

beforeAll(async () => {
  env = await startRepoEnv();
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'empty' }));
  // Pushed in this order, 15 ms apart: sizes and tags chosen so that each sort differs.
  const tags = [['v1.10.0'], [], ['v1.2.0', 'latest'], ['v1.9.0'], []];
  const sizes = [300, 100, 500, 200, 400];
  made = await makeImages(env.ecr, 'team/app', 5, {
    tags: (i) => tags[i] ?? [],
    layerSize: (i) => sizes[i] ?? 1,
    gapMs: 15,
  });
});
afterAll(async () => {
  await env.close();
});

async function list(...args: string[]): Promise<Listed[]> {
  const r = await env.cli(['images', 'team/app', '--output', 'json', ...args]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { images: Listed[] }).images;
}

describe('images', () => {
  it('lists newest push first with digest, tags, size and times', async () => {
    const images = await list();
    expect(images.map((i) => i.digest)).toEqual([4, 3, 2, 1, 0].map((i) => made[i]?.digest));
    expect(images[2]?.tags).toEqual(['latest', 'v1.2.0']);
    expect(images[2]?.sizeBytes).toBe(500);
    expect(Date.parse(images[0]?.pushedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('sorts by size and by tag (numeric-aware, untagged last)', async () => {
    expect((await list('--sort', 'size')).map((i) => i.sizeBytes)).toEqual([500, 400, 300, 200, 100]);
    expect((await list('--sort', 'tag')).map((i) => i.tags[0] ?? '-')).toEqual([
      'latest',
      'v1.9.0',
      'v1.10.0',
      '-',
      '-',
    ]);
  });

  it('filters tagged, untagged and by --since', async () => {
    expect((await list('--tagged')).map((i) => i.digest)).toEqual([3, 2, 0].map((i) => made[i]?.digest));
    expect((await list('--untagged')).map((i) => i.digest)).toEqual([4, 1].map((i) => made[i]?.digest));
    expect(await list('--since', '1d')).toHaveLength(5);
    expect(await list('--since', '2999-01-01')).toHaveLength(0);
  });

  it('prints a table in text mode', async () => {
    const r = await env.cli(['images', 'team/app']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DIGEST +TAGS +SIZE +PUSHED +LAST PULL +SCAN +STATUS$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${made[4]?.digest.slice(0, 19)} +<untagged> +400 B +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +- +- +ACTIVE$`,
      ),
    );
    expect(lines[3]).toContain('latest,v1.2.0');
  });

  it('-q prints whole digests one per line (docker images -q); --no-trunc widens the table', async () => {
    const quiet = await env.cli(['images', 'team/app', '--untagged', '-q']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe(`${[4, 1].map((i) => made[i]?.digest).join('\n')}\n`);
    const wide = await env.cli(['images', 'team/app', '--no-trunc']);
    expect(wide.stdout.split('\n')[1]).toMatch(new RegExp(`^${made[4]?.digest} +<untagged>`));
  });

  it('rejects bad filters and a missing repository', async () => {
    const both = await env.cli(['images', 'team/app', '--tagged', '--untagged']);
    expect(both.code).toBe(2);
    const since = await env.cli(['images', 'team/app', '--since', 'last tuesday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('write a duration back from now (7d, 12h, 30m, 2w) or a date');
    const missing = await env.cli(['images', 'nope']);
    expect(missing.code).toBe(6);
    const empty = await env.cli(['images', 'empty']);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('repository empty has no images');
  });
});

// `ecrctl archive` / `ecrctl restore` against `ecrctl local`: the storage class as the SDK
// reads it back (imageStatus, lastArchivedAt, lastActivatedAt, the default ACTIVE filter), an
// archived image cannot be pulled and the error says how to restore it, and each reference
// is reported (exit 6 for a missing one, 1 for a refused one).
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  ListImagesCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';
import { type MadeImage, makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let images: MadeImage[];
let host: string;

beforeAll(async () => {
  env = await startRepoEnv();
  await env.cli(['create-repo', 'arc/app']);
  images = await makeImages(env.ecr, 'arc/app', 3, { tags: (i) => [`v${i + 1}`] });
  host = new URL(await env.server.registryEndpoint('us-east-1')).host;
});
afterAll(async () => {
  await env?.close();
});

const describeAll = async (imageStatus?: 'ARCHIVED' | 'ANY') =>
  (
    await env.ecr.send(
      new DescribeImagesCommand({ repositoryName: 'arc/app', ...(imageStatus ? { filter: { imageStatus } } : {}) }),
    )
  ).imageDetails ?? [];

describe('archive and restore', () => {
  it('archives: ECR reports ARCHIVED with lastArchivedAt, hides it from default listings, refuses to serve it', async () => {
    const before = Date.now();
    const r = await env.cli(['archive', 'arc/app:v1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`arc/app:v1\tARCHIVED\t${images[0]?.digest}\n`);

    expect((await describeAll()).map((d) => d.imageTags?.[0]).sort()).toEqual(['v2', 'v3']);
    const archived = await describeAll('ARCHIVED');
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({ imageDigest: images[0]?.digest, imageTags: ['v1'], imageStatus: 'ARCHIVED' });
    expect(archived[0]?.lastArchivedAt?.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(await describeAll('ANY')).toHaveLength(3);
    const listed = await env.ecr.send(new ListImagesCommand({ repositoryName: 'arc/app' }));
    expect(listed.imageIds?.map((i) => i.imageTag).sort()).toEqual(['v2', 'v3']);
    const got = await env.ecr.send(
      new BatchGetImageCommand({ repositoryName: 'arc/app', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(got.images).toEqual([]);
    expect(got.failures?.[0]).toMatchObject({
      failureCode: 'ImageNotFound',
      failureReason: expect.stringContaining('archived'),
    });

    // ecrctl images lists every image, the archived one with its status and time.
    const listing = await env.cli(['images', 'arc/app']);
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.stdout).toMatch(/v1 .* ARCHIVED \d{4}-\d\d-\d\dT/);
    expect(listing.stdout).toMatch(/v2 .* ACTIVE/);
    const json = JSON.parse((await env.cli(['-o', 'json', 'images', 'arc/app'])).stdout);
    expect(json.images).toHaveLength(3);

    const pull = await env.cli(['inspect', 'arc/app:v1']);
    expect(pull.code).toBe(6);
    expect(pull.stderr).toContain('The image is archived and cannot be pulled');
    expect(pull.stderr).toContain(`restore it with \`ecrctl restore ${host}/arc/app:v1\`, then pull again`);
  });

  it('restores: ACTIVATING at first, then ACTIVE with lastActivatedAt, and it can be pulled again', async () => {
    // The command the pull error suggested, as printed.
    const r = await env.cli(['-o', 'json', 'restore', `${host}/arc/app:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      results: [{ ref: `${host}/arc/app:v1`, repository: 'arc/app', digest: images[0]?.digest, status: 'ACTIVATING' }],
    });
    const activating = (
      await env.ecr.send(new DescribeImagesCommand({ repositoryName: 'arc/app', imageIds: [{ imageTag: 'v1' }] }))
    ).imageDetails?.[0];
    expect(activating?.imageStatus).toBe('ACTIVATING');
    // A restore lasts up to 20 minutes on ECR: the endpoint's clock moves past it.
    env.server.advanceClock(STATE_DELAYS_MS.restore);
    const d = (
      await env.ecr.send(new DescribeImagesCommand({ repositoryName: 'arc/app', imageIds: [{ imageTag: 'v1' }] }))
    ).imageDetails?.[0];
    expect(d?.imageStatus).toBe('ACTIVE');
    expect(d?.lastActivatedAt).toBeInstanceOf(Date);
    expect(d?.lastArchivedAt).toBeInstanceOf(Date);
    expect((await describeAll()).length).toBe(3);
    const inspect = await env.cli(['inspect', 'arc/app:v1']);
    expect(inspect.code, inspect.stderr).toBe(0);
  });

  it('reports each reference: a missing one exits 6, a refused one exits 1, the rest is done', async () => {
    const r = await env.cli(['archive', 'arc/app:v2', 'arc/app:nope', `arc/app@${images[2]?.digest}`]);
    expect(r.code).toBe(6);
    expect(r.stdout).toBe(
      `arc/app:v2\tARCHIVED\t${images[1]?.digest}\narc/app:nope\tnot-found\narc/app@${images[2]?.digest}\tARCHIVED\t${images[2]?.digest}\n`,
    );
    expect(r.stderr).toContain('1 of 3 images not found: arc/app:nope');

    const again = await env.cli(['archive', 'arc/app:v2']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is already archived');
    const active = await env.cli(['restore', 'arc/app:v1']);
    expect(active.code).toBe(1);
    expect(active.stderr).toContain('only an archived image can be restored');

    const noTag = await env.cli(['archive', 'arc/app']);
    expect(noTag.code).toBe(2);
    expect(noTag.stderr).toContain('arc/app names no tag or digest');
  });

  it('the emulator answers UpdateImageStorageClass as the SDK model describes', async () => {
    await expect(
      env.ecr.send(
        new UpdateImageStorageClassCommand({
          repositoryName: 'arc/app',
          imageId: { imageTag: 'v1' },
          targetStorageClass: 'COLD' as never,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      env.ecr.send(
        new UpdateImageStorageClassCommand({
          repositoryName: 'arc/none',
          imageId: { imageTag: 'v1' },
          targetStorageClass: 'ARCHIVE',
        }),
      ),
    ).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
    const out = await env.ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'arc/app',
        imageId: { imageTag: 'v1' },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    expect(out).toMatchObject({
      repositoryName: 'arc/app',
      imageId: { imageDigest: images[0]?.digest, imageTag: 'v1' },
      imageStatus: 'ARCHIVED',
    });
  });
});

// The emulator's lifecycle operations through the AWS SDK: put/get/delete with ECR's errors,
// the preview (in progress, then complete; paging; filter; image ids), and applying the
// policies on demand, which deletes exactly what the preview lists.
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  type GetLifecyclePolicyPreviewCommandOutput,
  PutImageCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';
import { makeImages, type MadeImage, sha256 } from '../cli/repos-fixtures.js';
import { ecrClient, start, tempDir } from './helpers.js';

const tmp = tempDir('ecrctl-local-lifecycle-');
let server: LocalServer;
let ecr: ECRClient;

beforeAll(async () => {
  server = await start(`${tmp.dir}/data`);
  ecr = ecrClient(server);
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

const rule = (
  rulePriority: number,
  selection: Record<string, unknown>,
  action: Record<string, unknown> = { type: 'expire' },
) => ({
  rulePriority,
  selection,
  action,
});
// Keep the newest 2 images tagged v*, and expire untagged images beyond the newest 1.
const POLICY = JSON.stringify({
  rules: [
    rule(1, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 2 }),
    rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
  ],
});

async function repoWithImages(name: string): Promise<MadeImage[]> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  // 0..4 tagged v0..v4, 5..7 untagged, pushed apart so push order is unambiguous.
  return makeImages(ecr, name, 8, { tags: (i) => (i < 5 ? [`v${i}`] : []), gapMs: 3, seed: name });
}

async function previewUntilDone(
  name: string,
  input: Record<string, unknown> = {},
): Promise<GetLifecyclePolicyPreviewCommandOutput> {
  for (let i = 0; i < 5; i++) {
    const out = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: name, ...input }));
    if (out.status !== 'IN_PROGRESS') return out;
    // A preview ends with time on the endpoint's clock, not with reads.
    server.advanceClock(STATE_DELAYS_MS.lifecyclePreview);
  }
  throw new Error('preview never completed');
}

describe('Put/Get/DeleteLifecyclePolicy', () => {
  it('round-trips the policy text and answers ECR exceptions', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/rt' }));
    await expect(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/rt' }))).rejects.toMatchObject({
      name: 'LifecyclePolicyNotFoundException',
      message:
        "Lifecycle policy does not exist for the repository with name 'lc/rt' in the registry with id '123456789012'",
    });
    const put = await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/rt', lifecyclePolicyText: POLICY }));
    expect(put).toMatchObject({ registryId: '123456789012', repositoryName: 'lc/rt', lifecyclePolicyText: POLICY });
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/rt' }));
    expect(got.lifecyclePolicyText).toBe(POLICY);
    expect(got.lastEvaluatedAt).toBeUndefined();
    const deleted = await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'lc/rt' }));
    expect(deleted.lifecyclePolicyText).toBe(POLICY);
    await expect(ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'lc/rt' }))).rejects.toMatchObject({
      name: 'LifecyclePolicyNotFoundException',
    });
    await expect(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/none' }))).rejects.toMatchObject({
      name: 'RepositoryNotFoundException',
    });
  });

  it.each([
    [
      'a duplicate rulePriority',
      JSON.stringify({
        rules: [
          rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
          rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 9 }),
        ],
      }),
      'rulePriority 1 is already used',
    ],
    [
      'a countUnit on a count rule',
      JSON.stringify({
        rules: [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countUnit: 'days', countNumber: 1 })],
      }),
      'takes no countUnit',
    ],
  ])('refuses %s with InvalidParameterException worded as ECR words it', async (_what, text, detail) => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/bad' })).catch(() => undefined);
    const err = await ecr
      .send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/bad', lifecyclePolicyText: text }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'InvalidParameterException' });
    const message = (err as Error).message;
    expect(message).toMatch(
      /^Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: /,
    );
    expect(message).toContain(detail);
    await expect(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/bad' }))).rejects.toMatchObject({
      name: 'LifecyclePolicyNotFoundException',
    });
  });

  it('refuses a text shorter than 100 characters (the API limit)', async () => {
    await expect(
      ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/bad', lifecyclePolicyText: '{"rules":[]}' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message:
        "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length greater than or equal to 100'",
    });
  });
});

describe('lifecycle policy preview', () => {
  let made: MadeImage[];
  beforeAll(async () => {
    made = await repoWithImages('lc/preview');
  });

  it('is IN_PROGRESS at first, then COMPLETE with one result per image acted on', async () => {
    await expect(
      ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview' })),
    ).rejects.toMatchObject({
      name: 'LifecyclePolicyPreviewNotFoundException',
    });
    // No policy given and none set: nothing to preview.
    await expect(
      ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview' })),
    ).rejects.toMatchObject({
      name: 'LifecyclePolicyNotFoundException',
    });
    const started = await ecr.send(
      new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview', lifecyclePolicyText: POLICY }),
    );
    expect(started.status).toBe('IN_PROGRESS');
    const first = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview' }));
    expect(first.status).toBe('IN_PROGRESS');
    expect(first.previewResults).toBeUndefined();
    server.advanceClock(STATE_DELAYS_MS.lifecyclePreview);
    const done = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview' }));
    expect(done.status).toBe('COMPLETE');
    expect(done.lifecyclePolicyText).toBe(POLICY);
    // v0..v2 go (beyond the newest 2 of v*), and the 2 older of 3 untagged images.
    expect(
      done.previewResults?.map((r) => [r.imageDigest, r.imageTags ?? [], r.action?.type, r.appliedRulePriority]),
    ).toEqual([
      [made[0]?.digest, ['v0'], 'EXPIRE', 1],
      [made[1]?.digest, ['v1'], 'EXPIRE', 1],
      [made[2]?.digest, ['v2'], 'EXPIRE', 1],
      [made[5]?.digest, [], 'EXPIRE', 2],
      [made[6]?.digest, [], 'EXPIRE', 2],
    ]);
    expect(done.previewResults?.[0]?.imagePushedAt).toBeInstanceOf(Date);
    expect(done.summary?.expiringImageTotalCount).toBe(5);
  });

  it('pages with maxResults / nextToken and filters by tag status', async () => {
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const out: GetLifecyclePolicyPreviewCommandOutput = await previewUntilDone('lc/preview', {
        maxResults: 2,
        ...(token ? { nextToken: token } : {}),
      });
      pages.push((out.previewResults ?? []).map((r) => r.imageDigest ?? ''));
      token = out.nextToken;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual([0, 1, 2, 5, 6].map((i) => made[i]?.digest));
    const untagged = await previewUntilDone('lc/preview', { filter: { tagStatus: 'UNTAGGED' } });
    expect(untagged.previewResults?.map((r) => r.imageDigest)).toEqual([made[5]?.digest, made[6]?.digest]);
    expect(untagged.summary?.expiringImageTotalCount).toBe(5);
    const one = await previewUntilDone('lc/preview', { imageIds: [{ imageTag: 'v1' }] });
    expect(one.previewResults?.map((r) => r.imageDigest)).toEqual([made[1]?.digest]);
    await expect(previewUntilDone('lc/preview', { maxResults: 101 })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });

  it("previews the repository's own policy when no text is given", async () => {
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/preview', lifecyclePolicyText: POLICY }));
    const started = await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/preview' }));
    expect(started.lifecyclePolicyText).toBe(POLICY);
    expect((await previewUntilDone('lc/preview')).summary?.expiringImageTotalCount).toBe(5);
  });
});

describe('applyLifecyclePolicies', () => {
  it('deletes exactly the images the preview lists, keeps the rest, and sets lastEvaluatedAt', async () => {
    const made = await repoWithImages('lc/apply');
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/apply', lifecyclePolicyText: POLICY }));
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/apply' }));
    const preview = await previewUntilDone('lc/apply');
    const listed = (preview.previewResults ?? []).map((r) => r.imageDigest).sort();

    const at = new Date();
    const applied = await server.applyLifecyclePolicies(at);
    const mine = applied.find((a) => a.repository === 'lc/apply');
    expect(mine?.expired.map((e) => e.digest).sort()).toEqual(listed);
    expect(mine?.expired.find((e) => e.digest === made[0]?.digest)?.tags).toEqual(['v0']);

    const left = await ecr.send(new DescribeImagesCommand({ repositoryName: 'lc/apply' }));
    expect(left.imageDetails?.map((d) => d.imageDigest).sort()).toEqual([3, 4, 7].map((i) => made[i]?.digest).sort());
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/apply' }));
    expect(got.lastEvaluatedAt?.getTime()).toBe(at.getTime());
    // Run again: the policy is satisfied, nothing more goes.
    expect((await server.applyLifecyclePolicies()).find((a) => a.repository === 'lc/apply')?.expired).toEqual([]);
  });

  it('keeps images a manifest list references while the list stays', async () => {
    const made = await repoWithImages('lc/index');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [0, 1].map((i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: made[i]?.digest,
        size: Buffer.byteLength(made[i]?.manifest ?? ''),
      })),
    });
    await ecr.send(new PutImageCommand({ repositoryName: 'lc/index', imageManifest: index, imageTag: 'multi' }));
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/index', lifecyclePolicyText: POLICY }));
    const applied = (await server.applyLifecyclePolicies()).find((a) => a.repository === 'lc/index');
    // v0 and v1 would go by rule 1, but the index "multi" (no v* tag, no rule selects it) lists them.
    expect(applied?.expired.map((e) => e.digest).sort()).toEqual([2, 5, 6].map((i) => made[i]?.digest).sort());
    const left = await ecr.send(new DescribeImagesCommand({ repositoryName: 'lc/index' }));
    expect(left.imageDetails?.map((d) => d.imageDigest)).toContain(sha256(index));
  });
});

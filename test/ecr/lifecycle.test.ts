// The lifecycle adapters against `ecrctl local`: not-found as values, every page of the image
// list and of the preview (small page size), index references, and the preview wait's timeout.
import * as sdk from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteLifecyclePolicy,
  getLifecyclePolicy,
  getLifecyclePreview,
  listLifecycleImages,
  putLifecyclePolicy,
  startLifecyclePreview,
} from '../../src/ecr/lifecycle.js';
import { waitForLifecyclePreview } from '../../src/ops/lifecycle.js';
import type { EcrConnection } from '../../src/ecr/repositories.js';
import { simulateLifecycle, parseLifecyclePolicy } from '../../src/policy/lifecycle/index.js';
import { makeImages, type MadeImage, type RepoTestEnv, sha256, startRepoEnv } from '../cli/repos-fixtures.js';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';

let env: RepoTestEnv;
let conn: EcrConnection;
let made: MadeImage[];
const calls = (op: string) => env.server.calls.filter((c) => c === `ecr:${op}`).length;
const POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      selection: { tagStatus: 'tagged', tagPatternList: ['rc-*'], countType: 'imageCountMoreThan', countNumber: 3 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 5,
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 },
      action: { type: 'expire' },
    },
  ],
});

beforeAll(async () => {
  env = await startRepoEnv();
  conn = { client: env.ecr, sdk, region: 'us-east-1', pageSize: 4 };
  await env.ecr.send(new sdk.CreateRepositoryCommand({ repositoryName: 'adapter/app' }));
  made = await makeImages(env.ecr, 'adapter/app', 15, {
    tags: (i) => (i % 3 === 2 ? [] : [`rc-${i}`]),
    layerSize: (i) => 100 + i,
    gapMs: 2,
  });
});
afterAll(async () => {
  await env.close();
});

describe('lifecycle adapters', () => {
  it('answers "no policy" as undefined, and a missing repository as NotFoundError', async () => {
    expect(await getLifecyclePolicy(conn, 'adapter/app')).toBeUndefined();
    expect(await deleteLifecyclePolicy(conn, 'adapter/app')).toBeUndefined();
    await expect(getLifecyclePolicy(conn, 'adapter/none')).rejects.toMatchObject({
      name: 'NotFoundError',
      exitCode: 6,
    });
    await putLifecyclePolicy(conn, 'adapter/app', POLICY);
    expect(await getLifecyclePolicy(conn, 'adapter/app')).toMatchObject({
      repository: 'adapter/app',
      registryId: '123456789012',
      text: POLICY,
    });
  });

  it('lists every image over several DescribeImages pages, with sizes and push times', async () => {
    const before = calls('DescribeImages');
    const { images } = await listLifecycleImages(conn, 'adapter/app');
    expect(calls('DescribeImages') - before).toBe(4); // 4 + 4 + 4 + 3
    expect(images.map((i) => i.digest).sort()).toEqual(made.map((m) => m.digest).sort());
    const first = images.find((i) => i.digest === made[0]?.digest);
    expect(first).toMatchObject({ tags: ['rc-0'], sizeBytes: 100, storageClass: 'standard' });
    expect(first?.pushedAt).toBeInstanceOf(Date);
  });

  it('lists archived images too, as the archive storage class (rules can select them)', async () => {
    await env.ecr.send(new sdk.CreateRepositoryCommand({ repositoryName: 'adapter/archived' }));
    const [kept, archived] = await makeImages(env.ecr, 'adapter/archived', 2, { tags: (i) => [`a${i}`] });
    await env.ecr.send(
      new sdk.UpdateImageStorageClassCommand({
        repositoryName: 'adapter/archived',
        imageId: { imageDigest: archived!.digest },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    const { images } = await listLifecycleImages(conn, 'adapter/archived');
    expect(images.map((i) => [i.digest, i.storageClass]).sort()).toEqual(
      [
        [kept!.digest, 'standard'],
        [archived!.digest, 'archive'],
      ].sort(),
    );
    expect(images.find((i) => i.digest === archived!.digest)?.lastArchivedAt).toBeInstanceOf(Date);
  });

  it('reads which images an index lists (BatchGetImage) only when asked, so they count as referenced', async () => {
    await env.ecr.send(new sdk.CreateRepositoryCommand({ repositoryName: 'adapter/index' }));
    const two = await makeImages(env.ecr, 'adapter/index', 2, { tags: (i) => [`p${i}`] });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: two.map((m) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: m.digest,
        size: Buffer.byteLength(m.manifest),
      })),
    });
    await env.ecr.send(
      new sdk.PutImageCommand({ repositoryName: 'adapter/index', imageManifest: index, imageTag: 'multi' }),
    );
    // By default no manifest is read: on ECR a BatchGetImage is recorded as a pull.
    const before = calls('BatchGetImage');
    const plain = await listLifecycleImages(conn, 'adapter/index');
    expect(calls('BatchGetImage')).toBe(before);
    expect(plain).toMatchObject({ indexes: [sha256(index)], indexesRead: false });
    for (const m of two) expect(plain.images.find((i) => i.digest === m.digest)?.referencedBy).toBeUndefined();
    const { images, indexesRead } = await listLifecycleImages(conn, 'adapter/index', { readIndexes: true });
    expect(calls('BatchGetImage')).toBe(before + 1);
    expect(indexesRead).toBe(true);
    for (const m of two) expect(images.find((i) => i.digest === m.digest)?.referencedBy).toEqual([sha256(index)]);
    expect(images.find((i) => i.digest === sha256(index))?.referencedBy).toBeUndefined();
  });

  it('walks every page of the preview and agrees with the simulator', async () => {
    await startLifecyclePreview(conn, 'adapter/app');
    expect((await getLifecyclePreview(conn, 'adapter/app')).status).toBe('IN_PROGRESS');
    // The preview ends with time on the endpoint's clock: move it past the preview's duration.
    env.server.advanceClock(STATE_DELAYS_MS.lifecyclePreview);
    const before = calls('GetLifecyclePolicyPreview');
    const preview = await waitForLifecyclePreview(conn, 'adapter/app', { timeoutMs: 5000, pollMs: [10] });
    expect(preview.status).toBe('COMPLETE');
    const policy = parseLifecyclePolicy(POLICY).policy;
    if (!policy) throw new Error('test policy invalid');
    const expected = simulateLifecycle(
      policy,
      (await listLifecycleImages(conn, 'adapter/app')).images,
      new Date(),
    ).filter((d) => d.action !== 'keep');
    // Rule 1 expires 7 of the 10 rc-* images; rule 5 ranks all 15 but acts only on the untagged
    // ones beyond the newest 10 (one): 8 results, two pages of 4.
    expect(preview.results.length).toBe(expected.length);
    expect(preview.results.length).toBeGreaterThan(4);
    expect(calls('GetLifecyclePolicyPreview') - before).toBe(Math.ceil(expected.length / 4));
    expect(preview.results.map((r) => [r.digest, r.action, r.rulePriority]).sort()).toEqual(
      expected.map((d) => [d.digest, d.action, d.rulePriority]).sort(),
    );
    expect(preview.expiringCount).toBe(expected.length);
  });

  it('gives up waiting after the timeout with a message that says what to do', async () => {
    await startLifecyclePreview(conn, 'adapter/app', POLICY);
    await expect(waitForLifecyclePreview(conn, 'adapter/app', { timeoutMs: 50, pollMs: [100] })).rejects.toThrow(
      /did not finish within 0 s/,
    );
  });
});

// Time-based states follow the endpoint's clock, not the number of reads: a scan, a lifecycle
// preview, replication, a backfill and a restore from ARCHIVE stay in progress however often a
// client looks, and reach their outcome once their duration has passed (the clock is moved
// with advanceClock, never slept through). stateDelayScale scales every duration.
import path from 'node:path';
import {
  GetAuthorizationTokenCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageReplicationStatusCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetLifecyclePolicyPreviewCommand,
  ListReplicationBackfillsCommand,
  PutLifecyclePolicyCommand,
  PutReplicationConfigurationCommand,
  StartImageScanCommand,
  StartLifecyclePolicyPreviewCommand,
  StartReplicationBackfillCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';
import { runCli } from '../helpers/cli.js';
import { ecrClient, start, tempDir } from './helpers.js';
import { dpkgStatus, pushImage } from './scanning-fixtures.js';

const tmp = tempDir('ecrctl-states-');
let server: LocalServer;
let ecr: ECRClient;

beforeAll(async () => {
  // The default scale: ECR-like durations.
  server = await start(path.join(tmp.dir, 'data'));
  ecr = ecrClient(server);
});
afterAll(async () => {
  await server?.close();
  tmp.remove();
});

const DEBIAN = { 'var/lib/dpkg/status': dpkgStatus([['bash', '5.2.15-2']]) };
const POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'keep one image, expire the rest of them',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
      action: { type: 'expire' },
    },
  ],
});

async function scanStatus(client: ECRClient, repo: string): Promise<string | undefined> {
  const out = await client.send(
    new DescribeImageScanFindingsCommand({ repositoryName: repo, imageId: { imageTag: 'v1' } }),
  );
  return out.imageScanStatus?.status;
}

async function imageStatus(client: ECRClient, repo: string): Promise<string | undefined> {
  const out = await client.send(new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1' }] }));
  return out.imageDetails?.[0]?.imageStatus;
}

async function previewStatus(client: ECRClient, repo: string): Promise<string | undefined> {
  return (await client.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))).status;
}

async function scanned(client: ECRClient, repo: string): Promise<void> {
  await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
  await pushImage(client, repo, [DEBIAN], { tag: 'v1' });
  await client.send(new StartImageScanCommand({ repositoryName: repo, imageId: { imageTag: 'v1' } }));
}

async function restoring(client: ECRClient, repo: string): Promise<string | undefined> {
  await client.send(new CreateRepositoryCommand({ repositoryName: repo }));
  await pushImage(client, repo, [{ 'etc/hostname': 'x\n' }], { tag: 'v1' });
  const id = { imageTag: 'v1' };
  await client.send(
    new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: id, targetStorageClass: 'ARCHIVE' }),
  );
  const out = await client.send(
    new UpdateImageStorageClassCommand({ repositoryName: repo, imageId: id, targetStorageClass: 'STANDARD' }),
  );
  return out.imageStatus;
}

describe('scans', () => {
  it('is IN_PROGRESS however often it is read before its duration, COMPLETE once it has passed', async () => {
    await scanned(ecr, 'st/scan');
    for (let i = 0; i < 5; i++) expect(await scanStatus(ecr, 'st/scan')).toBe('IN_PROGRESS');
    const listed = await ecr.send(new DescribeImagesCommand({ repositoryName: 'st/scan' }));
    expect(listed.imageDetails?.[0]?.imageScanStatus?.status).toBe('IN_PROGRESS');
    expect(listed.imageDetails?.[0]?.imageScanFindingsSummary).toBeUndefined();
    server.advanceClock(STATE_DELAYS_MS.scan - 1000);
    expect(await scanStatus(ecr, 'st/scan')).toBe('IN_PROGRESS');
    server.advanceClock(1000);
    const done = await ecr.send(
      new DescribeImageScanFindingsCommand({ repositoryName: 'st/scan', imageId: { imageTag: 'v1' } }),
    );
    expect(done.imageScanStatus?.status).toBe('COMPLETE');
    const after = await ecr.send(new DescribeImagesCommand({ repositoryName: 'st/scan' }));
    expect(after.imageDetails?.[0]?.imageScanStatus?.status).toBe('COMPLETE');
    // Completed no earlier than the scan's duration after it started.
    const pushed = after.imageDetails?.[0]?.imagePushedAt?.getTime() ?? 0;
    const completed = done.imageScanFindings?.imageScanCompletedAt?.getTime() ?? 0;
    expect(completed - pushed).toBeGreaterThanOrEqual(STATE_DELAYS_MS.scan - 1000);
  });
});

describe('restores from the archive storage class', () => {
  it('are ACTIVATING (listed, not pullable) until the restore duration has passed, then ACTIVE', async () => {
    expect(await restoring(ecr, 'st/restore')).toBe('ACTIVATING');
    for (let i = 0; i < 3; i++) expect(await imageStatus(ecr, 'st/restore')).toBe('ACTIVATING');
    const activating = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'st/restore', filter: { imageStatus: 'ACTIVATING' } }),
    );
    expect(activating.imageDetails?.map((d) => d.imageTags)).toEqual([['v1']]);
    const active = await ecr.send(new DescribeImagesCommand({ repositoryName: 'st/restore' }));
    expect(active.imageDetails).toEqual([]);
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'st/restore', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(got.images).toEqual([]);
    expect(got.failures?.[0]?.failureCode).toBe('ImageNotFound');
    // ECR: up to about 20 minutes.
    expect(STATE_DELAYS_MS.restore).toBe(20 * 60 * 1000);
    const restoredAt = Date.now();
    server.advanceClock(STATE_DELAYS_MS.restore - 60_000);
    expect(await imageStatus(ecr, 'st/restore')).toBe('ACTIVATING');
    server.advanceClock(60_000);
    const d = (
      await ecr.send(new DescribeImagesCommand({ repositoryName: 'st/restore', imageIds: [{ imageTag: 'v1' }] }))
    ).imageDetails?.[0];
    expect(d?.imageStatus).toBe('ACTIVE');
    // lastActivatedAt is when the restore ended, not when it was asked for.
    expect(d?.lastActivatedAt?.getTime() ?? 0).toBeGreaterThanOrEqual(restoredAt + STATE_DELAYS_MS.restore - 5000);
    const pulled = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'st/restore', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(pulled.images).toHaveLength(1);
  });

  it('a finished restore is pullable on the data plane without an API read first', async () => {
    await restoring(ecr, 'st/dataplane');
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const get = () =>
      fetch(`${token?.proxyEndpoint}/v2/st/dataplane/manifests/v1`, {
        headers: {
          authorization: `Basic ${token?.authorizationToken}`,
          accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
    expect((await get()).status).toBe(404);
    server.advanceClock(STATE_DELAYS_MS.restore);
    expect((await get()).status).toBe(200);
  });

  it('refuses to archive or restore again while ACTIVATING', async () => {
    await restoring(ecr, 'st/busy');
    const id = { imageTag: 'v1' };
    for (const targetStorageClass of ['ARCHIVE', 'STANDARD'] as const) {
      await expect(
        ecr.send(new UpdateImageStorageClassCommand({ repositoryName: 'st/busy', imageId: id, targetStorageClass })),
      ).rejects.toMatchObject({ name: 'ImageStorageClassUpdateNotSupportedException' });
    }
  });
});

describe('the 90-day minimum archive duration', () => {
  it('is reported as ECR reports it: a policy that expires archived images sooner is refused', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'st/minimum' }));
    const policy = (days: number) =>
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: 'expire archived images after a while',
            selection: {
              tagStatus: 'any',
              storageClass: 'archive',
              countType: 'sinceImageTransitioned',
              countUnit: 'days',
              countNumber: days,
            },
            action: { type: 'expire' },
          },
        ],
      });
    await expect(
      ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'st/minimum', lifecyclePolicyText: policy(30) })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining('archived images have a minimum storage duration of 90 days'),
    });
    const ok = await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: 'st/minimum', lifecyclePolicyText: policy(90) }),
    );
    expect(ok.lifecyclePolicyText).toBe(policy(90));
  });
});

describe('lifecycle previews', () => {
  it('are IN_PROGRESS first, COMPLETE once their duration has passed', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'st/preview' }));
    await pushImage(ecr, 'st/preview', [{ a: '1' }], { tag: 'v1' });
    await pushImage(ecr, 'st/preview', [{ a: '2' }], { tag: 'v2' });
    const started = await ecr.send(
      new StartLifecyclePolicyPreviewCommand({ repositoryName: 'st/preview', lifecyclePolicyText: POLICY }),
    );
    expect(started.status).toBe('IN_PROGRESS');
    for (let i = 0; i < 3; i++) expect(await previewStatus(ecr, 'st/preview')).toBe('IN_PROGRESS');
    server.advanceClock(STATE_DELAYS_MS.lifecyclePreview);
    const done = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'st/preview' }));
    expect(done.status).toBe('COMPLETE');
    expect(done.summary?.expiringImageTotalCount).toBe(1);
  });
});

describe('replication', () => {
  it('is IN_PROGRESS after a push until its duration has passed; a backfill is PREPARING, IN_PROGRESS, COMPLETE', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'st/old' }));
    await pushImage(ecr, 'st/old', [{ b: '1' }], { tag: 'v1' });
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: [
            {
              destinations: [{ region: 'eu-west-1', registryId: server.account }],
              repositoryFilters: [{ filter: 'st/', filterType: 'PREFIX_MATCH' }],
            },
          ],
        },
      }),
    );
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'st/repl' }));
    await pushImage(ecr, 'st/repl', [{ c: '1' }], { tag: 'v1' });
    const status = async () =>
      (
        await ecr.send(
          new DescribeImageReplicationStatusCommand({ repositoryName: 'st/repl', imageId: { imageTag: 'v1' } }),
        )
      ).replicationStatuses?.map((s) => s.status);
    for (let i = 0; i < 3; i++) expect(await status()).toEqual(['IN_PROGRESS']);
    server.advanceClock(STATE_DELAYS_MS.replication);
    expect(await status()).toEqual(['COMPLETE']);

    const started = await ecr.send(
      new StartReplicationBackfillCommand({ destination: { region: 'eu-west-1', registryId: server.account } }),
    );
    expect(started.status).toBe('PREPARING');
    const listed = async () =>
      (await ecr.send(new ListReplicationBackfillsCommand({}))).backfills?.map((b) => b.status);
    expect(await listed()).toEqual(['PREPARING']);
    server.advanceClock(STATE_DELAYS_MS.backfill / 2);
    expect(await listed()).toEqual(['IN_PROGRESS']);
    expect(await listed()).toEqual(['IN_PROGRESS']);
    server.advanceClock(STATE_DELAYS_MS.backfill / 2);
    expect(await listed()).toEqual(['COMPLETE']);
  });
});

describe('stateDelayScale', () => {
  it('scales every duration: at 0.5 a scan ends after half its time, a restore after 10 minutes', async () => {
    const own = await start(path.join(tmp.dir, 'data-half'), { stateDelayScale: 0.5 });
    try {
      const c = ecrClient(own);
      await scanned(c, 'half/scan');
      expect(await restoring(c, 'half/restore')).toBe('ACTIVATING');
      own.advanceClock(STATE_DELAYS_MS.scan / 2 - 1000);
      expect(await scanStatus(c, 'half/scan')).toBe('IN_PROGRESS');
      own.advanceClock(1000);
      expect(await scanStatus(c, 'half/scan')).toBe('COMPLETE');
      own.advanceClock(10 * 60_000 - STATE_DELAYS_MS.scan / 2 - 60_000);
      expect(await imageStatus(c, 'half/restore')).toBe('ACTIVATING');
      own.advanceClock(60_000);
      expect(await imageStatus(c, 'half/restore')).toBe('ACTIVE');
    } finally {
      await own.close();
    }
  });

  it('0 shows every outcome on the first read (ECR still answers the start as in progress)', async () => {
    const own = await start(path.join(tmp.dir, 'data-zero'), { stateDelayScale: 0 });
    try {
      const c = ecrClient(own);
      await scanned(c, 'zero/scan');
      expect(await scanStatus(c, 'zero/scan')).toBe('COMPLETE');
      expect(await restoring(c, 'zero/restore')).toBe('ACTIVATING');
      expect(await imageStatus(c, 'zero/restore')).toBe('ACTIVE');
      await pushImage(c, 'zero/scan', [{ d: '1' }], { tag: 'v2' });
      await c.send(
        new StartLifecyclePolicyPreviewCommand({ repositoryName: 'zero/scan', lifecyclePolicyText: POLICY }),
      );
      expect(await previewStatus(c, 'zero/scan')).toBe('COMPLETE');
    } finally {
      await own.close();
    }
  });

  it('refuses a negative or non-numeric scale, in the library and on the command line', async () => {
    await expect(start(path.join(tmp.dir, 'data-bad'), { stateDelayScale: -1 })).rejects.toThrow(
      'stateDelayScale must be a number of at least 0, got -1',
    );
    const r = await runCli([
      'local',
      'serve',
      '--port',
      '0',
      '--data',
      path.join(tmp.dir, 'cli'),
      '--state-delay-scale',
      'slow',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--state-delay-scale must be a number from 0 to 1000');
  });
});

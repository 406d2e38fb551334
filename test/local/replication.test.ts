// Replication on the local endpoint, through the SDK and the data plane: the configuration's
// rules and limits, replication on push (data plane and PutImage) to another region and
// another account, status IN_PROGRESS then COMPLETE / FAILED, REPLICATION templates, backfill.
import {
  CreateRepositoryCommand,
  CreateRepositoryCreationTemplateCommand,
  DescribeImageReplicationStatusCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  DescribeReplicationBackfillResultsCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  ListReplicationBackfillsCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  PutReplicationConfigurationCommand,
  StartReplicationBackfillCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { STATE_DELAYS_MS } from '../../src/local/state-delays.js';
import { basicAuth, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let ecrEu: ECRClient;
let tmp: { dir: string; remove: () => void };
let endpoint: string;
let auth: string;
const OTHER = '210987654321';

beforeAll(async () => {
  tmp = tempDir('ecrctl-replication-');
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  ecrEu = ecrClient(server, 'eu-west-1');
  const data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
  endpoint = data?.proxyEndpoint ?? '';
  auth = basicAuth(data?.authorizationToken ?? '');
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}

const dest = (region: string, registryId = '123456789012') => ({ region, registryId });

describe('replication configuration', () => {
  // The endpoint's clock is Date.now() plus advanceClock: Date stands still here (timers run)
  // so that a slow machine cannot end an IN_PROGRESS state the test is looking at.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it.each([
    [
      '11 rules',
      { rules: Array.from({ length: 11 }, (_, i) => ({ destinations: [dest(`eu-west-${i}`)] })) },
      /less than or equal to 10/,
    ],
    [
      '26 unique destinations',
      {
        rules: [
          { destinations: Array.from({ length: 13 }, (_, i) => dest(`ap-x-${i}`)) },
          { destinations: Array.from({ length: 13 }, (_, i) => dest(`sa-x-${i}`)) },
        ],
      },
      /at most 25 unique destinations, got 26/,
    ],
    [
      'a bad filter',
      {
        rules: [
          { destinations: [dest('eu-west-1')], repositoryFilters: [{ filter: 'Team/', filterType: 'PREFIX_MATCH' }] },
        ],
      },
      /'filter'/,
    ],
    ['the source registry', { rules: [{ destinations: [dest('us-east-1')] }] }, /are the source registry/],
    ['a bad account', { rules: [{ destinations: [dest('eu-west-1', '123')] }] }, /'registryId'/],
  ])('refuses %s', async (_what, replicationConfiguration, expected) => {
    expect(
      await errorOf(
        // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input
        ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: replicationConfiguration as any })),
      ),
    ).toMatch(new RegExp(`^InvalidParameterException: .*${expected.source}`));
  });

  it('replicates a data-plane push to another region and another account; status is IN_PROGRESS, then COMPLETE', async () => {
    const rules = [
      {
        destinations: [dest('eu-west-1'), dest('us-east-1', OTHER)],
        repositoryFilters: [{ filter: 'team/', filterType: 'PREFIX_MATCH' as const }],
      },
    ];
    await ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules } }));
    expect((await ecr.send(new DescribeRegistryCommand({}))).replicationConfiguration?.rules).toEqual(rules);
    // A REPLICATION template of the destination registry sets up the repository replication creates.
    await ecrEu.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'team',
        appliedFor: ['REPLICATION'],
        imageTagMutability: 'IMMUTABLE',
      }),
    );
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/api' }));
    const image = tinyImage('repl-1');
    expect((await pushImage(endpoint, auth, 'team/api', image, 'v1')).status).toBe(201);

    const status = async () =>
      (
        await ecr.send(
          new DescribeImageReplicationStatusCommand({ repositoryName: 'team/api', imageId: { imageTag: 'v1' } }),
        )
      ).replicationStatuses;
    expect(await status()).toEqual([
      { region: 'eu-west-1', registryId: '123456789012', status: 'IN_PROGRESS' },
      { region: 'us-east-1', registryId: OTHER, status: 'IN_PROGRESS' },
    ]);
    // While IN_PROGRESS the replica is nowhere to be seen at the destination: not through the
    // API (its repository is not even created yet) nor through the destination's data plane.
    server.advanceClock(STATE_DELAYS_MS.replication - 1000);
    expect((await status())?.map((s) => s.status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS']);
    await expect(ecrEu.send(new DescribeImagesCommand({ repositoryName: 'team/api' }))).rejects.toMatchObject({
      name: 'RepositoryNotFoundException',
    });
    const euEarly = (await ecrEu.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const early = await fetch(`${euEarly?.proxyEndpoint}/v2/team/api/manifests/v1`, {
      headers: { Authorization: basicAuth(euEarly?.authorizationToken ?? ''), Accept: image.mediaType },
    });
    expect(early.status).toBe(404);
    // Replication ends with time on the endpoint's clock, not with reads.
    server.advanceClock(1000);
    expect((await status())?.map((s) => s.status)).toEqual(['COMPLETE', 'COMPLETE']);

    const eu = await ecrEu.send(new DescribeImagesCommand({ repositoryName: 'team/api' }));
    expect(eu.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[image.manifestDigest, ['v1']]]);
    const other = await ecr.send(new DescribeRepositoriesCommand({ registryId: OTHER, repositoryNames: ['team/api'] }));
    expect(other.repositories?.[0]?.imageTagMutability).toBe('MUTABLE');
    expect(
      (await ecrEu.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/api'] }))).repositories?.[0]
        ?.imageTagMutability,
    ).toBe('IMMUTABLE');

    // The replica is pullable from the destination's data plane with the same digest.
    const euData = (await ecrEu.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const pulled = await fetch(`${euData?.proxyEndpoint}/v2/team/api/manifests/v1`, {
      headers: { Authorization: basicAuth(euData?.authorizationToken ?? ''), Accept: image.mediaType },
    });
    expect(pulled.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    const layer = await fetch(`${euData?.proxyEndpoint}/v2/team/api/blobs/${image.layerDigest}`, {
      headers: { Authorization: basicAuth(euData?.authorizationToken ?? '') },
    });
    expect(Buffer.from(await layer.arrayBuffer()).equals(image.layer)).toBe(true);
  });

  it('PutImage replicates too; a push outside the filters does not; an immutable tag at the destination fails', async () => {
    const image = tinyImage('repl-2');
    expect((await pushImage(endpoint, auth, 'team/api', image, 'v2')).status).toBe(201);
    // Retag through the API: the tag move is replicated.
    await ecr.send(
      new PutImageCommand({ repositoryName: 'team/api', imageManifest: image.manifest.toString(), imageTag: 'stable' }),
    );
    // Not at the destination while replication is IN_PROGRESS …
    await expect(
      ecrEu.send(new DescribeImagesCommand({ repositoryName: 'team/api', imageIds: [{ imageTag: 'stable' }] })),
    ).rejects.toMatchObject({ name: 'ImageNotFoundException' });
    // … and there once it is COMPLETE.
    server.advanceClock(STATE_DELAYS_MS.replication);
    const eu = await ecrEu.send(
      new DescribeImagesCommand({ repositoryName: 'team/api', imageIds: [{ imageTag: 'stable' }] }),
    );
    expect(eu.imageDetails?.[0]?.imageDigest).toBe(image.manifestDigest);

    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'other/app' }));
    expect((await pushImage(endpoint, auth, 'other/app', tinyImage('repl-3'), 'v1')).status).toBe(201);
    const none = await ecr.send(
      new DescribeImageReplicationStatusCommand({ repositoryName: 'other/app', imageId: { imageTag: 'v1' } }),
    );
    expect(none.replicationStatuses).toEqual([]);

    // v1 is immutable in the eu-west-1 replica: moving v1 here fails there.
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'team/api', imageTagMutability: 'MUTABLE' }));
    const moved = tinyImage('repl-4');
    expect((await pushImage(endpoint, auth, 'team/api', moved, 'v1')).status).toBe(201);
    await ecr.send(
      new DescribeImageReplicationStatusCommand({ repositoryName: 'team/api', imageId: { imageTag: 'v1' } }),
    );
    server.advanceClock(STATE_DELAYS_MS.replication);
    const after = await ecr.send(
      new DescribeImageReplicationStatusCommand({ repositoryName: 'team/api', imageId: { imageTag: 'v1' } }),
    );
    expect(after.replicationStatuses).toEqual([
      { region: 'eu-west-1', registryId: '123456789012', status: 'FAILED', failureCode: 'IMAGE_TAG_ALREADY_EXISTS' },
      { region: 'us-east-1', registryId: OTHER, status: 'COMPLETE' },
    ]);
  });

  it('backfills images pushed before the rule existed', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'legacy/app' }));
    const image = tinyImage('repl-5');
    expect((await pushImage(endpoint, auth, 'legacy/app', image, 'v1')).status).toBe(201);
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: [
            {
              destinations: [dest('ap-south-1')],
              repositoryFilters: [{ filter: 'legacy', filterType: 'PREFIX_MATCH' }],
            },
          ],
        },
      }),
    );
    const started = await ecr.send(new StartReplicationBackfillCommand({ destination: dest('ap-south-1') }));
    expect(started.status).toBe('PREPARING');
    const id = started.replicationBackfillId ?? '';
    // PREPARING for the first fifth of a backfill's duration, IN_PROGRESS until it has passed.
    server.advanceClock(STATE_DELAYS_MS.backfill / 2);
    expect((await ecr.send(new ListReplicationBackfillsCommand({}))).backfills?.map((b) => b.status)).toEqual([
      'IN_PROGRESS',
    ]);
    server.advanceClock(STATE_DELAYS_MS.backfill / 2);
    const done = await ecr.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: id }));
    expect(done.status).toBe('COMPLETE');
    expect(done.progress).toEqual({
      totalReplicationCount: 1,
      completedReplicationCount: 1,
      failedReplicationCount: 0,
      failureCodes: [],
    });
    expect(done.results?.[0]).toMatchObject({
      repositoryName: 'legacy/app',
      imageId: { imageDigest: image.manifestDigest, imageTag: 'v1' },
      status: 'COMPLETE',
    });
    const ap = await ecrClient(server, 'ap-south-1').send(new DescribeImagesCommand({ repositoryName: 'legacy/app' }));
    expect(ap.imageDetails?.[0]?.imageDigest).toBe(image.manifestDigest);
  });
});

// A restart on the same data directory keeps every repository, image, tag, policy and
// resource tag, the data-plane port when it is free, and the tokens handed out before.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, describe, expect, it } from 'vitest';
import { ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }],
});

describe('restart', () => {
  it('keeps everything across a restart on the same data directory', async () => {
    const image = tinyImage('restart');
    const first = await start(tmp.dir);
    const ecr = ecrClient(first);
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'keep/me',
        imageTagMutability: 'IMMUTABLE',
        tags: [{ Key: 'owner', Value: 'ci' }],
      }),
    );
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'also' }));
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'keep/me', policyText: policy }));
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const auth = `Basic ${token?.authorizationToken}`;
    expect((await pushImage(token?.proxyEndpoint ?? '', auth, 'keep/me', image, 'v1')).status).toBe(201);
    const before = await ecr.send(new DescribeImagesCommand({ repositoryName: 'keep/me' }));
    const reposBefore = await ecr.send(new DescribeRepositoriesCommand({}));
    const dataPort = new URL(token?.proxyEndpoint ?? '').port;
    await expect(start(tmp.dir)).rejects.toThrow(/the data directory .* is in use/);
    await first.close();

    // The state file is complete JSON and no temporary files are left behind.
    expect(() => JSON.parse(readFileSync(path.join(tmp.dir, 'state.json'), 'utf8'))).not.toThrow();
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const second = await start(tmp.dir);
    try {
      const again = ecrClient(second);
      expect(
        (await again.send(new DescribeRepositoriesCommand({}))).repositories?.map((r) => r.repositoryName),
      ).toEqual(reposBefore.repositories?.map((r) => r.repositoryName));
      expect((await again.send(new DescribeImagesCommand({ repositoryName: 'keep/me' }))).imageDetails).toEqual(
        before.imageDetails,
      );
      expect((await again.send(new GetRepositoryPolicyCommand({ repositoryName: 'keep/me' }))).policyText).toBe(policy);
      const arn = 'arn:aws:ecr:us-east-1:123456789012:repository/keep/me';
      expect((await again.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([
        { Key: 'owner', Value: 'ci' },
      ]);
      const endpoint = await second.registryEndpoint('us-east-1');
      expect(new URL(endpoint).port).toBe(dataPort);
      // The old token still works; the immutable tag still refuses another image.
      const pulled = await fetch(`${endpoint}/v2/keep/me/manifests/v1`, { headers: { Authorization: auth } });
      expect(pulled.status).toBe(200);
      expect(Buffer.from(await pulled.arrayBuffer())).toEqual(image.manifest);
      const blob = await fetch(`${endpoint}/v2/keep/me/blobs/${image.layerDigest}`, {
        headers: { Authorization: auth },
      });
      expect(Buffer.from(await blob.arrayBuffer())).toEqual(image.layer);
      expect((await pushImage(endpoint, auth, 'keep/me', tinyImage('other'), 'v1')).status).toBe(400);
    } finally {
      await second.close();
    }
  });

  it('lets concurrent writes all land (coalesced into few state writes)', async () => {
    const dir = tempDir();
    try {
      const server = await start(dir.dir);
      const ecr = ecrClient(server, 'eu-central-1');
      const names = Array.from({ length: 40 }, (_, i) => `parallel-${i}`);
      await Promise.all(names.map((n) => ecr.send(new CreateRepositoryCommand({ repositoryName: n }))));
      await server.close();
      const state = JSON.parse(readFileSync(path.join(dir.dir, 'state.json'), 'utf8')) as {
        registries: Record<string, { repositories: Record<string, unknown> }>;
      };
      expect(Object.keys(state.registries['private/123456789012/eu-central-1']?.repositories ?? {}).sort()).toEqual(
        [...names].sort(),
      );
    } finally {
      dir.remove();
    }
  });
});

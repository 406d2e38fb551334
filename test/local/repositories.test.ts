// The repository operations of the local ECR API, driven through @aws-sdk/client-ecr over HTTP.
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  paginateDescribeRepositories,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { ecrClient, start, tempDir } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let eu: ECRClient;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(tmp.dir);
  ecr = ecrClient(server, 'us-east-1');
  eu = ecrClient(server, 'eu-west-1');
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

/** Returns the error a promise rejects with (fails the test when it resolves). */
async function failure(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

const policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'pull',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: ['ecr:BatchGetImage'],
    },
  ],
});

describe('CreateRepository / DescribeRepositories', () => {
  it('creates a repository with ECR defaults and describes it', async () => {
    const out = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/payment-api' }));
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    expect(out.repository).toMatchObject({
      repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/team/payment-api',
      registryId: '123456789012',
      repositoryName: 'team/payment-api',
      repositoryUri: `${host}/team/payment-api`,
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
    expect(out.repository?.createdAt).toBeInstanceOf(Date);
    expect(Math.abs((out.repository?.createdAt?.getTime() ?? 0) - Date.now())).toBeLessThan(10_000);
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/payment-api'] }));
    expect(described.repositories).toEqual([out.repository]);
  });

  it('keeps the settings it was created with', async () => {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'prod/web',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          { filterType: 'WILDCARD', filter: 'latest' },
          { filterType: 'WILDCARD', filter: 'dev-*' },
        ],
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
        tags: [{ Key: 'team', Value: 'web' }],
      }),
    );
    expect(out.repository).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [
        { filterType: 'WILDCARD', filter: 'latest' },
        { filterType: 'WILDCARD', filter: 'dev-*' },
      ],
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
    });
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: out.repository?.repositoryArn }));
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'web' }]);
  });

  it.each([['Uppercase'], ['a'], ['trailing-'], ['double//slash'], ['-leading'], ['x'.repeat(257)]])(
    'refuses the name %j with InvalidParameterException',
    async (name) => {
      const err = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: name })));
      expect(err.name).toBe('InvalidParameterException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toMatch(/^Invalid parameter at 'repositoryName' failed to satisfy constraint: /);
    },
  );

  it('refuses a second repository of the same name', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'dup' }));
    const err = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'dup' })));
    expect(err.name).toBe('RepositoryAlreadyExistsException');
    expect(err.message).toBe("The repository with name 'dup' already exists in the registry with id '123456789012'");
  });

  it.each([
    [{ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const }, /requires between 1 and 5/],
    [
      {
        imageTagMutability: 'IMMUTABLE' as const,
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD' as const, filter: 'x' }],
      },
      /can only be specified/,
    ],
    [
      {
        imageTagMutability: 'MUTABLE_WITH_EXCLUSION' as const,
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD' as const, filter: 'bad/filter' }],
      },
      /filter/,
    ],
  ])('refuses inconsistent tag mutability %j', async (settings, message) => {
    const err = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut-check', ...settings })));
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toMatch(message);
  });

  it('keeps regions apart: the region comes from the signature', async () => {
    await eu.send(new CreateRepositoryCommand({ repositoryName: 'eu-only' }));
    const euOut = await eu.send(new DescribeRepositoriesCommand({ repositoryNames: ['eu-only'] }));
    expect(euOut.repositories?.[0]?.repositoryArn).toBe('arn:aws:ecr:eu-west-1:123456789012:repository/eu-only');
    const err = await failure(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['eu-only'] })));
    expect(err.name).toBe('RepositoryNotFoundException');
    expect(err.message).toBe(
      "The repository with name 'eu-only' does not exist in the registry with id '123456789012'",
    );
    expect(new URL(await server.registryEndpoint('eu-west-1')).port).not.toBe(
      new URL(await server.registryEndpoint('us-east-1')).port,
    );
  });

  it('pages through more repositories than one page holds, default page 100', async () => {
    const other = ecrClient(server, 'ap-northeast-2');
    const names = Array.from({ length: 105 }, (_, i) => `bulk/repo-${String(i).padStart(3, '0')}`);
    for (const n of names) await other.send(new CreateRepositoryCommand({ repositoryName: n }));
    const first = await other.send(new DescribeRepositoriesCommand({}));
    expect(first.repositories).toHaveLength(100);
    expect(first.nextToken).toBeTypeOf('string');
    const seen: string[] = [];
    for await (const p of paginateDescribeRepositories({ client: other, pageSize: 7 }, {})) {
      expect(p.repositories?.length).toBeLessThanOrEqual(7);
      for (const r of p.repositories ?? []) seen.push(r.repositoryName ?? '');
    }
    expect(seen).toEqual(names);
    const err = await failure(other.send(new DescribeRepositoriesCommand({ maxResults: 1001 })));
    expect(err.name).toBe('InvalidParameterException');
  });
});

describe('settings, policies and tags', () => {
  it('changes tag mutability and scanning configuration', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'settings' }));
    const mut = await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'settings', imageTagMutability: 'IMMUTABLE' }),
    );
    expect(mut).toMatchObject({
      registryId: '123456789012',
      repositoryName: 'settings',
      imageTagMutability: 'IMMUTABLE',
    });
    const scan = await ecr.send(
      new PutImageScanningConfigurationCommand({
        repositoryName: 'settings',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    expect(scan.imageScanningConfiguration).toEqual({ scanOnPush: true });
    const d = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['settings'] }));
    expect(d.repositories?.[0]).toMatchObject({
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
    });
  });

  it('sets, gets and deletes a repository policy', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'with-policy' }));
    const missing = await failure(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'with-policy' })));
    expect(missing.name).toBe('RepositoryPolicyNotFoundException');
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'with-policy', policyText: policy }));
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'with-policy' }));
    expect(got).toMatchObject({ registryId: '123456789012', repositoryName: 'with-policy', policyText: policy });
    const bad = await failure(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'with-policy', policyText: '{not json' })),
    );
    expect(bad.name).toBe('InvalidParameterException');
    const del = await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'with-policy' }));
    expect(del.policyText).toBe(policy);
    const again = await failure(ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'with-policy' })));
    expect(again.name).toBe('RepositoryPolicyNotFoundException');
  });

  it('tags and untags a repository by ARN, at most 50 tags', async () => {
    const arn = (await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tagged' }))).repository?.repositoryArn;
    await ecr.send(
      new TagResourceCommand({
        resourceArn: arn,
        tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'a', Value: '3' }] }));
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['b'] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([
      { Key: 'a', Value: '3' },
    ]);
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const err = await failure(ecr.send(new TagResourceCommand({ resourceArn: arn, tags: many })));
    expect(err.name).toBe('TooManyTagsException');
    const badArn = await failure(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:s3:::bucket' })));
    expect(badArn.name).toBe('InvalidParameterException');
    const gone = await failure(
      ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecr:us-east-1:123456789012:repository/nope' })),
    );
    expect(gone.name).toBe('RepositoryNotFoundException');
  });

  it('deletes an empty repository and then does not find it', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'short-lived' }));
    const out = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'short-lived' }));
    expect(out.repository?.repositoryName).toBe('short-lived');
    const err = await failure(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'short-lived' })));
    expect(err.name).toBe('RepositoryNotFoundException');
    expect(err.$metadata.httpStatusCode).toBe(400);
  });
});

describe('registry and authorization', () => {
  it('returns a long AWS token whose proxyEndpoint is the data plane of the region', async () => {
    const before = Date.now();
    const out = await eu.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    expect(decoded.startsWith('AWS:')).toBe(true);
    expect(decoded.length).toBeGreaterThan(2048);
    expect(data?.proxyEndpoint).toBe(await server.registryEndpoint('eu-west-1'));
    const ttl = (data?.expiresAt?.getTime() ?? 0) - before;
    expect(ttl).toBeGreaterThan(12 * 3600 * 1000 - 60_000);
    expect(ttl).toBeLessThan(12 * 3600 * 1000 + 60_000);
    const res = await fetch(`${data?.proxyEndpoint}/v2/`, {
      headers: { Authorization: `Basic ${data?.authorizationToken}` },
    });
    expect(res.status).toBe(200);
  });

  it('describes the registry', async () => {
    const out = await ecr.send(new DescribeRegistryCommand({}));
    expect(out).toMatchObject({ registryId: '123456789012', replicationConfiguration: { rules: [] } });
  });

  it('answers an unsigned request as AWS does (403 MissingAuthenticationTokenException)', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
      },
      body: '{}',
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { __type: string; message: string };
    expect(body.__type).toMatch(/MissingAuthenticationTokenException$/);
    expect(body.message).toBe('Missing Authentication Token');
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.NoSuchThing',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toMatch(/UnknownOperationException$/);
  });

  it('records the operations called, in order', () => {
    expect(server.calls.slice(0, 2)).toEqual(['ecr:CreateRepository', 'ecr:DescribeRepositories']);
    expect(server.calls).toContain('ecr:GetAuthorizationToken');
  });
});

// Repository creation templates and pull-through cache rules on the local endpoint, through
// the SDK: the API's rules and errors, and CREATE_ON_PUSH on the data plane (longest prefix
// wins, ROOT as the fallback, NAME_UNKNOWN without a template).
import {
  CreatePullThroughCacheRuleCommand,
  CreateRepositoryCommand,
  CreateRepositoryCreationTemplateCommand,
  DeletePullThroughCacheRuleCommand,
  DeleteRepositoryCreationTemplateCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  UpdateRepositoryCreationTemplateCommand,
  ValidatePullThroughCacheRuleCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { basicAuth, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let tmp: { dir: string; remove: () => void };
let endpoint: string;
let auth: string;

const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage'] }],
});

beforeAll(async () => {
  tmp = tempDir('ecrctl-templates-');
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = token.authorizationData?.[0];
  endpoint = data?.proxyEndpoint ?? '';
  auth = basicAuth(data?.authorizationToken ?? '');
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('repository creation templates', () => {
  it('creates, describes, updates and deletes a template; a second one of the same prefix is refused', async () => {
    const out = await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'tmpl-a/',
        appliedFor: ['REPLICATION'],
        imageTagMutability: 'IMMUTABLE',
        description: 'team a',
      }),
    );
    expect(out.repositoryCreationTemplate?.prefix).toBe('tmpl-a');
    expect(out.repositoryCreationTemplate?.encryptionConfiguration).toEqual({ encryptionType: 'AES256' });
    expect(
      await errorName(
        ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'tmpl-a', appliedFor: ['REPLICATION'] })),
      ),
    ).toMatch(/^TemplateAlreadyExistsException: .*'tmpl-a'/);
    const upd = await ecr.send(
      new UpdateRepositoryCreationTemplateCommand({ prefix: 'tmpl-a', appliedFor: ['REPLICATION', 'CREATE_ON_PUSH'] }),
    );
    expect(upd.repositoryCreationTemplate?.appliedFor).toEqual(['REPLICATION', 'CREATE_ON_PUSH']);
    expect(upd.repositoryCreationTemplate?.imageTagMutability).toBe('IMMUTABLE');
    const listed = await ecr.send(new DescribeRepositoryCreationTemplatesCommand({ prefixes: ['tmpl-a'] }));
    expect(listed.repositoryCreationTemplates?.map((t) => t.description)).toEqual(['team a']);
    await ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'tmpl-a' }));
    expect(await errorName(ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'tmpl-a' })))).toMatch(
      /^TemplateNotFoundException/,
    );
  });

  it.each([
    [{ prefix: 'Bad_Prefix', appliedFor: ['CREATE_ON_PUSH'] }, /InvalidParameterException: .*'prefix'/],
    [{ prefix: 'ok', appliedFor: [] }, /InvalidParameterException: .*'appliedFor'/],
    [{ prefix: 'ok', appliedFor: ['ON_PULL'] }, /InvalidParameterException: .*enum value set/],
    [
      { prefix: 'ok', appliedFor: ['CREATE_ON_PUSH'], lifecyclePolicy: 'not json' },
      /InvalidParameterException: .*lifecyclePolicy/,
    ],
    [
      { prefix: 'ok', appliedFor: ['CREATE_ON_PUSH'], imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' },
      /between 1 and 5/,
    ],
  ])('refuses %j', async (input, expected) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid input the SDK types forbid
    expect(await errorName(ecr.send(new CreateRepositoryCreationTemplateCommand(input as any)))).toMatch(expected);
  });

  it('CREATE_ON_PUSH: a push under a template prefix creates the repository with its settings; the longest prefix wins', async () => {
    const lifecycle = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
          action: { type: 'expire' },
        },
      ],
    });
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'prod',
        appliedFor: ['CREATE_ON_PUSH'],
        imageTagMutability: 'MUTABLE',
        resourceTags: [{ Key: 'tier', Value: 'prod' }],
      }),
    );
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'prod/payments',
        appliedFor: ['CREATE_ON_PUSH'],
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
        repositoryPolicy: POLICY,
        lifecyclePolicy: lifecycle,
        resourceTags: [{ Key: 'team', Value: 'payments' }],
      }),
    );
    const res = await pushImage(endpoint, auth, 'prod/payments/api', tinyImage('cop-1'), 'v1');
    expect(res.status).toBe(201);
    const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prod/payments/api'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(repo?.imageTagMutabilityExclusionFilters).toEqual([{ filterType: 'WILDCARD', filter: 'dev-*' }]);
    expect(repo?.encryptionConfiguration).toEqual({
      encryptionType: 'KMS',
      kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc',
    });
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }));
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'payments' }]);
    expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'prod/payments/api' }))).policyText).toBe(
      POLICY,
    );

    // `prod` covers prod/web but not production/web (the prefix is a namespace).
    expect((await pushImage(endpoint, auth, 'prod/web', tinyImage('cop-2'), 'v1')).status).toBe(201);
    const web = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prod/web'] }))).repositories?.[0];
    expect(web?.imageTagMutability).toBe('MUTABLE');
    const refused = await pushImage(endpoint, auth, 'production/web', tinyImage('cop-3'), 'v1').catch(
      (e: Error) => e.message,
    );
    expect(String(refused)).toMatch(/blob push failed: 404 .*NAME_UNKNOWN/);
  });

  it('ROOT is the fallback; a template for REPLICATION only does not create on push', async () => {
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'repl-only', appliedFor: ['REPLICATION'] }));
    const refused = await pushImage(endpoint, auth, 'repl-only/app', tinyImage('cop-4'), 'v1').catch(
      (e: Error) => e.message,
    );
    expect(String(refused)).toMatch(/404 .*NAME_UNKNOWN/);
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'ROOT',
        appliedFor: ['CREATE_ON_PUSH'],
        imageTagMutability: 'IMMUTABLE',
      }),
    );
    expect((await pushImage(endpoint, auth, 'anything/else', tinyImage('cop-5'), 'v1')).status).toBe(201);
    const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['anything/else'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    // An existing repository keeps its own settings.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'plain' }));
    expect((await pushImage(endpoint, auth, 'plain', tinyImage('cop-6'), 'v1')).status).toBe(201);
    expect(
      (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['plain'] }))).repositories?.[0]
        ?.imageTagMutability,
    ).toBe('MUTABLE');
    await ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'ROOT' }));
  });
});

describe('pull-through cache rules', () => {
  const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf';

  it('creates, lists, validates and deletes rules', async () => {
    const made = await ecr.send(
      new CreatePullThroughCacheRuleCommand({
        ecrRepositoryPrefix: 'docker-hub',
        upstreamRegistryUrl: 'registry-1.docker.io',
        upstreamRegistry: 'docker-hub',
        credentialArn: secret,
      }),
    );
    expect(made.upstreamRegistry).toBe('docker-hub');
    // upstreamRegistry is inferred from the URL when absent.
    const quay = await ecr.send(
      new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'quay', upstreamRegistryUrl: 'quay.io' }),
    );
    expect(quay.upstreamRegistry).toBe('quay');
    const listed = await ecr.send(new DescribePullThroughCacheRulesCommand({}));
    expect(listed.pullThroughCacheRules?.map((r) => r.ecrRepositoryPrefix)).toEqual(['docker-hub', 'quay']);
    const v = await ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'docker-hub' }));
    // Offline, the endpoint cannot sign in to the upstream: it says so instead of "valid".
    expect(v.isValid).toBe(false);
    expect(v.failure).toContain('not checked: ecrctl local is offline');
    expect(v.credentialArn).toBe(secret);
    await ecr.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'quay' }));
    expect(await errorName(ecr.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'quay' })))).toMatch(
      /^PullThroughCacheRuleNotFoundException/,
    );
    expect(
      await errorName(
        ecr.send(
          new CreatePullThroughCacheRuleCommand({
            ecrRepositoryPrefix: 'docker-hub',
            upstreamRegistryUrl: 'registry-1.docker.io',
            credentialArn: secret,
          }),
        ),
      ),
    ).toMatch(/^PullThroughCacheRuleAlreadyExistsException/);
  });

  it.each([
    [
      { ecrRepositoryPrefix: 'x', upstreamRegistryUrl: 'quay.io' },
      /InvalidParameterException: .*ecrRepositoryPrefix.*greater than or equal to 2/,
    ],
    [{ ecrRepositoryPrefix: 'a'.repeat(31), upstreamRegistryUrl: 'quay.io' }, /less than or equal to 30/],
    [{ ecrRepositoryPrefix: 'ghcr', upstreamRegistryUrl: 'ghcr.io' }, /credentialArn is required/],
    [
      {
        ecrRepositoryPrefix: 'ghcr',
        upstreamRegistryUrl: 'ghcr.io',
        credentialArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:my-ghcr-token-AbCdEf',
      },
      /InvalidParameterException: .*credentialArn.*ecr\\-pullthroughcache/,
    ],
    [
      { ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'docker.example.com' },
      /^UnsupportedUpstreamRegistryException/,
    ],
    [
      { ecrRepositoryPrefix: 'k8s', upstreamRegistryUrl: 'registry.k8s.io', credentialArn: secret },
      /not supported for upstream registry 'k8s'/,
    ],
  ])('refuses %j', async (input, expected) => {
    expect(await errorName(ecr.send(new CreatePullThroughCacheRuleCommand(input)))).toMatch(expected);
  });
});

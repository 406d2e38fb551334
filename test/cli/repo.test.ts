// `ecrctl repo show` and `repo set` against `ecrctl local`, checked with the SDK and the AWS CLI.
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  PutReplicationConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
beforeAll(async () => {
  env = await startRepoEnv();
  await env.ecr.send(
    new CreateRepositoryCommand({ repositoryName: 'team/app', tags: [{ Key: 'team', Value: 'payments' }] }),
  );
  await makeImages(env.ecr, 'team/app', 2);
  await env.ecr.send(
    new PutLifecyclePolicyCommand({
      repositoryName: 'team/app',
      lifecyclePolicyText: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
            action: { type: 'expire' },
          },
        ],
      }),
    }),
  );
  await env.ecr.send(
    new PutReplicationConfigurationCommand({
      replicationConfiguration: {
        rules: [
          {
            destinations: [{ region: 'eu-west-1', registryId: '000000000000' }],
            repositoryFilters: [{ filter: 'team/', filterType: 'PREFIX_MATCH' }],
          },
          {
            destinations: [{ region: 'us-west-2', registryId: '000000000000' }],
            repositoryFilters: [{ filter: 'other/', filterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    }),
  );
});
afterAll(async () => {
  await env.close();
});

const describeRepo = async (name: string) =>
  (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];

describe('repo show', () => {
  it('shows settings, policies, tags, image count and the replication rules that cover it', async () => {
    const r = await env.cli(['repo', 'show', 'team/app', '--output', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    const sdk = await describeRepo('team/app');
    expect(d).toMatchObject({
      name: 'team/app',
      uri: sdk?.repositoryUri,
      arn: sdk?.repositoryArn,
      tagMutability: 'MUTABLE',
      scanOnPush: false,
      imageCount: 2,
      resourceTags: [{ key: 'team', value: 'payments' }],
      replicatesTo: [`eu-west-1:000000000000`],
      repositoryPolicy: null,
    });
    expect(d.lifecyclePolicy.rules[0].selection.countNumber).toBe(7);

    const text = await env.cli(['repo', 'show', 'team/app']);
    expect(text.stdout).toContain('  images            2\n');
    expect(text.stdout).toContain('  replicates to     eu-west-1:000000000000\n');
    expect(text.stdout).toContain('  lifecycle policy  1 rule (--output json shows it)\n');
  });

  it('agrees with the AWS CLI on the repository', async () => {
    const aws = await env.aws(['describe-repositories', '--repository-names', 'team/app']);
    expect(aws.code).toBe(0);
    const repo = JSON.parse(aws.stdout).repositories[0];
    const d = JSON.parse((await env.cli(['repo', 'show', 'team/app', '-o', 'json'])).stdout);
    expect([d.uri, d.arn, d.tagMutability, d.encryption.type]).toEqual([
      repo.repositoryUri,
      repo.repositoryArn,
      repo.imageTagMutability,
      repo.encryptionConfiguration.encryptionType,
    ]);
  });

  it('exits 6 for a missing repository, naming the region', async () => {
    const r = await env.cli(['repo', 'show', 'team/nope']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('repository team/nope does not exist in us-east-1');
  });
});

describe('repo set', () => {
  it('--dry-run lists the changes and makes none; then they are made; then nothing is left to do', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/set' }));
    const args = ['repo', 'set', 'team/set', '--immutable', '--scan-on-push', '--resource-tag', 'env=prod'];
    const dry = await env.cli([...args, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^team\/set: would change \(dry run\)\n {2}/);
    expect(dry.stdout.trimEnd().split('\n')).toHaveLength(4);
    let repo = await describeRepo('team/set');
    expect([repo?.imageTagMutability, repo?.imageScanningConfiguration?.scanOnPush]).toEqual(['MUTABLE', false]);

    const wet = await env.cli([...args, '-o', 'json']);
    expect(wet.code).toBe(0);
    expect(JSON.parse(wet.stdout)).toMatchObject({ status: 'updated', dryRun: false });
    repo = await describeRepo('team/set');
    expect([repo?.imageTagMutability, repo?.imageScanningConfiguration?.scanOnPush]).toEqual(['IMMUTABLE', true]);
    const tags = await env.ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }));
    expect(tags.tags).toEqual([{ Key: 'env', Value: 'prod' }]);

    const again = await env.cli(args);
    expect(again.stdout).toBe('team/set: unchanged\n');
  });

  it('refuses a missing repository (6), no settings (2), and a bad value before any change (3)', async () => {
    expect((await env.cli(['repo', 'set', 'team/nope', '--immutable'])).code).toBe(6);
    const none = await env.cli(['repo', 'set', 'team/app']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to set on team/app');
    const both = await env.cli(['repo', 'set', 'team/app', '--immutable', '--mutable']);
    expect(both.code).toBe(2);
    const bad = await env.cli(['repo', 'set', 'team/app', '--scan-on-push', '--resource-tag', 'aws:x=1']);
    expect(bad.code).toBe(3);
    expect((await describeRepo('team/app'))?.imageScanningConfiguration?.scanOnPush).toBe(false);
  });
});

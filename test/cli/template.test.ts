// `ecrctl template` against `ecrctl local`: a CREATE_ON_PUSH template makes `ecrctl
// tag-push` to a repository that does not exist create it with the template's settings;
// without a template the push is refused. Settings are checked locally first (exit 3).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

let t: LocalCliEnv;
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: ['ecr:BatchGetImage'] }],
});

beforeAll(async () => {
  t = await startLocalCliEnv('ecrctl-template-');
  writeFileSync(path.join(t.dir, 'policy.json'), POLICY);
  writeFileSync(
    path.join(t.dir, 'bad-lifecycle.json'),
    JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 5 },
          action: { type: 'expire' },
        },
      ],
    }),
  );
});
afterAll(async () => {
  await t.close();
});

function layout(seed: number, name: string): string {
  const dir = path.join(t.dir, name);
  writeOciLayout(dir, [{ image: buildImage(seed, { layers: 1, layerSize: 1024 }), tag: 'latest' }]);
  return dir;
}

describe('template', () => {
  it('a push to a missing repository is refused without a template, and creates it with the template settings with one', async () => {
    const dir = layout(1, 'src1');
    let r = await t.cli(['tag-push', `oci:${dir}:latest`, 'prod/payments/api:v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('prod/payments/api does not exist');
    // The image to copy, in a repository that exists.
    expect((await t.cli(['create-repo', 'staging/api'])).code).toBe(0);
    expect((await t.cli(['tag-push', `oci:${dir}:latest`, 'staging/api:v1'])).code).toBe(0);
    r = await t.cli(['copy', 'staging/api:v1', 'prod/payments/api:v1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/prod\/payments\/api.*does not exist/);

    r = await t.cli([
      'template',
      'create',
      'prod/payments',
      '--applied-for',
      'CREATE_ON_PUSH',
      '--applied-for',
      'REPLICATION',
      '--tag-mutability',
      'IMMUTABLE_WITH_EXCLUSION',
      '--mutability-exclusion',
      'dev-*',
      '--encryption',
      'KMS',
      '--kms-key',
      'arn:aws:kms:us-east-1:123456789012:key/1111',
      '--lifecycle',
      'preset:expire-untagged,days=7',
      '--policy',
      path.join(t.dir, 'policy.json'),
      '--tag',
      'team=payments',
      '--description',
      'payments services',
    ]);
    expect(r.stderr).toContain('created repository creation template prod/payments (CREATE_ON_PUSH, REPLICATION)');
    expect(r.code).toBe(0);

    // tag-push (blob upload, then manifest) creates prod/payments/api from the template.
    r = await t.cli(['tag-push', `oci:${dir}:latest`, 'prod/payments/api:v1']);
    expect(r.stderr).not.toContain('error');
    expect(r.stderr).toContain(
      'prod/payments/api does not exist: the creation template prod/payments creates it on push',
    );
    expect(r.code).toBe(0);
    // copy goes the same way for a second repository under the prefix.
    r = await t.cli(['copy', 'staging/api:v1', 'prod/payments/worker:v1']);
    expect(r.code).toBe(0);
    const repo = (await t.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['prod/payments/api'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(repo?.imageTagMutabilityExclusionFilters).toEqual([{ filterType: 'WILDCARD', filter: 'dev-*' }]);
    expect(repo?.encryptionConfiguration).toEqual({
      encryptionType: 'KMS',
      kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/1111',
    });
    expect((await t.ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }))).tags).toEqual([
      { Key: 'team', Value: 'payments' },
    ]);
    expect((await t.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'prod/payments/api' }))).policyText).toBe(
      POLICY,
    );
    const lifecycle = (await t.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'prod/payments/api' })))
      .lifecyclePolicyText;
    expect(JSON.parse(lifecycle ?? '{}').rules[0].selection).toMatchObject({
      tagStatus: 'untagged',
      countType: 'sinceImagePushed',
      countNumber: 7,
    });
  });

  it('lists and deletes templates', async () => {
    expect((await t.cli(['template', 'create', 'ROOT', '--applied-for', 'REPLICATION'])).code).toBe(0);
    let r = await t.cli(['template', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PREFIX\s+APPLIED FOR\s+TAGS\s+ENCRYPTION\s+LIFECYCLE\s+POLICY\n/);
    expect(r.stdout).toMatch(
      /prod\/payments\s+CREATE_ON_PUSH,REPLICATION\s+IMMUTABLE_WITH_EXCLUSION\s+KMS\s+yes\s+yes/,
    );
    expect(r.stdout).toMatch(/ROOT\s+REPLICATION\s+MUTABLE\s+AES256\s+-\s+-/);
    r = await t.cli(['template', 'delete', 'ROOT']);
    expect(r.code).toBe(0);
    r = await t.cli(['template', 'delete', 'ROOT']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("prefix 'ROOT' does not exist");
    r = await t.cli(['template', 'list', '--output', 'json']);
    expect((JSON.parse(r.stdout) as { templates: { prefix: string }[] }).templates.map((x) => x.prefix)).toEqual([
      'prod/payments',
    ]);
  });

  it.each([
    ['a prefix that is no namespace', ['Prod_Team'], /prefix "Prod_Team": a repository namespace/],
    [
      'an invalid lifecycle policy',
      ['app', '--lifecycle', 'bad-lifecycle.json'],
      /the lifecycle policy .*bad-lifecycle.json is not valid/,
    ],
    [
      'a bad exclusion filter',
      ['app', '--tag-mutability', 'IMMUTABLE_WITH_EXCLUSION', '--mutability-exclusion', 'a b'],
      /--mutability-exclusion/,
    ],
  ])('refuses %s with exit 3', async (_what, args, expected) => {
    const fixed = args.map((a) => (a.endsWith('.json') ? path.join(t.dir, a) : a));
    const r = await t.cli(['template', 'create', ...fixed]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(expected);
  });
});

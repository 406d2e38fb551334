// `ecrctl create-repo` against `ecrctl local`: every flag lands in the repository as the SDK
// reads it back; bad names and bad options exit 3 (or 2) and create nothing.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'pull',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: ['ecr:BatchGetImage'],
    },
  ],
});

beforeAll(async () => {
  env = await startRepoEnv();
  writeFileSync(path.join(env.dir, 'policy.json'), POLICY);
  // A syntax error on line 3, column 14: a trailing comma before the closing brace.
  writeFileSync(path.join(env.dir, 'broken.json'), '{\n  "Version": "2012-10-17",\n  "Statement": [],\n}\n');
  writeFileSync(path.join(env.dir, 'huge.json'), JSON.stringify({ Statement: [], Pad: 'x'.repeat(10_300) }));
});
afterAll(async () => {
  await env.close();
});

async function describe1(name: string) {
  const out = await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
  return out.repositories?.[0];
}

async function repositoryNames(): Promise<string[]> {
  const out = await env.ecr.send(new DescribeRepositoriesCommand({}));
  return (out.repositories ?? []).map((r) => r.repositoryName ?? '').sort();
}

describe('create-repo', () => {
  it('creates a repository with every setting, as DescribeRepositories and the policy calls show', async () => {
    const kms = 'arn:aws:kms:us-east-1:123456789012:key/1111-2222';
    const r = await env.cli(
      [
        'create-repo',
        'team/payment-api',
        '--tag-mutability',
        'IMMUTABLE_WITH_EXCLUSION',
        '--mutability-exclusion',
        'dev-*',
        '--mutability-exclusion',
        'pr-*',
        '--scan-on-push',
        '--encryption',
        'KMS',
        '--kms-key',
        kms,
        '--lifecycle',
        'preset:expire-untagged,days=7',
        '--policy',
        'policy.json',
        '--resource-tag',
        'team=payments',
        '--tag',
        'env=prod',
      ],
      { cwd: env.dir },
    );
    expect(r.stderr).toContain('created repository team/payment-api');
    expect(r.code).toBe(0);
    const repo = await describe1('team/payment-api');
    expect(r.stdout).toBe(`${repo?.repositoryUri}\n`);
    expect(repo?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION');
    expect(repo?.imageTagMutabilityExclusionFilters).toEqual([
      { filterType: 'WILDCARD', filter: 'dev-*' },
      { filterType: 'WILDCARD', filter: 'pr-*' },
    ]);
    expect(repo?.imageScanningConfiguration?.scanOnPush).toBe(true);
    expect(repo?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: kms });
    const lifecycle = await env.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'team/payment-api' }));
    const rule = (
      JSON.parse(lifecycle.lifecyclePolicyText ?? '{}') as { rules: { selection: Record<string, unknown> }[] }
    ).rules[0];
    expect(rule?.selection).toMatchObject({ tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7 });
    const policy = await env.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'team/payment-api' }));
    expect(JSON.parse(policy.policyText ?? '{}')).toEqual(JSON.parse(POLICY));
    const tags = await env.ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }));
    expect(tags.tags).toEqual([
      { Key: 'team', Value: 'payments' },
      { Key: 'env', Value: 'prod' },
    ]);
  });

  it('--immutable is IMMUTABLE; defaults are MUTABLE, no scan, AES256', async () => {
    expect((await env.cli(['create-repo', 'short-imm', '--immutable'])).code).toBe(0);
    expect((await describe1('short-imm'))?.imageTagMutability).toBe('IMMUTABLE');
    expect((await env.cli(['create-repo', 'plain'])).code).toBe(0);
    const plain = await describe1('plain');
    expect(plain?.imageTagMutability).toBe('MUTABLE');
    expect(plain?.imageScanningConfiguration?.scanOnPush).toBe(false);
    expect(plain?.encryptionConfiguration?.encryptionType).toBe('AES256');
  });

  it('an invalid name exits 3 with the rule, the offending character and a suggestion, and creates nothing', async () => {
    const r = await env.cli(['create-repo', 'good-one', 'Payment_API']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("'Payment_API' is not a valid repository name; nothing was created");
    expect(r.stderr).toContain("character 'P' at position 1 is not allowed: repository names are lowercase");
    expect(r.stderr).toContain("use 'payment-api' instead of 'Payment_API'");
    expect(r.stderr).toMatch(/rule: +repository names have 2–256 characters/);
    expect(r.stdout).toBe('');
    expect(await repositoryNames()).not.toContain('good-one');
  });

  it.each([
    ['a', 'name is 1 character long: repository names have 2–256 characters'],
    ['team//app', "'//' at position 5 is not allowed"],
    ['app-', "character '-' at position 4 is not allowed: repository names end with a letter or digit"],
  ])('rejects %s with exit 3 and says why', async (name, why) => {
    const r = await env.cli(['create-repo', name]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(why);
  });

  it('house rules warn; with --strict-names they exit 3 and nothing is created', async () => {
    const warn = await env.cli(['create-repo', 'my_app']);
    expect(warn.code).toBe(0);
    expect(warn.stderr).toContain("warning: 'my_app' uses '_' at position 3: house rule");
    expect(warn.stderr).toContain("(e.g. 'my-app')");
    const strict = await env.cli(['create-repo', 'my_other_app', '--strict-names']);
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain("use 'my-other-app' instead of 'my_other_app'");
    expect(await repositoryNames()).not.toContain('my_other_app');
  });

  it('in CodeBuild, warns when the name differs from the project name', async () => {
    const r = await env.cli(['create-repo', 'payments'], { env: { CODEBUILD_BUILD_ID: 'billing-api:0b1c' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("differs from the CodeBuild project name 'billing-api'");
  });

  it.each([
    [
      [
        '--tag-mutability',
        'IMMUTABLE_WITH_EXCLUSION',
        ...['a', 'b', 'c', 'd', 'e', 'f'].flatMap((p) => ['--mutability-exclusion', `${p}-*`]),
      ],
      3,
      '6 exclusion filters given: tag mutability takes 1–5',
    ],
    [
      ['--tag-mutability', 'IMMUTABLE_WITH_EXCLUSION', '--mutability-exclusion', 'bad/*'],
      3,
      "character '/' at position 4 is not allowed",
    ],
    [['--tag-mutability', 'IMMUTABLE_WITH_EXCLUSION'], 3, 'exclusion filters given: tag mutability takes 1–5'],
    [['--mutability-exclusion', 'dev-*'], 2, '--mutability-exclusion needs an *_WITH_EXCLUSION tag mutability'],
    [
      ['--tag-mutability', 'SOMETIMES'],
      2,
      'Allowed choices are MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION',
    ],
    [['--policy', 'broken.json'], 3, 'is not valid JSON: line 4, column 1'],
    [['--policy', 'huge.json'], 3, 'ECR allows at most 10240'],
    [['--policy', 'missing.json'], 6, 'repository policy file missing.json does not exist'],
    [['--lifecycle', 'preset:expire-untagged,days=0'], 2, 'days'],
    [['--lifecycle', 'policy.json'], 3, 'the lifecycle policy policy.json is not valid'],
    [['--resource-tag', 'novalue'], 2, 'a resource tag takes KEY=VALUE'],
    [['--tag', `k=${'v'.repeat(257)}`], 3, 'values have at most 256 characters'],
    [['--tag', 'aws:owner=me'], 3, "starts with 'aws:'"],
    [['--encryption', 'AES256', '--kms-key', 'arn:aws:kms:x'], 2, '--kms-key works with --encryption KMS'],
    [['--apply'], 2, '--apply works only with --if-not-exists'],
    [['--description', 'x'], 2, 'add --public'],
  ])('rejects options %j before any call (exit %i)', async (args, code, message) => {
    const r = await env.cli(['create-repo', 'never-made', ...args], { cwd: env.dir });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(code);
    expect(await repositoryNames()).not.toContain('never-made');
  });

  it('--if-not-exists accepts an existing repository; without it, exit 1', async () => {
    expect((await env.cli(['create-repo', 'rerun'])).code).toBe(0);
    const again = await env.cli(['create-repo', 'rerun']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('repository rerun already exists');
    expect(again.stderr).toContain('add --if-not-exists');
    const ok = await env.cli(['create-repo', 'rerun', '--if-not-exists']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('repository rerun exists');
    expect(ok.stdout).toBe(`${(await describe1('rerun'))?.repositoryUri}\n`);
  });

  it('--if-not-exists reports differences; --apply changes them and warns about encryption', async () => {
    expect((await env.cli(['create-repo', 'drift', '--tag', 'team=a'])).code).toBe(0);
    const wanted = [
      'drift',
      '--if-not-exists',
      '--immutable',
      '--scan-on-push',
      '--encryption',
      'KMS',
      '--lifecycle',
      'preset:expire-untagged,days=3',
      '--policy',
      'policy.json',
      '--tag',
      'team=b',
      '--tag',
      'cost=42',
    ];
    const dry = await env.cli(['create-repo', ...wanted], { cwd: env.dir });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain(
      'differs from the options given: tag mutability MUTABLE → IMMUTABLE; scan on push off → on',
    );
    expect(dry.stderr).toContain('(add --apply to change it)');
    expect((await describe1('drift'))?.imageTagMutability).toBe('MUTABLE');

    const applied = await env.cli(['create-repo', ...wanted, '--apply', '--output', 'json'], { cwd: env.dir });
    expect(applied.code).toBe(0);
    const doc = JSON.parse(applied.stdout) as {
      repositories: { status: string; changes: string[]; warnings: string[] }[];
    };
    expect(doc.repositories[0]?.status).toBe('updated');
    expect(doc.repositories[0]?.changes).toEqual([
      'tag mutability MUTABLE → IMMUTABLE',
      'scan on push off → on',
      'lifecycle policy: none → set',
      'repository policy: none → set',
      'resource tags: team=a → b, +cost=42',
    ]);
    expect(applied.stderr).toContain('encrypted with AES256, not KMS');
    const repo = await describe1('drift');
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    expect(repo?.imageScanningConfiguration?.scanOnPush).toBe(true);
    expect(repo?.encryptionConfiguration?.encryptionType).toBe('AES256');
    const tags = await env.ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }));
    expect(tags.tags).toEqual([
      { Key: 'team', Value: 'b' },
      { Key: 'cost', Value: '42' },
    ]);
    expect(
      (await env.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'drift' }))).lifecyclePolicyText,
    ).toContain('"countNumber": 3');

    // Re-running the same command finds nothing left to change.
    const again = await env.cli(['create-repo', ...wanted, '--apply'], { cwd: env.dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('repository drift exists');
    expect(again.stderr).not.toContain('updated');
    // --no-scan-on-push turns it off again.
    expect(
      (await env.cli(['create-repo', 'drift', '--if-not-exists', '--apply', '--no-scan-on-push'])).stderr,
    ).toContain('updated repository drift: scan on push on → off');
  });

  it('prints env and json forms', async () => {
    const r = await env.cli(['create-repo', 'env-form', '--output', 'env']);
    expect(r.code).toBe(0);
    const uri = (await describe1('env-form'))?.repositoryUri;
    expect(r.stdout).toContain(`REPOSITORY_URI=${uri}\n`);
    expect(r.stdout).toContain('REPOSITORY_NAME=env-form\n');
    expect(r.stdout).toContain('REPOSITORY_STATUS=created\n');
    const two = await env.cli(['create-repo', 'two-a', 'two-b', '--output', 'json']);
    const doc = JSON.parse(two.stdout) as { repositories: { name: string; status: string }[] };
    expect(doc.repositories.map((x) => [x.name, x.status])).toEqual([
      ['two-a', 'created'],
      ['two-b', 'created'],
    ]);
  });
});

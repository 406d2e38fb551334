// `create-repo --dry-run` (issue 21 #20): every check runs (names, settings, lifecycle and
// repository policies), the plan is printed, and the emulator records no write call.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
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
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
    },
  ],
});

beforeAll(async () => {
  env = await startRepoEnv();
  writeFileSync(path.join(env.dir, 'policy.json'), POLICY);
  writeFileSync(path.join(env.dir, 'bad-policy.json'), '{\n  "Statement": [],\n}\n');
});
afterAll(async () => {
  await env.close();
});

/** The API calls made since `from` that change something (anything but Describe/Get/List). */
function writesSince(from: number): string[] {
  return env.server.calls.slice(from).filter((c) => !/^ecr(-public)?:(Describe|Get|List|BatchGet)/.test(c));
}

async function exists(name: string): Promise<boolean> {
  try {
    await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return true;
  } catch {
    return false;
  }
}

const ARGS = [
  'create-repo',
  'dry/api',
  'dry/worker',
  '--immutable',
  '--scan-on-push',
  '--lifecycle',
  'preset:expire-untagged',
  '--param',
  'days=7',
  '--policy',
  'policy.json',
  '--resource-tag',
  'team=payments',
  '--dry-run',
];

describe('create-repo --dry-run', () => {
  it('prints the names, settings, lifecycle and policy it would create, and writes nothing', async () => {
    const from = env.server.calls.length;
    const r = await env.cli(ARGS, { cwd: env.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        'would create repository dry/api',
        '  tag mutability:     IMMUTABLE',
        '  scan on push:       on',
        '  encryption:         AES256 (default)',
        '  resource tags:      team=payments',
        '  lifecycle policy:   1 rule',
        '    rule 1: Expire untagged images older than 7 days',
        '  repository policy:  1 statement',
        '    pull: Allow ecr:BatchGetImage, ecr:GetDownloadUrlForLayer',
        'would create repository dry/worker',
        '  tag mutability:     IMMUTABLE',
        '  scan on push:       on',
        '  encryption:         AES256 (default)',
        '  resource tags:      team=payments',
        '  lifecycle policy:   1 rule',
        '    rule 1: Expire untagged images older than 7 days',
        '  repository policy:  1 statement',
        '    pull: Allow ecr:BatchGetImage, ecr:GetDownloadUrlForLayer',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toContain('dry run: would create repository dry/api');
    // reads only: which repositories exist
    expect(env.server.calls.slice(from)).toEqual(['ecr:DescribeRepositories', 'ecr:DescribeRepositories']);
    expect(await exists('dry/api')).toBe(false);
    expect(await exists('dry/worker')).toBe(false);
  });

  it('-o json carries the plan: action, settings, tags and both policies as documents', async () => {
    const from = env.server.calls.length;
    const r = await env.cli(['-o', 'json', ...ARGS], { cwd: env.dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dryRun).toBe(true);
    expect(out.repositories.map((p: { name: string; action: string }) => [p.name, p.action])).toEqual([
      ['dry/api', 'create'],
      ['dry/worker', 'create'],
    ]);
    expect(out.repositories[0]).toMatchObject({
      public: false,
      settings: { tagMutability: 'IMMUTABLE', scanOnPush: true },
      resourceTags: [{ key: 'team', value: 'payments' }],
      repositoryPolicy: JSON.parse(POLICY),
      lifecyclePolicy: {
        rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countNumber: 7 }, action: { type: 'expire' } }],
      },
    });
    expect(writesSince(from)).toEqual([]);
  });

  it('runs every check first: a bad policy file exits 3 with nothing written', async () => {
    const from = env.server.calls.length;
    const r = await env.cli(['create-repo', 'dry/bad', '--policy', 'bad-policy.json', '--dry-run'], { cwd: env.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bad-policy.json is not valid JSON: line 3, column 1');
    const name = await env.cli(['create-repo', 'Dry/Bad', '--dry-run'], { cwd: env.dir });
    expect(name.code).toBe(3);
    expect(name.stderr).toContain("'Dry/Bad' is not a valid repository name; nothing was created");
    expect(env.server.calls.slice(from)).toEqual([]);
  });

  it('an existing repository: refused without --if-not-exists (exit 1), differences listed with it', async () => {
    const made = await env.cli(['create-repo', 'dry/there']);
    expect(made.code, made.stderr).toBe(0);
    const from = env.server.calls.length;
    const refused = await env.cli(['create-repo', 'dry/there', 'dry/new', '--dry-run']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('would fail: repository dry/there already exists');
    expect(refused.stdout).toContain('would create repository dry/new');
    expect(refused.stderr).toContain('error: repository dry/there already exists');
    const apply = await env.cli([
      'create-repo',
      'dry/there',
      '--if-not-exists',
      '--apply',
      '--scan-on-push',
      '--dry-run',
    ]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/^would update repository dry\/there \(.*\/dry\/there\)$/m);
    expect(apply.stdout).toContain('  differs: scan on push');
    expect(writesSince(from)).toEqual([]);
    expect(await exists('dry/new')).toBe(false);
  });
});

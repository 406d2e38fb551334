// `ecrctl iam-policy` prints exactly the actions the ecrctl verbs call: each group's verbs run
// against `ecrctl local`, which records every API call and data-plane request; the recorded
// set, mapped to IAM actions, must equal the printed policy — nothing missing, nothing extra.
// Also: an AccessDeniedException names the action, the resource ARN and the iam-policy command.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionsForCall } from '../../src/policy/iam.js';
import { failingEndpoint } from '../ecr/env.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let src: string;
let homeCount = 0;

beforeAll(async () => {
  env = await startRepoEnv();
  src = path.join(env.dir, 'src');
  writeOciLayout(src, [{ image: buildImage(31, { layers: 2, layerSize: 3000 }), tag: 'latest' }]);
  writeFileSync(
    path.join(env.dir, 'policy.json'),
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: ['ecr:BatchGetImage'] }],
    }),
  );
});
afterAll(async () => {
  await env?.close();
});

interface Policy {
  Statement: { Action: string | string[]; Resource: string | string[] }[];
}

/**
 * Runs each command (with a fresh HOME, so the token cache is empty and GetAuthorizationToken
 * is really called) and returns the IAM actions of everything the server recorded.
 */
async function actionsOf(commands: string[][]): Promise<string[]> {
  const home = path.join(env.dir, `home-${++homeCount}`);
  mkdirSync(home);
  const from = env.server.calls.length;
  for (const args of commands) {
    const r = await env.cli(args, { cwd: env.dir, env: { HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') } });
    expect(r.code, `ecrctl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  }
  return [...new Set(env.server.calls.slice(from).flatMap(actionsForCall))].sort();
}

async function printed(args: string[]): Promise<Policy> {
  const r = await env.cli(['iam-policy', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Policy;
}

/** Returns every action a policy grants. */
function granted(policy: Policy): string[] {
  return [...new Set(policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
}

describe('iam-policy lists exactly what the verbs call', () => {
  it('pull: pull, inspect, tags, discover', async () => {
    await env.cli(['create-repo', 'iam/pull']);
    expect((await env.cli(['tag-push', `oci:${src}`, 'iam/pull:v1'], { cwd: env.dir })).code).toBe(0);
    const used = await actionsOf([
      ['pull', 'iam/pull:v1', `oci:${path.join(env.dir, 'pulled')}:v1`],
      ['inspect', 'iam/pull:v1'],
      ['tags', 'iam/pull'],
      ['discover', 'iam/pull:v1'],
    ]);
    expect(granted(await printed(['pull']))).toEqual(used);
    expect(used).toEqual([
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'ecr:ListImageReferrers',
      'ecr:ListImages',
    ]);
  });

  it('sync: plan, apply (creating the targets with settings) and check, ECR at both ends', async () => {
    await env.cli(['create-repo', 'iam/sync-src/a']);
    await env.cli(['create-repo', 'iam/sync-src/b']);
    for (const ref of ['iam/sync-src/a:v1', 'iam/sync-src/a:v2', 'iam/sync-src/b:v1'])
      expect((await env.cli(['tag-push', `oci:${src}`, ref], { cwd: env.dir })).code).toBe(0);
    const host = new URL(await env.server.registryEndpoint('us-east-1')).host;
    writeFileSync(
      path.join(env.dir, 'sync.yaml'),
      [
        'defaults:',
        '  repository: { tagMutability: IMMUTABLE, scanOnPush: true }',
        'sync:',
        `  - source: ${host}/iam/sync-src/`,
        '    target: iam/sync-dst/',
        // `since` dates the tags of an ECR source through DescribeImages.
        `  - source: ${host}/iam/sync-src/b`,
        '    target: iam/sync-since/b',
        '    tags: { since: 90d }',
        '',
      ].join('\n'),
    );
    const used = await actionsOf([
      ['sync', 'plan', '-f', 'sync.yaml'],
      ['sync', 'apply', '-f', 'sync.yaml', '--state', 'sync-state'],
      ['sync', 'check', '-f', 'sync.yaml'],
    ]);
    // The targets exist now, with the configured settings: the sync really wrote them.
    const made = await env.ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['iam/sync-dst/a', 'iam/sync-dst/b'] }),
    );
    expect(made.repositories?.map((r) => [r.imageTagMutability, r.imageScanningConfiguration?.scanOnPush])).toEqual([
      ['IMMUTABLE', true],
      ['IMMUTABLE', true],
    ]);
    const policy = await printed(['sync']);
    expect(granted(policy)).toEqual(used);
    // Creation templates are registry-wide: that one action is granted on "*".
    expect(policy.Statement.at(-1)).toEqual({
      Sid: 'EcrctlRegistry',
      Effect: 'Allow',
      Action: ['ecr:DescribeRepositoryCreationTemplates'],
      Resource: '*',
    });
  });

  it('registry: account-setting and pull-time-exclusion, granted on Resource "*"', async () => {
    const role = 'arn:aws:iam::123456789012:role/syncer';
    const used = await actionsOf([
      ['account-setting', 'get', 'BLOB_MOUNTING'],
      ['account-setting', 'set', 'BLOB_MOUNTING', 'ENABLED'],
      ['pull-time-exclusion', 'add', role],
      ['pull-time-exclusion', 'list'],
      ['pull-time-exclusion', 'remove', role],
    ]);
    const policy = await printed(['registry', '--repo', 'team/*']);
    // These actions have no resource type: a repository ARN would never match them.
    expect(policy.Statement).toEqual([
      { Sid: 'EcrctlLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Sid: 'EcrctlRegistry', Effect: 'Allow', Action: used, Resource: '*' },
    ]);
    // Combined with a repository group, the repository statement keeps its ARNs.
    const both = await printed(['pull', 'registry', '--repo', 'team/*']);
    expect(both.Statement.map((s) => s.Resource)).toEqual(['*', 'arn:aws:ecr:*:*:repository/team/*', '*']);
  });

  it('push: tag-push (new and existing image), promote; --create-repo adds CreateRepository', async () => {
    await env.cli(['create-repo', 'iam/push']);
    const used = await actionsOf([
      ['tag-push', `oci:${src}`, 'iam/push:v1', '--tag', 'v2'],
      ['tag-push', `oci:${src}`, 'iam/push:v1'],
      ['promote', 'iam/push:v1', 'staging'],
    ]);
    expect(granted(await printed(['push']))).toEqual(used);

    const withCreate = await actionsOf([['tag-push', `oci:${src}`, 'iam/created:v1', '--create-repo']]);
    const policy = granted(await printed(['push', '--create-repo']));
    expect(policy).toEqual([...new Set([...used, ...withCreate])].sort());
    expect(withCreate).toContain('ecr:CreateRepository');
  });

  it('admin: create-repo, repos, images, delete, delete-repo, lifecycle, policy, archive, restore', async () => {
    // An image to delete, archive and restore, pushed before the recording starts.
    await env.cli(['create-repo', 'iam/admin-img']);
    expect((await env.cli(['tag-push', `oci:${src}`, 'iam/admin-img:v1', '--tag', 'v2'], { cwd: env.dir })).code).toBe(
      0,
    );
    const used = await actionsOf([
      [
        'create-repo',
        'iam/admin',
        '--lifecycle',
        'preset:expire-untagged,days=7',
        '--policy',
        'policy.json',
        '--tag',
        'a=b',
        '--scan-on-push',
        '--immutable',
      ],
      [
        'create-repo',
        'iam/admin',
        '--if-not-exists',
        '--apply',
        '--lifecycle',
        'preset:expire-untagged,days=9',
        '--policy',
        'policy.json',
        '--tag',
        'a=c',
        '--no-scan-on-push',
        '--tag-mutability',
        'MUTABLE',
      ],
      ['repos'],
      ['images', 'iam/admin-img'],
      ['lifecycle', 'get', 'iam/admin'],
      ['lifecycle', 'put', 'iam/admin', 'preset:expire-untagged', '--param', 'days=3'],
      ['lifecycle', 'delete', 'iam/admin'],
      ['policy', 'get', 'iam/admin'],
      ['policy', 'set', 'iam/admin', 'policy.json'],
      ['policy', 'delete', 'iam/admin'],
      ['archive', 'iam/admin-img:v1'],
      ['restore', 'iam/admin-img:v1'],
      ['delete', 'iam/admin-img:v2'],
      ['delete-repo', 'iam/admin'],
      ['delete-repo', 'iam/admin-img', '--force'],
    ]);
    const policy = await printed(['admin']);
    // The login statement is in every policy; the admin verbs themselves never need a token.
    expect(policy.Statement[0]).toEqual({
      Sid: 'EcrctlLogin',
      Effect: 'Allow',
      Action: 'ecr:GetAuthorizationToken',
      Resource: '*',
    });
    expect(policy.Statement[1]?.Action).toEqual(used);
  });

  it('scopes the repository actions to the ARNs of --repo, --region and --account', async () => {
    const r = await env.cli([
      'iam-policy',
      'pull',
      'push',
      '--repo',
      'team/*',
      '--repo',
      'app',
      '--region',
      'eu-west-1',
      '--account',
      '123456789012',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const policy = JSON.parse(r.stdout) as Policy;
    expect(policy.Statement[1]?.Resource).toEqual([
      'arn:aws:ecr:eu-west-1:123456789012:repository/team/*',
      'arn:aws:ecr:eu-west-1:123456789012:repository/app',
    ]);
    const bad = await env.cli(['iam-policy', 'pul', '--account', '12', '--repo', 'Team/App']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '"pul" is not a verb group (did you mean pull?): use pull, push, admin, sync, registry',
    );
    expect(bad.stderr).toContain('--account 12: an account id is 12 digits');
    expect(bad.stderr).toContain('--repo Team/App');
  });
});

describe('access denied', () => {
  it('names the action, the resource ARN and the iam-policy command that fixes it (exit 5)', async () => {
    const denied = await failingEndpoint(
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/ci/session is not authorized to perform: ecr:SetRepositoryPolicy on resource: arn:aws:ecr:eu-west-1:123456789012:repository/team/app because no identity-based policy allows the ecr:SetRepositoryPolicy action',
    );
    try {
      const r = await runCli(
        [
          'policy',
          'set',
          'team/app',
          path.join(env.dir, 'policy.json'),
          '--endpoint-url',
          denied.url,
          '--region',
          'eu-west-1',
        ],
        {
          env: { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', HOME: env.dir },
        },
      );
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(
        'access denied: SetRepositoryPolicy (repository team/app) needs the IAM permission ecr:SetRepositoryPolicy on arn:aws:ecr:eu-west-1:123456789012:repository/team/app',
      );
      expect(r.stderr).toContain(
        '`ecrctl iam-policy admin --repo team/app --region eu-west-1 --account 123456789012` prints a least-privilege policy',
      );
    } finally {
      await denied.close();
    }
  });

  it('builds the ARN from the call when ECR names no resource', async () => {
    const denied = await failingEndpoint('AccessDeniedException', 'Access denied');
    try {
      const r = await runCli(['archive', 'team/app:v1', '--endpoint-url', denied.url, '--region', 'us-east-2'], {
        env: { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', HOME: env.dir },
      });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(
        'needs the IAM permission ecr:UpdateImageStorageClass on arn:aws:ecr:us-east-2:*:repository/team/app',
      );
      expect(r.stderr).toContain('`ecrctl iam-policy admin --repo team/app --region us-east-2`');
    } finally {
      await denied.close();
    }
  });
});

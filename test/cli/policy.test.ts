// `ecrctl policy` against `ecrctl local`: templates piped into `policy set`, get / delete,
// the registry policy, local validation (exit 3, every problem, nothing sent), and the AWS
// CLI reading and writing the same repository policy.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetRegistryPolicyCommand, GetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;

beforeAll(async () => {
  env = await startRepoEnv();
  await env.cli(['create-repo', 'pol/app', 'pol/other', 'pol/aws']);
});
afterAll(async () => {
  await env?.close();
});

/** Runs the CLI against the local endpoint with text on standard input. */
function cliWithInput(args: string[], input: string) {
  return runCli(['--endpoint-url', env.endpoint, ...args], {
    env: { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', HOME: env.dir },
    input,
  });
}

async function storedPolicy(repositoryName: string): Promise<string | undefined> {
  try {
    return (await env.ecr.send(new GetRepositoryPolicyCommand({ repositoryName }))).policyText;
  } catch (err) {
    if ((err as { name?: string }).name === 'RepositoryPolicyNotFoundException') return undefined;
    throw err;
  }
}

describe('repository policies', () => {
  it('a template piped into `policy set -` is stored; get prints it; delete removes it', async () => {
    const t = await env.cli(['policy', 'template', 'cross-account-pull', '--account', '111122223333']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain('ecrctl policy set REPO');
    const set = await cliWithInput(['policy', 'set', 'pol/app', '-'], t.stdout);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('set the repository policy of pol/app');
    expect(JSON.parse((await storedPolicy('pol/app')) ?? '')).toEqual(JSON.parse(t.stdout));

    const get = await env.cli(['policy', 'get', 'pol/app']);
    expect(get.code).toBe(0);
    expect(get.stdout).toBe(t.stdout);
    const json = await env.cli(['-o', 'json', 'policy', 'get', 'pol/app']);
    expect(JSON.parse(json.stdout)).toEqual({
      repository: 'pol/app',
      registryId: expect.stringMatching(/^[0-9]{12}$/),
      policy: JSON.parse(t.stdout),
    });

    expect((await env.cli(['policy', 'delete', 'pol/app'])).code).toBe(0);
    expect(await storedPolicy('pol/app')).toBeUndefined();
    const gone = await env.cli(['policy', 'get', 'pol/app']);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toContain('repository pol/app has no policy');
    expect(gone.stderr).toContain('ecrctl policy set pol/app FILE');
    expect((await env.cli(['policy', 'delete', 'pol/app'])).code).toBe(6);
  });

  it('refuses a bad policy with every problem and its position (exit 3), sending nothing', async () => {
    writeFileSync(
      path.join(env.dir, 'bad.json'),
      '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": ["ecr:BatchGetImages", "ecr:*"]}\n  ]\n}\n',
    );
    writeFileSync(path.join(env.dir, 'syntax.json'), '{\n  "Version": "2012-10-17"\n  "Statement": []\n}\n');
    const from = env.server.calls.length;
    const r = await env.cli(['policy', 'set', 'pol/other', 'bad.json'], { cwd: env.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bad.json is not a valid repository policy (2 problems)');
    expect(r.stderr).toContain('  - bad.json:4:46 Statement[0].Principal.AWS: "bob" is not an AWS principal');
    expect(r.stderr).toContain(
      '  - bad.json:4:65 Statement[0].Action[0]: "ecr:BatchGetImages" is not an ECR action — did you mean ecr:BatchGetImage?',
    );
    const s = await env.cli(['policy', 'set', 'pol/other', 'syntax.json'], { cwd: env.dir });
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/syntax\.json:3:3 policy text: JSON syntax error/);
    writeFileSync(
      path.join(env.dir, 'huge.json'),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:*' }], Id: 'x'.repeat(10_300) }),
    );
    const h = await env.cli(['policy', 'set', 'pol/other', 'huge.json'], { cwd: env.dir });
    expect(h.code).toBe(3);
    expect(h.stderr).toContain('ECR allows at most 10240');
    expect(env.server.calls.slice(from)).toEqual([]);
    expect(await storedPolicy('pol/other')).toBeUndefined();

    const v = await env.cli(['policy', 'validate', 'bad.json'], { cwd: env.dir });
    expect(v.code).toBe(3);
  });

  it('lists the templates, and refuses one without what it needs', async () => {
    const list = await env.cli(['policy', 'template']);
    expect(list.code).toBe(0);
    for (const name of [
      'cross-account-pull',
      'lambda-pull',
      'ecs-pull',
      'codebuild-push',
      'github-actions-push',
      'replication',
      'pull-through-cache',
    ]) {
      expect(list.stdout).toContain(name);
    }
    const missing = await env.cli(['policy', 'template', 'github-actions-push', '--role', 'gha']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--role gha: a role ARN looks like arn:aws:iam::123456789012:role/NAME');
    const noAccount = await env.cli(['policy', 'template', 'cross-account-pull']);
    expect(noAccount.code).toBe(2);
    expect(noAccount.stderr).toContain('template cross-account-pull needs --account ID (at least one)');
    const lambda = await env.cli([
      'policy',
      'template',
      'lambda-pull',
      '--account',
      '111122223333',
      '--region',
      'eu-west-1',
    ]);
    expect(JSON.parse(lambda.stdout).Statement[0].Condition).toEqual({
      StringLike: { 'aws:sourceArn': 'arn:aws:lambda:eu-west-1:111122223333:function:*' },
    });
  });
});

describe('registry policy', () => {
  it('sets the replication template, reads it back, deletes it; repository actions are refused locally', async () => {
    const t = await env.cli(['policy', 'template', 'replication', '--account', '111122223333']);
    expect(t.code, t.stderr).toBe(0);
    const set = await cliWithInput(['policy', 'registry', 'set', '-'], t.stdout);
    expect(set.code, set.stderr).toBe(0);
    const stored = await env.ecr.send(new GetRegistryPolicyCommand({}));
    expect(JSON.parse(stored.policyText ?? '')).toEqual(JSON.parse(t.stdout));
    const get = await env.cli(['policy', 'registry', 'get']);
    expect(get.stdout).toBe(t.stdout);
    expect((await env.cli(['policy', 'registry', 'delete'])).code).toBe(0);
    expect((await env.cli(['policy', 'registry', 'get'])).code).toBe(6);

    writeFileSync(
      path.join(env.dir, 'reg-bad.json'),
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'ecr:BatchGetImage', Resource: '*' },
        ],
      }),
    );
    const bad = await env.cli(['policy', 'registry', 'set', 'reg-bad.json'], { cwd: env.dir });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('ECR refuses "ecr:BatchGetImage" in a registry policy');
  });
});

describe('AWS CLI cross-check', () => {
  const aws = async (args: string[]) => {
    const r = await env.aws(args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { policyText?: string };
  };

  it('aws ecr get-repository-policy reads what ecrctl set; ecrctl reads what aws set', async () => {
    const t = await env.cli([
      'policy',
      'template',
      'ecs-pull',
      '--role',
      'arn:aws:iam::111122223333:role/ecsTaskExecutionRole',
    ]);
    expect((await cliWithInput(['policy', 'set', 'pol/aws', '-'], t.stdout)).code).toBe(0);
    const got = await aws(['get-repository-policy', '--repository-name', 'pol/aws']);
    expect(JSON.parse(got.policyText ?? '')).toEqual(JSON.parse(t.stdout));

    const other = await env.cli(['policy', 'template', 'cross-account-pull', '--account', '444455556666']);
    await aws(['set-repository-policy', '--repository-name', 'pol/aws', '--policy-text', other.stdout]);
    const get = await env.cli(['policy', 'get', 'pol/aws']);
    expect(get.stdout).toBe(other.stdout);
  });
});

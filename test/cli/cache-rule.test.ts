// `ecrctl cache-rule` against `ecrctl local`: upstream URLs filled in from the upstream's
// name, the secret-name and prefix rules checked locally (exit 3), create / list / validate /
// delete, and the AWS CLI reading back what ecrctl created.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

let t: LocalCliEnv;
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf';

beforeAll(async () => {
  t = await startLocalCliEnv('ecrctl-cache-rule-');
});
afterAll(async () => {
  await t.close();
});

describe('cache-rule', () => {
  it.each([
    ['docker-hub', ['--upstream', 'docker-hub', '--secret-arn', SECRET], 'registry-1.docker.io'],
    ['quay', ['--upstream', 'quay'], 'quay.io'],
    ['k8s', ['--upstream', 'k8s'], 'registry.k8s.io'],
    ['ecr-public', ['--upstream', 'ecr-public'], 'public.ecr.aws'],
    [
      'ghcr',
      ['--upstream', 'github-container-registry', '--secret-arn', SECRET.replace('docker-hub', 'ghcr')],
      'ghcr.io',
    ],
    [
      'gitlab',
      ['--upstream', 'gitlab-container-registry', '--secret-arn', SECRET.replace('docker-hub', 'gitlab')],
      'registry.gitlab.com',
    ],
    ['chainguard', ['--upstream', 'chainguard', '--secret-arn', SECRET.replace('docker-hub', 'cgr')], 'cgr.dev'],
    [
      'acr',
      [
        '--upstream',
        'azure-container-registry',
        '--upstream-url',
        'myteam.azurecr.io',
        '--secret-arn',
        SECRET.replace('docker-hub', 'acr'),
      ],
      'myteam.azurecr.io',
    ],
    [
      'team/ecr',
      ['--upstream', 'ecr', '--upstream-account', '111122223333', '--upstream-region', 'eu-west-1'],
      '111122223333.dkr.ecr.eu-west-1.amazonaws.com',
    ],
  ])('creates %s with the upstream URL filled in', async (prefix, args, url) => {
    const r = await t.cli(['cache-rule', 'create', prefix, ...args, '--output', 'json']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ prefix, upstreamUrl: url });
  });

  it.each([
    [
      'a secret outside ecr-pullthroughcache/',
      [
        'ghcr2',
        '--upstream',
        'github-container-registry',
        '--secret-arn',
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:ghcr-token-AbCdEf',
      ],
      /its name "ghcr-token-AbCdEf" must start with ecr-pullthroughcache\//,
    ],
    ['no secret for docker-hub', ['hub2', '--upstream', 'docker-hub'], /the docker-hub upstream needs --secret-arn/],
    [
      'a secret that is no Secrets Manager ARN',
      ['hub3', '--upstream', 'docker-hub', '--secret-arn', 'ecr-pullthroughcache/hub'],
      /not a Secrets Manager ARN/,
    ],
    ['a one-character prefix', ['x', '--upstream', 'quay'], /prefix "x": 2–30 characters, or ROOT/],
    ['a 31-character prefix', ['a'.repeat(31), '--upstream', 'quay'], /2–30 characters/],
    [
      'azure without its URL',
      ['acr2', '--upstream', 'azure-container-registry', '--secret-arn', SECRET],
      /needs --upstream-url <name>.azurecr.io/,
    ],
    ['ecr without account and region', ['ecr2', '--upstream', 'ecr'], /needs --upstream-account/],
  ])('refuses %s with exit 3', async (_what, args, expected) => {
    const r = await t.cli(['cache-rule', 'create', ...args]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(expected);
  });

  it('lists, validates and deletes rules; the AWS CLI sees the same rules', async () => {
    let r = await t.cli(['cache-rule', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PREFIX\s+UPSTREAM\s+URL\s+SECRET\n/);
    expect(r.stdout).toMatch(
      /docker-hub\s+docker-hub\s+registry-1\.docker\.io\s+arn:aws:secretsmanager:.*ecr-pullthroughcache\/docker-hub-AbCdEf/,
    );
    // The emulator cannot sign in to Docker Hub: it says so rather than "valid".
    r = await t.cli(['cache-rule', 'validate', 'docker-hub']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pull-through cache rule docker-hub is not valid: not checked: ecrctl local is offline');
    expect(r.stderr).toContain('or read the secret arn:aws:secretsmanager:');

    const run = promisify(execFile);
    const { stdout } = await run(
      '/usr/bin/aws',
      ['ecr', 'describe-pull-through-cache-rules', '--endpoint-url', t.server.url, '--output', 'json'],
      {
        env: { ...process.env, ...t.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' },
      },
    );
    // (Debian's AWS CLI 2.9 predates the upstreamRegistry and credentialArn members and leaves them out.)
    const rules = (
      JSON.parse(stdout) as { pullThroughCacheRules: { ecrRepositoryPrefix: string; upstreamRegistryUrl: string }[] }
    ).pullThroughCacheRules;
    expect(rules.find((x) => x.ecrRepositoryPrefix === 'quay')).toMatchObject({ upstreamRegistryUrl: 'quay.io' });
    expect(rules.find((x) => x.ecrRepositoryPrefix === 'docker-hub')).toMatchObject({
      upstreamRegistryUrl: 'registry-1.docker.io',
    });
    expect(rules).toHaveLength(9);

    r = await t.cli(['cache-rule', 'delete', 'quay']);
    expect(r.code).toBe(0);
    r = await t.cli(['cache-rule', 'validate', 'quay']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("pull through cache rule with prefix 'quay' does not exist");
    r = await t.cli(['cache-rule', 'create', 'docker-hub', '--upstream', 'docker-hub', '--secret-arn', SECRET]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("A pull through cache rule with prefix 'docker-hub' already exists");
  });
});

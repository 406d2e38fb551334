// One preset syntax everywhere (issue 21 #14): `create-repo --lifecycle` and `lifecycle
// put/diff/simulate/presets show` accept both `preset:NAME,k=v` and `preset:NAME --param k=v`,
// store the same policy either way, and name both values when they conflict (exit 2).
import { GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
beforeAll(async () => {
  env = await startRepoEnv();
});
afterAll(async () => {
  await env.close();
});

async function storedPolicy(name: string): Promise<unknown> {
  const out = await env.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name }));
  return JSON.parse(out.lifecyclePolicyText ?? 'null');
}

const WANT = {
  rules: [
    {
      rulePriority: 1,
      description: 'Keep the newest 50 images tagged main-*',
      selection: { tagStatus: 'tagged', tagPatternList: ['main-*'], countType: 'imageCountMoreThan', countNumber: 50 },
      action: { type: 'expire' },
    },
  ],
};

describe('one preset syntax', () => {
  it('create-repo --lifecycle takes preset:NAME --param k=v as well as preset:NAME,k=v', async () => {
    const comma = await env.cli([
      'create-repo',
      'ps/comma',
      '--lifecycle',
      'preset:keep-last-n-tagged,prefix=main-,count=50',
    ]);
    expect(comma.code, comma.stderr).toBe(0);
    const param = await env.cli([
      'create-repo',
      'ps/param',
      '--lifecycle',
      'preset:keep-last-n-tagged',
      '--param',
      'prefix=main-',
      '--param',
      'count=50',
    ]);
    expect(param.code, param.stderr).toBe(0);
    expect(await storedPolicy('ps/comma')).toEqual(WANT);
    expect(await storedPolicy('ps/param')).toEqual(WANT);
  });

  it('lifecycle put takes preset:NAME,k=v as well as --param, and both mixed', async () => {
    await env.cli(['create-repo', 'ps/put']);
    const comma = await env.cli(['lifecycle', 'put', 'ps/put', 'preset:keep-last-n-tagged,prefix=main-,count=50']);
    expect(comma.code, comma.stderr).toBe(0);
    expect(await storedPolicy('ps/put')).toEqual(WANT);
    await env.cli(['lifecycle', 'put', 'ps/put', 'preset:expire-untagged,days=3']);
    const mixed = await env.cli([
      'lifecycle',
      'put',
      'ps/put',
      'preset:keep-last-n-tagged,prefix=main-',
      '--param',
      'count=50',
    ]);
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(await storedPolicy('ps/put')).toEqual(WANT);
  });

  it('lifecycle presets show prints the same JSON for NAME,k=v and NAME --param k=v', async () => {
    const a = await runCli(['lifecycle', 'presets', 'show', 'keep-last-n-tagged,prefix=main-,count=50']);
    const b = await runCli([
      'lifecycle',
      'presets',
      'show',
      'keep-last-n-tagged',
      '--param',
      'prefix=main-',
      '--param',
      'count=50',
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout)).toEqual(WANT);
  });

  it('conflicting values for one key are a usage error naming both (exit 2), nothing created or sent', async () => {
    const before = env.server.calls.length;
    const create = await env.cli([
      'create-repo',
      'ps/conflict',
      '--lifecycle',
      'preset:expire-untagged,days=7',
      '--param',
      'days=9',
    ]);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain(
      'error: preset parameter days is given twice with different values: days=7 (in preset:expire-untagged,days=7) and days=9 (--param days=9)',
    );
    expect(create.stderr).toContain('fix:   give days once');
    const put = await env.cli(['lifecycle', 'put', 'ps/put', 'preset:expire-untagged,days=7', '--param', 'days=9']);
    expect(put.code).toBe(2);
    expect(put.stderr).toContain('days=7 (in preset:expire-untagged,days=7) and days=9 (--param days=9)');
    // refused while reading the options: not a single API call
    expect(env.server.calls.slice(before)).toEqual([]);
    expect(await storedPolicy('ps/put')).toEqual(WANT);
  });

  it('--param without a preset is a usage error (exit 2)', async () => {
    const r = await env.cli(['create-repo', 'ps/noparam', '--param', 'days=7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--param sets a parameter of a --lifecycle preset');
  });
});

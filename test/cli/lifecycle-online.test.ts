// `ecrctl lifecycle get | put | delete | diff | simulate REPO | preview` against `ecrctl local`:
// the round trip, local validation before anything is sent, simulate and ECR's preview agreeing
// on the same images, diff by rule and by image, the protect check, and the AWS CLI seeing
// what ecrctl put (and the other way round).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, type MadeImage, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let made: MadeImage[];
const file = (name: string, content: unknown) => {
  const p = path.join(env.dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
};
const rule = (rulePriority: number, selection: Record<string, unknown>, description?: string) => ({
  rulePriority,
  ...(description ? { description } : {}),
  selection,
  action: { type: 'expire' },
});
const POLICY = {
  rules: [
    rule(
      1,
      { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 2 },
      'keep 2 releases',
    ),
    rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
  ],
};
const NEW_POLICY = {
  rules: [
    rule(
      1,
      { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 4 },
      'keep 4 releases',
    ),
    rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 6 }),
  ],
};
const calls = (op: string) => env.server.calls.filter((c) => c === `ecr:${op}`).length;

interface JsonDecision {
  digest: string;
  action: string;
  rulePriority?: number;
  tags: string[];
}

beforeAll(async () => {
  // Previews last a fiftieth of their ECR-like 5 s: the CLI still polls through IN_PROGRESS.
  env = await startRepoEnv({ stateDelayScale: 0.02 });
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/app' }));
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/empty' }));
  // v0..v5 tagged (v5 also "latest"), then 3 untagged; pushed apart so push order is clear.
  made = await makeImages(env.ecr, 'lc/app', 9, {
    tags: (i) => (i < 5 ? [`v${i}`] : i === 5 ? ['v5', 'latest'] : []),
    layerSize: (i) => 1000 * (i + 1),
    gapMs: 3,
  });
  file('policy.json', POLICY);
  file('new-policy.json', NEW_POLICY);
});
afterAll(async () => {
  await env.close();
});

describe('lifecycle put / get / delete', () => {
  it('puts a policy, gets the same JSON back, deletes it; get and delete then exit 6', async () => {
    const put = await env.cli(['lifecycle', 'put', 'lc/app', 'policy.json'], { cwd: env.dir });
    expect(put.stderr).toContain('lifecycle policy of lc/app set: 2 rules');
    expect(put.code).toBe(0);
    const get = await env.cli(['lifecycle', 'get', 'lc/app']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual(POLICY);
    const json = await env.cli(['-o', 'json', 'lifecycle', 'get', 'lc/app']);
    expect(JSON.parse(json.stdout)).toEqual({ repository: 'lc/app', policy: POLICY, lastEvaluatedAt: null });

    const del = await env.cli(['lifecycle', 'delete', 'lc/app']);
    expect(del.code).toBe(0);
    expect(del.stderr).toContain('lifecycle policy of lc/app deleted');
    const gone = await env.cli(['lifecycle', 'get', 'lc/app']);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toContain('repository lc/app has no lifecycle policy');
    expect((await env.cli(['lifecycle', 'delete', 'lc/app'])).code).toBe(6);
    // A missing repository is "not found" too, in ECR's words.
    const none = await env.cli(['lifecycle', 'get', 'lc/none']);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain("The repository with name 'lc/none' does not exist");
  });

  it('puts a preset, and takes a full ECR reference for REPO', async () => {
    const ref = '123456789012.dkr.ecr.us-east-1.amazonaws.com/lc/empty';
    const put = await env.cli(['lifecycle', 'put', ref, 'preset:expire-untagged', '--param', 'days=7']);
    expect(put.code).toBe(0);
    const get = await env.cli(['-o', 'json', 'lifecycle', 'get', ref]);
    const doc = JSON.parse(get.stdout) as { policy: { rules: { selection: Record<string, unknown> }[] } };
    expect(doc.policy.rules[0]?.selection).toMatchObject({
      tagStatus: 'untagged',
      countType: 'sinceImagePushed',
      countNumber: 7,
    });
    const image = await env.cli(['lifecycle', 'get', 'lc/empty:v1']);
    expect(image.code).toBe(2);
    expect(image.stderr).toContain('lc/empty:v1 names an image; lifecycle policies belong to a repository');
  });

  it('refuses an invalid policy with every problem (exit 3) and sends nothing', async () => {
    const bad = file('bad.json', {
      rules: [
        rule(1, { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 2 }),
        rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 0 }),
      ],
    });
    const before = calls('PutLifecyclePolicy');
    const r = await env.cli(['lifecycle', 'put', 'lc/app', bad]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`lifecycle policy ${bad} is not valid`);
    expect(r.stderr).toContain('rulePriority 1 is already used by rules[0]');
    expect(r.stderr).toContain('countUnit');
    expect(r.stderr).toContain('tagPrefixList');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  - ')).length).toBeGreaterThanOrEqual(4);
    expect(calls('PutLifecyclePolicy')).toBe(before);
  });
});

describe('lifecycle simulate REPO and preview', () => {
  it('simulate (our engine) and preview (the endpoint) decide the same for every image', async () => {
    expect((await env.cli(['lifecycle', 'put', 'lc/app', 'policy.json'], { cwd: env.dir })).code).toBe(0);
    const sim = await env.cli(['-o', 'json', 'lifecycle', 'simulate', 'lc/app']);
    expect(sim.code).toBe(0);
    const pre = await env.cli(['-o', 'json', 'lifecycle', 'preview', 'lc/app']);
    expect(pre.stderr).toContain('ECR is previewing the lifecycle policy of lc/app');
    expect(pre.stderr).toContain('preview complete: 6 to expire, 0 to archive');
    expect(pre.code).toBe(0);
    const acted = (out: string) =>
      (JSON.parse(out) as { decisions: JsonDecision[] }).decisions
        .map((d) => `${d.digest} ${d.action} ${d.action === 'keep' ? '-' : d.rulePriority}`)
        .sort();
    expect(acted(pre.stdout)).toEqual(acted(sim.stdout));
    // And both are what the policy means: v0..v3 beyond the newest 2 of v*, untagged 6 and 7.
    const expired = (JSON.parse(sim.stdout) as { decisions: JsonDecision[] }).decisions
      .filter((d) => d.action === 'expire')
      .map((d) => d.digest)
      .sort();
    expect(expired).toEqual([0, 1, 2, 3, 6, 7].map((i) => made[i]?.digest).sort());
    const summary = (out: string) => (JSON.parse(out) as { summary: { expire: number; bytesFreed: number } }).summary;
    expect(summary(pre.stdout)).toEqual(summary(sim.stdout));
    // 1000+2000+3000+4000 bytes of v0..v3 and 7000+8000 of the two older untagged images.
    expect(summary(sim.stdout)).toMatchObject({ expire: 6, bytesFreed: 25_000 });
  });

  it('prints the table of what would go, why, and the bytes freed', async () => {
    const r = await env.cli(['lifecycle', 'simulate', 'lc/app']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('9 images in lc/app');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ACTION\s+DIGEST\s+TAGS\s+SIZE\s+REASON$/);
    expect(r.stdout).toContain('rule 1: more than 2 images tagged v*; this is #3 by push time');
    expect(r.stdout).toContain('6 of 9 images would expire, freeing');
    const text = await env.cli(['lifecycle', 'preview', 'lc/app']);
    expect(text.stdout).toContain('rule 2 (ECR preview): expire untagged images beyond the newest 1');
    expect(text.stdout).toContain('6 of 9 images would expire, freeing');
  });

  it('simulates another policy (file or preset) over the real images; offline --images still works', async () => {
    const r = await env.cli([
      '-o',
      'env',
      'lifecycle',
      'simulate',
      'lc/app',
      '--policy',
      'preset:keep-last-n-tagged',
      '--param',
      'prefix=v',
      '--param',
      'count=5',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('EXPIRE_COUNT=1\n');
    const both = await env.cli(['lifecycle', 'simulate', 'lc/app', '--images', 'x.json']);
    expect(both.code).toBe(2);
    const images = file('images.json', [
      { digest: `sha256:${'a'.repeat(64)}`, tags: [], pushedAt: '2025-01-01T00:00:00Z' },
    ]);
    const offline = await env.cli([
      'lifecycle',
      'simulate',
      '--images',
      images,
      '--policy',
      'preset:expire-untagged',
      '--param',
      'days=7',
      '--at',
      '2025-03-01',
    ]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('1 of 1 image would expire');
  });

  it('exits 6 when the repository has no policy and none is given', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/nopolicy' }));
    const r = await env.cli(['lifecycle', 'simulate', 'lc/nopolicy']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('repository lc/nopolicy has no lifecycle policy');
  });

  it('--protect exits 3 naming the protected images the policy would expire', async () => {
    const protect = file('protect.txt', '# releases we ship\nv1\nlatest\nnot-there\n');
    const r = await env.cli(['lifecycle', 'simulate', 'lc/app', '--protect', protect]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the policy would expire 1 protected image');
    expect(r.stderr).toContain(`${made[1]?.digest} (v1) is protected by "v1"`);
    expect(r.stderr).toContain('protected entry "not-there" matches no image');
    const pre = await env.cli(['lifecycle', 'preview', 'lc/app', '--protect', protect]);
    expect(pre.code).toBe(3);
  });

  it('preview --policy validates locally first (exit 3, no preview started)', async () => {
    const bad = file('bad-preview.json', {
      rules: [rule(1, { tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 1 })],
    });
    const before = calls('StartLifecyclePolicyPreview');
    const r = await env.cli(['lifecycle', 'preview', 'lc/app', '--policy', bad]);
    expect(r.code).toBe(3);
    expect(calls('StartLifecyclePolicyPreview')).toBe(before);
  });
});

describe('lifecycle diff', () => {
  it('shows rules added, removed and changed, and every image whose fate changes', async () => {
    expect((await env.cli(['lifecycle', 'put', 'lc/app', 'policy.json'], { cwd: env.dir })).code).toBe(0);
    const r = await env.cli(['lifecycle', 'diff', 'lc/app', 'new-policy.json'], { cwd: env.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  - rule 2: expire untagged images beyond the newest 1\n');
    expect(r.stdout).toContain(
      '  ~ rule 1: expire images tagged v* beyond the newest 2 ("keep 2 releases")\n      now: expire images tagged v* beyond the newest 4 ("keep 4 releases")\n',
    );
    expect(r.stdout).toContain('  + rule 3: expire any images beyond the newest 6\n');
    // New: v2 and v3 stay (newest 4 of v*); untagged 6 and 7 stay (rule 3 counts all 9, and only
    // the 3 oldest — all v* images that rule 1 governs — are beyond 6); v0 and v1 still go.
    expect(r.stdout).toContain('images whose fate changes (4 of 9):');
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('sha256:'));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2))).toEqual(
      expect.arrayContaining([
        [made[2]?.digest.slice(0, 19), 'v2'],
        [made[3]?.digest.slice(0, 19), 'v3'],
      ]),
    );
    for (const row of rows) expect(row).toMatch(/expire\s+keep/);
    const env1 = await env.cli(['-o', 'env', 'lifecycle', 'diff', 'lc/app', 'new-policy.json'], { cwd: env.dir });
    expect(env1.stdout).toBe('RULES_ADDED=1\nRULES_REMOVED=1\nRULES_CHANGED=1\nIMAGES_CHANGED=4\nNEWLY_EXPIRED=0\n');
    // Nothing was changed by diff.
    expect(JSON.parse((await env.cli(['lifecycle', 'get', 'lc/app'])).stdout)).toEqual(POLICY);
  });

  it('against no policy at all, every rule is added', async () => {
    const r = await env.cli(['-o', 'json', 'lifecycle', 'diff', 'lc/nopolicy', 'policy.json'], { cwd: env.dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { rules: { added: unknown[]; removed: unknown[] }; images: unknown[] };
    expect(doc.rules.added).toHaveLength(2);
    expect(doc.images).toEqual([]);
  });
});

describe('applying the policy', () => {
  it('removes what simulate said would expire and keeps the rest', async () => {
    expect((await env.cli(['lifecycle', 'put', 'lc/app', 'policy.json'], { cwd: env.dir })).code).toBe(0);
    const sim = await env.cli(['-o', 'json', 'lifecycle', 'simulate', 'lc/app']);
    const decisions = (JSON.parse(sim.stdout) as { decisions: JsonDecision[] }).decisions;
    await env.server.applyLifecyclePolicies();
    const left = await env.ecr.send(new DescribeImagesCommand({ repositoryName: 'lc/app' }));
    expect(left.imageDetails?.map((d) => d.imageDigest).sort()).toEqual(
      decisions
        .filter((d) => d.action === 'keep')
        .map((d) => d.digest)
        .sort(),
    );
    expect(left.imageDetails).toHaveLength(3);
    const get = await env.cli(['-o', 'json', 'lifecycle', 'get', 'lc/app']);
    expect((JSON.parse(get.stdout) as { lastEvaluatedAt: string | null }).lastEvaluatedAt).not.toBeNull();
  });
});

describe('AWS CLI cross-check', () => {
  const aws = async (args: string[]) => {
    const r = await env.aws(args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('aws ecr get-lifecycle-policy sees what ecrctl put, and ecrctl sees what aws put', async () => {
    await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/aws' }));
    expect((await env.cli(['lifecycle', 'put', 'lc/aws', 'policy.json'], { cwd: env.dir })).code).toBe(0);
    const got = await aws(['get-lifecycle-policy', '--repository-name', 'lc/aws']);
    expect(JSON.parse(got.lifecyclePolicyText as string)).toEqual(POLICY);
    expect(got.repositoryName).toBe('lc/aws');

    await aws([
      'put-lifecycle-policy',
      '--repository-name',
      'lc/aws',
      '--lifecycle-policy-text',
      JSON.stringify(NEW_POLICY),
    ]);
    const mine = await env.cli(['lifecycle', 'get', 'lc/aws']);
    expect(JSON.parse(mine.stdout)).toEqual(NEW_POLICY);
  }, 60_000);
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-lifecycle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
};

const goodPolicy = file('good.json', {
  rules: [
    {
      rulePriority: 1,
      description: 'keep 1 prod',
      selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'old untagged',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      action: { type: 'expire' },
    },
  ],
});
const badPolicy = file('bad.json', {
  rules: [
    {
      rulePriority: 1,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['prod*'],
        countType: 'imageCountMoreThan',
        countUnit: 'days',
        countNumber: 1,
      },
      action: { type: 'expire' },
    },
    {
      rulePriority: 1,
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 14 },
      action: { type: 'expire' },
    },
  ],
});
const images = file('images.json', [
  { digest: `sha256:${'a'.repeat(64)}`, tags: ['prod-1'], pushedAt: '2025-05-01T00:00:00Z', sizeBytes: 120_000_000 },
  { digest: `sha256:${'b'.repeat(64)}`, tags: ['prod-2'], pushedAt: '2025-05-20T00:00:00Z', sizeBytes: 130_000_000 },
  { digest: `sha256:${'c'.repeat(64)}`, tags: [], pushedAt: '2025-04-01T00:00:00Z', sizeBytes: 50_000_000 },
  { digest: `sha256:${'d'.repeat(64)}`, tags: [], pushedAt: '2025-05-30T00:00:00Z', sizeBytes: 40_000_000 },
]);

describe('ecrctl lifecycle validate', () => {
  it('says how many rules a valid policy has (exit 0)', async () => {
    const r = await runCli(['lifecycle', 'validate', goodPolicy]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('valid: 2 rules\n');
  });

  it('lists every problem as FILE:line:column field: problem — fix, in file order (exit 3)', async () => {
    const r = await runCli(['lifecycle', 'validate', badPolicy]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: lifecycle policy ${badPolicy} is not valid: 3 problems`);
    expect(r.stderr).toContain(
      `  - ${badPolicy}:11:22 rules[0].selection.countUnit: countType "imageCountMoreThan" takes no countUnit — remove countUnit`,
    );
    expect(r.stderr).toContain(
      'rules[1].selection.countUnit: countType "sinceImagePushed" needs "countUnit": "days" — add "countUnit": "days"',
    );
    expect(r.stderr).toContain('rules[1].rulePriority: rulePriority 1 is already used by rules[0]');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    const positions = lines.map((l) => l.slice(4 + badPolicy.length + 1).split(' ')[0]);
    const sorted = [...positions].sort((a, b) => {
      const [la = 0, ca = 0] = (a ?? '').split(':').map(Number);
      const [lb = 0, cb = 0] = (b ?? '').split(':').map(Number);
      return la - lb || ca - cb;
    });
    expect(positions).toEqual(sorted);
  });

  it('points at JSON syntax errors by line and column', async () => {
    const broken = file('broken.json', `{\n  "rules": [\n    { "rulePriority": 1, }\n  ]\n}\n${' '.repeat(100)}`);
    const r = await runCli(['lifecycle', 'validate', broken]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `${broken}:3:26 policy text: JSON syntax error: expected a property name in double quotes but found "}" (a trailing comma is not allowed in JSON)`,
    );
  });

  it('--output json prints {file, valid, rules, problems} and still exits 3', async () => {
    const r = await runCli(['-o', 'json', 'lifecycle', 'validate', badPolicy]);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as {
      valid: boolean;
      problems: { file: string; field: string; line: number; column: number; problem: string; fix: string }[];
    };
    expect(out.valid).toBe(false);
    expect(out.problems.map((p) => p.field).sort()).toEqual([
      'rules[0].selection.countUnit',
      'rules[1].rulePriority',
      'rules[1].selection.countUnit',
    ]);
    expect(out.problems.every((p) => p.file === badPolicy && p.line > 0 && p.column > 0)).toBe(true);
    const ok = await runCli(['-o', 'json', 'lifecycle', 'validate', goodPolicy]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ file: goodPolicy, valid: true, rules: 2, problems: [] });
  });

  it('reads standard input with -', async () => {
    const r = await runCli(['lifecycle', 'validate', '-'], {
      input: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 },
            action: { type: 'expire' },
          },
        ],
      }),
    });
    expect(r.stdout).toBe('valid: 1 rule\n');
  });

  it('exits 6 for a missing file', async () => {
    const r = await runCli(['lifecycle', 'validate', path.join(dir, 'nope.json')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`policy file ${path.join(dir, 'nope.json')} does not exist`);
  });
});

describe('ecrctl lifecycle presets', () => {
  it('lists the presets', async () => {
    const r = await runCli(['lifecycle', 'presets']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+PARAMETERS\s+SUMMARY\n/);
    expect(r.stdout).toMatch(/keep-last-n-per-major\s+majors count=5 prefix=v\s+for each major version/);
  });

  it('show prints policy JSON that validate accepts', async () => {
    const r = await runCli([
      'lifecycle',
      'presets',
      'show',
      'keep-last-n-tagged',
      '--param',
      'prefix=main-',
      '--param',
      'count=20',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: 'Keep the newest 20 images tagged main-*',
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['main-*'],
            countType: 'imageCountMoreThan',
            countNumber: 20,
          },
          action: { type: 'expire' },
        },
      ],
    });
    const v = await runCli(['lifecycle', 'validate', '-'], { input: r.stdout });
    expect(v.stdout).toBe('valid: 1 rule\n');
  });

  it('show rejects a missing parameter with exit 2 and the fix', async () => {
    const r = await runCli(['lifecycle', 'presets', 'show', 'keep-last-n-per-major']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('preset keep-last-n-per-major needs the parameter "majors"');
    expect(r.stderr).toContain('fix:   pass --param majors=1,2,3');
  });
});

describe('ecrctl lifecycle simulate', () => {
  const at = ['--at', '2025-06-01T00:00:00Z'];

  it('prints what would go, why, and the bytes freed', async () => {
    const r = await runCli(['lifecycle', 'simulate', '--images', images, '--policy', goodPolicy, ...at]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ACTION\s+DIGEST\s+TAGS\s+SIZE\s+REASON$/);
    expect(lines[1]).toMatch(
      /^expire\s+sha256:aaaaaaaaaaaa\s+prod-1\s+120 MB\s+rule 1: more than 1 image tagged prod\*; this is #2 by push time$/,
    );
    expect(lines[2]).toMatch(
      /^expire\s+sha256:cccccccccccc\s+<untagged>\s+50\.0 MB\s+rule 2: pushed 61 days ago > 14$/,
    );
    expect(r.stdout).toContain('2 of 4 images would expire, freeing 170 MB; 2 kept');
    expect(r.stdout).not.toContain('bbbbbbbb');
  });

  it('--all lists kept images with their reason', async () => {
    const r = await runCli(['lifecycle', 'simulate', '--images', images, '--policy', goodPolicy, '--all', ...at]);
    expect(r.stdout).toMatch(/keep\s+sha256:bbbbbbbbbbbb\s+prod-2\s+130 MB\s+rule 1: the newest image tagged prod\*/);
    expect(r.stdout).toMatch(
      /keep\s+sha256:dddddddddddd\s+<untagged>\s+40\.0 MB\s+rule 2: pushed 2 days ago, not more than 14/,
    );
  });

  it('takes a preset as the policy, and gives JSON and env output', async () => {
    const args = [
      'lifecycle',
      'simulate',
      '--images',
      images,
      '--policy',
      'preset:expire-untagged',
      '--param',
      'days=30',
      ...at,
    ];
    const json = await runCli(['-o', 'json', ...args]);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as {
      at: string;
      summary: Record<string, number>;
      decisions: { digest: string; action: string }[];
    };
    expect(out.at).toBe('2025-06-01T00:00:00.000Z');
    expect(out.summary).toEqual({
      images: 4,
      expire: 1,
      transition: 0,
      keep: 3,
      bytesFreed: 50_000_000,
      bytesArchived: 0,
    });
    expect(out.decisions.filter((d) => d.action === 'expire').map((d) => d.digest)).toEqual([
      `sha256:${'c'.repeat(64)}`,
    ]);
    const env = await runCli(['-o', 'env', ...args]);
    expect(env.stdout).toBe(
      'EXPIRE_COUNT=1\nTRANSITION_COUNT=0\nKEEP_COUNT=3\nBYTES_FREED=50000000\nBYTES_ARCHIVED=0\n',
    );
  });

  it('exits 3 naming the protected images the policy would expire', async () => {
    const protect = file('protect.txt', '# must never go\nprod-1\nrelease-*\n');
    const r = await runCli([
      'lifecycle',
      'simulate',
      '--images',
      images,
      '--policy',
      goodPolicy,
      '--protect',
      protect,
      ...at,
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('2 of 4 images would expire');
    expect(r.stderr).toContain('warning: protected entry "release-*" matches no image');
    expect(r.stderr).toContain('error: the policy would expire 1 protected image');
    expect(r.stderr).toContain(
      `  - sha256:${'a'.repeat(64)} (prod-1) is protected by "prod-1": rule 1: more than 1 image tagged prod*; this is #2 by push time`,
    );
  });

  it('exits 0 when every protected image survives', async () => {
    const protect = file('protect.json', JSON.stringify(['prod-2', `sha256:${'d'.repeat(64)}`]));
    const r = await runCli([
      'lifecycle',
      'simulate',
      '--images',
      images,
      '--policy',
      goodPolicy,
      '--protect',
      protect,
      ...at,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('protected: no protected image would be expired (2 entries checked)');
  });

  it('refuses an invalid policy with exit 3 before simulating', async () => {
    const r = await runCli(['lifecycle', 'simulate', '--images', images, '--policy', badPolicy, ...at]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('is not valid: 3 problems');
  });

  it('rejects a bad date and a bad image list with exit 2', async () => {
    const badAt = await runCli([
      'lifecycle',
      'simulate',
      '--images',
      images,
      '--policy',
      goodPolicy,
      '--at',
      'tomorrow',
    ]);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toContain('--at must be an ISO 8601 date');
    const badImages = file('bad-images.json', [{ digest: 'sha256:x', tags: [] }]);
    const r = await runCli(['lifecycle', 'simulate', '--images', badImages, '--policy', goodPolicy]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[0] (sha256:x): "pushedAt" (or "imagePushedAt") is missing');
  });
});

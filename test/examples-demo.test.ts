// The README's main-job command: examples/local-demo.sh runs end to end on `ecrctl local`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { baseEnv, builtEntry } from './helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..');

it('examples/local-demo.sh runs the main job end to end and exits 0', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'ecrctl-demo-home-'));
  try {
    const r = spawnSync('bash', ['examples/local-demo.sh'], {
      cwd: root,
      env: { ...baseEnv(), HOME: home, TMPDIR: home, ECRCTL_ENTRY: builtEntry() },
      encoding: 'utf8',
      timeout: 90_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out).toContain("fix:   use 'payment-api' instead of 'Payment_API'");
    expect(out).toMatch(/IMAGE_URI=127\.0\.0\.1:\d+\/team\/hello@sha256:[0-9a-f]{64}/);
    expect(out).toContain('(unchanged: v1.0.0,main-abc1234)');
    expect(out).toContain('exit code 4: the build would stop here');
    expect(out).toContain('staging (added)');
    expect(out).toContain('== done');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}, 180_000); // a dozen commands end to end: ~15 s alone, several times that on a loaded machine

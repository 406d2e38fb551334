// examples/lambda-build runs as written: run-local.sh starts `ecrctl local`, pushes the
// stand-in Lambda base, runs the buildspec's build command with CodeBuild's variables
// (branch-sha tags), checks the base (exit 0), moves the base tag and sees exit 3. The
// buildspec's build command must be the one the script runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { afterAll, beforeAll } from 'vitest';
import { baseEnv, builtEntry, runProcess } from './helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..');
const example = path.join(root, 'examples', 'lambda-build');

let tmp: string;
let entry: string;
beforeAll(() => {
  // The e2e tier's build of the CLI, as `bin/ecrctl.js` runs it after `npm ci`.
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-lambda-example-'));
  entry = builtEntry();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('examples/lambda-build', () => {
  it('builds the function onto the stand-in base with branch-sha tags, and check-base exits 3 once the base moves', async () => {
    const r = await runProcess('bash', [path.join(example, 'run-local.sh')], {
      cwd: root,
      env: {
        ...baseEnv(),
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ECRCTL_ENTRY: entry,
        NODE_PATH: path.join(root, 'node_modules'),
        TMPDIR: tmp,
      },
      timeoutMs: 120_000,
    });
    // The one error is check-base's, on purpose, after the base moved.
    expect(r.stderr.match(/^error: .*/gm)).toEqual([expect.stringMatching(/^error: the base of .* has moved on$/)]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(
      /built 127\.0\.0\.1:\d+\/hello-fn@sha256:[0-9a-f]{64} \(main-1a2b3c4\) onto lambda\/nodejs:22/,
    );
    expect(r.stdout).toContain('up to date with');
    expect(r.stdout).toContain('check-base after the base moved: exit 3');
  }, 150_000);

  it('runs the same build command as buildspec.yml, with no privileged mode or docker', () => {
    const spec = parse(readFileSync(path.join(example, 'buildspec.yml'), 'utf8'));
    const build: string = spec.phases.build.commands.find((c: string) => c.startsWith('ecrctl build'));
    const script = readFileSync(path.join(example, 'run-local.sh'), 'utf8');
    const scripted = /^ecrctl build [^\n]*\\\n[^\n]*/m.exec(script)?.[0].replace(/\\\n\s*/g, '');
    const words = (s: string) => s.trim().split(/\s+/);
    expect(words(scripted ?? '')).toEqual(words(build));
    expect(JSON.stringify(spec)).not.toMatch(/docker|privileged/i);
  });
});

// shellQuote / shellAssignment: what bash reads back from the lines is the value, byte for
// byte, whether the file is sourced (`set -a; . file`) or evaluated (`eval "$(cat file)"`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellAssignment, shellQuote } from '../../src/ci/shell.js';

/** Returns what bash assigns to V1..Vn from the lines, by source and by eval. */
function readBack(values: readonly string[]): { sourced: string[]; evaluated: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-shell-'));
  try {
    const file = path.join(dir, 'vars.env');
    writeFileSync(file, values.map((v, i) => shellAssignment(`V${i}`, v)).join(''));
    const print = values.map((_, i) => `printf '%s\\0' "$V${i}"`).join('; ');
    const run = (how: string) =>
      execFileSync('bash', ['-c', `${how}; ${print}`, 'bash', file], { encoding: 'utf8' })
        .split('\0')
        .slice(0, -1);
    return { sourced: run('set -a; . "$1"; set +a'), evaluated: run('eval "$(cat "$1")"') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('shellQuote', () => {
  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app', '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app'],
    ['sha256:0123abcd', 'sha256:0123abcd'],
    ['v1,latest', 'v1,latest'],
    ['', ''],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['{"rules":[]}', `'{"rules":[]}'`],
    ['$HOME `id` $(id)', "'$HOME `id` $(id)'"],
    ['~/x', "'~/x'"],
  ])('%j → %s', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });

  it('bash reads back every value exactly, sourced and evaluated', () => {
    const values = [
      'plain',
      'a b',
      "it's",
      '{"a":"b c"}',
      'line1\nline2',
      '$(touch /tmp/x) `x` ; | & * ? [a] ~ #',
      '\\',
    ];
    const back = readBack(values);
    expect(back.sourced).toEqual(values);
    expect(back.evaluated).toEqual(values);
  });

  it('holds for any string without NUL (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, '')),
          { maxLength: 20 },
        ),
        (values) => {
          const back = readBack(values);
          expect(back.sourced).toEqual(values);
          expect(back.evaluated).toEqual(values);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses a key that is not a variable name', () => {
    expect(() => shellAssignment('A-B', 'x')).toThrow(/not a shell variable name: A-B/);
  });
});

// The three validators print problems one way (issue 21 #15): `lifecycle validate`,
// `policy validate` and the emulator's advisory file (`local serve --advisories`) list them
// sorted by position, one line each as `FILE:line:column field: problem — fix`, and the JSON
// output carries the same fields. Each file below has two problems that its validator finds
// in the reverse order of the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateLifecyclePolicy } from '../../src/ops/lifecycle.js';
import { validateResourcePolicy } from '../../src/policy/iam.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-validators-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

/** The problem lines of stderr (main prints each as `  - LINE`). */
function problemLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('  - '))
    .map((l) => l.slice(4));
}

// Rule 2 repeats priority 1 (line 9) and has a bad countUnit (line 14): the validator checks
// each rule's fields before the priorities across rules, so it finds line 14 first.
const LIFECYCLE = `{
  "rules": [
    {
      "rulePriority": 1,
      "selection": { "tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 5 },
      "action": { "type": "expire" }
    },
    {
      "rulePriority": 1,
      "selection": {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countNumber": 7,
        "countUnit": "weeks"
      },
      "action": { "type": "expire" }
    }
  ]
}
`;

// A bad Version (line 2) and an unknown top-level field (line 4): unknown fields are checked first.
const POLICY = `{
  "Version": "2011-01-01",
  "Statement": [{ "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::111122223333:root" }, "Action": "ecr:BatchGetImage" }],
  "Comment": "pull for the build account"
}
`;

// A score that is no number (line 4) and an empty id (line 6): id is checked first.
const ADVISORIES = `[
  {
    "package": "openssl",
    "score": "high",
    "ecosystem": "deb",
    "id": ""
  }
]
`;

describe('one problem format for the three validators', () => {
  it('lifecycle validate: sorted by position, FILE:line:column field: problem — fix (exit 3)', async () => {
    const lc = file('lifecycle.json', LIFECYCLE);
    // the validator's own order is the reverse of the file's
    expect(validateLifecyclePolicy(LIFECYCLE).problems.map((p) => p.line)).toEqual([14, 9]);
    const r = await runCli(['lifecycle', 'validate', lc], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe('error: lifecycle policy lifecycle.json is not valid: 2 problems');
    expect(problemLines(r.stderr)).toEqual([
      'lifecycle.json:9:23 rules[1].rulePriority: rulePriority 1 is already used by rules[0] — give each rule its own priority, e.g. 2',
      'lifecycle.json:14:22 rules[1].selection.countUnit: countUnit must be "days", not the string "weeks" — use "countUnit": "days"',
    ]);
  });

  it('lifecycle validate -o json: the same problems as {file, line, column, field, problem, fix}', async () => {
    const lc = file('lifecycle.json', LIFECYCLE);
    const r = await runCli(['-o', 'json', 'lifecycle', 'validate', lc], { cwd: dir });
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      file: 'lifecycle.json',
      valid: false,
      rules: 0,
      problems: [
        {
          file: 'lifecycle.json',
          line: 9,
          column: 23,
          field: 'rules[1].rulePriority',
          problem: 'rulePriority 1 is already used by rules[0]',
          fix: 'give each rule its own priority, e.g. 2',
        },
        {
          file: 'lifecycle.json',
          line: 14,
          column: 22,
          field: 'rules[1].selection.countUnit',
          problem: 'countUnit must be "days", not the string "weeks"',
          fix: 'use "countUnit": "days"',
        },
      ],
    });
  });

  it('policy validate: sorted by position, the same line format (exit 3)', async () => {
    const pol = file('policy.json', POLICY);
    expect(validateResourcePolicy(POLICY, 'repository').problems.map((p) => p.line)).toEqual([4, 2]);
    const r = await runCli(['policy', 'validate', pol], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')[0]).toBe('error: policy.json is not a valid repository policy (2 problems)');
    expect(problemLines(r.stderr)).toEqual([
      'policy.json:2:14 Version: Version must be "2012-10-17" (or the older "2008-10-17") — use "Version": "2012-10-17"',
      'policy.json:4:3 Comment: unknown top-level field "Comment" — a policy has Version, Id and Statement',
    ]);
  });

  it('policy validate -o json: the same fields, then exit 3', async () => {
    const pol = file('policy.json', POLICY);
    const r = await runCli(['-o', 'json', 'policy', 'validate', pol], { cwd: dir });
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.problems).toEqual([
      {
        file: 'policy.json',
        line: 2,
        column: 14,
        field: 'Version',
        problem: 'Version must be "2012-10-17" (or the older "2008-10-17")',
        fix: 'use "Version": "2012-10-17"',
      },
      {
        file: 'policy.json',
        line: 4,
        column: 3,
        field: 'Comment',
        problem: 'unknown top-level field "Comment"',
        fix: 'a policy has Version, Id and Statement',
      },
    ]);
    // standard input is named <stdin> in the lines
    const stdin = await runCli(['policy', 'validate', '-'], { cwd: dir, input: POLICY });
    expect(stdin.code).toBe(3);
    expect(problemLines(stdin.stderr)[0]).toMatch(/^<stdin>:2:14 Version: /);
  });

  it('local serve --advisories: the advisory file problems, sorted, before anything listens (exit 3, as the other validators)', async () => {
    const adv = path.join(dir, file('advisories.json', ADVISORIES));
    const r = await runCli(['local', 'serve', '--port', '0', '--data', path.join(dir, 'data'), '--advisories', adv], {
      cwd: dir,
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(`error: the advisory file ${adv} has 2 problems`);
    expect(problemLines(r.stderr)).toEqual([
      `${adv}:4:14 [0].score: score must be a number — write a number, e.g. "score": 7.5`,
      `${adv}:6:11 [0].id: id is required — add "id": the advisory id, e.g. "CVE-2024-1234"`,
    ]);
  });

  it('the advisory file: a JSON syntax error has its line and column too', async () => {
    const adv = path.join(dir, file('broken.json', '[\n  {"id": "CVE-1",}\n]\n'));
    const r = await runCli(['local', 'serve', '--port', '0', '--data', path.join(dir, 'data'), '--advisories', adv], {
      cwd: dir,
    });
    expect(r.code).toBe(3);
    expect(problemLines(r.stderr)).toEqual([
      `${adv}:2:18 advisory file: JSON syntax error: expected a property name in double quotes but found "}" (a trailing comma is not allowed in JSON) — correct the JSON at this position`,
    ]);
  });
});

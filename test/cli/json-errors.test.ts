// With --output json a failure prints one JSON error object on stdout (what a script parses)
// as well as the human text on stderr (what a person reads), whatever the kind of failure and
// however json was asked for: -o json, --output json, --output=json, ECRCTL_OUTPUT=json.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;

beforeAll(async () => {
  env = await startRepoEnv();
});
afterAll(async () => {
  await env?.close();
});

interface JsonError {
  error: {
    kind: string;
    message: string;
    rule?: string;
    value?: string;
    fix?: string;
    exitCode: number;
    problems?: string[];
  };
}

/** Returns stdout parsed as the one JSON error document. */
function parsed(stdout: string): JsonError {
  const doc = JSON.parse(stdout) as JsonError;
  expect(Object.keys(doc)).toEqual(['error']);
  return doc;
}

describe('--output json on failure', () => {
  it.each([
    ['-o json', ['-o', 'json'], {}],
    ['--output=json', ['--output=json'], {}],
    ['ECRCTL_OUTPUT=json', [], { ECRCTL_OUTPUT: 'json' }],
  ])(
    'a usage error commander finds before any option is read (%s): exit 2, JSON on stdout',
    async (_n, flags, vars) => {
      const r = await runCli(['pull', '--platfrom', 'linux/amd64', 'a', 'oci:x', ...flags], { env: vars });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("unknown option '--platfrom'");
      const { error } = parsed(r.stdout);
      expect(error).toMatchObject({ kind: 'UsageError', exitCode: 2 });
      expect(error.message).toContain("unknown option '--platfrom'");
      expect(error.fix).toMatch(/--platform/);
    },
  );

  it('a usage error from a global option (--registry-id): exit 2, with value and fix', async () => {
    const r = await runCli(['repos', '--registry-id', '12', '--output', 'json']);
    expect(r.code).toBe(2);
    const { error } = parsed(r.stdout);
    expect(error).toMatchObject({ kind: 'UsageError', exitCode: 2, value: '12' });
    expect(error.fix).toContain('--registry-id 123456789012');
    expect(r.stderr).toContain('error: --registry-id must be a 12-digit AWS account id');
  });

  it('a repository that does not exist: exit 6, NotFoundError', async () => {
    const r = await env.cli(['images', 'json/missing', '-o', 'json']);
    expect(r.code).toBe(6);
    const { error } = parsed(r.stdout);
    expect(error).toMatchObject({ kind: 'NotFoundError', exitCode: 6 });
    expect(error.message).toContain('json/missing');
    expect(r.stderr).toContain(`error: ${error.message}`);
  });

  it('a rule violation: exit 3, with the rule, the value and every problem', async () => {
    const r = await env.cli(['create-repo', 'Bad_Name', '-o', 'json']);
    expect(r.code).toBe(3);
    const { error } = parsed(r.stdout);
    expect(error).toMatchObject({ kind: 'RuleViolation', exitCode: 3 });
    expect(error.rule).toBeTruthy();
    expect(error.value).toContain('Bad_Name');
    expect(Array.isArray(error.problems)).toBe(true);
    expect(r.stderr).toContain(`error: ${error.message}`);
  });

  it.each([
    ['127.0.0.1:4510', '--endpoint-url'],
    ['localhost:4510', 'ECRCTL_ENDPOINT_URL'],
  ])('an endpoint URL without a scheme (%s from %s) is a usage error with a fix, exit 2', async (url, from) => {
    const args = from === '--endpoint-url' ? ['--endpoint-url', url] : [];
    const vars = from === '--endpoint-url' ? {} : { ECRCTL_ENDPOINT_URL: url };
    const r = await runCli([...args, 'repos', '-o', 'json'], { env: vars });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('Invalid URL');
    const { error } = parsed(r.stdout);
    expect(error).toMatchObject({ kind: 'UsageError', exitCode: 2, value: url });
    expect(error.fix).toContain(`http://${url}`);
  });

  it('a command that printed its result document and then fails adds no second document', async () => {
    const bad = path.join(env.dir, 'bad-lifecycle.json');
    writeFileSync(bad, JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'any' } }] }));
    const r = await runCli(['lifecycle', 'validate', bad, '-o', 'json']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.valid).toBe(false);
    expect(doc).not.toHaveProperty('error');
  });

  it('text and env output keep stdout empty on failure', async () => {
    for (const flags of [[], ['-o', 'env']]) {
      const r = await env.cli(['images', 'json/missing', ...flags]);
      expect(r.code).toBe(6);
      expect(r.stdout).toBe('');
    }
  });
});

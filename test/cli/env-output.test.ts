// `--output env` is one contract for every command: the lines can be sourced (`set -a; . file`)
// and evaluated (`eval "$(ecrctl … -o env)"`) by bash, which then holds exactly the values the
// same command prints as JSON (lists comma-separated, JSON documents on one line).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
/** A Docker config directory whose path needs quoting: a space and a single quote. */
let dockerConfig: string;

beforeAll(async () => {
  env = await startRepoEnv();
  writeOciLayout(path.join(env.dir, 'layout'), [{ image: buildImage(41), tag: 'v1' }]);
  writeFileSync(
    path.join(env.dir, 'policy.json'),
    JSON.stringify(
      {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: ['ecr:BatchGetImage'] }],
      },
      null,
      2,
    ),
  );
  dockerConfig = path.join(env.dir, "it's docker");
  mkdirSync(dockerConfig);
  for (const args of [
    ['create-repo', 'env/a', 'env/b', '--lifecycle', 'preset:expire-untagged,days=7'],
    ['policy', 'set', 'env/a', 'policy.json'],
    ['tag-push', 'oci:layout:v1', 'env/a:v1', '-t', 'main-abc1234'],
    ['template', 'create', 'env-one'],
    ['template', 'create', 'env-two'],
  ]) {
    const r = await env.cli(args, { cwd: env.dir });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  }
});
afterAll(async () => {
  await env?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the JSON output of many commands
type Json = any;

/** Each command, and the env values its JSON output implies. */
const cases: { args: string[]; expected: (j: Json) => Record<string, string> }[] = [
  {
    args: ['create-repo', 'env/a', 'env/b', '--if-not-exists'],
    expected: (j) => ({ REPOSITORY_URIS: j.repositories.map((r: Json) => r.uri).join(',') }),
  },
  {
    args: ['create-repo', 'env/a', '--if-not-exists'],
    expected: (j) => ({
      REPOSITORY_URI: j.repositories[0].uri,
      REPOSITORY_NAME: j.repositories[0].name,
      REPOSITORY_ARN: j.repositories[0].arn,
      REPOSITORY_STATUS: j.repositories[0].status,
    }),
  },
  {
    args: ['repos'],
    expected: (j) => ({
      REPOSITORY_COUNT: String(j.repositories.length),
      REPOSITORY_NAMES: j.repositories.map((r: Json) => r.name).join(','),
    }),
  },
  { args: ['lifecycle', 'get', 'env/a'], expected: (j) => ({ LIFECYCLE_POLICY: JSON.stringify(j.policy) }) },
  {
    args: ['policy', 'get', 'env/a'],
    expected: (j) => ({ POLICY_TEXT: JSON.stringify(j.policy), REGISTRY_ID: j.registryId }),
  },
  { args: ['inspect', 'env/a:v1'], expected: (j) => ({ IMAGE_DIGEST: j.digest, IMAGE_MEDIA_TYPE: j.mediaType }) },
  { args: ['tags', 'env/a'], expected: (j) => ({ IMAGE_TAGS: j.tags.join(',') }) },
  {
    args: ['images', 'env/a'],
    expected: (j) => ({
      IMAGE_COUNT: String(j.images.length),
      LATEST_DIGEST: j.images[0].digest,
      LATEST_TAGS: j.images[0].tags.join(','),
    }),
  },
  {
    args: ['tag-push', 'oci:layout:v1', 'env/a:v1', '-t', 'main-abc1234'],
    expected: (j) => ({ IMAGE_URI: j.imageUri, IMAGE_DIGEST: j.digest, IMAGE_TAGS: j.tags.join(',') }),
  },
  {
    args: ['promote', 'env/a:v1', 'stable', 'qa'],
    expected: (j) => ({ IMAGE_URI: j.imageUri, IMAGE_DIGEST: j.digest, IMAGE_TAGS: 'stable,qa' }),
  },
  {
    args: ['template', 'list'],
    expected: (j) => ({ TEMPLATE_PREFIXES: j.templates.map((t: Json) => t.prefix).join(',') }),
  },
  { args: ['iam-policy', 'pull'], expected: (j) => ({ IAM_POLICY: JSON.stringify(j) }) },
  { args: ['lifecycle', 'presets'], expected: (j) => ({ PRESETS: j.map((p: Json) => p.name).join(',') }) },
  {
    // in GitHub Actions, where the masks must not land in the captured output either
    args: ['login', '--docker-config', 'DOCKER_CONFIG'],
    expected: (j) => ({
      REGISTRY: j.registries[0].registry,
      REGISTRIES: j.registries.map((r: Json) => r.registry).join(','),
      CONFIG_FILE: j.file,
    }),
  },
];

/** Returns what bash holds in each KEY of the lines after `how` read the file. */
function bashReads(file: string, how: string, keys: readonly string[]): Record<string, string> {
  const print = keys.map((k) => `printf '%s\\0' "$${k}"`).join('; ');
  const out = execFileSync('bash', ['-euc', `${how}; ${print}`, 'bash', file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const values = out.split('\0');
  return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? '']));
}

describe('--output env', () => {
  it.each(cases.map((c) => [c.args.join(' '), c] as const))(
    'ecrctl %s: sourced and evaluated, bash holds the JSON output values',
    async (name, c) => {
      const args = c.args.map((a) => (a === 'DOCKER_CONFIG' ? dockerConfig : a));
      const opts = { cwd: env.dir, env: args[0] === 'login' ? { GITHUB_ACTIONS: 'true' } : {} };
      const json = await env.cli([...args, '-o', 'json'], opts);
      expect(json.code, json.stderr).toBe(0);
      const expected = c.expected(JSON.parse(json.stdout));

      const r = await env.cli([...args, '-o', 'env'], opts);
      expect(r.code, r.stderr).toBe(0);
      const keys = [...r.stdout.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string);
      expect(keys.sort()).toEqual(Object.keys(expected).sort());
      const file = path.join(env.dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.env`);
      writeFileSync(file, r.stdout);
      // execFileSync throws on a non-zero exit (-e, -u); a word run as a command would fail too.
      expect(bashReads(file, 'set -a; . "$1"; set +a', keys)).toEqual(expected);
      expect(bashReads(file, 'eval "$(cat "$1")"', keys)).toEqual(expected);
    },
  );

  it('quotes what a shell would misread, and nothing else', async () => {
    const r = await env.cli(['login', '--docker-config', dockerConfig, '-o', 'env']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^REGISTRY=127\.0\.0\.1:\d+$/m);
    expect(r.stdout).toContain(`CONFIG_FILE='${dockerConfig.replace("'", "'\\''")}/config.json'\n`);
    const list = await runCli(['--endpoint-url', env.endpoint, 'lifecycle', 'presets', '-o', 'env']);
    expect(list.stdout).toMatch(/^PRESETS=[a-z-]+(,[a-z-]+)+\n$/);
  });
});

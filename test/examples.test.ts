// The examples run as written: examples/buildspec.yml's phases as one bash script with
// CodeBuild's variables, and examples/github-actions.yml's run steps one by one with GitHub's
// variables and a temporary GITHUB_OUTPUT, both against `ecrctl local`. `ecrctl` on PATH is
// a shim that runs the built CLI; `docker buildx build` is a shim that writes the OCI layout
// with examples/make-image.mjs (no Docker here). Steps that `uses:` an action are skipped:
// the environment stands in for what they set up (credentials, Node).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { baseEnv, builtEntry, runProcess } from './helpers/cli.js';
import { type RepoTestEnv, startRepoEnv } from './cli/repos-fixtures.js';

const root = path.resolve(import.meta.dirname, '..');

/** Runs bash with args (asynchronously: the ecrctl local server lives in this process). */
async function bash(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runProcess('bash', args, { ...opts, timeoutMs: 60_000 });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}
let env: RepoTestEnv;
let bin: string;
const SHA = 'f00dfeed1234567890abcdef1234567890abcdef';

beforeAll(async () => {
  env = await startRepoEnv();
  bin = path.join(env.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'ecrctl'), `#!/bin/sh\nexec "${process.execPath}" "${builtEntry()}" "$@"\n`);
  // Only what the examples use: `docker buildx build --output type=oci,dest=DIR,tar=false .`
  writeFileSync(
    path.join(bin, 'docker'),
    `#!/bin/bash
set -e
[ "$1 $2" = "buildx build" ] || { echo "docker shim: only buildx build" >&2; exit 1; }
for a in "$@"; do case "$a" in type=oci,dest=*) d="\${a#type=oci,dest=}"; dest="\${d%%,*}";; esac; done
[ -n "$dest" ] || { echo "docker shim: no --output type=oci,dest=" >&2; exit 1; }
exec "${process.execPath}" "${path.join(root, 'examples', 'make-image.mjs')}" "$dest" latest "built at $SOURCE_SEED"
`,
  );
  chmodSync(path.join(bin, 'ecrctl'), 0o755);
  chmodSync(path.join(bin, 'docker'), 0o755);
});
afterAll(async () => {
  await env?.close();
});

function commonEnv(work: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    PATH: `${bin}:${process.env.PATH}`,
    HOME: path.join(env.dir, 'home'),
    XDG_CACHE_HOME: path.join(env.dir, 'home', '.cache'),
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    ECRCTL_ENDPOINT_URL: env.endpoint,
    SOURCE_SEED: work,
  };
}

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

interface Buildspec {
  env?: { variables?: Record<string, string>; 'exported-variables'?: string[] };
  phases: Record<string, { commands: string[] }>;
}

/** Runs a buildspec's phases in order in one bash, as CodeBuild does; returns the exported variables. */
async function runBuildspec(spec: Buildspec, work: string, vars: Record<string, string>) {
  const exported = spec.env?.['exported-variables'] ?? [];
  const phases = ['install', 'pre_build', 'build', 'post_build'].flatMap((p) => spec.phases[p]?.commands ?? []);
  const script = [
    'set -eo pipefail',
    ...phases,
    ...exported.map((v) => `printf '%s=%s\\n' ${v} "\${${v}:-}" >> "$EXPORTS"`),
  ].join('\n');
  const exports = path.join(work, 'exported.env');
  const r = await bash(['-c', script], {
    cwd: work,
    env: { ...commonEnv(work), ...spec.env?.variables, ...vars, EXPORTS: exports },
  });
  const values = existsSync(exports)
    ? Object.fromEntries(
        readFileSync(exports, 'utf8')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
    : {};
  return { ...r, values };
}

describe('examples/buildspec.yml', () => {
  const spec = parse(readFileSync(path.join(root, 'examples', 'buildspec.yml'), 'utf8')) as Buildspec;
  const codebuild = {
    CODEBUILD_BUILD_ID: 'web-app:0a1b2c3d-1111-2222-3333-444455556666',
    CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
    CODEBUILD_SOURCE_VERSION: SHA,
    CODEBUILD_WEBHOOK_HEAD_REF: 'refs/heads/main',
  };

  it('creates the repository named after the project, pushes, exports a digest-pinned IMAGE_URI; a re-run passes', async () => {
    const work = path.join(env.dir, 'cb');
    mkdirSync(work);
    const r = await runBuildspec(spec, work, codebuild);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const repo = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['web-app'] })))
      .repositories?.[0];
    expect(repo?.imageTagMutability).toBe('IMMUTABLE');
    const tags = await tagsOf('web-app');
    expect(Object.keys(tags).sort()).toEqual(['f00dfee', 'main-f00dfee']);
    const digest = tags['main-f00dfee'];
    expect(r.values).toEqual({
      IMAGE_URI: `${repo?.repositoryUri}@${digest}`,
      IMAGE_DIGEST: digest,
      IMAGE_TAGS: 'main-f00dfee,f00dfee',
    });
    expect(JSON.parse(readFileSync(path.join(work, 'imagedefinitions.json'), 'utf8'))).toEqual([
      { name: 'app', imageUri: `${repo?.repositoryUri}@${digest}` },
    ]);

    // Retry the same build: the same image under the same immutable tags is success.
    const again = await runBuildspec(spec, work, codebuild);
    expect(again.status).toBe(0);
    expect(again.values.IMAGE_DIGEST).toBe(digest);
  });
});

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}

/** Evaluates the few expressions the workflow uses; anything else fails the test. */
function expression(
  text: string,
  outputs: Record<string, Record<string, string>>,
  vars: Record<string, string>,
): string {
  return text
    .replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
      const m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
      if (m) return outputs[m[1] as string]?.[m[2] as string] ?? '';
      throw new Error(`the workflow test does not evaluate \${{ ${expr} }}`);
    })
    .replace(/^github\.ref_type == '(\w+)'$/, (_, want: string) => String(vars.GITHUB_REF_TYPE === want));
}

/** Reads a GITHUB_OUTPUT file (name=value and name<<EOF forms). */
function readOutputs(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([\w-]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2] as string, i + 1);
      out[heredoc[1] as string] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

async function runWorkflow(vars: Record<string, string>, work: string) {
  const wf = parse(readFileSync(path.join(root, 'examples', 'github-actions.yml'), 'utf8')) as {
    jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
  };
  const job = Object.values(wf.jobs)[0]!;
  const outputs: Record<string, Record<string, string>> = {};
  const summary = path.join(work, 'summary.md');
  const logs: { name: string; status: number | null; stdout: string; stderr: string }[] = [];
  for (const [i, step] of job.steps.entries()) {
    if (step.uses || !step.run) continue;
    if (step.if && expression(step.if, outputs, vars) !== 'true') continue;
    const outFile = path.join(work, `output-${i}`);
    const stepEnv = Object.fromEntries(
      Object.entries(step.env ?? {}).map(([k, v]) => [k, expression(String(v), outputs, vars)]),
    );
    const r = await bash(['--noprofile', '--norc', '-eo', 'pipefail', '-c', expression(step.run, outputs, vars)], {
      cwd: work,
      env: {
        ...commonEnv(work),
        ...job.env,
        ...vars,
        ...stepEnv,
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: outFile,
        GITHUB_STEP_SUMMARY: summary,
      },
    });
    logs.push({ name: step.name ?? step.run, status: r.status, stdout: r.stdout, stderr: r.stderr });
    if (r.status !== 0) throw new Error(`step ${step.name} failed (${r.status}):\n${r.stderr}`);
    if (step.id) outputs[step.id] = readOutputs(outFile);
  }
  return { outputs, logs, summary: existsSync(summary) ? readFileSync(summary, 'utf8') : '' };
}

describe('examples/github-actions.yml', () => {
  it('pushes a branch build, outputs the digest-pinned URI, promotes it to staging', async () => {
    const work = path.join(env.dir, 'gh-branch');
    mkdirSync(work);
    const run = await runWorkflow(
      { GITHUB_SHA: SHA, GITHUB_REF_NAME: 'main', GITHUB_REF_TYPE: 'branch', GITHUB_REF: 'refs/heads/main' },
      work,
    );
    const tags = await tagsOf('app');
    const digest = tags['main-f00dfee'] as string;
    expect(tags).toEqual({ 'main-f00dfee': digest, staging: digest });
    const uri = (await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }))).repositories?.[0]
      ?.repositoryUri;
    expect(run.outputs.push).toEqual({
      'image-uri': `${uri}@${digest}`,
      'image-digest': digest,
      'image-tags': 'main-f00dfee',
    });
    const push = run.logs.find((l) => l.name === 'Push')!;
    expect(push.stderr).toMatch(/^::group::ecrctl: pushing oci:build\/image/m);
    expect(run.logs.find((l) => l.name === 'Use the image')?.stdout).toBe(
      `deploy ${uri}@${digest} (tags main-f00dfee)\n`,
    );
    expect(run.summary).toContain('### ecrctl tag-push');
    expect(run.summary).toContain('### ecrctl promote');
    expect(run.summary).toContain(`| \`${uri}@${digest}\` | \`${digest}\` | \`main-f00dfee\` |`);
  });

  it('pushes a version tag with its aliases and skips the staging step', async () => {
    const work = path.join(env.dir, 'gh-tag');
    mkdirSync(work);
    const run = await runWorkflow(
      { GITHUB_SHA: SHA, GITHUB_REF_NAME: 'v1.4.2', GITHUB_REF_TYPE: 'tag', GITHUB_REF: 'refs/tags/v1.4.2' },
      work,
    );
    expect(run.outputs.push?.['image-tags']).toBe('v1.4.2,v1.4,v1');
    expect(run.logs.map((l) => l.name)).not.toContain('Promote to staging');
    const tags = await tagsOf('app');
    expect(tags['v1.4.2']).toBe(run.outputs.push?.['image-digest']);
  });
});

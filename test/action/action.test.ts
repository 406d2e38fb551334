// The GitHub Action (action.yml + scripts/action/run.mjs) as a runner runs its steps: the
// GITHUB_* variables and files a runner sets ($GITHUB_OUTPUT, $GITHUB_ENV, $GITHUB_PATH,
// $RUNNER_TEMP, $GITHUB_ACTION_PATH), the runner's AWS credentials in the environment, and
// ecrctl local as ECR. The action's install step (npm ci && npm run build) is replaced by an
// action directory laid out as the build leaves it (bin/ shims over dist/), with dist/ the
// test run's own build of this checkout, so the steps run the code under test.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startLocalServer, type LocalServer } from '../../src/local/server.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { splitWords } from '../../scripts/action/run.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'scripts/action/run.mjs');
let server: LocalServer;
let dir: string;
let actionPath: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-action-'));
  server = await startLocalServer({ port: 0, dataDir: path.join(dir, 'local') });
  actionPath = path.join(dir, 'action');
  mkdirSync(path.join(actionPath, 'bin'), { recursive: true });
  writeFileSync(path.join(actionPath, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(path.join(root, 'node_modules'), path.join(actionPath, 'node_modules'));
  // The e2e tier's global setup compiled src/ into ECRCTL_TEST_BUILD/dist: the action
  // directory links to it, as `npm ci && npm run build` would leave dist/ there.
  const build = process.env.ECRCTL_TEST_BUILD;
  if (!build) throw new Error('ECRCTL_TEST_BUILD is not set: run this file in the e2e tier (vitest.config.ts)');
  symlinkSync(path.join(build, 'dist'), path.join(actionPath, 'dist'));
  writeFileSync(path.join(actionPath, 'bin/ecrctl.js'), "import '../dist/cli/bin.js';\n");
  writeFileSync(
    path.join(actionPath, 'bin/docker-credential-ecrctl.js'),
    "import '../dist/credential-helper-bin.js';\n",
  );
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A job: its HOME, runner files and environment, shared by the steps run in it. */
interface Job {
  home: string;
  files: { output: string; env: string; path: string };
  env: NodeJS.ProcessEnv;
}

function job(name: string): Job {
  const home = path.join(dir, name);
  const temp = path.join(home, 'runner-temp');
  mkdirSync(temp, { recursive: true });
  const files = { output: path.join(home, 'output'), env: path.join(home, 'env'), path: path.join(home, 'path') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  return {
    home,
    files,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      // what aws-actions/configure-aws-credentials exports
      AWS_ACCESS_KEY_ID: 'AKIDACTIONEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'action/secret/EXAMPLEKEY',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: path.join(home, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL: server.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      GITHUB_ACTIONS: 'true',
      CI: 'true',
      GITHUB_OUTPUT: files.output,
      GITHUB_ENV: files.env,
      GITHUB_PATH: files.path,
      GITHUB_STEP_SUMMARY: path.join(home, 'summary'),
      RUNNER_TEMP: temp,
      GITHUB_ACTION_PATH: actionPath,
    },
  };
}

/** Runs one step of the action with its inputs (INPUT_* as the step's env: gives them). */
function step(
  j: Job,
  name: string,
  inputs: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // What earlier steps put in $GITHUB_ENV, the runner gives to later steps.
  const carried = Object.fromEntries(
    readFileSync(j.files.env, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const env = {
    ...j.env,
    ...carried,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, name], { env, cwd: j.home });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Returns the name=value lines of a runner file. */
function pairs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

describe('action.yml', () => {
  it('is a composite action whose steps call run.mjs steps that exist, and whose outputs name real steps', () => {
    const action = parseYaml(readFileSync(path.join(root, 'action.yml'), 'utf8'));
    expect(action.runs.using).toBe('composite');
    const steps = action.runs.steps as { id?: string; run: string; env?: Record<string, string> }[];
    const called = steps.flatMap((s) => [...s.run.matchAll(/run\.mjs"? (\w+)/g)].map((m) => m[1]));
    expect(called).toEqual(['setup', 'login', 'command', 'logout']);
    expect(steps[0]?.run).toContain('npm ci');
    expect(steps[0]?.run).toContain('npm run build');
    const ids = new Set(steps.map((s) => s.id).filter(Boolean));
    for (const [name, output] of Object.entries(action.outputs as Record<string, { value: string }>)) {
      const m = /steps\.([\w-]+)\.outputs\.([\w-]+)/.exec(output.value);
      expect(m && ids.has(m[1] as string), name).toBe(true);
    }
    // every input reaches its step as INPUT_<NAME> (run.mjs reads those names)
    const passed = steps.flatMap((s) => Object.keys(s.env ?? {}));
    for (const name of ['registries', 'registry-type', 'dual-stack', 'docker-credentials', 'command']) {
      expect(passed).toContain(`INPUT_${name.toUpperCase()}`);
      expect(action.inputs[name]).toBeDefined();
    }
  });
});

describe('the action’s steps against ecrctl local', () => {
  it('setup puts ecrctl on PATH through $GITHUB_PATH', async () => {
    const j = job('setup');
    const r = await step(j, 'setup');
    expect(r.code, r.stderr).toBe(0);
    const binDir = readFileSync(j.files.path, 'utf8').trim();
    expect(binDir).toBe(path.join(j.env.RUNNER_TEMP as string, 'ecrctl-action-bin'));
    const version = await new Promise<string>((resolve) => {
      const c = spawn(path.join(binDir, 'ecrctl'), ['--version'], { env: j.env });
      let out = '';
      c.stdout.on('data', (d) => {
        out += d;
      });
      c.on('close', () => resolve(out));
    });
    expect(version).toMatch(/\d+\.\d+\.\d+/);
  });

  it('login masks first, logs Docker in, sets registry (credentials only when asked); command pushes; logout cleans up', async () => {
    const j = job('full');
    const login = await step(j, 'login', { 'docker-credentials': 'true' });
    expect(login.code, login.stderr).toBe(0);
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    const dockerConfig = path.join(j.home, '.docker', 'config.json');
    const auth = JSON.parse(readFileSync(dockerConfig, 'utf8')).auths[host].auth as string;
    const password = Buffer.from(auth, 'base64').toString().slice('AWS:'.length);
    // masks come first on stderr, and the password appears nowhere but in a mask
    expect(login.stderr.split('\n')[0]).toMatch(/^::add-mask::/);
    expect(login.stderr.split('\n')).toContain(`::add-mask::${password}`);
    expect(login.stderr.replaceAll(`::add-mask::${password}\n`, '')).not.toContain(password);
    expect(login.stdout).not.toContain(password);
    expect(login.stdout).toContain(`Logged in to ${host}`);
    const suffix = host.replace(/[^A-Za-z0-9]/g, '_');
    expect(pairs(j.files.output)).toEqual({
      registry: host,
      [`docker_username_${suffix}`]: 'AWS',
      [`docker_password_${suffix}`]: password,
      docker_username: 'AWS',
      docker_password: password,
    });
    expect(pairs(j.files.env)).toEqual({ ECRCTL_ACTION_REGISTRIES: host });

    // command: tag-push with its outputs, straight into $GITHUB_OUTPUT
    const layout = path.join(j.home, 'image');
    const image = buildImage(52);
    writeOciLayout(layout, [{ image, tag: 'v1' }]);
    writeFileSync(j.files.output, '');
    const push = await step(j, 'command', {
      command: `tag-push "oci:${layout}:v1" action/app:v1 -t build-7 --create-repo`,
    });
    expect(push.code, push.stderr).toBe(0);
    const out = pairs(j.files.output);
    expect(out['image-digest']).toBe(image.manifest.digest);
    expect(out['image-uri']).toBe(`${host}/action/app@${image.manifest.digest}`);
    expect(out['image-tags']?.split(',').sort()).toEqual(['build-7', 'v1']);

    // the logout step (the job's last, `if: always()`) takes out what login wrote
    const logout = await step(j, 'logout', { logout: 'true' });
    expect(logout.code, logout.stderr).toBe(0);
    expect(JSON.parse(readFileSync(dockerConfig, 'utf8')).auths?.[host]).toBeUndefined();
  });

  it('sets no credential outputs unless asked; a failed login fails the step with the reason', async () => {
    const j = job('plain');
    const r = await step(j, 'login');
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(pairs(j.files.output))).toEqual(['registry']);

    const bad = job('bad');
    const refused = await step(bad, 'login', { registries: '12345' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('12345');
    expect(readFileSync(bad.files.output, 'utf8')).toBe('');
    const badType = await step(bad, 'login', { 'registry-type': 'inner' });
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('::error::registry-type is private or public');
    const empty = await step(bad, 'command', { command: '  ' });
    expect(empty.code).toBe(2);
  });

  it('splits the command input like a shell, expanding nothing', () => {
    expect(splitWords(`tag-push oci:./image app -s branch-sha`)).toEqual([
      'tag-push',
      'oci:./image',
      'app',
      '-s',
      'branch-sha',
    ]);
    expect(splitWords(`copy "a b" 'c $HOME' d\\ e $X`)).toEqual(['copy', 'a b', 'c $HOME', 'd e', '$X']);
    expect(splitWords(`x "say \\"hi\\"" ''`)).toEqual(['x', 'say "hi"', '']);
    expect(() => splitWords(`x "open`)).toThrow('unclosed');
  });
});

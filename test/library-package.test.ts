// The acceptance test of ecrctl as a library, as a user gets it: build, `npm pack` into a temp
// dir (from a copy of the package, so that no tarball or build lands in the repository), `npm install` the tarball into an empty project outside the repository, then a plain
// ESM file imports 'ecrctl' and 'ecrctl/local', runs the emulator, pushes an OCI layout,
// copies it with two tags while listening to events, and cancels a copy midway; and a
// TypeScript file using the same API type-checks against the installed declarations.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { baseEnv, type ProcessResult, runProcess } from './helpers/cli.js';
import { buildImage, writeOciLayout } from './helpers/fixtures.js';

const root = path.resolve(import.meta.dirname, '..');
const INSTALL_BUDGET_MS = 60_000;

let work: string;
let consumer: string;
let layout: string;
const pushed = buildImage(7, { layers: 2, layerSize: 64 * 1024 });

/** The environment for npm and node children: no npm_* variables of the npm that runs vitest. */
function childEnv(): NodeJS.ProcessEnv {
  const env = baseEnv();
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key];
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Registry tokens are cached in the test's directory, not ~/.cache.
  if (work) env.XDG_CACHE_HOME = path.join(work, 'cache');
  return env;
}

/** Runs a command and fails with its output unless it exits 0. */
async function mustRun(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<ProcessResult> {
  const out = await runProcess(cmd, args, { cwd, env: childEnv(), timeoutMs });
  expect(out.code, `${cmd} ${args.join(' ')} (in ${cwd})\n${out.stdout}\n${out.stderr}`).toBe(0);
  return out;
}

/** Installs the tarball with npm; when that takes too long, unpacks it and links the repository's dependencies. */
async function install(tgz: string): Promise<'npm' | 'linked'> {
  const npm = await runProcess(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', tgz],
    { cwd: consumer, env: childEnv(), timeoutMs: INSTALL_BUDGET_MS },
  );
  if (npm.code === 0) return 'npm';
  console.warn(
    `npm install of the tarball did not finish within ${INSTALL_BUDGET_MS / 1000} s (${npm.signal ?? `exit ${npm.code}`}): ` +
      "unpacking it and linking the repository's node_modules for its dependencies instead",
  );
  const target = path.join(consumer, 'node_modules', 'ecrctl');
  rmSync(path.join(consumer, 'node_modules'), { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  await mustRun('tar', ['-xzf', tgz, '-C', target, '--strip-components=1'], consumer);
  symlinkSync(path.join(root, 'node_modules'), path.join(target, 'node_modules'), 'dir');
  return 'linked';
}

/**
 * Copies package.json and what its `files` list names (but dist/) into stage, and builds
 * dist/ there: `tsc -p tsconfig.build.json`, what `npm run build` runs, or the build the e2e
 * global setup made of the same sources. Type errors do not stop tsc from emitting (as in the
 * global setup): `npm run typecheck` is the gate for them.
 */
async function stagePackage(stage: string): Promise<void> {
  mkdirSync(stage);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { files: string[] };
  copyFileSync(path.join(root, 'package.json'), path.join(stage, 'package.json'));
  for (const entry of manifest.files) {
    if (entry.startsWith('!') || entry === 'dist') continue;
    cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true });
  }
  for (const name of readdirSync(root)) {
    if (/^licen[cs]e/i.test(name)) copyFileSync(path.join(root, name), path.join(stage, name));
  }
  const prebuilt = process.env.ECRCTL_TEST_BUILD && path.join(process.env.ECRCTL_TEST_BUILD, 'dist');
  if (
    prebuilt &&
    existsSync(path.join(prebuilt, 'index.d.ts')) &&
    existsSync(path.join(prebuilt, 'cloudformation.js'))
  ) {
    cpSync(prebuilt, path.join(stage, 'dist'), { recursive: true });
    return;
  }
  const tsc = await runProcess(
    process.execPath,
    [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(stage, 'dist'),
    ],
    { cwd: root, env: childEnv(), timeoutMs: 150_000 },
  );
  expect(
    existsSync(path.join(stage, 'dist', 'index.js')),
    `tsc -p tsconfig.build.json\n${tsc.stdout}${tsc.stderr}`,
  ).toBe(true);
  if (tsc.code !== 0) console.warn(`note: the package built with type errors (npm run typecheck shows them)`);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'ecrctl-package-'));
  consumer = path.join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    path.join(consumer, 'package.json'),
    `${JSON.stringify({ name: 'ecrctl-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );

  // npm pack runs in a copy of the package (package.json and what its `files` name), with
  // its own build: other builds of the shared dist/ may be running while this one packs.
  const stage = path.join(work, 'package');
  await stagePackage(stage);
  // The build is done: no prepare script (it is `npm run build`).
  const packed = await mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const tgz = path.join(work, info.filename);
  expect(existsSync(tgz)).toBe(true);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/local-entry.js',
    'dist/local-entry.d.ts',
    'dist/cloudformation.js',
    'dist/cloudformation.d.ts',
    'bin/ecrctl.js',
  ]) {
    expect(files, f).toContain(f);
  }
  expect(files.filter((f) => /^(src|test|bench|notes|node_modules)\//.test(f) || f.endsWith('.map'))).toEqual([]);

  await install(tgz);

  layout = path.join(work, 'layout');
  writeOciLayout(layout, [{ image: pushed, tag: 'v1' }]);
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** What use.mjs prints. */
interface UseReport {
  version: string;
  pushedDigest: string;
  copied: { imageUri: string; digest: string; tags: string[] };
  destinationTags: string[];
  eventTypes: Record<string, number>;
  transferKinds: string[];
  abort: { rejected: boolean; name?: string; isInterruptedError?: boolean; exitCode?: number; transferEvents: number };
  abortedTags: string[];
}

const USE_MJS = `
import { copy, createRepositories, createSession, ExitCode, InterruptedError, listTags, push, VERSION } from 'ecrctl';
import { startLocal } from 'ecrctl/local';

const layout = process.argv[2];
const ecr = await startLocal();
const report = { version: VERSION };
try {
  const base = {
    endpointUrl: ecr.endpoint,
    region: ecr.region,
    credentials: { accessKeyId: 'AKIDPACKAGE', secretAccessKey: 'not-a-secret' },
  };
  const events = [];
  const session = createSession({ ...base, onEvent: (e) => events.push(e) });
  const made = await createRepositories(session, { names: ['source', 'copies', 'aborted'] });
  if (made.errors.length) throw made.errors[0];

  const pushed = await push(session, { source: 'oci:' + layout + ':v1', target: ecr.registryHost + '/source:v1' });
  report.pushedDigest = pushed.transfer.digest;

  events.length = 0;
  const copied = await copy(session, {
    source: ecr.registryHost + '/source:v1',
    target: ecr.registryHost + '/copies:v1',
    tags: ['stable'],
  });
  report.copied = { imageUri: copied.imageUri, digest: copied.digest, tags: copied.tags };
  report.destinationTags = (await listTags(session, ecr.registryHost + '/copies')).tags;
  report.eventTypes = {};
  for (const e of events) report.eventTypes[e.type] = (report.eventTypes[e.type] ?? 0) + 1;
  report.transferKinds = [...new Set(events.filter((e) => e.type === 'transfer').map((e) => e.event.kind))];

  // Cancel a copy at its first transfer event: it rejects with InterruptedError, tags nothing.
  const controller = new AbortController();
  let transferEvents = 0;
  const cancellable = createSession({
    ...base,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'transfer' && ++transferEvents === 1) controller.abort();
    },
  });
  try {
    await copy(cancellable, {
      source: ecr.registryHost + '/source:v1',
      target: ecr.registryHost + '/aborted:v1',
      tags: ['stable'],
    });
    report.abort = { rejected: false, transferEvents };
  } catch (err) {
    report.abort = {
      rejected: true,
      name: err.name,
      isInterruptedError: err instanceof InterruptedError,
      exitCode: err.exitCode,
      transferEvents,
    };
    if (err.exitCode !== ExitCode.interrupted) report.abort.message = String(err.stack);
  }
  report.abortedTags = (await listTags(session, ecr.registryHost + '/aborted')).tags;
} finally {
  await ecr.close();
}
process.stdout.write(JSON.stringify(report) + '\\n');
`;

const CHECK_TS = `
import {
  copy,
  createSession,
  EcrctlError,
  ExitCode,
  InterruptedError,
  listTags,
  type SessionEvent,
  type SessionOptions,
  type TransferOptions,
  type TransferResult,
  VERSION,
} from 'ecrctl';
import { type LocalEmulator, startLocal } from 'ecrctl/local';
import { type CustomResourceEvent, type CustomResourceResponse, handleCustomResource, handler } from 'ecrctl/cloudformation';

export async function copyWithProgress(source: string, target: string): Promise<string> {
  const ecr: LocalEmulator = await startLocal({ port: 0 });
  const controller = new AbortController();
  const seen: string[] = [];
  const options: SessionOptions = {
    endpointUrl: ecr.endpoint,
    region: ecr.region,
    signal: controller.signal,
    onEvent: (e: SessionEvent) => {
      if (e.type === 'transfer' && e.event.kind === 'blob-done') seen.push(e.event.descriptor.digest);
      if (e.type === 'log' && e.level === 'warn') seen.push(e.message);
    },
  };
  const session = createSession(options);
  const request: TransferOptions = { source, target, tags: ['v1', 'stable'], platform: 'linux/arm64' };
  try {
    const result: TransferResult = await copy(session, request);
    const tags: string[] = (await listTags(session, target)).tags;
    return \`\${result.imageUri} \${result.digest} \${tags.join(',')} \${seen.length} \${VERSION}\`;
  } catch (err) {
    if (err instanceof InterruptedError) {
      const code: 130 = err.exitCode;
      return String(code);
    }
    if (err instanceof EcrctlError && err.exitCode === ExitCode.notFound) return err.fix ?? err.message;
    throw err;
  } finally {
    await ecr.close();
  }
}

export async function customResource(event: CustomResourceEvent): Promise<string> {
  const direct: CustomResourceResponse = await handleCustomResource(event, { session: createSession(), respond: false });
  const viaLambda = await handler(event, { getRemainingTimeInMillis: () => 900_000 });
  return \`\${direct.Status} \${viaLambda.Data?.ImageUri ?? ''}\`;
}

// The declarations are real types, not any: each of these is an error.
// @ts-expect-error source is required
void copy(createSession(), { target: 'team/app:v1' });
// @ts-expect-error tags are strings
void copy(createSession(), { source: 'a', target: 'b', tags: [1] });
// @ts-expect-error a session is not optional
void listTags('team/app');
`;

describe('the npm package, installed in another project', { timeout: 180_000 }, () => {
  it('runs from a plain ESM file: emulator, push, copy with two tags, events, digest; a cancelled copy rejects with InterruptedError and tags nothing', async () => {
    writeFileSync(path.join(consumer, 'use.mjs'), USE_MJS);
    const out = await mustRun(process.execPath, ['use.mjs', layout], consumer);
    const report = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as UseReport;

    expect(report.version).toBe(VERSION);
    expect(report.pushedDigest).toBe(pushed.manifest.digest);
    expect(report.copied.digest).toBe(report.pushedDigest);
    expect(report.copied.imageUri).toMatch(new RegExp(`/copies@${report.pushedDigest}$`));
    expect(report.copied.tags.sort()).toEqual(['stable', 'v1']);
    expect(report.destinationTags.sort()).toEqual(['stable', 'v1']);
    expect(report.eventTypes['transfer-start']).toBe(1);
    expect(report.eventTypes.transfer).toBeGreaterThanOrEqual(1);
    expect(report.eventTypes['transfer-end']).toBe(1);
    expect(report.transferKinds).toContain('manifest');

    expect(report.abort).toMatchObject({
      rejected: true,
      name: 'InterruptedError',
      isInterruptedError: true,
      exitCode: 130,
      transferEvents: 1,
    });
    expect(report.abortedTags).toEqual([]);
    // Nothing printed but the report.
    expect(out.stderr).toBe('');
  });

  it('runs examples/library/copy-with-progress.mjs as written', async () => {
    copyFileSync(
      path.join(root, 'examples', 'library', 'copy-with-progress.mjs'),
      path.join(consumer, 'copy-with-progress.mjs'),
    );
    const out = await mustRun(process.execPath, ['copy-with-progress.mjs', layout], consumer);
    const digest = pushed.manifest.digest;
    expect(out.stdout).toMatch(new RegExp(`^pushed \\S+/team/app@${digest}$`, 'm'));
    expect(out.stdout).toMatch(new RegExp(`^copied \\S+/mirror/app@${digest} tags v1,stable$`, 'm'));
    expect(out.stdout).toMatch(/^cancelled \(exit code 130\); mirror\/app tags stable,v1$/m);
    expect(out.stderr).toContain('manifest');
  });

  it('loads no AWS SDK on import, has no side effects, and keeps its internals private', async () => {
    writeFileSync(
      path.join(consumer, 'hooks.mjs'),
      `let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}
`,
    );
    writeFileSync(
      path.join(consumer, 'imports.mjs'),
      `import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (u) => urls.push(u));
port1.unref();
register('./hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
const env = JSON.stringify(process.env);
const lib = await import('ecrctl');
const cfn = await import('ecrctl/cloudformation');
const local = await import('ecrctl/local');
const pkg = (await import('ecrctl/package.json', { with: { type: 'json' } })).default;
let deep;
try {
  await import('ecrctl/dist/ops/transfer.js');
  deep = 'importable';
} catch (err) {
  deep = err.code;
}
await new Promise((r) => setTimeout(r, 100));
process.stdout.write(JSON.stringify({
  sdk: urls.filter((u) => /@aws-sdk|@smithy/.test(u)),
  envChanged: JSON.stringify(process.env) !== env,
  timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
  exports: Object.keys(lib).sort(),
  cfn: Object.keys(cfn).sort(),
  local: Object.keys(local).sort(),
  version: pkg.version,
  deep,
}) + '\\n');
`,
    );
    const out = await mustRun(process.execPath, ['imports.mjs'], consumer);
    const r = JSON.parse(out.stdout.trim()) as {
      sdk: string[];
      envChanged: boolean;
      timers: number;
      exports: string[];
      cfn: string[];
      local: string[];
      version: string;
      deep: string;
    };
    expect(r.sdk).toEqual([]);
    expect(r.envChanged).toBe(false);
    expect(r.timers).toBe(0);
    for (const name of [
      'createSession',
      'copy',
      'copyAllTags',
      'pull',
      'push',
      'promote',
      'inspect',
      'listTags',
      'getManifest',
      'EcrctlError',
      'InterruptedError',
      'NotFoundError',
      'ExitCode',
      'VERSION',
    ]) {
      expect(r.exports, name).toContain(name);
    }
    expect(r.cfn).toEqual(['handleCustomResource', 'handler']);
    expect(r.local).toEqual(['startLocal']);
    expect(r.version).toBe(VERSION);
    expect(r.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');

    // The bin entries still work from the installed package.
    const shim = path.join(consumer, 'node_modules', '.bin', 'ecrctl');
    const bin = existsSync(shim)
      ? await mustRun(shim, ['--version'], consumer)
      : await mustRun(
          process.execPath,
          [path.join(consumer, 'node_modules', 'ecrctl', 'bin', 'ecrctl.js'), '--version'],
          consumer,
        );
    expect(bin.stdout).toContain(VERSION);
  });

  it('type-checks a TypeScript file and the README examples against the installed declarations (NodeNext, strict)', async () => {
    writeFileSync(path.join(consumer, 'check.ts'), CHECK_TS);
    // The README's library examples are checked too.
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Use it as a library\n'));
    const examples = [...section.slice(0, section.indexOf('\n## ', 1)).matchAll(/```ts\n([\s\S]*?)```/g)].map(
      (m) => m[1]!,
    );
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const files = ['check.ts'];
    examples.forEach((code, i) => {
      writeFileSync(path.join(consumer, `readme-${i + 1}.ts`), code);
      files.push(`readme-${i + 1}.ts`);
    });
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      `${JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [path.join(root, 'node_modules', '@types')],
          },
          files,
        },
        null,
        2,
      )}\n`,
    );
    const tsc = await runProcess(path.join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.json'], {
      cwd: consumer,
      env: childEnv(),
      timeoutMs: 120_000,
    });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.code).toBe(0);
  });
});

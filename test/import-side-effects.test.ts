// Importing the library must change nothing in the importing process: no environment
// variables set, no timers left running, no V8 flags (--expose-gc) switched on, no process
// tuning, no signal or exit handlers, nothing printed. Checked in a fresh node process,
// once on the sources (through tsx) and once on the build the global setup made.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');

/** The modules a library user reaches first (src/index.ts is not there yet). */
const MODULES = [
  'index',
  'local-entry',
  'cloudformation',
  'session',
  'oci/registry',
  'oci/transport/http',
  'oci/memory',
  'ecr/clients',
];

interface Verdict {
  envChanged: string[];
  execArgvChanged: boolean;
  newTimeouts: number;
  newResources: string[];
  globalGc: string;
  newContextGc: string;
  processTuned: boolean;
  listenersAdded: string[];
  exitCode: unknown;
}

/** The script the child runs: snapshot, import everything, compare, print one JSON line. */
function script(urls: string[]): string {
  return `
import { runInNewContext } from 'node:vm';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'warning'];
// Not side effects of ours: file reads of the module loader still closing, and stdio streams
// Node creates lazily (loading node:assert, as undici does, touches process.stderr).
const BENIGN = new Set(['CloseReq', 'FSReqCallback', 'FSReqPromise', 'PipeWrap', 'TTYWrap']);
const count = (list) => list.reduce((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});
const env = { ...process.env };
const execArgv = JSON.stringify(process.execArgv);
const resources = count(process.getActiveResourcesInfo());
const listeners = Object.fromEntries(SIGNALS.map((s) => [s, process.listenerCount(s)]));
const mods = [];
for (const url of ${JSON.stringify(urls)}) mods.push(await import(url));
const memory = mods.find((m) => typeof m.processTuned === 'function');
const after = count(process.getActiveResourcesInfo());
const keys = new Set([...Object.keys(env), ...Object.keys(process.env)]);
const verdict = {
  envChanged: [...keys].filter((k) => env[k] !== process.env[k]).sort(),
  execArgvChanged: JSON.stringify(process.execArgv) !== execArgv,
  newTimeouts: (after.Timeout ?? 0) - (resources.Timeout ?? 0),
  newResources: Object.keys(after).filter((k) => !BENIGN.has(k) && after[k] > (resources[k] ?? 0)).sort(),
  globalGc: typeof globalThis.gc,
  newContextGc: runInNewContext('typeof gc'),
  processTuned: memory ? memory.processTuned() : 'memory module not loaded',
  listenersAdded: SIGNALS.filter((s) => process.listenerCount(s) !== listeners[s]),
  exitCode: process.exitCode ?? null,
};
process.stdout.write(JSON.stringify(verdict) + '\\n');
process.exit(0); // a module that left a timer running must not keep the child alive
`;
}

/** Runs the script in a fresh node; returns the verdict and everything else the child printed. */
function verdictOf(execArgv: string[], urls: string[]): { verdict: Verdict; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script(urls)], {
    cwd: root,
    encoding: 'utf8',
    env: process.env,
    timeout: 30_000,
  });
  expect(child.status, child.stderr).toBe(0);
  const lines = child.stdout.trimEnd().split('\n');
  return {
    verdict: JSON.parse(lines.at(-1) ?? '{}') as Verdict,
    stdout: lines.slice(0, -1).join('\n'),
    stderr: child.stderr,
  };
}

const clean: Verdict = {
  envChanged: [],
  execArgvChanged: false,
  newTimeouts: 0,
  newResources: [],
  globalGc: 'undefined',
  newContextGc: 'undefined',
  processTuned: false,
  listenersAdded: [],
  exitCode: null,
};

describe('importing the library', () => {
  it('the check sees a module that does change the process', () => {
    const misbehaving = `data:text/javascript,${encodeURIComponent(
      "process.env.ECRCTL_PROBE = '1'; setTimeout(() => {}, 60000); process.on('SIGINT', () => {}); globalThis.gc = () => {};",
    )}`;
    const { verdict } = verdictOf([], [misbehaving]);
    expect(verdict).toMatchObject({
      envChanged: ['ECRCTL_PROBE'],
      newTimeouts: 1,
      newResources: ['Timeout'],
      globalGc: 'function',
      listenersAdded: ['SIGINT'],
    });
  });

  it('leaves the process as it was (sources, through tsx)', () => {
    const urls = MODULES.map((m) => pathToFileURL(path.join(root, 'src', `${m}.ts`)).href);
    const { verdict, stdout, stderr } = verdictOf(['--import', 'tsx'], urls);
    expect(verdict).toEqual(clean);
    expect(stdout).toBe('');
    expect(stderr).toBe('');
  });

  const build = process.env.ECRCTL_TEST_BUILD;
  it('leaves the process as it was (the build)', () => {
    expect(build && existsSync(path.join(build, 'dist', 'index.js')), 'the global setup builds dist').toBeTruthy();
    const urls = MODULES.map((m) => pathToFileURL(path.join(build!, 'dist', `${m}.js`)).href);
    const { verdict, stdout, stderr } = verdictOf([], urls);
    expect(verdict).toEqual(clean);
    expect(stdout).toBe('');
    expect(stderr).toBe('');
  });
});

// Runs ecrctl for the tests. By default in this process: `main(argv, io)` from
// src/cli/main.ts with its own environment, working directory, stdin and output buffers, which
// is what the child process gets too, minus the ~0.5 s of starting node and loading modules.
// As a real child process (the built binary, as before) when the test needs one: it asks for
// the child (onSpawn: signals, stdout read while running), runs docker-credential-ecrctl, is
// in the e2e tier or in SPAWNED below, or ECRCTL_TEST_SPAWN=1 is set (the whole cli tier
// spawned, for comparison).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Called with the child once it is running (e.g. to send SIGINT); implies a real process. */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /** Which entry point: 'ecrctl' (default) or 'docker-credential-ecrctl' (always a real process). */
  bin?: 'ecrctl' | 'docker-credential-ecrctl';
}

/**
 * Test files (relative to the repository root) whose runCli calls always spawn the binary,
 * because something in src/ still behaves differently in-process than in a fresh process.
 * Each entry says why; remove it when src/ is fixed. (The test files themselves are not
 * edited for this: other people work on them.)
 */
export const SPAWNED: Readonly<Record<string, string>> = {
  // (none: every cli-tier file runs in-process; add a file here with the reason when it
  // needs a real process, e.g. a behaviour of process-wide state)
};

/** Returns the path of the built entry module for a binary. */
export function builtEntry(bin: 'ecrctl' | 'docker-credential-ecrctl' = 'ecrctl'): string {
  const build = process.env.ECRCTL_TEST_BUILD;
  if (!build)
    throw new Error(
      'ECRCTL_TEST_BUILD is not set: run the tests through vitest; the global setup builds the CLI ' +
        'for the cli and e2e projects (not for unit)',
    );
  return path.join(build, 'dist', bin === 'ecrctl' ? 'cli/bin.js' : 'credential-helper-bin.js');
}

/** Returns true when runCli must spawn the binary for opts (see the top of this file). */
export function mustSpawn(opts: CliOptions = {}): boolean {
  if (opts.onSpawn || opts.bin === 'docker-credential-ecrctl' || process.env.ECRCTL_TEST_SPAWN === '1') return true;
  return callingTestFile() in SPAWNED;
}

/** The running test file relative to the repository root ('' outside a test worker). */
function callingTestFile(): string {
  const file = expect.getState().testPath;
  return file ? path.relative(root, file).split(path.sep).join('/') : '';
}

/**
 * Runs the CLI with args; resolves with exit code and output (never rejects on exit code).
 * In-process unless mustSpawn(opts); either way the program sees exactly the environment
 * `{...baseEnv(), ...opts.env}`, the working directory opts.cwd (default: the repository
 * root) and opts.input (default: nothing) on stdin, and stdout/stderr are not terminals.
 */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return mustSpawn(opts) ? runCliProcess(args, opts) : runCliInProcess(args, opts);
}

/** Runs the built CLI as a child process (see runCli). */
export function runCliProcess(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [builtEntry(opts.bin), ...args], {
    ...opts,
    cwd: opts.cwd ?? root,
    env: { ...baseEnv(), ...opts.env },
  });
}

/**
 * Runs `main(args, io)` in this process (see runCli). After timeoutMs (default 50 s) it
 * resolves as a killed child would ({code: null, signal: 'SIGKILL'}) and aborts the run.
 */
export async function runCliInProcess(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  if (opts.bin === 'docker-credential-ecrctl' || opts.onSpawn) {
    throw new Error('runCliInProcess runs ecrctl only, and has no child to give onSpawn');
  }
  hermeticProcessEnv();
  const { main } = await import('../../src/cli/main.js');
  let stdout = '';
  let stderr = '';
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<CliResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`runCli: timed out after ${opts.timeoutMs ?? 50_000} ms`));
      resolve({ code: null, signal: 'SIGKILL', stdout, stderr });
    }, opts.timeoutMs ?? 50_000);
  });
  const ran = main([...args], {
    // What a pipe looks like to the CLI: not a terminal, so no spinners and no colour.
    stdout: {
      write: (s) => {
        stdout += s;
      },
      isTTY: false,
    },
    stderr: {
      write: (s) => {
        stderr += s;
      },
      isTTY: false,
    },
    env: { ...baseEnv(), ...opts.env },
    cwd: opts.cwd ?? root,
    stdin: Readable.from(opts.input ? [Buffer.from(opts.input)] : []),
    signal: controller.signal,
  }).then(
    (code): CliResult => ({ code, signal: null, stdout, stderr }),
    // main() turns every error into an exit code; should one escape, answer as node would.
    (err: unknown): CliResult => ({
      code: 1,
      signal: null,
      stdout,
      stderr: `${stderr}${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    }),
  );
  try {
    return await Promise.race([ran, killed]);
  } finally {
    clearTimeout(timer);
  }
}

// The variables through which the AWS SDK would read this process's environment instead of
// the run's (it reads process.env itself: credentials, profile, container and web identity
// credentials, endpoints, the shared files). A child gets none of them (baseEnv drops AWS_*),
// so neither does an in-process run; instance metadata stays off as vitest.config.ts sets it.
const SDK_STEERING =
  /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CREDENTIAL_EXPIRATION|ACCOUNT_ID|PROFILE|DEFAULT_PROFILE|REGION|DEFAULT_REGION|CONFIG_FILE|SHARED_CREDENTIALS_FILE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|ROLE_SESSION_NAME|CONTAINER_.*|ENDPOINT_URL.*|IGNORE_CONFIGURED_ENDPOINT_URLS|USE_FIPS_ENDPOINT|USE_DUALSTACK_ENDPOINT|MAX_ATTEMPTS|RETRY_MODE|SDK_UA_APP_ID|CA_BUNDLE)$/;

let hermetic = false;

/** Removes SDK_STEERING variables from this test process (once; each test file has its own process). */
function hermeticProcessEnv(): void {
  if (hermetic) return;
  hermetic = true;
  for (const key of Object.keys(process.env)) if (SDK_STEERING.test(key)) delete process.env[key];
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

export interface ProcessResult extends CliResult {
  /** Wall time from spawn to exit. */
  ms: number;
}

/**
 * Runs a command as a child process, collecting its output as text; resolves with the exit
 * code (never rejects on one). Killed after timeoutMs (default 50 s).
 */
export function runProcess(
  cmd: string,
  args: readonly string[],
  opts: Omit<CliOptions, 'bin'> = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    // A child that exits without reading its input closes the pipe first (EPIPE): its exit
    // code and output say what happened, so that is no error of the run.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    opts.onSpawn?.(child);
  });
}

/** Returns an environment with nothing from the developer's AWS or Docker setup in it. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|ECRCTL_|DOCKER_|GITHUB_|CODEBUILD_|REGISTRY_AUTH_FILE)/.test(k)) continue;
    env[k] = v;
  }
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.NO_COLOR = '1';
  return env;
}

// Runs the built ecrctl (and docker-credential-ecrctl) as a real child process.
import { spawn } from 'node:child_process';
import path from 'node:path';

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
  /** Called with the child once it is running (e.g. to send SIGINT). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  /** Which entry point: 'ecrctl' (default) or 'docker-credential-ecrctl'. */
  bin?: 'ecrctl' | 'docker-credential-ecrctl';
}

/** Returns the path of the built entry module for a binary. */
export function builtEntry(bin: 'ecrctl' | 'docker-credential-ecrctl' = 'ecrctl'): string {
  const build = process.env.ECRCTL_TEST_BUILD;
  if (!build)
    throw new Error('ECRCTL_TEST_BUILD is not set: run the tests through vitest (global setup builds the CLI)');
  return path.join(build, 'dist', bin === 'ecrctl' ? 'cli/bin.js' : 'credential-helper-bin.js');
}

/** Runs the CLI with args; resolves with exit code and output (never rejects on exit code). */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [builtEntry(opts.bin), ...args], {
    ...opts,
    cwd: opts.cwd ?? root,
    env: { ...baseEnv(), ...opts.env },
  });
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

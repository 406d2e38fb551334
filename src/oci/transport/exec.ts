// The one seam through which ecrctl's OCI code runs child processes (credential helpers),
// so that tests can replace it and so that secrets only ever travel on stdin, never argv.
import { spawn } from 'node:child_process';
import { EcrctlError, InterruptedError } from '../../errors.js';

export interface ExecOptions {
  /** Written to the child's standard input, then stdin is closed. */
  input?: string;
  /** The child's whole environment (not merged with process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (found on PATH) and resolves with its exit code and output. */
export type ExecFn = (file: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * Runs file with args, feeding opts.input on stdin; resolves for any exit code and rejects
 * only when the program cannot be started (EcrctlError) or the signal aborts it.
 */
export const execProcess: ExecFn = (file, args, opts = {}) =>
  new Promise<ExecResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new InterruptedError());
      return;
    }
    const child = spawn(file, [...args], {
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted) reject(new InterruptedError());
      else if (e.code === 'ENOENT')
        reject(
          new EcrctlError(`cannot run ${file}: not found on PATH`, {
            value: file,
            fix: `install ${file} or remove it from the Docker config`,
            cause: e,
          }),
        );
      else reject(new EcrctlError(`cannot run ${file}: ${e.message}`, { value: file, cause: e }));
    });
    child.on('close', (code) => {
      if (opts.signal?.aborted) return;
      resolve({
        exitCode: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A helper that exits without reading stdin makes the write fail with EPIPE: harmless.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });

// CliContext: everything a command needs from the outside world, passed in rather than
// read from globals, so that tests can run commands in-process with their own streams.
import type { Writable } from 'node:stream';

export type OutputFormat = 'text' | 'json' | 'env';

/** The global options every command accepts (also settable as ECRCTL_* variables). */
export interface GlobalOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  registryId?: string;
  output: OutputFormat;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  insecure: boolean;
  config?: string;
}

/** A place to write text: a stream and whether a person is looking at it. */
export interface Sink {
  write(text: string): void;
  readonly isTTY: boolean;
}

/** Returns a Sink over a Node stream. */
export function sinkOf(stream: Writable & { isTTY?: boolean }): Sink {
  return {
    write: (text) => {
      stream.write(text);
    },
    isTTY: stream.isTTY === true,
  };
}

/**
 * Collects secrets as they arrive and removes them from anything printed. In GitHub Actions
 * each one is also registered with `::add-mask::` the moment it is known, before anything
 * else could print it.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();
  readonly #announce: ((line: string) => void) | undefined;

  constructor(announce?: (line: string) => void) {
    this.#announce = announce;
  }

  /** Registers a secret (ignores short values that would redact ordinary words). */
  add(secret: string | undefined): void {
    if (!secret || secret.length < 8 || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#announce?.(`::add-mask::${secret}\n`);
  }

  /** Returns text with every registered secret replaced by `***`. */
  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }
}

/** Logs to stderr: info unless --quiet, verbose only with --verbose; always redacted. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  verbose(message: string): void;
}

export interface CliContext {
  readonly globals: GlobalOptions;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: Sink;
  readonly stderr: Sink;
  /** Aborted on Ctrl-C / SIGTERM: long operations stop, clean up and throw InterruptedError. */
  readonly signal: AbortSignal;
  readonly secrets: SecretRedactor;
  readonly log: Logger;
  /** Reads all of standard input (for --password-stdin style options and the helper). */
  readStdin(): Promise<string>;
}

/** Returns true when running as a GitHub Actions step. */
export function inGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** Returns true when running in a CodeBuild build. */
export function inCodeBuild(env: NodeJS.ProcessEnv): boolean {
  return typeof env.CODEBUILD_BUILD_ID === 'string' && env.CODEBUILD_BUILD_ID !== '';
}

/** Returns a Logger that writes to ctx's stderr according to --quiet / --verbose. */
export function makeLogger(
  stderr: Sink,
  globals: Pick<GlobalOptions, 'quiet' | 'verbose' | 'color'>,
  secrets: SecretRedactor,
  paint: { warn(s: string): string; dim(s: string): string },
): Logger {
  const line = (s: string) => stderr.write(`${secrets.redact(s)}\n`);
  return {
    info: (m) => {
      if (!globals.quiet) line(m);
    },
    warn: (m) => line(paint.warn(`warning: ${m}`)),
    verbose: (m) => {
      if (globals.verbose) line(paint.dim(m));
    },
  };
}

// CliContext: everything a command needs from the outside world, passed in rather than
// read from globals, so that tests can run commands in-process with their own streams.
import type { Writable } from 'node:stream';
import type { LogLevel, SecretRedactor, Session } from '../session.js';

export { SecretRedactor } from '../session.js';

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
  /** --debug (ECRCTL_DEBUG): an HTTP trace on stderr; implies verbose. */
  debug?: boolean;
  color: boolean;
  insecure: boolean;
  /** --ca-file (or AWS_CA_BUNDLE): extra CAs for the AWS API and registries; main() puts it in the env as AWS_CA_BUNDLE. */
  caFile?: string;
  config?: string;
  /** --query: a JMESPath expression applied to the JSON result (checked before the command runs). */
  query?: string;
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
 * A Session plus what only the command line has: the global options as parsed, the two
 * output streams, and standard input. Ops receive it as a Session; renderers use the rest.
 */
export interface CliContext extends Session {
  readonly globals: GlobalOptions;
  readonly stdout: Sink;
  readonly stderr: Sink;
  readonly secrets: SecretRedactor;
  /** Reads all of standard input (for --password-stdin style options and the helper). */
  readStdin(): Promise<string>;
  /**
   * Asks a yes/no question on the terminal (question on stderr, one line read from stdin) and
   * resolves true only for y or yes. Absent when stdin or stderr is not a terminal (CI, pipes):
   * nobody is there to answer, and a command must then behave as it does without asking.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
}

/** Returns true when running as a GitHub Actions step. */
export function inGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** Returns true when running in a CodeBuild build. */
export function inCodeBuild(env: NodeJS.ProcessEnv): boolean {
  return typeof env.CODEBUILD_BUILD_ID === 'string' && env.CODEBUILD_BUILD_ID !== '';
}

/** Returns a function that prints a log line on stderr as --quiet / --verbose allow (already redacted). */
export function logPrinter(
  stderr: Sink,
  globals: Pick<GlobalOptions, 'quiet' | 'verbose'>,
  paint: { warn(s: string): string; dim(s: string): string },
): (level: LogLevel, message: string) => void {
  return (level, message) => {
    if (level === 'info' && !globals.quiet) stderr.write(`${message}\n`);
    else if (level === 'warn') stderr.write(`${paint.warn(`warning: ${message}`)}\n`);
    else if (level === 'verbose' && globals.verbose) stderr.write(`${paint.dim(message)}\n`);
  };
}

// The one place that turns errors into messages and exit codes (DESIGN.md, STYLE.md rule 2).
import path from 'node:path';
import { CommanderError } from 'commander';
import { Chalk } from 'chalk';
import { errorJson } from '../ci/error-json.js';
import { ExitCode, InterruptedError, isEcrctlError, RuleViolation, UsageError } from '../errors.js';
import { tuneProcess } from '../oci/memory.js';
import { eventLogger, type SessionEvent } from '../session.js';
import {
  type CliContext,
  type GlobalOptions,
  inGitHubActions,
  logPrinter,
  SecretRedactor,
  type Sink,
  sinkOf,
} from './context.js';
import { eventRenderer } from './events.js';
import { buildProgram } from './program.js';

export interface MainIo {
  stdout: Sink;
  stderr: Sink;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  signal: AbortSignal;
}

/** Runs ecrctl with argv (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], partial: Partial<MainIo> = {}): Promise<number> {
  const out = partial.stdout ?? sinkOf(process.stdout);
  let printed = false; // anything on stdout yet (a result document, which a JSON error must not follow)
  const io: MainIo = {
    stdout: {
      write(s) {
        printed = true;
        out.write(s);
      },
      isTTY: out.isTTY,
    },
    stderr: partial.stderr ?? sinkOf(process.stderr),
    env: partial.env ?? process.env,
    cwd: partial.cwd ?? process.cwd(),
    stdin: partial.stdin ?? process.stdin,
    signal: partial.signal ?? new AbortController().signal,
  };
  // The runner reads workflow commands from stderr too; stdout is data alone (eval, jq, $GITHUB_ENV).
  const secrets = new SecretRedactor(
    inGitHubActions(io.env) ? (secret) => io.stderr.write(`::add-mask::${secret}\n`) : undefined,
  );
  let globals: GlobalOptions = {
    output: 'text',
    quiet: false,
    verbose: argv.includes('--verbose'),
    color: io.stderr.isTTY && !io.env.NO_COLOR,
    insecure: false,
  };
  const paint = () => new Chalk({ level: globals.color ? 1 : 0 });

  let ctx: CliContext | undefined;
  const render = eventRenderer(
    () => ctx as CliContext,
    (level, message) => {
      const p = paint();
      logPrinter(io.stderr, globals, { warn: p.yellow, dim: p.dim })(level, message);
    },
  );
  const emit = (event: SessionEvent) => render(event);

  const program = buildProgram({
    context(opts) {
      // --debug prints its trace as verbose lines, so it turns --verbose on too.
      globals = { ...opts, color: opts.color && io.stderr.isTTY, verbose: opts.verbose || opts.debug === true };
      ctx = {
        globals,
        // --ca-file reaches the SDK clients and the registry transport as AWS_CA_BUNDLE, and
        // --debug as ECRCTL_DEBUG=1.
        env: envFor(io, globals),
        cwd: io.cwd,
        stdout: io.stdout,
        stderr: io.stderr,
        signal: io.signal,
        aws: awsOptions(globals),
        insecure: globals.insecure,
        configFile: globals.config,
        secrets,
        log: eventLogger(emit, secrets),
        emit,
        readStdin: () => readAll(io.stdin),
        ...(isTerminal(io.stdin) && io.stderr.isTTY
          ? { confirm: (question: string) => askYesNo(question, io.stdin, io.stderr, io.signal) }
          : {}),
      } satisfies CliContext;
      return ctx;
    },
    write: { out: (s) => io.stdout.write(s), err: (s) => io.stderr.write(s) },
    env: io.env,
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    const code = report(err, io.stderr, secrets, globals, paint(), io.signal);
    // Scripts parse stdout: with json asked for (also where commander stops before reading the
    // options), a failure that printed no result document prints one JSON error document there.
    const json = ctx ? globals.output === 'json' : outputOf(argv, io.env) === 'json';
    if (code !== ExitCode.ok && json && !printed) {
      io.stdout.write(`${secrets.redact(JSON.stringify(errorJson(usageOf(err), code), null, 2))}\n`);
    }
    return code;
  }
}

/** Returns the run's environment with what --ca-file and --debug add (the same object when nothing). */
function envFor(io: MainIo, globals: GlobalOptions): NodeJS.ProcessEnv {
  const ca =
    globals.caFile && globals.caFile !== io.env.AWS_CA_BUNDLE
      ? { AWS_CA_BUNDLE: path.resolve(io.cwd, globals.caFile) }
      : undefined;
  const debug = globals.debug && io.env.ECRCTL_DEBUG !== '1' ? { ECRCTL_DEBUG: '1' } : undefined;
  return ca || debug ? { ...io.env, ...ca, ...debug } : io.env;
}

function awsOptions(g: GlobalOptions): CliContext['aws'] {
  return {
    ...(g.region ? { region: g.region } : {}),
    ...(g.profile ? { profile: g.profile } : {}),
    ...(g.endpointUrl ? { endpointUrl: g.endpointUrl } : {}),
    ...(g.registryId ? { registryId: g.registryId } : {}),
  };
}

function report(
  err: unknown,
  stderr: Sink,
  secrets: SecretRedactor,
  globals: GlobalOptions,
  p: InstanceType<typeof Chalk>,
  signal: AbortSignal,
): number {
  const write = (s: string) => stderr.write(`${secrets.redact(s)}\n`);
  if (err instanceof CommanderError) {
    // Help and --version end with a "error" that is really success.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return ExitCode.ok;
    }
    // commander has already printed the message (with a suggestion) through write.err.
    return ExitCode.usage;
  }
  if (signal.aborted && !(isEcrctlError(err) && !(err instanceof InterruptedError))) {
    write(p.red('ecrctl: interrupted'));
    return ExitCode.interrupted;
  }
  if (isEcrctlError(err)) {
    write(`${p.red('error:')} ${err.message}`);
    if (err instanceof RuleViolation) for (const problem of err.problems) write(`  - ${problem}`);
    if (err.rule) write(`  rule:  ${err.rule}`);
    if (err.value !== undefined) write(`  value: ${err.value}`);
    if (err.fix) write(`  fix:   ${err.fix}`);
    if (globals.verbose && err.cause) write(p.dim(`  cause: ${describe(err.cause)}`));
    return err.exitCode;
  }
  // Anything else is a bug or an unexpected system error: say so plainly, stack in --verbose.
  write(`${p.red('error:')} ${describe(err)}`);
  if (globals.verbose && err instanceof Error && err.stack) write(p.dim(err.stack));
  else write(p.dim('  (run again with --verbose for details)'));
  return ExitCode.failure;
}

/** Returns a commander error ("error: unknown option '--x'\n(Did you mean --y?)") as a UsageError. */
function usageOf(err: unknown): unknown {
  if (!(err instanceof CommanderError)) return err;
  const [message = '', ...rest] = err.message.replace(/^error: /, '').split('\n');
  const fix = rest.join(' ').replace(/^\((.*)\)$/, '$1');
  return new UsageError(message, fix ? { fix } : {});
}

/** Returns the --output asked for in argv (the last one before `--`) or ECRCTL_OUTPUT. */
function outputOf(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let output = env.ECRCTL_OUTPUT;
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const a = argv[i] as string;
    if (a === '-o' || a === '--output') output = argv[++i];
    else if (a.startsWith('--output=')) output = a.slice('--output='.length);
    else if (/^-o[a-z]/.test(a)) output = a.slice(2);
  }
  return output;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function isTerminal(stream: NodeJS.ReadableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/**
 * Writes `question [y/N] ` on stderr and reads one line from stdin: true for y or yes (any
 * case), false for anything else or the end of input; rejects when the run is interrupted.
 */
async function askYesNo(
  question: string,
  stdin: NodeJS.ReadableStream,
  stderr: Sink,
  signal: AbortSignal,
): Promise<boolean> {
  stderr.write(`${question} [y/N] `);
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: stdin, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((resolve, reject) => {
      const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new InterruptedError());
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      lines.once('line', (line) => {
        signal.removeEventListener('abort', onAbort);
        resolve(line);
      });
      lines.once('close', () => {
        signal.removeEventListener('abort', onAbort);
        resolve(undefined);
      });
    });
    // End of input (Ctrl-D) left the cursor after the question: end its line.
    if (answer === undefined) stderr.write('\n');
    return /^\s*(y|yes)\s*$/i.test(answer ?? '');
  } finally {
    lines.close();
  }
}

/** The process entry point used by bin/ecrctl.js: wires signals and sets the exit code. */
export async function runProcess(): Promise<void> {
  // @aws-sdk/core warns on every run under Node < 22 unless this is set before it loads; the
  // CLI tells the same fact once through --verbose. Only the binary touches the process.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  tuneProcess();
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    controller.abort(new InterruptedError());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(process.argv.slice(2), { signal: controller.signal });
  // Exit now rather than wait for kept-alive sockets to time out — but only once stdout and
  // stderr are flushed: a pipe whose reader is slower than us holds at most 64 KiB, and
  // process.exit would drop the rest of a large `-o json` document.
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves once everything written to stream so far has been handed to the OS (or the reader went away). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  // A write's callback runs after every earlier write has been flushed, or with the error
  // (EPIPE) when the reader has gone: never waits for ever on a closed pipe.
  return new Promise((resolve) => {
    // The reader closing early (`| head`) is not an error of the command: stop waiting quietly.
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

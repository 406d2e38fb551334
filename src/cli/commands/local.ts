import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { RuleViolation, UsageError } from '../../errors.js';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** Returns the default data directory of `ecrctl local` ($XDG_DATA_HOME/ecrctl/local). */
export function defaultLocalDataDir(env: NodeJS.ProcessEnv): string {
  const base =
    env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)
      ? env.XDG_DATA_HOME
      : path.join(env.HOME || homedir(), '.local', 'share');
  return path.join(base, 'ecrctl', 'local');
}

interface ServeOptions {
  port?: string;
  data?: string;
  account?: string;
  advisories?: string;
  tokenTtl?: string;
  throttleScale?: string;
  stateDelayScale?: string;
  maxRegistries?: string;
  tls?: boolean;
}

/** Declares `ecrctl local` and its `serve` subcommand. */
export function defineLocal(program: Command, host: CommandHost): void {
  const local = program
    .command('local')
    .summary('serve an ECR-compatible API + OCI registry on loopback')
    .description(
      'An ECR-compatible endpoint on this machine, for offline work and tests: the ECR and ECR\n' +
        'Public APIs on one port, and per region an OCI registry (the proxyEndpoint that\n' +
        'GetAuthorizationToken returns). State is kept in a data directory across restarts.',
    )
    .addHelpText('after', examples('ecrctl local serve', 'ecrctl local serve --port 4510 --data ./.ecr-local'));

  local
    .command('serve')
    .summary('start the endpoint and keep it running until Ctrl-C')
    .description(
      'Starts the endpoint on 127.0.0.1 and prints its URL on stdout (with --output env:\n' +
        'AWS_ENDPOINT_URL=…). Point the AWS CLI, the SDKs or ecrctl at it with AWS_ENDPOINT_URL\n' +
        'or --endpoint-url and any credentials; the region comes from the request signature.\n' +
        'Repositories, images, tags and policies persist in --data. Ctrl-C stops it cleanly.',
    )
    .option('--port <n>', 'API port (default: the port of the last run, else a free one)')
    .option('--data <dir>', 'state directory (default: $XDG_DATA_HOME/ecrctl/local or ~/.local/share/ecrctl/local)')
    .option('--account <id>', '12-digit account id of the default registry (default: 123456789012)')
    .option(
      '--advisories <file>',
      'advisory file (JSON) the image scanner matches packages against (default: none, no findings)',
    )
    .option(
      '--token-ttl <duration>',
      'lifetime of GetAuthorizationToken passwords, e.g. 30s, 10m, 1h (default: 12h, as on ECR)',
    )
    .option(
      '--max-registries <n>',
      'most registries (account/region pairs) requests may create, each with its own port (default: 16)',
    )
    .option(
      '--throttle-scale <n|off>',
      "ECR's request rates (API and registry) times N (default: 1, as ECR); off: none",
    )
    .option(
      '--state-delay-scale <n>',
      'ECR-like durations of scans, restores, replication times N (default: 1; 0: none)',
    )
    .option('--tls', 'serve HTTPS, as ECR does: a CA and certificate are made in <data>/tls/ (trust tls/ca.crt)')
    .addHelpText(
      'after',
      examples(
        'ecrctl local serve',
        'ecrctl local serve --port 4510 --data ./.ecr-local --account 111122223333',
        'ecrctl local serve --tls   # then: export AWS_CA_BUNDLE=<data>/tls/ca.crt',
        'ecrctl local serve --state-delay-scale 0.01   # restores in 12 s, not 20 min',
        'ecrctl local serve --output env > local.env &   # in a script; then: . ./local.env',
      ),
    )
    .action(async (opts: ServeOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await serve(ctx, opts);
    });
}

async function serve(ctx: CliContext, opts: ServeOptions): Promise<void> {
  let port: number | undefined;
  if (opts.port !== undefined) {
    if (!/^\d+$/.test(opts.port) || Number(opts.port) > 65535) {
      throw new UsageError('--port must be a port number (0–65535)', {
        value: opts.port,
        fix: 'e.g. --port 4510, or 0 for any free port',
      });
    }
    port = Number(opts.port);
  }
  if (opts.account !== undefined && !/^[0-9]{12}$/.test(opts.account)) {
    throw new UsageError('--account must be a 12-digit AWS account id', {
      value: opts.account,
      fix: 'e.g. --account 123456789012',
    });
  }
  let tokenTtlSeconds: number | undefined;
  if (opts.tokenTtl !== undefined) {
    const { parseDuration } = await import('../../policy/scan.js');
    const ms = parseDuration(opts.tokenTtl, '--token-ttl');
    if (ms < 1000) {
      throw new UsageError('--token-ttl must be at least 1 second', {
        value: opts.tokenTtl,
        fix: 'e.g. --token-ttl 30s (the default is 12h, as on ECR)',
      });
    }
    tokenTtlSeconds = ms / 1000;
  }
  let throttleScale: number | 'off' | undefined;
  if (opts.throttleScale !== undefined) {
    const { parseThrottleScale } = await import('../../local/throttle.js');
    try {
      throttleScale = parseThrottleScale(opts.throttleScale);
    } catch (err) {
      throw new UsageError((err as Error).message, {
        value: opts.throttleScale,
        fix: "e.g. --throttle-scale 10 (ten times ECR's rates) or --throttle-scale off",
      });
    }
  }
  let stateDelayScale: number | undefined;
  if (opts.stateDelayScale !== undefined) {
    const n = Number(opts.stateDelayScale);
    if (!/^\d+(?:\.\d+)?$/.test(opts.stateDelayScale) || !Number.isFinite(n) || n > 1000) {
      throw new UsageError('--state-delay-scale must be a number from 0 to 1000', {
        value: opts.stateDelayScale,
        fix: 'e.g. --state-delay-scale 0.01 (a hundred times faster than ECR) or 0 (outcomes at once)',
      });
    }
    stateDelayScale = n;
  }
  let maxRegistries: number | undefined;
  if (opts.maxRegistries !== undefined) {
    if (!/^\d+$/.test(opts.maxRegistries) || Number(opts.maxRegistries) < 1 || Number(opts.maxRegistries) > 1000) {
      throw new UsageError('--max-registries must be a whole number from 1 to 1000', {
        value: opts.maxRegistries,
        fix: 'e.g. --max-registries 32 (the default is 16)',
      });
    }
    maxRegistries = Number(opts.maxRegistries);
  }
  const dataDir = opts.data ? path.resolve(ctx.cwd, opts.data) : defaultLocalDataDir(ctx.env);
  const { startLocalServer } = await import('../../local/server.js');
  let server: Awaited<ReturnType<typeof startLocalServer>>;
  try {
    server = await startLocalServer({
      dataDir,
      ...(port !== undefined ? { port } : {}),
      ...(opts.account ? { account: opts.account } : {}),
      ...(tokenTtlSeconds !== undefined ? { tokenTtlSeconds } : {}),
      ...(maxRegistries !== undefined ? { maxRegistries } : {}),
      ...(opts.advisories ? { advisoriesFile: path.resolve(ctx.cwd, opts.advisories) } : {}),
      ...(opts.tls ? { tls: true } : {}),
      ...(throttleScale !== undefined ? { throttleScale } : {}),
      ...(stateDelayScale !== undefined ? { stateDelayScale } : {}),
      log: (line) => ctx.log.verbose(line),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UsageError(`port ${port} is already in use`, {
        value: String(port),
        fix: 'pick another --port, or --port 0 for any free one',
      });
    }
    const scanner = await import('../../local/scanner.js');
    if (err instanceof scanner.AdvisoryFileError) {
      const fix =
        'write a JSON list of {id, package, ecosystem: deb|apk, fixedIn or affectedBelow, severity, score, description, uri}';
      // Problems found in the file are rule violations (exit 3), printed like the other
      // validators' (sorted `file:line:column field: problem — fix`); an unreadable file is usage.
      if (err.problems.length > 0) {
        const { formatFileProblems } = await import('../../policy/problems.js');
        throw new RuleViolation(err.summary, {
          value: opts.advisories,
          fix,
          problems: formatFileProblems(err.problems),
        });
      }
      throw new UsageError(err.message, { value: opts.advisories, fix });
    }
    throw err;
  }
  try {
    const region = ctx.globals.region ?? 'us-east-1';
    const result = {
      endpointUrl: server.url,
      registryEndpoint: await server.registryEndpoint(region),
      region,
      account: server.account,
      dataDir,
      ...(server.tls ? { caFile: server.tls.caFile, certDir: server.tls.dir } : {}),
    };
    render(ctx, result, {
      text: (r) => r.endpointUrl,
      env: (r) => ({
        AWS_ENDPOINT_URL: r.endpointUrl,
        // One file serves the AWS CLI (AWS_CA_BUNDLE), ecrctl (AWS_CA_BUNDLE or --ca-file)
        // and other Node programs started afterwards (NODE_EXTRA_CA_CERTS).
        ...(r.caFile ? { AWS_CA_BUNDLE: r.caFile, NODE_EXTRA_CA_CERTS: r.caFile } : {}),
      }),
    });
    const trust = result.caFile
      ? `  export AWS_CA_BUNDLE=${result.caFile}   # AWS CLI and ecrctl (or: ecrctl --ca-file ${result.caFile})\n` +
        `  export NODE_EXTRA_CA_CERTS=${result.caFile}   # other Node.js programs\n` +
        `  skopeo … --cert-dir ${result.certDir}   # skopeo, buildah, podman (or copy ca.crt to /etc/containers/certs.d/HOST:PORT/)\n`
      : '';
    ctx.log.info(
      `ecrctl local: ECR API on ${result.endpointUrl}, registry (${region}) on ${result.registryEndpoint}, data in ${dataDir}\n` +
        'Use it with:\n' +
        `  export AWS_ENDPOINT_URL=${result.endpointUrl}\n` +
        `  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${region}\n` +
        trust +
        'Press Ctrl-C to stop.',
    );
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await server.close();
  }
  ctx.log.info('ecrctl local: stopped');
}

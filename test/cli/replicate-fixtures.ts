// Shared by the replicate, cache-rule and template CLI tests: `ecrctl local` in its own temp
// dir, the built CLI aimed at it (--endpoint-url, fake keys, its own HOME and token cache),
// and SDK clients to check what landed.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { LocalServer } from '../../src/local/server.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { ecrClient, start, tempDir } from '../local/helpers.js';

export interface LocalCliEnv {
  server: LocalServer;
  ecr: ECRClient;
  dir: string;
  env: NodeJS.ProcessEnv;
  cli(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  close(): Promise<void>;
}

/** Starts `ecrctl local` in a temp dir and returns a CLI runner aimed at it (stateDelayScale: see LocalServerOptions). */
export async function startLocalCliEnv(prefix: string, opts: { stateDelayScale?: number } = {}): Promise<LocalCliEnv> {
  const tmp = tempDir(prefix);
  const server = await start(path.join(tmp.dir, 'data'), {
    ...(opts.stateDelayScale !== undefined ? { stateDelayScale: opts.stateDelayScale } : {}),
  });
  const home = path.join(tmp.dir, 'home');
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    HOME: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    DOCKER_CONFIG: path.join(home, '.docker'),
  };
  return {
    server,
    ecr: ecrClient(server),
    dir: tmp.dir,
    env,
    cli: (args, opts = {}) =>
      runCli(['--endpoint-url', server.url, ...args], {
        env: { ...env, ...opts.env },
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      }),
    async close() {
      await server.close();
      tmp.remove();
    },
  };
}

// Shared by the field tests (issue 12): `ecrctl local` in-process in its own temp dir (with
// test-only faults and quotas), a HOME of its own, the built CLI aimed at it, SDK clients to
// check what landed, and OCI layouts to push from.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { LocalServer, LocalServerOptions } from '../../src/local/server.js';
import { startLocalServer } from '../../src/local/server.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';

export const KEY = { accessKeyId: 'AKIDFIELDDEFAULT0001', secretAccessKey: 'field-default-secret' };

export interface FieldEnv {
  server: LocalServer;
  dir: string;
  home: string;
  /** The environment every CLI run gets (static keys, region, HOME, cache, no shared files). */
  env: NodeJS.ProcessEnv;
  ecr(region?: string): ECRClient;
  /** Returns `host:port` of a private registry's data plane. */
  host(region?: string, account?: string): Promise<string>;
  createRepo(name: string, opts?: { account?: string; region?: string }): Promise<void>;
  /** Writes an OCI layout with one image (tag latest) and returns `oci:DIR:latest` and the image. */
  layout(name: string, seed: number, opts?: { layers?: number }): { ref: string; image: FixtureImage };
  cli(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string }): Promise<CliResult>;
  close(): Promise<void>;
}

/** Starts `ecrctl local` (with opts) and a HOME for the CLI in a fresh temp dir. */
export async function startField(prefix: string, opts: Partial<LocalServerOptions> = {}): Promise<FieldEnv> {
  const dir = mkdtempSync(path.join(tmpdir(), `ecrctl-field-${prefix}-`));
  const server = await startLocalServer({ port: 0, dataDir: path.join(dir, 'data'), ...opts });
  const home = path.join(dir, 'home');
  mkdirSync(path.join(home, '.cache'), { recursive: true });
  const clients: ECRClient[] = [];
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    AWS_ACCESS_KEY_ID: KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-aws-credentials'),
    DOCKER_CONFIG: path.join(home, '.docker'),
  };
  const f: FieldEnv = {
    server,
    dir,
    home,
    env,
    ecr(region = 'us-east-1') {
      const c = new ECRClient({ endpoint: server.url, region, credentials: KEY, maxAttempts: 1 });
      clients.push(c);
      return c;
    },
    async host(region = 'us-east-1', account?: string) {
      return new URL(await server.registryEndpoint(region, account)).host;
    },
    async createRepo(name, o = {}) {
      await f
        .ecr(o.region)
        .send(new CreateRepositoryCommand({ repositoryName: name, ...(o.account ? { registryId: o.account } : {}) }));
    },
    layout(name, seed, o = {}) {
      const image = buildImage(seed, { layers: o.layers ?? 2, layerSize: 2000 });
      const layoutDir = path.join(dir, name);
      writeOciLayout(layoutDir, [{ image, tag: 'latest' }]);
      return { ref: `oci:${layoutDir}:latest`, image };
    },
    cli(args, o = {}) {
      return runCli(args, {
        env: { ...env, ...o.env },
        ...(o.cwd ? { cwd: o.cwd } : {}),
        ...(o.input !== undefined ? { input: o.input } : {}),
      });
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return f;
}

/** Returns the request records of one call label (e.g. `ecr:GetAuthorizationToken`). */
export function requestsOf(server: LocalServer, call: string) {
  return server.requests.filter((r) => r.call === call);
}

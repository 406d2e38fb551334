// Shared set-up for the login and credential-helper tests: a temporary HOME with its own
// cache and Docker config, static credentials in the environment, and ecrctl local.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../helpers/cli.js';

export const ACCESS_KEY_ID = 'AKIDIOSFODNN7EXAMPLE';
export const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A temporary HOME (with .cache) for one test, removed by remove(). */
export interface TempHome {
  dir: string;
  cache: string;
  env: NodeJS.ProcessEnv;
  remove(): void;
}

/** Returns a fresh temp HOME whose env holds static credentials for region. */
export function tempHome(prefix: string, region = 'us-east-1'): TempHome {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const cache = path.join(dir, '.cache');
  mkdirSync(cache);
  return {
    dir,
    cache,
    env: {
      HOME: dir,
      XDG_CACHE_HOME: cache,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: region,
      // the shared files of this machine's user must not leak in
      AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Returns the password in a Docker config `auths` entry. */
export function passwordIn(configFile: string, host: string): string {
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  const auth = config.auths[host]?.auth;
  if (!auth) throw new Error(`no auths entry for ${host} in ${configFile}`);
  const text = Buffer.from(auth, 'base64').toString('utf8');
  return text.slice(text.indexOf(':') + 1);
}

/** Returns every file under dir (relative paths) with its mode and content. */
export function filesUnder(dir: string): { name: string; mode: number; text: string }[] {
  const out: { name: string; mode: number; text: string }[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, name);
    const st = statSync(full);
    if (st.isFile()) out.push({ name, mode: st.mode & 0o777, text: readFileSync(full, 'utf8') });
  }
  return out;
}

/** Starts a scripted AWS JSON endpoint that answers every call with one exception. */
export async function failingEndpoint(
  type: string,
  message: string,
  status = 400,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ __type: type, message });
      res.writeHead(status, {
        'Content-Type': 'application/x-amz-json-1.1',
        'x-amzn-ErrorType': type,
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Runs a program without blocking this process (the local endpoint answers from the same
 * event loop, so spawnSync would deadlock). Resolves with its exit code and output.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return runProcess(cmd, args, opts);
}

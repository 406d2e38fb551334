// `ecrctl login` when the token it got has already expired (ecrctl local issuing tokens with
// a lifetime in the past stands in for a clock far ahead of AWS's): it says so, exits 1, and
// writes nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { type TempHome, tempHome } from './env.js';

let server: LocalServer;
let data: TempHome;
let h: TempHome;

beforeAll(async () => {
  data = tempHome('ecrctl-login-expired-data-');
  server = await startLocalServer({ port: 0, dataDir: path.join(data.dir, 'local'), tokenTtlSeconds: -60 });
  h = tempHome('ecrctl-login-expired-');
});
afterAll(async () => {
  await server?.close();
  data?.remove();
  h?.remove();
});

describe('ecrctl login with a token that has already expired', () => {
  it('says the token expired, exits 1 and leaves the Docker config as it was', async () => {
    const configFile = path.join(h.dir, '.docker', 'config.json');
    mkdirSync(path.dirname(configFile), { recursive: true });
    const before = JSON.stringify({ auths: { 'ghcr.io': { auth: 'bWU6eA==' } } });
    writeFileSync(configFile, before);
    const r = await runCli(['login', '--endpoint-url', server.url], { env: h.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the registry token for \S+ had already expired when it arrived \(at \S+Z; this machine's clock says \S+Z\)/,
    );
    expect(r.stderr).toContain('clock');
    expect(r.stdout).not.toContain('Login Succeeded');
    expect(readFileSync(configFile, 'utf8')).toBe(before);
  });

  it('does the same with --password-stdout: no password printed', async () => {
    const r = await runCli(['login', '--password-stdout', '--endpoint-url', server.url], { env: h.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('had already expired');
    expect(existsSync(path.join(h.dir, '.docker', 'config.json'))).toBe(true);
  });
});

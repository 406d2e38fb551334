// Real registries for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a free
// loopback port with its own storage dir — plain, with htpasswd Basic auth, with TLS from a
// CA made at test time, or behind a small Bearer token server — plus a skopeo runner.
//
//   const reg = await startRegistry({ auth: 'basic' });
//   try { … reg.host, reg.username, reg.password … } finally { await reg.stop(); }
//
// Needs /usr/bin/docker-registry, /usr/bin/openssl, /usr/bin/htpasswd (apache2-utils) and,
// for skopeo(), /usr/bin/skopeo.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TokenServerRequest {
  /** The scopes asked for (`repository:app:pull,push`), in order. */
  scopes: string[];
  service: string | undefined;
  /** The user name of the Basic credentials sent, or undefined when anonymous. */
  user: string | undefined;
}

export interface TokenServer {
  url: string;
  /** Every token request received, in order. */
  requests: TokenServerRequest[];
  stop(): Promise<void>;
}

export interface StartedRegistry {
  /** `127.0.0.1:PORT`, what a registry reference starts with. */
  host: string;
  /** `http://127.0.0.1:PORT` (or https:// with tls). */
  url: string;
  /** The registry's storage directory (deleted by stop()). */
  dataDir: string;
  /** The user and password accepted (auth 'basic' and 'token'). */
  username?: string;
  password?: string;
  /** auth 'token': an identity (refresh) token the token server accepts for username. */
  refreshToken?: string;
  /** The PEM file of the CA that signed the registry's certificate (tls). */
  caFile?: string;
  /** The token server in front of the registry (auth 'token'). */
  tokenServer?: TokenServer;
  /** Stops the registry (and token server) and deletes its storage. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** 'none' (default), 'basic' (htpasswd) or 'token' (Bearer via a token server). */
  auth?: 'none' | 'basic' | 'token';
  /** Serve HTTPS with a certificate from a CA made for this registry. */
  tls?: boolean;
  /** auth 'token': lifetime of issued tokens (default 300 s). */
  tokenExpiresInSeconds?: number;
  /** auth 'token': which field carries the token (default 'token'). */
  tokenField?: 'token' | 'access_token';
  /** auth 'token': grant pull to anonymous requests (default false: 401). */
  anonymousPull?: boolean;
}

const REGISTRY_BIN = '/usr/bin/docker-registry';

function run(file: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Returns a port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestCa {
  /** PEM file of the CA certificate (what NODE_EXTRA_CA_CERTS or caFile points at). */
  caFile: string;
  /** Issues a server certificate for 127.0.0.1 and localhost; returns the PEM file paths. */
  issue(name: string): Promise<{ certFile: string; keyFile: string }>;
}

/** Makes a throwaway CA in dir with the openssl CLI (P-256 keys, valid one day). */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caFile,
    '-days',
    '1',
    '-subj',
    '/CN=ecrctl test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    caFile,
    async issue(name) {
      const keyFile = path.join(dir, `${name}.key`);
      const csr = path.join(dir, `${name}.csr`);
      const certFile = path.join(dir, `${name}.pem`);
      const ext = path.join(dir, `${name}.ext`);
      writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
      await run('openssl', [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        csr,
        '-subj',
        `/CN=${name}`,
      ]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caFile,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-out',
        certFile,
        '-days',
        '1',
        '-extfile',
        ext,
      ]);
      return { certFile, keyFile };
    },
  };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Starts a Bearer token server for a distribution registry: it checks Basic credentials,
 * grants the scopes asked for, and signs ES256 JWTs whose x5c header carries the signing
 * certificate (which the registry trusts through rootcertbundle).
 */
export async function startTokenServer(opts: {
  dir: string;
  service: string;
  issuer: string;
  users: Record<string, string>;
  /** Refresh tokens (identity tokens) accepted per user. */
  refreshTokens: Record<string, string>;
  expiresInSeconds: number;
  tokenField: 'token' | 'access_token';
  anonymousPull: boolean;
}): Promise<TokenServer & { certFile: string }> {
  const keyFile = path.join(opts.dir, 'token.key');
  const certFile = path.join(opts.dir, 'token.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=ecrctl test token signer',
  ]);
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = readFileSync(certFile, 'utf8')
    .replace(/-----[^-]+-----/g, '')
    .replace(/\s+/g, '');
  const requests: TokenServerRequest[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (what clients do with an identity token).
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      scopes = (form.get('scope') ?? '').split(' ').filter((x) => x !== '');
      url.searchParams.set('service', form.get('service') ?? '');
      const name = Object.keys(opts.users).find((u) => form.get('refresh_token') === opts.refreshTokens[u]);
      if (form.get('grant_type') !== 'refresh_token' || name === undefined) {
        requests.push({ scopes, service: form.get('service') ?? undefined, user: undefined });
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad refresh token"}');
        return;
      }
      user = name;
    } else if (auth?.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (opts.users[name] !== decoded.slice(colon + 1)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        requests.push({ scopes, service: url.searchParams.get('service') ?? undefined, user: name });
        return;
      }
      user = name;
    }
    requests.push({ scopes, service: url.searchParams.get('service') ?? undefined, user });
    if (user === undefined && !opts.anonymousPull) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"credentials required"}');
      return;
    }
    const access = scopes.flatMap((s) => {
      const [type, ...rest] = s.split(':');
      const actions = (rest.pop() ?? '').split(',').filter((a) => user !== undefined || a === 'pull');
      return type === 'repository' ? [{ type, name: rest.join(':'), actions }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
    const claims = {
      iss: opts.issuer,
      sub: user ?? '',
      aud: opts.service,
      exp: now + opts.expiresInSeconds,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signingInput}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        [opts.tokenField]: token,
        expires_in: opts.expiresInSeconds,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    certFile,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitUntilUp(url: string, child: ChildProcess, log: () => string, caFile?: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: caFile ? { ca: readFileSync(caFile, 'utf8') } : {} });
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}:\n${log()}`);
      try {
        const res = await request(`${url}/v2/`, { dispatcher });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`docker-registry did not answer on ${url} within 15 s:\n${log()}`);
  } finally {
    await dispatcher.close();
  }
}

/** Starts a docker-registry on a free loopback port; see StartRegistryOptions. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<StartedRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-registry-'));
  const dataDir = path.join(dir, 'data');
  const auth = opts.auth ?? 'none';
  const username = 'tester';
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const refreshToken = `rt-${randomBytes(9).toString('base64url')}`;
  const lines: string[] = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dataDir}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
  ];
  let tokenServer: (TokenServer & { certFile: string }) | undefined;
  if (auth === 'basic') {
    const htpasswd = path.join(dir, 'htpasswd');
    await run('htpasswd', ['-Bbc', htpasswd, username, password]);
    lines.push('auth:', '  htpasswd:', '    realm: ecrctl-test', `    path: ${htpasswd}`);
  } else if (auth === 'token') {
    tokenServer = await startTokenServer({
      dir,
      service: 'ecrctl-test-registry',
      issuer: 'ecrctl-test-issuer',
      users: { [username]: password },
      refreshTokens: { [username]: refreshToken },
      expiresInSeconds: opts.tokenExpiresInSeconds ?? 300,
      tokenField: opts.tokenField ?? 'token',
      anonymousPull: opts.anonymousPull ?? false,
    });
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${tokenServer.url}`,
      '    service: ecrctl-test-registry',
      '    issuer: ecrctl-test-issuer',
      `    rootcertbundle: ${tokenServer.certFile}`,
    );
  }
  let caFile: string | undefined;
  let tlsLines: string[] = [];
  if (opts.tls) {
    const ca = await makeTestCa(dir);
    const { certFile, keyFile } = await ca.issue('registry');
    caFile = ca.caFile;
    tlsLines = ['  tls:', `    certificate: ${certFile}`, `    key: ${keyFile}`];
  }
  const scheme = opts.tls ? 'https' : 'http';
  // A port can be taken between freePort() and the registry binding it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        ...lines,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        ...tlsLines,
        '',
      ].join('\n'),
    );
    const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const url = `${scheme}://127.0.0.1:${port}`;
    try {
      await waitUntilUp(url, child, () => output, caFile);
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 3 && /address already in use/.test(output)) continue;
      await tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const stop = async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await tokenServer?.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      host: `127.0.0.1:${port}`,
      url,
      dataDir,
      ...(auth === 'none' ? {} : { username, password }),
      ...(caFile ? { caFile } : {}),
      ...(tokenServer ? { tokenServer, refreshToken } : {}),
      stop,
    };
  }
}

export interface SkopeoResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs /usr/bin/skopeo with --insecure-policy and the given arguments (add
 * `--tls-verify=false` / `--dest-tls-verify=false` / `--src-tls-verify=false` for plain-HTTP
 * registries); rejects with skopeo's stderr when it fails.
 */
export function skopeo(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<SkopeoResult> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/skopeo',
      ['--insecure-policy', ...args],
      { encoding: 'utf8', env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`skopeo ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

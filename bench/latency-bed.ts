// The remote-registry test bed: Debian's docker-registry over TLS (a certificate from a CA
// made with openssl at start), reached through latency proxies (latency-proxy.ts), with blob
// GETs answered by a 307 to a second host as ECR does (its blobs come from S3):
//
//   client ─▶ proxy "registry" ─▶ front (TLS; 307 for GET /v2/…/blobs/sha256:…) ─▶ docker-registry
//   client ─▶ proxy "blobs" ───────────────────────────────────────────────────────▶ docker-registry
//
// Clients address the proxies as [::ffff:127.0.0.1]:PORT: still loopback, but ecrctl treats
// only 127.x, ::1 and localhost as loopback (plain HTTP), so this name makes it speak TLS as
// to any remote registry. The certificates carry that address as well as 127.0.0.1.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, makeTestCa } from '../test/helpers/registry.js';
import { type LatencyProxy, type Link, startLatencyProxy } from './latency-proxy.js';

export interface BedCa {
  dir: string;
  caFile: string;
  /** A directory with ca.crt, for skopeo's --cert-dir options. */
  certDir: string;
  certFile: string;
  keyFile: string;
}

/** Makes the bench's CA and one server certificate for 127.0.0.1 and ::ffff:127.0.0.1. */
export async function makeBedCa(dir: string): Promise<BedCa> {
  mkdirSync(dir, { recursive: true });
  const ca = await makeTestCa(dir);
  const keyFile = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const certFile = path.join(dir, 'server.pem');
  const ext = path.join(dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,IP:::ffff:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl([
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
    '/CN=bench',
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.caFile,
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '1',
    '-extfile',
    ext,
  ]);
  const certDir = path.join(dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  writeFileSync(path.join(certDir, 'ca.crt'), readFileSync(ca.caFile));
  return { dir, caFile: ca.caFile, certDir, certFile, keyFile };
}

/** Starts docker-registry over TLS with the bed's certificate on a free loopback port. */
async function startTlsRegistry(ca: BedCa): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-bench-registry-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: warn',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${path.join(dir, 'data')}`,
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        '  tls:',
        `    certificate: ${ca.certFile}`,
        `    key: ${ca.keyFile}`,
        '',
      ].join('\n'),
    );
    const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const up = await waitUp(port, ca, child);
    if (!up) {
      child.kill('SIGKILL');
      if (attempt < 3 && /address already in use/.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start:\n${output}`);
    }
    return {
      port,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitUp(port: number, ca: BedCa, child: ChildProcess): Promise<boolean> {
  const agent = new https.Agent({ ca: readFileSync(ca.caFile) });
  try {
    for (let i = 0; i < 300 && child.exitCode === null; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        https
          .get({ host: '127.0.0.1', port, path: '/v2/', agent }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          })
          .on('error', () => resolve(false));
      });
      if (ok) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  } finally {
    agent.destroy();
  }
}

/** Headers HTTP/1.1 may send and h2 forbids. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

/** One remote registry on the bed. */
export interface Bed {
  /** `[::ffff:127.0.0.1]:PORT`: the registry's name for clients. */
  host: string;
  /** `[::ffff:127.0.0.1]:PORT` of the registry itself (no proxy): the overhead baseline. */
  directHost: string;
  stop(): Promise<void>;
}

/**
 * Starts docker-registry over TLS behind the link. With redirect, a front answers blob GETs
 * with a 307 to a second proxied host (the registry itself, as S3 is to ECR); without, the
 * proxy leads straight to the registry (no relay: push bytes cross no extra process).
 */
export async function startBed(link: Link, ca: BedCa, opts: { redirect: boolean }): Promise<Bed> {
  const registry = await startTlsRegistry(ca);
  const registryAddr = `127.0.0.1:${registry.port}`;
  const proxies: LatencyProxy[] = [];
  const servers: http2.Http2SecureServer[] = [];
  let agent: https.Agent | undefined;
  const sockets = new Set<Socket>();
  let mainUpstream = registryAddr;
  if (opts.redirect) {
    const blobs = await startLatencyProxy(link, registryAddr, 'blobs');
    proxies.push(blobs);
    const blobHost = `[::ffff:127.0.0.1]:${blobs.port}`;
    agent = new https.Agent({ keepAlive: true, ca: readFileSync(ca.caFile), maxSockets: 64 });
    const upstreamAgent = agent;
    // h2 and HTTP/1.1, as ECR's API hosts offer both (ALPN); the relay upstream is HTTP/1.1.
    const front = http2.createSecureServer(
      { cert: readFileSync(ca.certFile), key: readFileSync(ca.keyFile), allowHTTP1: true },
      (req, res) => {
        const url = req.url ?? '/';
        if (req.method === 'GET' && /^\/v2\/.+\/blobs\/sha256:[0-9a-f]{64}$/.test(url)) {
          res.writeHead(307, { location: `https://${blobHost}${url}`, 'content-length': '0' });
          res.end();
          return;
        }
        // Host is passed on unchanged (h2: from :authority), so the registry's Location
        // headers name the proxy.
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')));
        headers.host ??= req.headers[':authority'] as string | undefined;
        const up = https.request(
          {
            host: '127.0.0.1',
            port: registry.port,
            method: req.method,
            path: url,
            headers,
            agent: upstreamAgent,
          },
          (upRes) => {
            const out = { ...upRes.headers };
            if (req.httpVersion === '2.0') for (const h of HOP_BY_HOP) delete out[h];
            res.writeHead(upRes.statusCode ?? 502, out);
            upRes.pipe(res);
          },
        );
        up.on('error', () => res.destroy());
        req.pipe(up);
      },
    );
    front.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    servers.push(front);
    mainUpstream = `127.0.0.1:${(front.address() as AddressInfo).port}`;
  }
  const main = await startLatencyProxy(link, mainUpstream, 'registry');
  proxies.push(main);
  return {
    host: `[::ffff:127.0.0.1]:${main.port}`,
    directHost: `[::ffff:127.0.0.1]:${registry.port}`,
    async stop() {
      for (const p of proxies) await p.stop();
      for (const s of servers) {
        for (const socket of sockets) socket.destroy();
        await new Promise((r) => s.close(r));
      }
      agent?.destroy();
      await registry.stop();
    },
  };
}

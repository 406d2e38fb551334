// Credentials and scheme changes: a redirect from https://host:port to http://host:port is
// another origin and gets no Authorization; and credentials never travel over plain HTTP to
// a host that is not loopback (a registry reached with --insecure that speaks only HTTP, a
// token realm on http://). Against loopback servers: one that speaks TLS and plain HTTP on
// the same port, and an HTTP proxy that makes a non-loopback name reach a loopback server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '../../../src/errors.js';
import { StaticCredentials } from '../../../src/oci/transport/credentials.js';
import { RegistryTransport } from '../../../src/oci/transport/http.js';
import { makeTestCa } from '../../helpers/registry.js';

interface Seen {
  scheme: 'https' | 'http';
  url: string;
  authorization?: string;
}

let dir: string;
let caFile: string;
let server: net.Server;
let port: number;
let plainOnly: http.Server;
const seen: Seen[] = [];

/** Answers like a registry whose blob GET redirects to the same host:port over plain HTTP. */
function handler(scheme: 'https' | 'http') {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({ scheme, url: req.url ?? '', authorization: req.headers.authorization });
    if (scheme === 'https' && req.url === '/v2/app/blobs/sha256:abc') {
      res.writeHead(307, { location: `http://127.0.0.1:${port}/storage/abc` }).end();
      return;
    }
    res.writeHead(200).end(`${scheme} bytes`);
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-plain-http-'));
  const ca = await makeTestCa(dir);
  caFile = ca.caFile;
  const { certFile, keyFile } = await ca.issue('registry');
  const httpsServer = https.createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    handler('https'),
  );
  const plainServer = http.createServer(handler('http'));
  // One port, two protocols: a TLS handshake starts with byte 0x16.
  server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return;
      socket.unshift(first);
      (first[0] === 0x16 ? httpsServer : plainServer).emit('connection', socket);
    });
    socket.resume();
    socket.pause();
  });
  plainOnly = http.createServer(handler('http'));
  await new Promise<void>((r) => plainOnly.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  plainOnly?.closeAllConnections();
  await new Promise((r) => plainOnly?.close(r));
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('credentials and plain HTTP', () => {
  it('sends no Authorization after an https → http redirect to the same host and port', async () => {
    const host = `127.0.0.1:${port}`;
    const t = new RegistryTransport({
      httpsLoopback: true,
      caFile,
      credentials: new StaticCredentials({ [host]: { username: 'AWS', password: 's3cret-token' } }),
      basicAuthHosts: () => true,
    });
    try {
      seen.length = 0;
      const res = await t.request({ method: 'GET', host, path: '/v2/app/blobs/sha256:abc' });
      expect(await res.body.text()).toBe('http bytes');
      expect(seen.map((s) => s.scheme)).toEqual(['https', 'http']);
      expect(seen[0]?.authorization).toBe(`Basic ${Buffer.from('AWS:s3cret-token').toString('base64')}`);
      expect(seen[1]?.authorization).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('refuses to send credentials over plain HTTP to a registry that is not loopback', async () => {
    // The proxy makes registry.example.test reach a loopback server that speaks plain HTTP only.
    const proxy = http.createServer();
    const sockets = new Set<net.Socket>();
    proxy.on('connect', (_req, client: net.Socket, head) => {
      const upstream = net.connect((plainOnly.address() as net.AddressInfo).port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(client).add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const host = 'registry.example.test:5000';
    const t = new RegistryTransport({
      // --insecure with a registry that answers TLS with plain HTTP: the transport falls back.
      insecure: true,
      env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, HTTP_PROXY: `http://127.0.0.1:${proxyPort}` },
      credentials: new StaticCredentials({ [host]: { username: 'AWS', password: 's3cret-token' } }),
      basicAuthHosts: () => true,
      retry: { maxRetries: 0 },
    });
    try {
      seen.length = 0;
      const err = await t.request({ method: 'GET', host, path: '/v2/' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).message).toContain(
        'ecrctl does not send credentials over plain HTTP to registry.example.test:5000',
      );
      expect((err as AuthError).message).not.toContain('s3cret');
      expect(seen.filter((s) => s.authorization !== undefined)).toEqual([]);
    } finally {
      await t.close();
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('refuses to send credentials to a token realm on plain HTTP off loopback', async () => {
    const registry = http.createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example.test/token",service="r"' }).end();
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(registry.address() as net.AddressInfo).port}`;
    const t = new RegistryTransport({
      credentials: new StaticCredentials({ [host]: { username: 'AWS', password: 's3cret-token' } }),
      retry: { maxRetries: 0 },
    });
    try {
      const err = await t.request({ method: 'GET', host, path: '/v2/' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).message).toBe(
        `ecrctl does not send credentials over plain HTTP to auth.example.test (registry ${host})`,
      );
    } finally {
      await t.close();
      registry.closeAllConnections();
      await new Promise((r) => registry.close(r));
    }
  });
});

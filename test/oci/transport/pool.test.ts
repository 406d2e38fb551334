// The connection pool: an HTTPS host that offers h2 gets one TLS connection for every request
// but streamed uploads (which go over HTTP/1.1, resuming that connection's TLS session); a
// host that speaks only HTTP/1.1 gets a pool whose first connection is the one that asked.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryAgent } from '../../../src/oci/transport/pool.js';
import { makeTestCa } from '../../helpers/registry.js';

interface Seen {
  method: string;
  version: string;
}

interface CountingServer {
  origin: string;
  /** TLS connections accepted, and how many of them resumed a session. */
  connections: number;
  resumed: number;
  requests: Seen[];
  close(): Promise<void>;
}

let dir: string;
let ca: string;
let cert: { key: Buffer; cert: Buffer };
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-pool-'));
  const testCa = await makeTestCa(dir);
  const issued = await testCa.issue('server');
  ca = readFileSync(testCa.caFile, 'utf8');
  cert = { key: readFileSync(issued.keyFile), cert: readFileSync(issued.certFile) };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts an HTTPS server (h2 and HTTP/1.1, or HTTP/1.1 only) that answers after 50 ms. */
async function startServer(h2: boolean): Promise<CountingServer> {
  const state = { connections: 0, resumed: 0, requests: [] as Seen[] };
  // biome-ignore lint/suspicious/noExplicitAny: one handler for both servers' response types.
  const handler = (req: http2.Http2ServerRequest | import('node:http').IncomingMessage, res: any) => {
    state.requests.push({ method: req.method ?? '', version: req.httpVersion });
    req.resume();
    req.on('end', () => setTimeout(() => res.end('ok'), 50));
  };
  const server = h2
    ? http2.createSecureServer({ ...cert, allowHTTP1: true }, handler)
    : https.createServer({ ...cert }, handler);
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    state.connections++;
    if (socket.isSessionReused()) state.resumed++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    get resumed() {
      return state.resumed;
    },
    requests: state.requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function get(agent: RegistryAgent, origin: string): Promise<string> {
  const res = await agent.request({ origin, path: '/v2/', method: 'GET' });
  return res.body.text();
}

describe('RegistryAgent', () => {
  it('sends 20 parallel requests to an h2 host over one TLS connection', async () => {
    const server = await startServer(true);
    const agent = new RegistryAgent({ connect: { ca } });
    try {
      const bodies = await Promise.all(Array.from({ length: 20 }, () => get(agent, server.origin)));
      expect(bodies).toEqual(Array(20).fill('ok'));
      expect(server.connections).toBe(1);
      expect(server.requests.map((r) => r.version)).toEqual(Array(20).fill('2.0'));
      expect(agent.protocolOf(server.origin)).toBe('h2');
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('sends streamed uploads to an h2 host over HTTP/1.1, resuming the h2 connection’s TLS session', async () => {
    const server = await startServer(true);
    const agent = new RegistryAgent({ connect: { ca } });
    try {
      await get(agent, server.origin);
      const put = () =>
        agent
          .request({
            origin: server.origin,
            path: '/v2/x/blobs/uploads/1',
            method: 'PUT',
            body: Readable.from([Buffer.alloc(1000, 1)]),
          })
          .then((r) => r.body.text());
      const post = () =>
        agent
          .request({ origin: server.origin, path: '/v2/x/blobs/uploads/', method: 'POST' })
          .then((r) => r.body.text());
      expect(await Promise.all([put(), put(), post(), post()])).toEqual(['ok', 'ok', 'ok', 'ok']);
      const byMethod = (m: string) => server.requests.filter((r) => r.method === m).map((r) => r.version);
      expect(byMethod('PUT')).toEqual(['1.1', '1.1']);
      // A POST (not idempotent) still shares the h2 connection instead of waiting for it to empty.
      expect(byMethod('POST')).toEqual(['2.0', '2.0']);
      expect(server.connections).toBe(3);
      expect(server.resumed).toBe(2);
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('pools HTTP/1.1 connections to a host without h2, the first being the one that asked', async () => {
    const server = await startServer(false);
    const agent = new RegistryAgent({ connect: { ca }, connections: 4 });
    try {
      const bodies = await Promise.all(Array.from({ length: 12 }, () => get(agent, server.origin)));
      expect(bodies).toEqual(Array(12).fill('ok'));
      expect(server.connections).toBe(4);
      expect(server.requests.map((r) => r.version)).toEqual(Array(12).fill('1.1'));
      expect(agent.protocolOf(server.origin)).toBe('http/1.1');
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('never offers h2 when told not to', async () => {
    const server = await startServer(true);
    const agent = new RegistryAgent({ connect: { ca }, http2: false, connections: 2 });
    try {
      await Promise.all(Array.from({ length: 4 }, () => get(agent, server.origin)));
      expect(server.requests.map((r) => r.version)).toEqual(Array(4).fill('1.1'));
      expect(server.connections).toBe(2);
    } finally {
      await agent.close();
      await server.close();
    }
  });
});

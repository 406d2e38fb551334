// A tiny loopback HTTP server whose answers a test scripts, for protocol edge cases a real
// registry will not produce on demand (drops, 503s, redirects to another host…).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { RegistryTransport, type TransportOptions } from '../../../src/oci/transport/http.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface ScriptedServer {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/** Starts a server on a free loopback port; handler gets each request and its 0-based number. */
export async function scriptedServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void | Promise<void>,
): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const n = requests.length;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // Drain request bodies so that uploads complete before we answer.
    req.resume();
    void Promise.resolve(handler(req, res, n)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Registers an afterEach that closes what a test opened, and returns the two openers:
 * serve() starts a scripted server, transport() a RegistryTransport (quick retries unless
 * opts says otherwise). The one fixture of the transport tests.
 */
export function transportFixture(): {
  serve(handler: Parameters<typeof scriptedServer>[0]): Promise<ScriptedServer>;
  transport(opts?: TransportOptions): RegistryTransport;
} {
  const servers: ScriptedServer[] = [];
  const transports: RegistryTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  return {
    async serve(handler) {
      const s = await scriptedServer(handler);
      servers.push(s);
      return s;
    },
    transport(opts = {}) {
      const t = new RegistryTransport({ retry: { baseDelayMs: 5, maxRetries: 3 }, ...opts });
      transports.push(t);
      return t;
    },
  };
}

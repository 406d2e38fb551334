// A tiny loopback HTTP server whose answers a test scripts, for protocol edge cases a real
// registry will not produce on demand (drops, 503s, redirects to another host…).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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

// A fault-injecting HTTP proxy on loopback, put between ecrctl and a real registry. The test
// adds per-request rules (match by method and path, apply n times): answer a status, reset
// the connection part-way through a request or response body, cut a body short, flip a byte,
// never answer, or slow a body down. Everything else is forwarded untouched, Host header
// included, so the registry's Location headers point back at the proxy.
//
//   const proxy = await startFaultProxy(reg.host);
//   proxy.rule({ method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'reset-request', afterBytes: 1 << 20 } });
//   … run ecrctl against proxy.host …
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export type Fault =
  /** Answer this status (the request body is read first); nothing reaches the registry. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward afterBytes of the request body, then reset the client's connection (TCP RST). */
  | { kind: 'reset-request'; afterBytes: number }
  /** Forward the response headers and afterBytes of its body, then reset the connection. */
  | { kind: 'reset-response'; afterBytes: number }
  /** Forward the headers (with the full Content-Length) and afterBytes, then close cleanly. */
  | { kind: 'cut-response'; afterBytes: number }
  /** Forward the response with the byte at atByte changed. */
  | { kind: 'corrupt-response'; atByte: number }
  /** Read the request and never answer. */
  | { kind: 'hang' }
  /** Forward, but no faster than bytesPerSecond in either direction. */
  | { kind: 'throttle'; bytesPerSecond: number };

export interface FaultRule {
  /** HTTP method to match (any when omitted). */
  method?: string;
  /** Path (with query) to match (any when omitted). */
  path?: RegExp;
  /** How many matching requests the rule applies to (default 1; Infinity: all). */
  times?: number;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
  /** The status the client got (undefined while in flight or when the connection was cut). */
  status?: number;
  /** Request body bytes forwarded to the registry. */
  bytesIn: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  host: string;
  requests: ProxiedRequest[];
  /** TCP connections clients opened to the proxy so far. */
  readonly connections: number;
  /**
   * Emits `blob-bytes` once per blob transfer when its first body bytes pass (an upload's
   * request body or a blob download's response body).
   */
  events: EventEmitter;
  /** Adds a rule; rules are tried in the order added. */
  rule(rule: FaultRule): void;
  /** Removes every rule. */
  clear(): void;
  stop(): Promise<void>;
}

const BLOB_UPLOAD = /\/blobs\/uploads\//;
const BLOB_GET = /\/blobs\/sha256:/;

/** Starts a proxy on a free loopback port that forwards to upstream (`host:port`). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const rules: Array<FaultRule & { left: number }> = [];
  const requests: ProxiedRequest[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();

  const pick = (req: http.IncomingMessage): Fault | undefined => {
    for (const r of rules) {
      if (r.left <= 0) continue;
      if (r.method !== undefined && r.method !== req.method) continue;
      if (r.path !== undefined && !r.path.test(req.url ?? '')) continue;
      r.left--;
      return r.fault;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const fault = pick(req);
    const record: ProxiedRequest = { method: req.method ?? '', url: req.url ?? '', bytesIn: 0, bytesOut: 0 };
    if (fault) record.fault = fault.kind;
    requests.push(record);
    const isUpload = (req.method === 'PUT' || req.method === 'PATCH') && BLOB_UPLOAD.test(record.url);
    const isDownload = req.method === 'GET' && BLOB_GET.test(record.url);

    if (fault?.kind === 'status') {
      req.resume();
      req.on('end', () => {
        record.status = fault.status;
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? '');
      });
      return;
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }

    const headers = { ...req.headers };
    delete headers.connection;
    delete headers['keep-alive'];
    const up = http.request(
      { host: upHost, port: Number(upPort), method: req.method, path: req.url, headers, agent: false },
      (upRes) => {
        const out = { ...upRes.headers };
        delete out.connection;
        delete out['keep-alive'];
        record.status = upRes.statusCode;
        res.writeHead(upRes.statusCode ?? 502, out);
        let announced = false;
        const counter = meter((n) => {
          record.bytesOut += n;
          if (isDownload && !announced) {
            announced = true;
            events.emit('blob-bytes', record);
          }
        });
        const stages: Transform[] = [counter];
        if (fault?.kind === 'reset-response' || fault?.kind === 'cut-response') {
          stages.unshift(
            cutAfter(fault.afterBytes, () => {
              record.status = undefined;
              if (fault.kind === 'reset-response') res.socket?.resetAndDestroy();
              else res.socket?.end();
            }),
          );
        }
        if (fault?.kind === 'corrupt-response') stages.unshift(flipByte(fault.atByte));
        if (fault?.kind === 'throttle') stages.unshift(throttle(fault.bytesPerSecond));
        let stream: NodeJS.ReadableStream = upRes;
        for (const s of stages) stream = stream.pipe(s);
        stream.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    res.on('close', () => up.destroy());
    let announced = false;
    const counter = meter((n) => {
      record.bytesIn += n;
      if (isUpload && !announced) {
        announced = true;
        events.emit('blob-bytes', record);
      }
    });
    const stages: Transform[] = [counter];
    if (fault?.kind === 'reset-request') {
      stages.unshift(
        cutAfter(fault.afterBytes, () => {
          up.destroy();
          req.socket.resetAndDestroy();
        }),
      );
    }
    if (fault?.kind === 'throttle') stages.unshift(throttle(fault.bytesPerSecond));
    let stream: NodeJS.ReadableStream = req;
    for (const s of stages) stream = stream.pipe(s);
    stream.pipe(up);
  });
  let connections = 0;
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    events,
    rule(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    clear() {
      rules.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Counts bytes as they pass. */
function meter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** Passes limit bytes, then calls cut once and swallows the rest. */
function cutAfter(limit: number, cut: () => void): Transform {
  let passed = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (done) return callback();
      const room = limit - passed;
      if (chunk.length < room) {
        passed += chunk.length;
        return callback(null, chunk);
      }
      done = true;
      this.push(chunk.subarray(0, room));
      // Let the bytes before the cut reach the socket first.
      setTimeout(cut, 20);
      callback();
    },
  });
}

/** Changes one byte at the given offset. */
function flipByte(at: number): Transform {
  let pos = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      if (at >= pos && at < pos + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[at - pos] = (copy[at - pos] ?? 0) ^ 0xff;
        chunk = copy;
      }
      pos += chunk.length;
      callback(null, chunk);
    },
  });
}

/** Delays chunks so that no more than bytesPerSecond pass. */
function throttle(bytesPerSecond: number): Transform {
  const started = Date.now();
  let passed = 0;
  return new Transform({
    highWaterMark: 16 * 1024,
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      passed += chunk.length;
      const due = started + (passed / bytesPerSecond) * 1000;
      setTimeout(() => callback(null, chunk), Math.max(0, due - Date.now()));
    },
  });
}

// A user-space link emulator on loopback (the kernel here has no netem): a TCP proxy that
// delays every chunk by RTT/2 in each direction from the moment it arrived (so it behaves
// like a wire with a length, not like a sleep per request), caps the bandwidth with one
// serialising queue per direction shared by every connection through every proxy on the
// same Link (a token bucket with a small burst), adds optional jitter, and forwards the
// bytes untouched, so TLS passes through.
//
// It also records what crosses it, for counts that do not depend on the machine's speed:
// connections; TLS handshakes (ClientHellos, and how many offered a session to resume);
// requests (HTTP/1.1 request lines when the stream is plain; for TLS, each client burst
// that follows server data, the first being the handshake); and for each exchange when
// the client sent it and when the last byte of its answer reached the client. From those,
// criticalPath() computes the round trips on the critical path: an exchange that began
// after another one's answer had fully arrived is one round trip deeper than it.
//
//   const link = new Link({ rttMs: 40, mbitPerSecond: 500 });
//   const proxy = await startLatencyProxy(link, '127.0.0.1:5000');
//   … point the client at proxy.port …
//   link.stats()  // { connections, handshakes, requests, roundTrips, … }
import net from 'node:net';

export interface LinkOptions {
  /** Round-trip time added, in ms (half each way). */
  rttMs: number;
  /** Bandwidth cap per direction in Mbit/s (0: none). */
  mbitPerSecond: number;
  /** Extra delay per chunk, uniform in [0, jitterMs] (order is kept). */
  jitterMs?: number;
}

/** One request/response exchange on one connection, as seen from the client's end. */
export interface Exchange {
  host: string;
  connection: number;
  /** `GET /v2/…` for plain HTTP, `tls-handshake` or `tls` for encrypted streams. */
  label: string;
  /** When the client's first byte of it reached the link (ms, performance.now()). */
  sentAt: number;
  /** When the last byte of the answer was delivered to the client (Infinity: none). */
  answeredAt: number;
}

export interface LinkStats {
  connections: number;
  /** TLS ClientHellos seen, and how many carried a session to resume (pre_shared_key / session id). */
  handshakes: number;
  resumptions: number;
  /** Requests (handshakes not included). */
  requests: number;
  /** Requests by host (the proxy's name for it). */
  byHost: Record<string, { connections: number; handshakes: number; requests: number }>;
  /** The longest chain of exchanges each started after the previous one's answer arrived. */
  roundTrips: number;
  /** Plain-HTTP request lines by `METHOD kind` (kind: blob, upload, manifest, referrers, tags, other). */
  methods: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
}

/** The shared link: delay, the bandwidth queues, and the record of exchanges. */
export class Link {
  readonly opts: LinkOptions;
  /** When each direction's serialiser is free again (ms). */
  #freeAt = { up: 0, down: 0 };
  readonly exchanges: Exchange[] = [];
  #connections = 0;
  #hosts: Record<string, { connections: number; handshakes: number; requests: number }> = {};
  #handshakes = 0;
  #resumptions = 0;
  #methods: Record<string, number> = {};
  bytesUp = 0;
  bytesDown = 0;

  constructor(opts: LinkOptions) {
    this.opts = opts;
  }

  /** Returns when a chunk of n bytes arriving now in direction dir reaches the other end. */
  deliveryTime(dir: 'up' | 'down', n: number, now: number): number {
    let t = now;
    const rate = this.opts.mbitPerSecond * 125; // bytes per ms
    if (rate > 0) {
      // A 64 KiB burst allowance: the bucket's depth.
      const burstMs = 65536 / rate;
      const start = Math.max(now, this.#freeAt[dir] - burstMs);
      this.#freeAt[dir] = Math.max(start, this.#freeAt[dir]) + n / rate;
      t = start + n / rate;
    }
    const jitter = this.opts.jitterMs ? Math.random() * this.opts.jitterMs : 0;
    return t + this.opts.rttMs / 2 + jitter;
  }

  /** Forgets what was recorded (between runs). */
  reset(): void {
    this.exchanges.length = 0;
    this.#connections = 0;
    this.#hosts = {};
    this.#handshakes = 0;
    this.#resumptions = 0;
    this.#methods = {};
    this.bytesUp = 0;
    this.bytesDown = 0;
  }

  host(name: string) {
    this.#hosts[name] ??= { connections: 0, handshakes: 0, requests: 0 };
    return this.#hosts[name];
  }

  connectionOpened(host: string): number {
    this.host(host).connections++;
    return ++this.#connections;
  }

  handshake(host: string, resumed: boolean): void {
    this.#handshakes++;
    this.host(host).handshakes++;
    if (resumed) this.#resumptions++;
  }

  method(key: string): void {
    this.#methods[key] = (this.#methods[key] ?? 0) + 1;
  }

  /** Returns the counts recorded since the last reset. */
  stats(): LinkStats {
    const requests = this.exchanges.filter((e) => e.label !== 'tls-handshake');
    for (const h of Object.values(this.#hosts)) h.requests = 0;
    for (const e of requests) this.host(e.host).requests++;
    return {
      connections: this.#connections,
      handshakes: this.#handshakes,
      resumptions: this.#resumptions,
      requests: requests.length,
      byHost: structuredClone(this.#hosts),
      roundTrips: criticalPath(this.exchanges),
      methods: { ...this.#methods },
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
    };
  }
}

/**
 * Returns the number of round trips on the critical path: the longest chain of exchanges
 * in which each was sent after the previous one's answer had fully arrived.
 */
export function criticalPath(exchanges: readonly Exchange[]): number {
  const byStart = [...exchanges].sort((a, b) => a.sentAt - b.sentAt);
  const byEnd = [...exchanges].filter((e) => Number.isFinite(e.answeredAt)).sort((a, b) => a.answeredAt - b.answeredAt);
  const depth = new Map<Exchange, number>();
  let best = 0;
  let j = 0;
  // Exchanges sorted by start; the deepest finished-before-start so far is carried along.
  let deepestDone = 0;
  for (const e of byStart) {
    while (j < byEnd.length && byEnd[j]!.answeredAt <= e.sentAt) {
      deepestDone = Math.max(deepestDone, depth.get(byEnd[j]!) ?? 0);
      j++;
    }
    const d = deepestDone + 1;
    depth.set(e, d);
    best = Math.max(best, d);
  }
  return best;
}

/** A running proxy in front of one upstream. */
export interface LatencyProxy {
  port: number;
  /** `127.0.0.1:PORT`. */
  host: string;
  stop(): Promise<void>;
}

/** One direction of one connection: chunks wait until their delivery time, in order. */
class Pipe {
  readonly #queue: { at: number; chunk: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #queued = 0;
  #ended = false;
  constructor(
    readonly link: Link,
    readonly dir: 'up' | 'down',
    readonly from: net.Socket,
    readonly to: net.Socket,
    readonly onDeliver: (chunk: Buffer, at: number) => void,
  ) {}

  /** Bytes in flight allowed before the sender is paused: the link's bandwidth-delay product + 1 MiB. */
  get window(): number {
    const rate = this.link.opts.mbitPerSecond * 125;
    return (rate > 0 ? rate * Math.max(this.link.opts.rttMs, 10) : 4 * 1024 * 1024) + 1024 * 1024;
  }

  push(chunk: Buffer, now: number): void {
    if (this.link.opts.rttMs === 0 && this.link.opts.mbitPerSecond === 0 && this.#queue.length === 0) {
      // No shaping: forward at once (the overhead run).
      this.to.write(chunk);
      this.onDeliver(chunk, now);
      return;
    }
    const at = Math.max(this.link.deliveryTime(this.dir, chunk.length, now), this.#queue.at(-1)?.at ?? 0);
    this.#queue.push({ at, chunk });
    this.#queued += chunk.length;
    if (this.#queued > this.window) this.from.pause();
    this.#schedule();
  }

  end(): void {
    this.#ended = true;
    if (this.#queue.length === 0) this.to.end();
  }

  #schedule(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#queue[0]!.at - performance.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 0.5) {
      const { chunk, at } = this.#queue.shift()!;
      this.#queued -= chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
      this.onDeliver(chunk, Math.max(at, now));
    }
    if (this.#queued <= this.window / 2 && this.from.isPaused()) this.from.resume();
    if (this.#queue.length === 0 && this.#ended) this.to.end();
    this.#schedule();
  }

  destroy(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#queue.length = 0;
  }
}

const kindOf = (path: string): string => {
  if (/\/blobs\/uploads\//.test(path)) return 'upload';
  if (/\/blobs\//.test(path)) return 'blob';
  if (/\/manifests\//.test(path)) return 'manifest';
  if (/\/referrers\//.test(path)) return 'referrers';
  if (/\/tags\/list/.test(path)) return 'tags';
  if (/^\/v2\/?$/.test(path)) return 'ping';
  return 'other';
};

/** Returns true when a TLS ClientHello record offers a session to resume. */
function offersResumption(hello: Buffer): boolean {
  try {
    // record(5) type(1) len(3) version(2) random(32) session id
    let p = 5 + 4 + 2 + 32;
    const sidLen = hello[p]!;
    if (sidLen > 0 && hello.length > 0) {
      // A TLS 1.3 client sends a random legacy session id; only the PSK extension counts there.
    }
    p += 1 + sidLen;
    const csLen = hello.readUInt16BE(p);
    p += 2 + csLen;
    const cmLen = hello[p]!;
    p += 1 + cmLen;
    const extEnd = p + 2 + hello.readUInt16BE(p);
    p += 2;
    while (p + 4 <= extEnd && p + 4 <= hello.length) {
      const type = hello.readUInt16BE(p);
      const len = hello.readUInt16BE(p + 2);
      if (type === 41) return true; // pre_shared_key
      if (type === 35 && len > 0) return true; // a TLS 1.2 session ticket offered
      p += 4 + len;
    }
  } catch {
    return false;
  }
  return false;
}

/** Starts a shaping proxy on a free loopback port forwarding to upstream (`host:port`); name labels it in the stats. */
export async function startLatencyProxy(link: Link, upstream: string, name = upstream): Promise<LatencyProxy> {
  const sep = upstream.lastIndexOf(':');
  const upHost = upstream.slice(0, sep).replace(/^\[|\]$/g, '');
  const upPort = Number(upstream.slice(sep + 1));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const id = link.connectionOpened(name);
    const server = net.connect(upPort, upHost);
    sockets.add(server);
    server.on('close', () => sockets.delete(server));
    client.setNoDelay(true);
    server.setNoDelay(true);
    let tls: boolean | undefined;
    let current: Exchange | undefined;
    let sawServerData = false;
    let plainBuffer = '';

    const up = new Pipe(link, 'up', client, server, (chunk) => {
      link.bytesUp += chunk.length;
    });
    const down = new Pipe(link, 'down', server, client, (chunk, at) => {
      link.bytesDown += chunk.length;
      if (current) current.answeredAt = at;
    });
    client.on('data', (chunk: Buffer) => {
      const now = performance.now();
      if (tls === undefined) {
        tls = chunk[0] === 0x16;
        if (tls) link.handshake(name, offersResumption(chunk));
      }
      if (tls) {
        // A client burst after server data opens a new exchange (HTTP/1.1: one request at a time).
        if (!current || sawServerData) {
          current = {
            host: name,
            connection: id,
            label: current ? 'tls' : 'tls-handshake',
            sentAt: now,
            answeredAt: Number.POSITIVE_INFINITY,
          };
          link.exchanges.push(current);
          sawServerData = false;
        }
      } else {
        // Plain HTTP: find request lines (a body may follow them in the same or later chunks).
        plainBuffer = (plainBuffer + chunk.toString('latin1')).slice(-8192);
        if (!current || sawServerData) {
          const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/m.exec(plainBuffer);
          if (m) {
            current = {
              host: name,
              connection: id,
              label: `${m[1]} ${m[2]}`,
              sentAt: now,
              answeredAt: Number.POSITIVE_INFINITY,
            };
            link.exchanges.push(current);
            link.method(`${m[1]} ${kindOf(m[2]!)}`);
            sawServerData = false;
            plainBuffer = '';
          }
        }
      }
      up.push(chunk, now);
    });
    server.on('data', (chunk: Buffer) => {
      sawServerData = true;
      down.push(chunk, performance.now());
    });
    client.on('end', () => up.end());
    server.on('end', () => down.end());
    const kill = () => {
      up.destroy();
      down.destroy();
      client.destroy();
      server.destroy();
    };
    client.on('error', kill);
    server.on('error', kill);
    client.on('close', () => {
      if (!server.destroyed) setTimeout(() => server.destroy(), link.opts.rttMs / 2 + 50).unref();
    });
    server.on('close', () => {
      if (!client.destroyed) setTimeout(() => client.destroy(), link.opts.rttMs + 1000).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// The connection pool under the transport: one HTTP/2 connection per host when the host
// offers h2 (ECR, S3 and docker-registry over TLS do), so parallel requests multiplex on one
// TLS handshake; eight HTTP/1.1 connections per host otherwise. Streamed upload bodies always
// go over HTTP/1.1: undici will not send one on an h2 connection beside other requests, and a
// server's h2 receive window (Go's: 1 MiB for the whole connection) caps an upload at one
// window per round trip, where TCP connections each grow their own.
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { buildConnector, Client, Dispatcher, Pool } from 'undici';

/** The options RegistryAgent takes (a subset of undici's Pool options, plus http2). */
export interface RegistryAgentOptions {
  /** HTTP/1.1 connections per origin (default 8). */
  connections?: number;
  keepAliveTimeout?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  /** TLS options for every connection (ca, rejectUnauthorized). */
  connect?: ConnectionOptions;
  /** Offer h2 to HTTPS origins (default true). */
  http2?: boolean;
  /** Streams one h2 connection runs at once (default 100; a server may ask for fewer). */
  maxStreams?: number;
}

/**
 * Per stream and per connection receive windows for h2 downloads: a window is what the server
 * may send per round trip, so it must cover the bandwidth-delay product (500 Mbit/s × 100 ms
 * ≈ 6 MB for the connection); undici's defaults (256 KiB / 512 KiB) would cap a download at
 * 512 KiB per round trip, 13 MB/s at 40 ms. No larger: what the window lets in while our
 * reader is behind (a copy whose upload is slower) is held in our memory, where HTTP/1.1
 * leaves it in the kernel's socket buffer (a copy peaked at 121 MB with 4 / 16 MiB).
 */
const STREAM_WINDOW = 2 * 1024 * 1024;
const CONNECTION_WINDOW = 8 * 1024 * 1024;

type DispatchOptions = Dispatcher.DispatchOptions;
type Handler = Dispatcher.DispatchHandler;
type Connector = buildConnector.connector;

function isStreamBody(body: DispatchOptions['body']): boolean {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return false;
  return typeof (body as { pipe?: unknown }).pipe === 'function' || Symbol.asyncIterator in (body as object);
}

/**
 * One origin's connections. Plain HTTP: a pool of HTTP/1.1 connections. HTTPS: the first
 * request opens one connection offering h2 and http/1.1, and requests that come meanwhile
 * wait for its answer (else each would open a connection of its own); h2 → that connection
 * carries every request but streamed uploads, which get HTTP/1.1 connections of their own;
 * http/1.1 → it becomes the first connection of an HTTP/1.1 pool.
 */
class OriginPool extends Dispatcher {
  readonly #origin: string;
  readonly #opts: RegistryAgentOptions;
  /** Where requests go once the protocol is known (h1: everything; h2: all but uploads). */
  #main: Dispatcher | undefined;
  /** HTTP/1.1 connections for streamed uploads to an h2 origin. */
  #uploads: Pool | undefined;
  #probe: Client | undefined;
  /** Probes that failed to connect: closed with the rest. */
  readonly #failed: Client[] = [];
  /** The last TLS session ticket of the h2 connection. */
  #ticket: Buffer | undefined;
  #waiting: Array<[DispatchOptions, Handler]> = [];

  constructor(origin: string, opts: RegistryAgentOptions) {
    super();
    this.#origin = origin;
    this.#opts = opts;
    if (!origin.startsWith('https:') || opts.http2 === false) this.#main = this.#h1Pool();
  }

  /** The protocol the origin speaks, once known: 'h2', 'http/1.1', or undefined. */
  get protocol(): 'h2' | 'http/1.1' | undefined {
    if (this.#main === undefined) return undefined;
    return this.#main instanceof Client ? 'h2' : 'http/1.1';
  }

  override dispatch(opts: DispatchOptions, handler: Handler): boolean {
    if (this.#main !== undefined) {
      if (this.#main instanceof Client && isStreamBody(opts.body)) {
        this.#uploads ??= this.#h1Pool();
        return this.#uploads.dispatch(opts, handler);
      }
      // undici holds a non-idempotent request (POST, which starts every blob upload) until
      // every other stream on the connection has finished; ours are safe to run beside others.
      if (this.#main instanceof Client) return this.#main.dispatch({ ...opts, idempotent: true }, handler);
      return this.#main.dispatch(opts, handler);
    }
    if (this.#probe !== undefined) {
      this.#waiting.push([opts, handler]);
      return true;
    }
    const probe = this.#newProbe();
    this.#probe = probe;
    return probe.dispatch(opts, handler);
  }

  #newProbe(): Client {
    const connector = buildConnector({ ...this.#opts.connect, allowH2: true });
    let client: Client | undefined;
    const learn: Connector = (options, callback) => {
      connector(options, (err, socket) => {
        if (client !== undefined && this.#probe === client) {
          if (err === null) {
            const tls = socket as Duplex & { alpnProtocol?: string };
            // The h2 connection's TLS ticket lets the upload connections resume its session.
            tls.on('session', (ticket: Buffer) => {
              this.#ticket = ticket;
            });
            this.#settle(client, tls.alpnProtocol);
          } else this.#retryProbe();
        }
        // biome-ignore lint/suspicious/noExplicitAny: undici's callback takes (null, socket) or (err, null).
        (callback as (e: any, s: any) => void)(err, socket);
      });
    };
    client = new Client(this.#origin, {
      ...this.#clientOptions(),
      allowH2: true,
      maxConcurrentStreams: this.#opts.maxStreams ?? 100,
      initialWindowSize: STREAM_WINDOW,
      connectionWindowSize: CONNECTION_WINDOW,
      connect: learn,
    });
    return client;
  }

  #settle(client: Client, alpn: string | undefined): void {
    this.#probe = undefined;
    if (alpn === 'h2') {
      // undici runs one request at a time on a client unless told otherwise, h2 or not.
      client.pipelining = this.#opts.maxStreams ?? 100;
      this.#main = client;
    } else {
      // The probe's connection serves as the pool's first, so no handshake is wasted.
      let first: Client | undefined = client;
      this.#main = this.#h1Pool(() => {
        const c = first;
        first = undefined;
        return c;
      });
    }
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [opts, handler] of waiting) this.dispatch(opts, handler);
  }

  /** The probe could not connect: its own request fails (and may be retried); the next waiting one probes again. */
  #retryProbe(): void {
    if (this.#probe !== undefined) this.#failed.push(this.#probe);
    this.#probe = undefined;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [opts, handler] of waiting) this.dispatch(opts, handler);
  }

  #clientOptions() {
    return {
      keepAliveTimeout: this.#opts.keepAliveTimeout,
      headersTimeout: this.#opts.headersTimeout,
      bodyTimeout: this.#opts.bodyTimeout,
      pipelining: 1,
    };
  }

  #h1Pool(reuse?: () => Client | undefined): Pool {
    // Upload connections to an h2 origin open at once, before any of them has a ticket: they
    // resume the h2 connection's session instead (a full handshake each otherwise).
    const connect = buildConnector({
      ...this.#opts.connect,
      allowH2: false,
      ...(this.#ticket === undefined ? {} : { session: this.#ticket }),
    });
    const options = { ...this.#clientOptions(), connect };
    return new Pool(this.#origin, {
      ...options,
      connections: this.#opts.connections ?? 8,
      factory: (origin, opts) => reuse?.() ?? new Client(origin, opts as Client.Options),
    });
  }

  #all(): Dispatcher[] {
    return [this.#main, this.#uploads, this.#probe, ...this.#failed].filter((d): d is Dispatcher => d !== undefined);
  }

  // biome-ignore lint/suspicious/noExplicitAny: Dispatcher's close() and destroy() are overloaded (callback or promise).
  override close(): any {
    return Promise.all(this.#all().map((d) => d.close())).then(() => undefined);
  }

  // biome-ignore lint/suspicious/noExplicitAny: as close().
  override destroy(err?: any): any {
    for (const [, handler] of this.#waiting.splice(0)) handler.onError?.(err ?? new Error('destroyed'));
    return Promise.all(this.#all().map((d) => d.destroy(err ?? null))).then(() => undefined);
  }
}

/**
 * An undici dispatcher for registries: per origin, h2 on one connection when offered, else up
 * to `connections` HTTP/1.1 connections (see OriginPool).
 */
export class RegistryAgent extends Dispatcher {
  readonly #opts: RegistryAgentOptions;
  readonly #origins = new Map<string, OriginPool>();

  constructor(opts: RegistryAgentOptions = {}) {
    super();
    this.#opts = opts;
  }

  /** Returns the protocol an origin (`https://host:port`) was found to speak, if known. */
  protocolOf(origin: string): 'h2' | 'http/1.1' | undefined {
    return this.#origins.get(origin)?.protocol;
  }

  override dispatch(opts: DispatchOptions, handler: Handler): boolean {
    const origin = String(opts.origin);
    let pool = this.#origins.get(origin);
    if (pool === undefined) {
      pool = new OriginPool(new URL(origin).origin, this.#opts);
      this.#origins.set(origin, pool);
    }
    return pool.dispatch(opts, handler);
  }

  // biome-ignore lint/suspicious/noExplicitAny: see OriginPool.close.
  override close(): any {
    return Promise.all([...this.#origins.values()].map((p) => p.close())).then(() => undefined);
  }

  // biome-ignore lint/suspicious/noExplicitAny: see OriginPool.close.
  override destroy(err?: any): any {
    return Promise.all([...this.#origins.values()].map((p) => p.destroy(err))).then(() => undefined);
  }
}

// The HTTP transport under the registry client: it owns URLs and schemes, the undici agent,
// authentication, retries with backoff, redirects, timeouts, and the mapping of failures to
// ecrctl's error kinds. Callers describe a request (method, host, path, scopes, body).
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { processTuned } from '../memory.js';
import { type Dispatcher, EnvHttpProxyAgent } from 'undici';
import {
  AuthError,
  EcrctlError,
  HttpStatusError,
  InterruptedError,
  isEcrctlError,
  NotFoundError,
  RateLimitedError,
  UsageError,
} from '../../errors.js';
import { isLoopbackHost } from '../reference.js';
import { Authenticator, type TokenFetch } from './auth.js';
import { RegistryAgent } from './pool.js';
import type { RegistryCredentialProvider } from './credentials.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  errorCode,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from './retry.js';
import { formatTrace, type HttpTraceEntry, traceEnabled } from './trace.js';
import { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  /** Where credentials come from; without one, requests are anonymous. */
  credentials?: RegistryCredentialProvider;
  /**
   * Hosts known to take HTTP Basic (private ECR registries): their first request carries the
   * credentials, instead of going out anonymously only to be answered 401.
   */
  basicAuthHosts?: (host: string) => boolean;
  /** Allows plain HTTP to any host (tried after HTTPS fails) and skips TLS verification. */
  insecure?: boolean;
  /** Speaks HTTPS to loopback hosts too (a local registry with TLS). Default: plain HTTP. */
  httpsLoopback?: boolean;
  /** A PEM file of extra CA certificates, trusted besides the default ones. */
  caFile?: string;
  userAgent?: string;
  retry?: Partial<RetryPolicy>;
  /** Time to wait for response headers (default: ECRCTL_HTTP_TIMEOUT_MS in env, else 60 s). */
  headersTimeoutMs?: number;
  /** Time a response body may stay idle (default: ECRCTL_HTTP_TIMEOUT_MS in env, else 60 s). */
  bodyTimeoutMs?: number;
  /**
   * Deadline for a whole small response — manifests, tag lists, tokens, anything but a blob
   * download or a streamed upload — headers and body (default: ECRCTL_REQUEST_TIMEOUT, else
   * 60 s; false: none).
   */
  requestTimeoutMs?: number | false;
  /**
   * Below this rate for a whole window, a response body has stalled (default:
   * ECRCTL_MIN_THROUGHPUT, else 1 KiB/s over 60 s; false: none). Time our own reader takes
   * does not count.
   */
  minThroughput?: MinThroughput | false;
  /** HTTP/1.1 connections kept per origin (default 8). */
  connectionsPerOrigin?: number;
  /**
   * Offer HTTP/2 to HTTPS hosts, which then carry every request but streamed uploads on one
   * connection (default: true; ECRCTL_HTTP2=0 in env turns it off).
   */
  http2?: boolean;
  /** The environment: proxy variables and NODE_EXTRA_CA_CERTS are read from here. */
  env?: NodeJS.ProcessEnv;
  /** Receives one line per notable event (for --verbose); never given secrets. */
  log?: (message: string) => void;
  /**
   * Receives the HTTP trace of every request (--debug), credentials redacted; default: log,
   * when ECRCTL_DEBUG is set in env.
   */
  trace?: (lines: string) => void;
  /** Called with every secret that passes through (passwords, tokens) for redaction. */
  onSecret?: (secret: string) => void;
  /** Random source for backoff jitter (tests make it deterministic). */
  random?: () => number;
}

export interface TransportRequest {
  method: HttpMethod;
  /** The registry, `host[:port]`. */
  host: string;
  /** A path with query (`/v2/app/tags/list?n=100`) or an absolute URL the registry gave us. */
  path: string;
  /** Bearer scopes this request needs, e.g. `repository:app:pull`. */
  scopes?: readonly string[];
  headers?: Record<string, string>;
  /** A Readable body is sent once: never retried, re-authenticated or redirected. */
  body?: Buffer | string | Readable;
  /** Retry on transient failures; default: true for GET, HEAD, PUT and DELETE with a replayable body. */
  retry?: boolean;
  /**
   * Whether ECRCTL_REQUEST_TIMEOUT applies: default true, except for blob downloads (GET of
   * /blobs/) and streamed bodies, which only the minimum throughput limits.
   */
  deadline?: boolean;
  /** Follow redirects (default for GET and HEAD). */
  followRedirects?: boolean;
  /** Statuses returned to the caller instead of thrown (2xx always are). */
  allow?: readonly number[];
  /** What the request is about, for messages: `manifest app:v1`. */
  what?: string;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** undici's body: a Readable with dump(), text(), json(). Always consume or dump it. */
  body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  url: URL;
  /** Returns one header's value (the first when repeated). */
  header(name: string): string | undefined;
}

/** One error of an OCI error body: `{"errors":[{"code","message","detail"}]}`. */
export interface OciError {
  code: string;
  message: string;
}

const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Returns the OCI error codes and messages of an error body, or [] when it has none. */
export function parseOciErrors(text: string): OciError[] {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.flatMap((e: unknown) => {
      if (e === null || typeof e !== 'object') return [];
      const { code, message } = e as { code?: unknown; message?: unknown };
      return typeof code === 'string' ? [{ code, message: typeof message === 'string' ? message : '' }] : [];
    });
  } catch {
    return [];
  }
}

/**
 * Returns the whole body if it is at most limit bytes, or undefined after reading limit+1
 * bytes (the rest is never read: an endless body is cut off).
 */
export async function readLimited(body: Readable, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      body.destroy();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}

function firstHeader(headers: TransportResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Returns the timeout ECRCTL_HTTP_TIMEOUT_MS sets (milliseconds a registry may take to send
 * response headers, and may leave a body idle), or undefined when it is not set.
 */
export function timeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.ECRCTL_HTTP_TIMEOUT_MS;
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new UsageError(`ECRCTL_HTTP_TIMEOUT_MS must be a whole number of milliseconds, not ${JSON.stringify(text)}`, {
      rule: 'ECRCTL_HTTP_TIMEOUT_MS is a positive whole number (default 60000)',
      value: text,
      fix: 'set e.g. ECRCTL_HTTP_TIMEOUT_MS=120000, or unset it',
    });
  }
  return ms;
}

/** A minimum rate: below bytesPerSecond, measured over windowMs, a body has stalled. */
export interface MinThroughput {
  bytesPerSecond: number;
  windowMs: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_MIN_THROUGHPUT: MinThroughput = { bytesPerSecond: 1024, windowMs: 60_000 };
const DURATION = /^(\d+)(ms|s|m)?$/;
const BYTES = /^(\d+)(B|KiB|MiB)?$/;

function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Returns the deadline ECRCTL_REQUEST_TIMEOUT sets for small responses in milliseconds
 * (`90` or `90s`, `500ms`, `2m`; default 60 s), or undefined when it is `0` (no deadline).
 */
export function requestTimeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.ECRCTL_REQUEST_TIMEOUT;
  if (text === undefined || text === '') return DEFAULT_REQUEST_TIMEOUT_MS;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(`ECRCTL_REQUEST_TIMEOUT must be a duration, not ${JSON.stringify(text)}`, {
      rule: 'ECRCTL_REQUEST_TIMEOUT is a whole number of seconds, or with a unit: 500ms, 90s, 2m; 0 turns the deadline off (default 60s)',
      value: text,
      fix: 'set e.g. ECRCTL_REQUEST_TIMEOUT=120s, or unset it',
    });
  }
  return ms === 0 ? undefined : ms;
}

/**
 * Returns the minimum rate ECRCTL_MIN_THROUGHPUT sets: `BYTES[/WINDOW]`, bytes per second
 * (`1024`, `10KiB`, `1MiB`) over a window (`60s` by default; `500ms`, `2m`), default
 * 1KiB/60s; undefined when it is `0` (no minimum).
 */
export function minThroughputFromEnv(env: NodeJS.ProcessEnv): MinThroughput | undefined {
  const text = env.ECRCTL_MIN_THROUGHPUT;
  if (text === undefined || text === '') return { ...DEFAULT_MIN_THROUGHPUT };
  const [rate = '', window, extra] = text.trim().split('/');
  const b = BYTES.exec(rate);
  const windowMs = window === undefined ? DEFAULT_MIN_THROUGHPUT.windowMs : parseDuration(window);
  const bytesPerSecond = b ? Number(b[1]) * (b[2] === 'KiB' ? 1024 : b[2] === 'MiB' ? 1024 * 1024 : 1) : undefined;
  if (bytesPerSecond === undefined || windowMs === undefined || windowMs === 0 || extra !== undefined) {
    throw new UsageError(`ECRCTL_MIN_THROUGHPUT must be BYTES[/WINDOW], not ${JSON.stringify(text)}`, {
      rule: 'ECRCTL_MIN_THROUGHPUT is bytes per second (1024, 10KiB, 1MiB), optionally over a window (/60s, /500ms, /2m); 0 turns it off (default 1KiB/60s)',
      value: text,
      fix: 'set e.g. ECRCTL_MIN_THROUGHPUT=1KiB/120s, or unset it',
    });
  }
  return bytesPerSecond === 0 ? undefined : { bytesPerSecond, windowMs };
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** What a guarded request is, for the deadline and stall messages. */
interface Guard {
  host: string;
  what: string;
  /** Apply the small-response deadline. */
  deadline: boolean;
}

/** Returns the path and query of a URL without secrets a presigned URL may carry. */
function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Speaks HTTP to registries. One per client: it holds the connection pool and auth state. */
export class RegistryTransport {
  readonly #dispatcher: Dispatcher;
  readonly #auth: Authenticator;
  readonly #opts: TransportOptions;
  readonly #retry: RetryPolicy;
  readonly #random: () => number;
  readonly #schemes = new Map<string, 'http' | 'https'>();
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #requestTimeout: number | undefined;
  readonly #minThroughput: MinThroughput | undefined;
  readonly #userAgent: string;
  /** The extra CA file in use (opts.caFile or AWS_CA_BUNDLE), if any. */
  readonly #caFile: string | undefined;
  readonly #trace: ((lines: string) => void) | undefined;

  constructor(opts: TransportOptions = {}) {
    keepWasmCompilerSmall();
    this.#opts = opts;
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#random = opts.random ?? Math.random;
    const env = opts.env ?? {};
    const fromEnv = timeoutFromEnv(env);
    this.#headersTimeout = opts.headersTimeoutMs ?? fromEnv ?? DEFAULT_TIMEOUT_MS;
    this.#bodyTimeout = opts.bodyTimeoutMs ?? fromEnv ?? DEFAULT_TIMEOUT_MS;
    this.#requestTimeout =
      opts.requestTimeoutMs === false ? undefined : (opts.requestTimeoutMs ?? requestTimeoutFromEnv(env));
    this.#minThroughput = opts.minThroughput === false ? undefined : (opts.minThroughput ?? minThroughputFromEnv(env));
    this.#userAgent = opts.userAgent ?? 'ecrctl';
    this.#trace = opts.trace ?? (traceEnabled(env) ? opts.log : undefined);
    const connect: { rejectUnauthorized: boolean; secureContext?: SecureContext } = {
      rejectUnauthorized: !opts.insecure,
    };
    // AWS_CA_BUNDLE (what `--ca-file` sets) is the AWS CLI's variable; ECR's data plane is
    // AWS too, and `ecrctl local serve --tls` tells users to set it for both.
    const caFile = opts.caFile ?? (env.AWS_CA_BUNDLE || undefined);
    this.#caFile = caFile;
    if (caFile) {
      const extra = [readCaFile(caFile)];
      if (env.NODE_EXTRA_CA_CERTS) extra.push(readCaFile(env.NODE_EXTRA_CA_CERTS));
      connect.secureContext = withExtraCas(extra);
    }
    const agentOptions = {
      connections: opts.connectionsPerOrigin ?? 8,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout,
      connect,
    };
    const httpProxy = env.HTTP_PROXY ?? env.http_proxy ?? '';
    const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy ?? '';
    this.#dispatcher =
      httpProxy || httpsProxy
        ? new EnvHttpProxyAgent({
            ...agentOptions,
            requestTls: connect,
            httpProxy,
            httpsProxy,
            noProxy: env.NO_PROXY ?? env.no_proxy ?? '',
          })
        : new RegistryAgent({
            ...agentOptions,
            connect: { ...connect },
            http2: opts.http2 ?? env.ECRCTL_HTTP2 !== '0',
          });
    this.#auth = new Authenticator({
      credentials: opts.credentials,
      presumeBasic: opts.basicAuthHosts,
      fetchToken: this.#fetchToken,
      checkCredentialUrl: refusePlainHttpCredentials,
      onSecret: opts.onSecret,
      log: opts.log,
    });
  }

  /** Returns the auth state (tests read how many tokens were fetched). */
  get authenticator(): Authenticator {
    return this.#auth;
  }

  /** Returns the base URL used for host (`http://…` or `https://…`). */
  baseUrl(host: string): string {
    return `${this.#schemeFor(host)}://${host}`;
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /**
   * Sends a request: authenticates on challenge, retries transient failures, follows
   * redirects; returns 2xx (and allowed) responses and throws typed errors for the rest.
   */
  async request(req: TransportRequest): Promise<TransportResponse> {
    const streamBody = req.body instanceof Readable;
    const canRetry = !streamBody && (req.retry ?? IDEMPOTENT.has(req.method));
    const started = Date.now();
    for (let retry = 0; ; retry++) {
      if (req.signal?.aborted) throw new InterruptedError();
      let res: AuthorizedResponse;
      try {
        res = await this.#authorized(req, streamBody);
      } catch (err) {
        if (req.signal?.aborted) throw new InterruptedError();
        if (isEcrctlError(err)) throw err;
        if (canRetry && isRetryableNetworkError(err)) {
          const wait = backoffDelay(retry, this.#retry, this.#random);
          if (retry < this.#retry.maxRetries && Date.now() - started + wait <= this.#retry.maxTotalMs) {
            this.#opts.log?.(
              `retry ${retry + 1}/${this.#retry.maxRetries} of ${req.method} ${req.host} in ${wait} ms after ${errorCode(err)}`,
            );
            await sleep(wait, req.signal);
            continue;
          }
        }
        throw this.#networkError(req, err);
      }
      const allowed = req.allow?.includes(res.status) === true;
      if (!allowed && isRetryableStatus(res.status) && canRetry && retry < this.#retry.maxRetries) {
        const asked = parseRetryAfter(res.header('retry-after'), Date.now());
        const wait = asked ?? backoffDelay(retry, this.#retry, this.#random);
        if (Date.now() - started + wait <= this.#retry.maxTotalMs) {
          await res.body.dump().catch(() => {});
          this.#opts.log?.(
            `retry ${retry + 1}/${this.#retry.maxRetries} of ${req.method} ${req.host} in ${wait} ms after ${res.status}${asked === undefined ? '' : ' (Retry-After)'}`,
          );
          await sleep(wait, req.signal);
          continue;
        }
      }
      if ((res.status >= 200 && res.status <= 299) || allowed) return res;
      if (req.followRedirects === false && res.status >= 300 && res.status <= 399) return res;
      throw await this.#statusError(req, res);
    }
  }

  async #authorized(req: TransportRequest, streamBody: boolean): Promise<AuthorizedResponse> {
    let scopes = req.scopes ?? [];
    let auth = await this.#auth.header(req.host, scopes, req.signal);
    let refreshed = false;
    for (;;) {
      let res = await this.#follow(req, auth);
      const sentAuth = auth !== undefined;
      if (sentAuth && (res.status === 403 || res.status === 400)) {
        // ECR answers an expired or invalid token with 403 (ECR Public: 400) DENIED and no
        // challenge, not 401. Refresh once on that answer, and only on it: a permission 403
        // ("not authorized to perform") is final.
        const denied = await tokenDenial(req, res);
        res = denied.res;
        if (denied.expired === 'no') return { ...res, sentAuth };
        // A bodiless answer (HEAD) may be an expired token or a permission: one refresh
        // tells, and a second refusal is reported as the plain 403 it probably is.
        if (denied.expired === 'maybe' && (streamBody || refreshed)) return { ...res, sentAuth };
        if (streamBody || refreshed) {
          // A streamed body cannot be sent again: forget the token so the next request
          // (the caller's retry) gets a fresh one.
          if (streamBody) this.#auth.invalidate(req.host, scopes);
          return { ...res, sentAuth, tokenRefused: refreshed ? 'refused-again' : 'mid-stream' };
        }
        refreshed = true;
        this.#auth.invalidate(req.host, scopes);
        this.#opts.log?.(`${req.host} says our token has expired or is invalid (${res.status}); refreshing it once`);
        let next: string | undefined;
        try {
          next = await this.#auth.header(req.host, scopes, req.signal);
        } catch (err) {
          await res.body.dump().catch(() => {});
          if (req.signal?.aborted) throw new InterruptedError();
          if (err instanceof InterruptedError || denied.expired === 'maybe') throw err;
          throw tokenRefusedError(req.host, `: ${(err as Error).message}`, err);
        }
        if (next === undefined) return { ...res, sentAuth, tokenRefused: 'refused-again' };
        await res.body.dump().catch(() => {});
        auth = next;
        continue;
      }
      if (res.status !== 401 || streamBody) return { ...res, sentAuth };
      const challenges = this.#challenges(res);
      let next: string | undefined;
      if (auth === undefined) {
        if (!this.#auth.challenge(req.host, challenges)) return { ...res, sentAuth: false };
        scopes = withChallengeScopes(scopes, challenges);
        next = await this.#auth.header(req.host, scopes, req.signal);
      } else {
        // A credential or token we sent was refused: refresh it once (ECR tokens expire).
        if (refreshed) return { ...res, sentAuth: true };
        refreshed = true;
        this.#auth.challenge(req.host, challenges);
        scopes = withChallengeScopes(scopes, challenges);
        this.#auth.invalidate(req.host, scopes);
        this.#opts.log?.(`${req.host} refused our credentials; refreshing them once`);
        next = await this.#auth.header(req.host, scopes, req.signal);
      }
      if (next === undefined) return { ...res, sentAuth: auth !== undefined };
      await res.body.dump().catch(() => {});
      auth = next;
    }
  }

  #challenges(res: TransportResponse): AuthChallenge[] {
    const raw = res.headers['www-authenticate'];
    const header = Array.isArray(raw) ? raw.join(', ') : raw;
    if (header === undefined) return [];
    try {
      return parseWwwAuthenticate(header);
    } catch (err) {
      this.#opts.log?.(`ignoring ${(err as Error).message}`);
      return [];
    }
  }

  async #follow(req: TransportRequest, auth: string | undefined): Promise<TransportResponse> {
    const registry = new URL(this.baseUrl(req.host));
    let url = /^https?:\/\//i.test(req.path) ? new URL(req.path) : new URL(req.path, registry);
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    const seen = new Set([url.href]);
    const start = url;
    let renewed = false;
    for (let hops = 0; ; hops++) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      // Credentials go to the registry itself only — same scheme, host and port — never to
      // a host it redirects to, nor over a redirect from https to http on the same host.
      if (auth !== undefined && url.origin === registry.origin) {
        refusePlainHttpCredentials(req.host, url);
        headers.authorization = auth;
      }
      const res = await this.#send(req, url, headers);
      if (res.status === 403 && hops > 0 && url.origin !== registry.origin && !renewed) {
        // A presigned URL the registry redirected to (ECR: S3) that has expired by the time
        // it is used: the registry hands out a fresh one, once.
        renewed = true;
        await res.body.dump().catch(() => {});
        this.#opts.log?.(`${describeUrl(url)} refused the redirect (403, expired?); asking ${req.host} again`);
        url = start;
        seen.clear();
        seen.add(url.href);
        hops = -1;
        continue;
      }
      if (!follow || !REDIRECTS.has(res.status)) return res;
      const location = res.header('location');
      if (location === undefined) return res;
      await res.body.dump().catch(() => {});
      const next = new URL(location, url);
      if (seen.has(next.href)) {
        throw new EcrctlError(`${req.host} redirected in a loop: ${describeUrl(next)} was visited before`, {
          value: describeUrl(next),
          fix: 'the registry or its storage is misconfigured; report it to its operator',
        });
      }
      if (hops + 1 > MAX_REDIRECTS) {
        throw new EcrctlError(`${req.host} redirected more than ${MAX_REDIRECTS} times (last: ${describeUrl(next)})`);
      }
      this.#opts.log?.(`${req.method} redirected to ${describeUrl(next)}`);
      seen.add(next.href);
      url = next;
    }
  }

  async #send(req: TransportRequest, url: URL, headers: Record<string, string>): Promise<TransportResponse> {
    const streamBody = req.body instanceof Readable;
    // A blob download is told by what was asked (`/v2/…/blobs/<digest>`), not by where it was
    // redirected: ECR's S3 URLs have no `/blobs/` in them, and a layer that takes longer than
    // the small-response deadline must not be cut off there.
    const asked = /^https?:\/\//i.test(req.path) ? new URL(req.path).pathname : (req.path.split('?')[0] ?? '');
    const deadline = req.deadline ?? (!streamBody && !(req.method === 'GET' && /\/blobs\/(?!uploads\/)/.test(asked)));
    const send = async (target: URL): Promise<TransportResponse> => {
      const res = await this.#dispatch(
        {
          origin: target.origin,
          path: `${target.pathname}${target.search}`,
          method: req.method,
          headers,
          body: req.body,
          signal: req.signal,
          headersTimeout: this.#headersTimeout,
          bodyTimeout: this.#bodyTimeout,
          // undici closes the connection after every HEAD unless told otherwise (in case a
          // server sends a body anyway). Registries answer HEAD properly, and a new connection
          // per HEAD cost a TCP (and, for ECR, a TLS) handshake per blob checked.
          ...(req.method === 'HEAD' ? { reset: false } : {}),
        },
        { host: req.host, what: req.what ?? `${req.method} ${target.pathname}`, deadline },
      );
      const resHeaders = res.headers as TransportResponse['headers'];
      return {
        status: res.statusCode,
        headers: resHeaders,
        body: res.body,
        url: target,
        header: (name) => firstHeader(resHeaders, name),
      };
    };
    try {
      return await send(url);
    } catch (err) {
      // --insecure: a registry that speaks plain HTTP fails the TLS handshake; remember
      // that and speak HTTP to it from now on (what Docker does for insecure registries).
      const code = errorCode(err) ?? '';
      const isTlsMismatch = code.startsWith('ERR_SSL_') || code === 'EPROTO' || code === 'ECONNRESET';
      // The same for a loopback host tried over HTTPS because a CA file is given.
      const loopbackGuess = isLoopbackHost(req.host) && !this.#opts.httpsLoopback && this.#caFile !== undefined;
      if (
        (this.#opts.insecure || loopbackGuess) &&
        url.protocol === 'https:' &&
        url.host === req.host &&
        !this.#schemes.has(req.host) &&
        isTlsMismatch &&
        !(req.body instanceof Readable)
      ) {
        this.#schemes.set(req.host, 'http');
        this.#opts.log?.(
          `${req.host} does not speak TLS; using plain HTTP (${this.#opts.insecure ? '--insecure' : 'a loopback address'})`,
        );
        const plain = new URL(url);
        plain.protocol = 'http:';
        if (headers.authorization !== undefined) refusePlainHttpCredentials(req.host, plain);
        return await send(plain);
      }
      throw err;
    }
  }

  /**
   * Sends one HTTP request with the two rules a trickling server cannot dodge: the deadline
   * for small responses (headers and body, ECRCTL_REQUEST_TIMEOUT) and the minimum
   * throughput of the body (ECRCTL_MIN_THROUGHPUT). Either destroys the body with an
   * EcrctlError that the reader gets.
   */
  async #dispatch(opts: Dispatcher.RequestOptions<null>, guard: Guard): Promise<Dispatcher.ResponseData<null>> {
    const trace = this.#trace;
    if (trace === undefined) return this.#dispatchGuarded(opts, guard);
    // --debug: every request on the wire, token requests and redirects included; the time
    // is to the response headers (a blob body streams on after).
    const started = performance.now();
    const entry = {
      via: 'registry',
      method: opts.method,
      url: `${String(opts.origin ?? '')}${opts.path}`,
      requestHeaders: (opts.headers ?? {}) as HttpTraceEntry['requestHeaders'],
    };
    try {
      const res = await this.#dispatchGuarded(opts, guard);
      trace(
        formatTrace({
          ...entry,
          status: res.statusCode,
          ms: performance.now() - started,
          responseHeaders: res.headers as HttpTraceEntry['responseHeaders'],
        }),
      );
      return res;
    } catch (err) {
      trace(formatTrace({ ...entry, ms: performance.now() - started, error: (err as Error).message }));
      throw err;
    }
  }

  async #dispatchGuarded(opts: Dispatcher.RequestOptions<null>, guard: Guard): Promise<Dispatcher.ResponseData<null>> {
    const ms = guard.deadline ? this.#requestTimeout : undefined;
    if (ms === undefined && this.#minThroughput === undefined) return this.#dispatcher.request(opts);
    const controller = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal as AbortSignal, controller.signal]) : controller.signal;
    let failure: EcrctlError | undefined;
    let body: Readable | undefined;
    const fail = (err: EcrctlError) => {
      failure ??= err;
      if (body === undefined) {
        controller.abort(failure);
        return;
      }
      // A body nobody reads yet must not turn the error into an uncaught one.
      if (body.listenerCount('error') === 0) body.once('error', () => {});
      body.destroy(failure);
    };
    let deadline: NodeJS.Timeout | undefined;
    if (ms !== undefined) {
      deadline = setTimeout(
        () =>
          fail(
            new EcrctlError(`${guard.host} did not finish answering ${guard.what} within ${formatMs(ms)}`, {
              rule: 'a small response (manifest, tag list, token) must arrive whole within ECRCTL_REQUEST_TIMEOUT (default 60s)',
              value: guard.host,
              fix: 'try again; on a slow link raise the deadline, e.g. ECRCTL_REQUEST_TIMEOUT=5m (0 turns it off)',
            }),
          ),
        ms,
      );
      deadline.unref();
    }
    let res: Dispatcher.ResponseData<null>;
    try {
      res = await this.#dispatcher.request({ ...opts, signal });
    } catch (err) {
      clearTimeout(deadline);
      if (failure) throw failure;
      throw err;
    }
    body = res.body;
    let monitor: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(deadline);
      clearInterval(monitor);
    };
    body.once('close', done);
    body.once('end', done);
    // Counted as undici hands the bytes over: once the last has come, neither rule applies
    // (a caller slow to read what has all arrived is no slow server); a full buffer means
    // our reader is the slow one, and that window does not count.
    let received = 0;
    let backpressure = false;
    const target = body;
    const push = target.push;
    target.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk === null) done();
      else if (chunk !== undefined) received += (chunk as Buffer).length;
      const more = push.call(target, chunk, encoding);
      if (!more) backpressure = true;
      return more;
    };
    const rule = this.#minThroughput;
    if (rule !== undefined) {
      let mark = 0;
      monitor = setInterval(() => {
        const got = received - mark;
        mark = received;
        const behind = backpressure || target.readableLength > 0;
        backpressure = false;
        if (behind) return;
        const rate = Math.floor((got * 1000) / rule.windowMs);
        if (rate >= rule.bytesPerSecond) return;
        fail(
          new EcrctlError(
            `${guard.host} sent ${guard.what} at ${rate} bytes/s over the last ${formatMs(rule.windowMs)}, below the minimum of ${rule.bytesPerSecond} bytes/s`,
            {
              rule: 'a response body must keep above ECRCTL_MIN_THROUGHPUT (default 1KiB/60s: 1 KiB/s over 60 s)',
              value: guard.host,
              fix: 'try again; on a slow link lower the minimum, e.g. ECRCTL_MIN_THROUGHPUT=256/120s (0 turns it off)',
            },
          ),
        );
      }, rule.windowMs);
      monitor.unref();
    }
    if (body.destroyed || body.readableEnded) done();
    return res;
  }

  #schemeFor(host: string): 'http' | 'https' {
    const known = this.#schemes.get(host);
    if (known) return known;
    // A loopback host speaks plain HTTP unless told otherwise, or unless a CA file is given:
    // then HTTPS is tried first (`ecrctl local serve --tls`), and a host that turns out to
    // speak plain HTTP is remembered as such (see #send).
    return isLoopbackHost(host) && !this.#opts.httpsLoopback && this.#caFile === undefined ? 'http' : 'https';
  }

  readonly #fetchToken: TokenFetch = async (req) => {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatch(
        {
          origin: req.url.origin,
          path: `${req.url.pathname}${req.url.search}`,
          method: req.method,
          headers: { 'user-agent': this.#userAgent, ...req.headers },
          body: req.body,
          signal: req.signal,
          headersTimeout: this.#headersTimeout,
          bodyTimeout: this.#bodyTimeout,
        },
        { host: req.url.host, what: `a token from ${req.url.origin}${req.url.pathname}`, deadline: true },
      );
    } catch (err) {
      if (req.signal?.aborted) throw new InterruptedError();
      if (isEcrctlError(err)) throw err;
      throw new EcrctlError(`cannot reach the token server ${req.url.origin}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const buf = await readLimited(res.body, 1024 * 1024);
    return { status: res.statusCode, text: buf === undefined ? '' : buf.toString('utf8') };
  };

  async #statusError(req: TransportRequest, res: AuthorizedResponse): Promise<Error> {
    let text = '';
    if (req.method !== 'HEAD') {
      try {
        const buf = await readLimited(res.body, ERROR_BODY_LIMIT);
        text = buf?.toString('utf8') ?? '';
      } catch {
        // The error body is only for the message; a broken one changes nothing.
      }
    } else await res.body.dump().catch(() => {});
    const errors = parseOciErrors(text);
    const detail =
      errors.length > 0
        ? ` (${errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ')})`
        : text.trim() !== '' && text.length < 300 && !text.includes('<')
          ? ` (${text.trim()})`
          : '';
    const what = req.what ?? `${req.method} ${describeUrl(res.url)}`;
    const codes = errors.map((e) => e.code).join(',') || undefined;
    if (res.tokenRefused === 'refused-again') {
      return tokenRefusedError(req.host, ` for ${what}${detail}`);
    }
    if (res.tokenRefused === 'mid-stream') {
      const err = new AuthError(
        `${req.host} refused ${what}: the registry token expired while it was being sent${detail}`,
        {
          value: req.host,
          fix: 'try again: a fresh token is fetched for the next request',
        },
      );
      expiredTokenErrors.add(err);
      return err;
    }
    switch (res.status) {
      case 401:
        return new AuthError(
          res.sentAuth
            ? `${req.host} refused the credentials for ${what}${detail}`
            : `${req.host} requires authentication for ${what}${detail}`,
          { value: req.host, fix: `run \`ecrctl login\` (or \`docker login ${req.host}\`), then try again` },
        );
      case 403:
        return new AuthError(`${req.host} denied access to ${what}${detail}`, {
          value: req.host,
          fix: 'check that these credentials may do this on the repository (IAM policy, repository policy), or log in as someone who may',
        });
      case 404: {
        // ECR answers 404 for an archived image: say how to get it back.
        const archived = errors.some((e) => /archived/i.test(e.message ?? ''))
          ? /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(res.url.pathname)
          : null;
        return new NotFoundError(`${what}: not found on ${req.host}${detail}`, {
          value: codes,
          ...(archived
            ? {
                fix: `restore it with \`ecrctl restore ${req.host}/${archived[1]}${archived[2]?.includes(':') ? '@' : ':'}${archived[2]}\`, then pull again`,
              }
            : {}),
        });
      }
      case 429:
        return new RateLimitedError(`${req.host} kept answering 429 Too Many Requests for ${what}${detail}`, {
          value: req.host,
          fix: 'wait a while and try again; authenticated requests usually get higher limits',
        });
      default:
        return new HttpStatusError(`${what}: ${req.host} answered ${res.status}${detail}`, res.status, {
          value: codes,
        });
    }
  }

  #networkError(req: TransportRequest, err: unknown): EcrctlError {
    const code = errorCode(err) ?? '';
    const message = err instanceof Error ? err.message : String(err);
    if (TLS_VERIFY_CODES.has(code)) {
      return new EcrctlError(`cannot verify the TLS certificate of ${req.host}: ${message}`, {
        value: req.host,
        fix: 'trust its CA with --ca-file /path/to/ca.pem (or AWS_CA_BUNDLE=/path/to/ca.pem), or use --insecure for a registry you trust',
        cause: err,
      });
    }
    if (code === 'ECONNREFUSED') {
      return new EcrctlError(`cannot connect to ${req.host}: connection refused`, {
        value: req.host,
        fix: 'check the host and port, and that the registry is running',
        cause: err,
      });
    }
    if (code === 'ENOTFOUND') {
      return new EcrctlError(`cannot resolve ${req.host}`, { value: req.host, fix: 'check the host name', cause: err });
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new EcrctlError(`${req.host} stopped answering ${req.what ?? req.method} (timed out)`, {
        value: req.host,
        fix: 'try again; on a slow link raise the timeout',
        cause: err,
      });
    }
    return new EcrctlError(
      `${req.method} ${req.what ?? req.path} on ${req.host} failed: ${message}${code ? ` (${code})` : ''}`,
      {
        value: req.host,
        cause: err,
      },
    );
  }
}

let wasmFlagsSet = false;

/**
 * Tells V8 to keep WebAssembly in its baseline compiler. undici parses HTTP with llhttp
 * compiled to wasm, and V8's optimising tier-up of that one module briefly takes ~35 MB,
 * a third of ecrctl's peak memory; the baseline code parses headers just as well for us
 * (bodies are counted, not scanned). Only when the binary asked for tuning (tuneProcess).
 */
function keepWasmCompilerSmall(): void {
  if (wasmFlagsSet || !processTuned()) return;
  wasmFlagsSet = true;
  setFlagsFromString('--liftoff-only');
}

/**
 * Returns one TLS context trusting Node's default roots plus the given PEM bundles, shared by
 * every connection. Passing `ca: [...rootCertificates, extra]` instead makes Node parse all
 * ~140 root certificates again (measured 40–45 ms CPU per context, one per connection); adding
 * the extra certificates to a context built on the default store costs ~3 ms.
 */
function withExtraCas(pems: readonly string[]): SecureContext {
  const ctx = createSecureContext();
  // The native handle's addCACert is what the `ca` option calls for each entry; it copies the
  // shared root store first, so the defaults stay untouched for other contexts.
  const native = (ctx as SecureContext & { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert !== 'function') return createSecureContext({ ca: [...rootCertificates, ...pems] });
  for (const pem of pems) native.addCACert(pem);
  return ctx;
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new EcrctlError(`cannot read the CA file ${file}`, { value: file, cause });
  }
}

function withChallengeScopes(scopes: readonly string[], challenges: readonly AuthChallenge[]): readonly string[] {
  const asked = challenges.find((c) => c.scheme === 'bearer')?.params.scope;
  if (!asked) return scopes;
  // Add only what our scopes do not cover already (`pull,push` covers `pull`), so that
  // one token serves the request and the cache keys stay few.
  const split = (s: string) => {
    const colon = s.lastIndexOf(':');
    return { resource: s.slice(0, colon), actions: s.slice(colon + 1).split(',') };
  };
  const ours = scopes.map(split);
  const missing = asked
    .split(' ')
    .filter((s) => s !== '')
    .filter((s) => {
      const a = split(s);
      return !ours.some((o) => o.resource === a.resource && a.actions.every((x) => o.actions.includes(x)));
    });
  return missing.length === 0 ? scopes : [...scopes, ...missing];
}

/** A response with what #authorized learnt about it. */
type AuthorizedResponse = TransportResponse & {
  sentAuth: boolean;
  /**
   * Set when the registry said our token expired or is invalid (ECR's 403/400 DENIED):
   * `refused-again` after a refresh, `mid-stream` when the body could not be sent again.
   */
  tokenRefused?: 'refused-again' | 'mid-stream';
};

const expiredTokenErrors = new WeakSet<Error>();

/**
 * Returns true when err is the transport's answer to a registry that refused a token as
 * expired while a streamed body was being sent: the request may be started over (with a new
 * body), and the next attempt gets a fresh token.
 */
export function isExpiredTokenError(err: unknown): boolean {
  return err instanceof Error && expiredTokenErrors.has(err);
}

// ECR: "Your authorization token has expired. Reauthenticate and try again."
// ECR Public: "Your Authorization Token is invalid."
const TOKEN_DENIED = /\btoken\b[^.]*\b(expired|invalid)\b|\b(expired|invalid)\b[^.]*\btoken\b/i;

/**
 * Reads a 400/403 answer to a request that carried credentials and tells whether it says
 * the token expired or is invalid (DENIED with such a message), or, for HEAD, which has no
 * body, that it may have. Returns the response with its body still readable.
 */
async function tokenDenial(
  req: TransportRequest,
  res: TransportResponse,
): Promise<{ res: TransportResponse; expired: 'yes' | 'maybe' | 'no' }> {
  if (req.method === 'HEAD') {
    await res.body.dump().catch(() => {});
    return { res: { ...res, body: bufferedBody(Buffer.alloc(0)) }, expired: 'maybe' };
  }
  let buf: Buffer;
  try {
    buf = (await readLimited(res.body, ERROR_BODY_LIMIT)) ?? Buffer.alloc(0);
  } catch {
    buf = Buffer.alloc(0);
  }
  const expired = parseOciErrors(buf.toString('utf8')).some((e) => e.code === 'DENIED' && TOKEN_DENIED.test(e.message));
  return { res: { ...res, body: bufferedBody(buf) }, expired: expired ? 'yes' : 'no' };
}

/** Returns a body that gives buf back through the methods callers use on undici's bodies. */
function bufferedBody(buf: Buffer): TransportResponse['body'] {
  const stream = Readable.from(buf.length === 0 ? [] : [buf]);
  const text = async () => {
    stream.destroy();
    return buf.toString('utf8');
  };
  return Object.assign(stream, {
    text,
    json: async () => JSON.parse(await text()) as unknown,
    arrayBuffer: async () => {
      stream.destroy();
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    },
    bytes: async () => {
      stream.destroy();
      return new Uint8Array(buf);
    },
    dump: async () => {
      stream.destroy();
    },
  }) as unknown as TransportResponse['body'];
}

/** The error for a registry that refused our token as expired even after a refresh. */
function tokenRefusedError(host: string, detail: string, cause?: unknown): AuthError {
  return new AuthError(`${host}: the registry token has expired (or is invalid) and a fresh one was refused${detail}`, {
    value: host,
    fix: `run \`ecrctl login\` (or \`docker login ${host}\`) to get a new token, then try again; for ECR, check that the AWS credentials are valid (\`aws sts get-caller-identity\`)`,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Throws AuthError when credentials would go over plain HTTP to a host that is not loopback
 * (a registry reached with --insecure that speaks only HTTP): anyone on the path could read
 * them. Loopback (a local registry, an SSH tunnel) is fine.
 */
export function refusePlainHttpCredentials(host: string, url: URL): void {
  if (url.protocol !== 'http:' || isLoopbackHost(url.host)) return;
  throw new AuthError(`ecrctl does not send credentials over plain HTTP to ${url.host} (registry ${host})`, {
    rule: 'credentials travel over HTTPS, or over plain HTTP to a loopback address only',
    value: url.host,
    fix: 'give the registry TLS (a self-signed certificate works with --ca-file, or --insecure to skip verification), or reach it through a tunnel on localhost (ssh -L 5000:registry:5000 …)',
  });
}

// `ecrctl local`: an ECR-compatible endpoint on loopback. One listener answers the ECR and
// ECR Public APIs; each registry's OCI data plane (a private (account, region) pair, or an
// account's public registry) gets its own listener, started on first use, whose URL is the
// proxyEndpoint GetAuthorizationToken returns — so clients find the data plane the way they
// do on AWS. State lives in the data directory and survives restarts.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handleApiRequest } from './api.js';
import type { LocalContext, LocalFault, LocalRequestRecord, UploadSession } from './context.js';
import { type AppliedLifecycle, applyLifecyclePolicies } from './ecr-api/lifecycle.js';
import { defaultAfterPushHooks } from './push-hooks.js';
import { blobHostHandler, DEFAULT_BLOB_URL_TTL_SECONDS } from './registry/blob-host.js';
import { dataPlaneHandler } from './registry/dataplane.js';
import { REGISTRY_ID } from './rules.js';
import { loadSigner } from './signer.js';
import { type RegistryRecord, registryKey, Store } from './store.js';
import { type LocalTls, loadLocalTls } from './tls.js';

/** An HTTP or HTTPS listener (both have what is used here). */
type Server = ReturnType<typeof createHttpServer> | ReturnType<typeof createHttpsServer>;

export interface LocalServerOptions {
  /** Control-plane port; 0 = a free port; absent = the port of the last run when free. */
  port?: number;
  /**
   * The loopback address every listener binds to and the URLs name (default 127.0.0.1):
   * an address in 127.0.0.0/8, `::1` or `localhost`. The endpoint checks no real
   * credentials, so it is never served beyond this machine.
   */
  host?: string;
  dataDir: string;
  /** The account id of the default registry (default 123456789012). */
  account?: string;
  /** Lifetime of GetAuthorizationToken passwords (default 12 hours). */
  tokenTtlSeconds?: number;
  /** Receives one line per request and error. */
  log?: (line: string) => void;
  /** The scanner's advisory file (JSON list; see notes/scan.md). Absent = no findings. */
  advisoriesFile?: string;
  /**
   * Test-only: throttle or delay operations, e.g. `[{ operation: 'ecr:PutImage', kind:
   * 'throttle', times: 2 }]` or `{ operation: 'registry:PUT manifests', … }` (a 429 with
   * `toomanyrequests: Rate exceeded`). The array stays live: tests may push to it later.
   */
  faults?: LocalFault[];
  /**
   * The most registries (private account/region pairs plus public registries) the endpoint
   * creates, each with its own listener (default 16). A request that would create one more
   * gets LimitExceededException. Reads create nothing; writes and GetAuthorizationToken do.
   */
  maxRegistries?: number;
  /** Test-only images-per-repository quota: pushes of a new image beyond it are refused as ECR does. */
  imagesPerRepositoryLimit?: number;
  /**
   * Serve HTTPS on every listener, as ECR does, with a CA and server certificate kept in
   * <data>/tls/ (made on first use; see tls.ts). Clients trust `LocalServer.tls.caFile`.
   */
  tls?: boolean;
  /**
   * Answer blob GETs with 307 to a presigned URL on a separate blob host, as ECR redirects
   * to S3 (default true). false serves blob bytes from the registry itself.
   */
  redirectBlobs?: boolean;
  /** Lifetime of blob redirect and GetDownloadUrlForLayer URLs in seconds (default 600). */
  blobUrlTtlSeconds?: number;
  /**
   * ECR's request rates, on the API and the data plane alike (token buckets,
   * src/local/throttle.ts): 1 (default) as ECR, a factor to scale every rate, or 'off' (a
   * leniency: no throttling but injected faults).
   */
  throttleScale?: number | 'off';
  /**
   * Multiplies how long ECR's asynchronous states last before their outcome shows, on the
   * endpoint's clock (src/local/state-delays.ts): scans (5 s at 1), lifecycle previews (5 s),
   * replication (10 s), backfills (30 s), restores from ARCHIVE (ACTIVATING, 20 minutes).
   * Default 1 (as slow as ECR can be); 0 = every outcome on the first read (a leniency for
   * tests); 0.01 = a hundred times faster.
   */
  stateDelayScale?: number;
}

export interface LocalServer {
  /** http://127.0.0.1:PORT (the host option's address), the ECR and ECR Public API endpoint. */
  readonly url: string;
  readonly account: string;
  /** The data-plane endpoint (http://127.0.0.1:PORT) of one private registry, started on demand. */
  registryEndpoint(region: string, account?: string): Promise<string>;
  /** The data-plane endpoint of an account's ECR Public registry (repositories under /v2/<alias>/). */
  publicRegistryEndpoint(account?: string): Promise<string>;
  /**
   * Operations called, in order: API calls as IAM names them (`ecr:PutImage`,
   * `ecr-public:CreateRepository`), data-plane requests as `registry:<METHOD> <kind>`
   * (`registry:PUT manifests`, `registry:GET blobs`, …).
   */
  readonly calls: string[];
  /** Every call with its arrival time, caller's access key id (API) or repository (data plane). */
  readonly requests: LocalRequestRecord[];
  /** The live fault list (see LocalServerOptions.faults). */
  readonly faults: LocalFault[];
  /**
   * Runs every repository's lifecycle policy now (or at `now`): deletes the images it expires,
   * exactly those GetLifecyclePolicyPreview lists, and sets lastEvaluatedAt. ECR runs policies
   * on its own schedule; here they run only when asked, so tests decide when.
   */
  applyLifecyclePolicies(now?: Date): Promise<AppliedLifecycle[]>;
  /**
   * Moves the endpoint's clock forward (tests): scans, previews, replication, backfills and
   * restores reach their outcome without waiting (see stateDelayScale), tokens and URLs age.
   */
  advanceClock(ms: number): void;
  /** The public key (SPKI PEM) that verifies the signatures managed signing attaches (see signer.ts). */
  readonly signingPublicKeyPem: string;
  /** With the tls option: the CA file clients trust and the directory (a skopeo --cert-dir). */
  readonly tls: { caFile: string; dir: string } | undefined;
  close(): Promise<void>;
}

const DEFAULT_ACCOUNT = '123456789012';
const DEFAULT_MAX_REGISTRIES = 16;

/** Starts the endpoint and resolves once it listens. */
export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const account = opts.account ?? DEFAULT_ACCOUNT;
  if (!REGISTRY_ID.test(account)) throw new Error(`account must be 12 digits, got '${account}'`);
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new Error(`host must be a loopback address (127.0.0.0/8, ::1 or localhost), got '${host}'`);
  }
  const scheme = opts.tls ? 'https' : 'http';
  const urlOf = (port: number) => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (opts.advisoriesFile !== undefined) {
    // Refuse a broken advisory file at start rather than failing every scan later.
    const { loadAdvisories } = await import('./scanner.js');
    await loadAdvisories(opts.advisoriesFile);
  }
  const maxRegistries = opts.maxRegistries ?? DEFAULT_MAX_REGISTRIES;
  if (!Number.isInteger(maxRegistries) || maxRegistries < 1) {
    throw new Error(`maxRegistries must be a whole number of at least 1, got ${String(opts.maxRegistries)}`);
  }
  const stateDelayScale = opts.stateDelayScale ?? 1;
  if (typeof stateDelayScale !== 'number' || !Number.isFinite(stateDelayScale) || stateDelayScale < 0) {
    throw new Error(`stateDelayScale must be a number of at least 0, got ${String(opts.stateDelayScale)}`);
  }
  const store = await Store.open(opts.dataDir);
  store.maxRegistries = maxRegistries;
  let signingPublicKeyPem: string;
  try {
    signingPublicKeyPem = (await loadSigner(store.dataDir)).publicKeyPem;
  } catch (err) {
    await store.close();
    throw err;
  }
  let tls: LocalTls | undefined;
  if (opts.tls) {
    try {
      tls = await loadLocalTls(store.dataDir, host);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  const createServer = (handler: (req: IncomingMessage, res: ServerResponse) => void): Server =>
    tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  const log = opts.log ?? (() => {});
  const listeners = new Map<string, Promise<{ server: Server; url: string }>>();
  const calls: string[] = [];
  const requests: LocalRequestRecord[] = [];
  const faults = opts.faults ?? [];
  let clockOffsetMs = 0;

  const ctx: LocalContext = {
    store,
    account,
    tokenTtlMs: (opts.tokenTtlSeconds ?? 12 * 3600) * 1000,
    throttleScale: opts.throttleScale ?? 1,
    stateDelayScale,
    blobUrlTtlMs: (opts.blobUrlTtlSeconds ?? DEFAULT_BLOB_URL_TTL_SECONDS) * 1000,
    ...(opts.redirectBlobs === false ? {} : { blobHostEndpoint: () => startBlobHost() }),
    ...(opts.advisoriesFile !== undefined ? { advisoriesFile: opts.advisoriesFile } : {}),
    uploads: new Map<string, UploadSession>(),
    calls,
    requests,
    faults,
    ...(opts.imagesPerRepositoryLimit !== undefined ? { imagesPerRepositoryLimit: opts.imagesPerRepositoryLimit } : {}),
    now: () => Date.now() + clockOffsetMs,
    advanceClock: (ms) => {
      clockOffsetMs += ms;
    },
    log,
    registryEndpoint: async (registry) => (await startRegistry(registry)).url,
    afterPush: defaultAfterPushHooks(),
  };

  // The blob host (ECR's S3): one listener for every registry, named differently from the
  // registries (localhost for 127.0.0.1) so that clients treat it as another host.
  let blobHost: Promise<{ server: Server; url: string }> | undefined;
  function startBlobHost(): Promise<string> {
    blobHost ??= (async () => {
      const server = createServer(wrap(blobHostHandler(ctx), log, 'registry'));
      const bind = host === 'localhost' ? '127.0.0.1' : host;
      const port = await listen(server, bind, 0);
      const name = host === 'localhost' ? '127.0.0.1' : 'localhost';
      const blobUrl = `${scheme}://${name}:${port}`;
      log(`blob host listening on ${blobUrl}`);
      return { server, url: blobUrl };
    })();
    return blobHost.then((b) => b.url);
  }

  function startRegistry(registry: RegistryRecord): Promise<{ server: Server; url: string }> {
    const key = registryKey(registry.kind, registry.account, registry.region);
    let started = listeners.get(key);
    if (!started) {
      started = (async () => {
        let url = '';
        const server = createServer(
          wrap(
            dataPlaneHandler(ctx, registry, () => url),
            log,
            'registry',
          ),
        );
        const port = await listen(server, host, registry.port);
        url = urlOf(port);
        if (registry.port !== port) {
          await store.mutate(() => {
            registry.port = port;
          });
        }
        log(`registry ${key} listening on ${url}`);
        return { server, url };
      })();
      listeners.set(key, started);
    }
    return started;
  }

  const api = createServer(wrap((req, res) => handleApiRequest(ctx, req, res), log, 'api'));
  let apiPort: number;
  try {
    apiPort = await listen(api, host, opts.port ?? store.state.apiPort, opts.port !== undefined && opts.port !== 0);
  } catch (err) {
    await store.close();
    throw err;
  }
  if (store.state.apiPort !== apiPort) {
    await store.mutate((s) => {
      s.apiPort = apiPort;
    });
  }
  const url = urlOf(apiPort);
  log(`API listening on ${url}`);
  let closed = false;

  return {
    url,
    account,
    calls,
    requests,
    faults,
    registryEndpoint: async (region, acct) =>
      (await startRegistry(store.registry('private', acct ?? account, region))).url,
    publicRegistryEndpoint: async (acct) =>
      (await startRegistry(store.registry('public', acct ?? account, 'us-east-1'))).url,
    applyLifecyclePolicies: (now) => applyLifecyclePolicies(ctx, now),
    advanceClock: (ms) => ctx.advanceClock(ms),
    signingPublicKeyPem,
    tls: tls ? { caFile: tls.caFile, dir: tls.dir } : undefined,
    async close() {
      if (closed) return;
      closed = true;
      const blob = blobHost ? await blobHost.catch(() => undefined) : undefined;
      const servers = [
        api,
        ...(blob ? [blob.server] : []),
        ...(await Promise.all([...listeners.values()].map((p) => p.catch(() => undefined))))
          .filter((x): x is { server: Server; url: string } => x !== undefined)
          .map((x) => x.server),
      ];
      await Promise.all(servers.map((s) => closeServer(s)));
      await store.close();
    },
  };
}

function wrap(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  log: (line: string) => void,
  plane: 'api' | 'registry',
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    // DNS rebinding: a web page whose name resolves to 127.0.0.1 would reach us with its own
    // name in Host. Only loopback names are served (the ones this server prints are loopback).
    const host = req.headers.host;
    if (host !== undefined && !isLoopbackHost(hostnameOf(host))) {
      refuseHost(req, res, host, plane);
      log(`refused a request with Host '${host}' (not a loopback name)`);
      return;
    }
    handler(req, res).catch((err: unknown) => {
      log(`unhandled: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Length': 0 });
        res.end();
      } else {
        res.destroy();
      }
    });
  };
}

/** Returns the host name of a Host header value (`name:port`, `[v6]:port`), lowercased. */
function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? h.length : h.indexOf(']'));
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

/** Answers 403 to a request whose Host is not a loopback name, in the plane's error shape. */
function refuseHost(req: IncomingMessage, res: ServerResponse, host: string, plane: 'api' | 'registry'): void {
  const message =
    `ecrctl local serves loopback names only: the Host header '${host}' is not 127.0.0.0/8, ::1 or localhost ` +
    '(a web page may be trying to reach this endpoint through DNS rebinding); use the URL the server printed';
  const body =
    plane === 'api'
      ? JSON.stringify({ __type: 'AccessDeniedException', message })
      : JSON.stringify({ errors: [{ code: 'DENIED', message }] });
  const contentType = plane === 'api' ? 'application/x-amz-json-1.1' : 'application/json';
  req.resume();
  res.writeHead(403, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/** Returns true for the names of this machine's loopback interface: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m?.slice(1).every((n) => Number(n) <= 255) ?? false;
}

/** Listens on host:port; when that port is taken (and not demanded), on a free one. */
async function listen(server: Server, host: string, port: number | undefined, demanded = false): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (err: Error) => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve((server.address() as AddressInfo).port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(p, host);
    });
  if (port === undefined || port === 0) return attempt(0);
  try {
    return await attempt(port);
  } catch (err) {
    if (demanded || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return attempt(0);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

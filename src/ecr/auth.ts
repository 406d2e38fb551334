// Registry credentials from GetAuthorizationToken (ECR and ECR Public), through the token
// cache. The registry client asks an EcrCredentialProvider for a host and gets Basic
// credentials for any ECR host without a prior `ecrctl login`; short references resolve to
// the caller's own registry, taken from the token's proxyEndpoint (no STS call).
import { EcrctlError } from '../errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import {
  type AwsSettings,
  checkProfileExists,
  credentialFingerprint,
  loadSharedProfiles,
  requireRegion,
  resolveEndpoint,
  type SharedProfiles,
} from './aws-config.js';
import { mapAwsError } from './errors.js';
import { parseEcrHost, PUBLIC_ECR_HOST, PUBLIC_ECR_REGION, registryHostOf } from './hosts.js';
import { type CachedToken, isFresh, TokenCache, type TokenKey } from './token-cache.js';

// clients.ts pulls in node:https and node:tls (~30 ms of start-up): a credential-helper `get`
// answered from the token cache never needs them.
const loadClients = () => import('./clients.js');

/** A registry login: where the registry is reached and the Basic credentials for it. */
export interface RegistryToken {
  kind: 'private' | 'public';
  /** The account id, when known (always for real ECR hosts). */
  registryId?: string;
  region: string;
  /** `host[:port]` of the registry's data plane (the proxyEndpoint without its scheme). */
  host: string;
  /** The registry URL as ECR gives it: `https://<host>` (`http://127.0.0.1:PORT` for ecrctl local). */
  proxyEndpoint: string;
  username: string;
  password: string;
  expiresAt: Date;
  /** True when the token came from the on-disk cache rather than a new call. */
  fromCache: boolean;
}

/** Registry credentials as the registry transport takes them (structurally its RegistryCredential). */
export type BasicCredential = { username: string; password: string };

/** What the registry transport asks for credentials (structurally its RegistryCredentialProvider). */
export interface EcrCredentialProvider {
  /** Returns Basic credentials for an ECR host (or a known ecrctl-local host), else undefined. */
  get(host: string): Promise<BasicCredential | undefined>;
  /** Forgets the token of host (the registry refused it), so the next get fetches a new one. */
  invalidate(host: string): void;
}

const DEFAULT_TTL_MS = 12 * 60 * 60 * 1000;

/** Everything one process shares about tokens: the cache and the calls in flight. */
export class TokenSource {
  readonly settings: AwsSettings;
  readonly cache: TokenCache;
  readonly #identity: string;
  readonly #shared: SharedProfiles;
  readonly #inFlight = new Map<string, Promise<RegistryToken>>();
  readonly #byHost = new Map<string, { token: RegistryToken; key: TokenKey }>();
  readonly #now: () => number;

  constructor(settings: AwsSettings, opts: { cache?: TokenCache; now?: () => number } = {}) {
    this.settings = settings;
    this.cache = opts.cache ?? new TokenCache(settings.env, undefined, settings.log ? { log: settings.log } : {});
    this.#now = opts.now ?? Date.now;
    this.#shared = loadSharedProfiles(settings.env);
    this.#identity = credentialFingerprint(settings, this.#shared);
  }

  /** Returns the token of one private registry (the caller's own when registryId is undefined). */
  async privateToken(opts: { registryId?: string; region?: string } = {}): Promise<RegistryToken> {
    // An unknown profile is the real cause of a missing region too: name it first.
    checkProfileExists(this.settings, this.#shared);
    const region = opts.region ?? requireRegion(this.settings, this.#shared);
    const key = this.#key('private', region, opts.registryId ?? 'default', 'ecr');
    return this.#once(key, async () => {
      const [token] = await this.#fetchPrivate(region, opts.registryId === undefined ? [] : [opts.registryId]);
      if (!token) throw noData('GetAuthorizationToken', 'does not contain any authorization data');
      return token;
    });
  }

  /** Returns tokens for several registries of one region, fetching only those not cached. */
  async privateTokens(registryIds: readonly string[], regionGiven?: string): Promise<RegistryToken[]> {
    checkProfileExists(this.settings, this.#shared);
    const region = regionGiven ?? requireRegion(this.settings, this.#shared);
    if (registryIds.length <= 1) return [await this.privateToken({ registryId: registryIds[0], region })];
    const cached = registryIds.map((id) => this.#fromCache(this.#key('private', region, id, 'ecr')));
    const missing = registryIds.filter((_, i) => cached[i] === undefined);
    const fetched = missing.length > 0 ? await this.#fetchPrivate(region, missing) : [];
    return registryIds.map((id, i) => {
      const got = cached[i] ?? fetched[missing.indexOf(id)];
      if (!got) throw noData('GetAuthorizationToken', `returned no authorization data for registry ${id}`);
      return got;
    });
  }

  /** Returns the ECR Public token (us-east-1, the only region that issues them). */
  async publicToken(): Promise<RegistryToken> {
    checkProfileExists(this.settings, this.#shared);
    const key = this.#key('public', PUBLIC_ECR_REGION, 'public', 'ecr-public');
    return this.#once(key, async () => {
      const { ecrPublicClient, ecrPublicCommands } = await loadClients();
      const client = await ecrPublicClient(this.settings);
      const { GetAuthorizationTokenCommand } = await ecrPublicCommands();
      let data: { authorizationToken?: string; expiresAt?: Date } | undefined;
      try {
        data = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData;
      } catch (err) {
        throw mapAwsError(err, {
          operation: 'GetAuthorizationToken',
          permission: 'ecr-public:GetAuthorizationToken (and sts:GetServiceBearerToken)',
          region: PUBLIC_ECR_REGION,
          ...(key.endpoint ? { endpoint: key.endpoint } : {}),
        });
      } finally {
        client.destroy();
      }
      if (!data) throw noData('ECR Public GetAuthorizationToken', 'returned no data');
      // ECR Public answers without a proxyEndpoint: reshape it like the private answer.
      const token = this.#token(
        'public',
        PUBLIC_ECR_REGION,
        data.authorizationToken,
        `https://${PUBLIC_ECR_HOST}`,
        data.expiresAt,
      );
      this.cache.put(toEntry(token, key, this.#now()));
      this.settings.log?.(`token for ${token.host}: new, expires ${token.expiresAt.toISOString()}`);
      this.#remember(token, key);
      return token;
    });
  }

  /**
   * Returns the token for a registry host: private and public ECR hosts by their name, and
   * hosts that an earlier token named as its proxyEndpoint (ecrctl local's 127.0.0.1:PORT).
   * Returns undefined for any other host.
   */
  async tokenForHost(address: string): Promise<RegistryToken | undefined> {
    const host = registryHostOf(address);
    const ecr = parseEcrHost(host);
    if (ecr?.kind === 'public') return this.publicToken();
    if (ecr?.kind === 'private') return this.privateToken({ registryId: ecr.registryId, region: ecr.region });
    const known = this.#byHost.get(host);
    if (known && this.#now() < known.token.expiresAt.getTime()) return known.token;
    const endpoint = resolveEndpoint(this.settings, 'ecr');
    // A host earlier tokens named as their proxyEndpoint (ecrctl local's 127.0.0.1:PORT).
    // The host:port is unique to the endpoint that issued it, so an entry is used even when
    // no endpoint is configured now (Docker runs the helper without ecrctl's flags).
    const mine = this.cache
      .entries(this.#now(), { includeStale: true })
      .filter(
        (e) => e.host === host && e.identity === this.#identity && (endpoint === undefined || e.endpoint === endpoint),
      )
      .sort((a, b) => b.issuedAt - a.issuedAt);
    const fresh = mine.find((e) => isFresh(e, this.#now()));
    if (fresh) {
      const token = fromEntry(fresh);
      this.settings.onSecret?.(token.password);
      this.#remember(token, keyOf(fresh));
      return token;
    }
    const stale = mine[0];
    if (stale && stale.kind === 'private') {
      // Past half-life: ask the endpoint that issued it for a new token of the same registry.
      const source =
        stale.endpoint === undefined || stale.endpoint === endpoint
          ? this
          : new TokenSource({ ...this.settings, endpointUrl: stale.endpoint }, { cache: this.cache, now: this.#now });
      const renewed = await source.privateToken({
        ...(stale.registryKey === 'default' ? {} : { registryId: stale.registryKey }),
        region: stale.region,
      });
      if (renewed.host === host) return renewed;
    }
    // With an endpoint override (ecrctl local), the caller's own registry may live at this
    // loopback host; ECR itself never hands out loopback proxy endpoints.
    // A failure here (access denied, no credentials) is thrown, not swallowed: it is the real
    // reason the registry would answer 401, and the caller decides whether to report it.
    if (endpoint !== undefined && isLoopbackHost(host)) {
      const own = await this.privateToken();
      if (own.host === host) return own;
    }
    return undefined;
  }

  /** Forgets every token for host, in memory and on disk. */
  invalidate(address: string): void {
    const host = registryHostOf(address);
    const known = this.#byHost.get(host);
    if (known) {
      this.cache.delete(known.key);
      this.#inFlight.delete(cacheId(known.key));
      this.#byHost.delete(host);
    }
    for (const entry of this.cache.entries(this.#now())) {
      if (entry.host === host && entry.identity === this.#identity) this.cache.delete(keyOf(entry));
    }
  }

  #key(kind: 'private' | 'public', region: string, registryKey: string, service: 'ecr' | 'ecr-public'): TokenKey {
    const endpoint = resolveEndpoint(this.settings, service);
    return { kind, region, registryKey, identity: this.#identity, ...(endpoint ? { endpoint } : {}) };
  }

  #fromCache(key: TokenKey): RegistryToken | undefined {
    const entry = this.cache.get(key, this.#now());
    if (!entry) return undefined;
    const token = fromEntry(entry);
    this.settings.onSecret?.(token.password);
    this.#remember(token, key);
    this.settings.log?.(`token for ${token.host}: from the cache (expires ${token.expiresAt.toISOString()})`);
    return token;
  }

  #once(key: TokenKey, fetch: () => Promise<RegistryToken>): Promise<RegistryToken> {
    const cached = this.#fromCache(key);
    if (cached) return Promise.resolve(cached);
    const id = cacheId(key);
    let pending = this.#inFlight.get(id);
    if (!pending) {
      // Across processes (parallel credential-helper runs): one refreshes under the cache's
      // lock, and the others find its token in the cache once they get the lock.
      pending = this.cache.withLock(key, async () => this.#fromCache(key) ?? fetch());
      this.#inFlight.set(id, pending);
      pending.catch(() => this.#inFlight.delete(id));
    }
    return pending;
  }

  async #fetchPrivate(region: string, registryIds: readonly string[]): Promise<RegistryToken[]> {
    const { ecrClient, ecrCommands } = await loadClients();
    const client = await ecrClient(this.settings, region);
    const { GetAuthorizationTokenCommand } = await ecrCommands();
    const endpoint = resolveEndpoint(this.settings, 'ecr');
    let data: { authorizationToken?: string; proxyEndpoint?: string; expiresAt?: Date }[] | undefined;
    try {
      const out = await client.send(
        new GetAuthorizationTokenCommand(registryIds.length > 0 ? { registryIds: [...registryIds] } : {}),
      );
      data = out.authorizationData;
    } catch (err) {
      throw mapAwsError(err, {
        operation: 'GetAuthorizationToken',
        permission: 'ecr:GetAuthorizationToken',
        region,
        ...(endpoint ? { endpoint } : {}),
      });
    } finally {
      client.destroy();
    }
    if (!data) throw noData('GetAuthorizationToken', 'returned no data');
    if (data.length === 0) throw noData('GetAuthorizationToken', 'does not contain any authorization data');
    return data.map((d, i) => {
      if (!d.proxyEndpoint)
        throw noData('GetAuthorizationToken', 'returned authorization data without a proxyEndpoint');
      const token = this.#token('private', region, d.authorizationToken, d.proxyEndpoint, d.expiresAt);
      // Real ECR hosts name their account; ecrctl local's 127.0.0.1:PORT does not, so the
      // answer's order (the order asked for) tells which registry it is.
      const registryId = token.registryId ?? registryIds[i];
      if (registryId !== undefined) token.registryId = registryId;
      const key: TokenKey = {
        kind: 'private',
        region,
        registryKey: registryIds[i] ?? 'default',
        identity: this.#identity,
        ...(endpoint ? { endpoint } : {}),
      };
      this.#remember(token, key);
      this.cache.put(toEntry(token, key, this.#now()));
      this.settings.log?.(`token for ${token.host}: new, expires ${token.expiresAt.toISOString()}`);
      return token;
    });
  }

  #token(
    kind: 'private' | 'public',
    region: string,
    authorizationToken: string | undefined,
    proxyEndpoint: string,
    expiresAt: Date | undefined,
  ): RegistryToken {
    if (!authorizationToken) throw noData('GetAuthorizationToken', 'returned an empty authorization token');
    const decoded = Buffer.from(authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw noData('GetAuthorizationToken', 'returned a token that is not user:password');
    const password = decoded.slice(colon + 1);
    // Mask before anything else can print it.
    this.settings.onSecret?.(password);
    this.settings.onSecret?.(authorizationToken);
    const host = registryHostOf(proxyEndpoint);
    const parsed = parseEcrHost(host);
    const token: RegistryToken = {
      kind,
      region,
      host,
      proxyEndpoint: proxyEndpoint.replace(/\/+$/, ''),
      username: decoded.slice(0, colon),
      password,
      expiresAt: expiresAt ?? new Date(this.#now() + DEFAULT_TTL_MS),
      fromCache: false,
    };
    if (parsed?.kind === 'private') token.registryId = parsed.registryId;
    return token;
  }

  #remember(token: RegistryToken, key: TokenKey): void {
    this.#byHost.set(token.host, { token, key });
  }
}

function cacheId(key: TokenKey): string {
  return JSON.stringify([key.kind, key.region, key.registryKey, key.endpoint ?? '']);
}

function keyOf(entry: CachedToken): TokenKey {
  return {
    kind: entry.kind,
    region: entry.region,
    registryKey: entry.registryKey,
    identity: entry.identity,
    ...(entry.endpoint ? { endpoint: entry.endpoint } : {}),
  };
}

function toEntry(token: RegistryToken, key: TokenKey, now: number): CachedToken {
  const entry: CachedToken = {
    ...key,
    host: token.host,
    proxyEndpoint: token.proxyEndpoint,
    username: token.username,
    password: token.password,
    issuedAt: now,
    expiresAt: token.expiresAt.getTime(),
  };
  if (token.registryId !== undefined) entry.registryId = token.registryId;
  return entry;
}

function fromEntry(entry: CachedToken): RegistryToken {
  const token: RegistryToken = {
    kind: entry.kind,
    region: entry.region,
    host: entry.host,
    proxyEndpoint: entry.proxyEndpoint,
    username: entry.username,
    password: entry.password,
    expiresAt: new Date(entry.expiresAt),
    fromCache: true,
  };
  if (entry.registryId !== undefined) token.registryId = entry.registryId;
  return token;
}

function noData(operation: string, what: string): EcrctlError {
  return new EcrctlError(`${operation} ${what}`, {
    fix: 'run again; if it keeps happening, check the --endpoint-url and the ECR service health',
  });
}

/**
 * Returns the registry host of the caller's default registry (or of --registry-id), from the
 * proxyEndpoint of GetAuthorizationToken: `<account>.dkr.ecr.<region>.amazonaws.com`, or
 * `127.0.0.1:PORT` with ecrctl local. Served from the token cache when fresh.
 */
export async function resolveDefaultRegistry(
  settings: AwsSettings,
  opts: { registryId?: string; source?: TokenSource } = {},
): Promise<string> {
  const source = opts.source ?? new TokenSource(settings);
  const token = await source.privateToken(opts.registryId === undefined ? {} : { registryId: opts.registryId });
  return token.host;
}

/** Returns a credential provider for the registry transport, backed by GetAuthorizationToken. */
export function createEcrCredentialProvider(
  settings: AwsSettings,
  source = new TokenSource(settings),
): EcrCredentialProvider {
  return {
    async get(host) {
      const token = await source.tokenForHost(host);
      return token ? { username: token.username, password: token.password } : undefined;
    },
    invalidate(host) {
      source.invalidate(host);
    },
  };
}

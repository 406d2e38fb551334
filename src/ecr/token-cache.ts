// The on-disk token cache: one JSON file per (kind, region, registry, endpoint, identity)
// under $XDG_CACHE_HOME/ecrctl. A token is reused until half its lifetime has passed, as
// the reference ECR credential helper does, so a cached token always has hours left.
// Directory 0700, files 0600, written to a temporary name and renamed, so a reader never
// sees half a file; anything unreadable is treated as a miss and overwritten.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A registry token as ecrctl keeps it. Times are epoch milliseconds. */
export interface CachedToken {
  kind: 'private' | 'public';
  region: string;
  /** The registry id asked for, or 'default' for the caller's own registry. */
  registryKey: string;
  /** The account id when known (from the request or the proxy endpoint host). */
  registryId?: string;
  /** The --endpoint-url the token came from, when one was set. */
  endpoint?: string;
  /** credentialFingerprint() of the caller. */
  identity: string;
  /** Where the registry is reached: the proxyEndpoint host (`127.0.0.1:PORT` for ecrctl local). */
  host: string;
  proxyEndpoint: string;
  username: string;
  password: string;
  issuedAt: number;
  expiresAt: number;
}

/** What a cache entry is looked up by. */
export interface TokenKey {
  kind: 'private' | 'public';
  region: string;
  registryKey: string;
  endpoint?: string;
  identity: string;
}

const FORMAT = 1;
const PREFIX = 'token-';

/** Returns the cache directory: $XDG_CACHE_HOME/ecrctl, else ~/.cache/ecrctl. */
export function cacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'ecrctl');
}

/** Returns true when a token still has more than half of its lifetime left at `now`. */
export function isFresh(token: Pick<CachedToken, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  return now < token.issuedAt + (token.expiresAt - token.issuedAt) / 2;
}

function fileName(key: TokenKey): string {
  const id = JSON.stringify([key.kind, key.region, key.registryKey, key.endpoint ?? '', key.identity]);
  return `${PREFIX}${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`;
}

function parseEntry(text: string): CachedToken | undefined {
  try {
    const v = JSON.parse(text) as Partial<CachedToken> & { format?: number };
    if (v.format !== FORMAT) return undefined;
    const strings = [
      'kind',
      'region',
      'registryKey',
      'identity',
      'host',
      'proxyEndpoint',
      'username',
      'password',
    ] as const;
    if (!strings.every((k) => typeof v[k] === 'string' && v[k] !== '')) return undefined;
    if (typeof v.issuedAt !== 'number' || typeof v.expiresAt !== 'number') return undefined;
    const { format: _format, ...token } = v;
    return token as CachedToken;
  } catch {
    return undefined;
  }
}

/** A token cache on disk, or a no-op one when ECRCTL_NO_CACHE=1. */
export class TokenCache {
  readonly dir: string;
  readonly enabled: boolean;

  constructor(env: NodeJS.ProcessEnv, dir = cacheDir(env)) {
    this.dir = dir;
    this.enabled = !(env.ECRCTL_NO_CACHE === '1' || env.ECRCTL_NO_CACHE === 'true');
  }

  /** Returns the entry for key when it is still fresh at now, else undefined. */
  get(key: TokenKey, now = Date.now()): CachedToken | undefined {
    if (!this.enabled) return undefined;
    let text: string;
    try {
      text = readFileSync(path.join(this.dir, fileName(key)), 'utf8');
    } catch {
      return undefined;
    }
    const entry = parseEntry(text);
    if (!entry || !isFresh(entry, now)) return undefined;
    if (entry.identity !== key.identity || entry.region !== key.region || entry.registryKey !== key.registryKey) {
      return undefined;
    }
    return entry;
  }

  /** Writes an entry (atomically, mode 0600); failures to write are not the caller's problem. */
  put(token: CachedToken): boolean {
    if (!this.enabled) return false;
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      this.#ensureDir();
      writeFileSync(tmp, `${JSON.stringify({ format: FORMAT, ...token })}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, path.join(this.dir, fileName(token)));
      return true;
    } catch {
      rmSync(tmp, { force: true });
      return false;
    }
  }

  /** Removes the entry for key (after a registry refused its token). */
  delete(key: TokenKey): void {
    if (!this.enabled) return;
    rmSync(path.join(this.dir, fileName(key)), { force: true });
  }

  /**
   * Returns every readable entry that is fresh at now (for `list` and for finding a
   * proxy-endpoint host); with includeStale, also those past half-life.
   */
  entries(now = Date.now(), opts: { includeStale?: boolean } = {}): CachedToken[] {
    if (!this.enabled) return [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: CachedToken[] = [];
    for (const name of names) {
      if (!name.startsWith(PREFIX) || !name.endsWith('.json')) continue;
      try {
        const entry = parseEntry(readFileSync(path.join(this.dir, name), 'utf8'));
        if (entry && (opts.includeStale || isFresh(entry, now))) out.push(entry);
      } catch {
        // unreadable: skip it, the next put for its key replaces it
      }
    }
    return out;
  }

  #ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask and ignored for an existing directory.
    if ((statSync(this.dir).mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
  }
}

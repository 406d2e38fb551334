// The on-disk token cache: one JSON file per (kind, region, registry, endpoint, identity)
// under $XDG_CACHE_HOME/ecrctl. A token is reused until half its lifetime has passed, as
// the reference ECR credential helper does, so a cached token always has hours left.
// Directory 0700, files 0600, written to a temporary name and renamed, so a reader never
// sees half a file; anything unreadable is treated as a miss and overwritten.
// The cache is trusted only as far as nobody else could have written it: a directory or
// file that is a symlink, owned by another user, or writable by group or others is ignored
// (and said so through the log), and an entry is used only for the registry it was issued
// for, on an ECR host or on the loopback data plane of the endpoint that issued it.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLoopbackHost } from '../oci/reference.js';
import { parseEcrHost, PUBLIC_ECR_HOST, registryHostOf } from './hosts.js';

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

/**
 * Returns why an entry must not be used for the registry it claims, or undefined when it may:
 * its host must be the host of its proxyEndpoint; an ECR host of the account and region it
 * was issued for (public.ecr.aws for an ECR Public token), or a loopback host when an
 * --endpoint-url issued it (ecrctl local); and plain HTTP only to a loopback host.
 */
export function entryProblem(entry: CachedToken): string | undefined {
  let url: URL;
  try {
    url = new URL(entry.proxyEndpoint);
  } catch {
    return `its proxyEndpoint ${entry.proxyEndpoint} is not a URL`;
  }
  if (registryHostOf(entry.proxyEndpoint) !== entry.host) {
    return `its host ${entry.host} is not the host of its proxyEndpoint ${entry.proxyEndpoint}`;
  }
  const ecr = parseEcrHost(entry.host);
  if (entry.kind === 'public') {
    if (ecr?.kind !== 'public') return `it is an ECR Public token for ${entry.host}, not ${PUBLIC_ECR_HOST}`;
  } else if (ecr?.kind === 'private') {
    const wanted = entry.registryKey === 'default' ? (entry.registryId ?? ecr.registryId) : entry.registryKey;
    if (ecr.registryId !== wanted || ecr.region !== entry.region) {
      return `it was issued for registry ${wanted} in ${entry.region} but names ${entry.host}`;
    }
  } else if (!(isLoopbackHost(entry.host) && entry.endpoint !== undefined)) {
    return `its registry ${entry.host} is not an ECR host, and no --endpoint-url issued it`;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(entry.host))) {
    return `its proxyEndpoint ${entry.proxyEndpoint} is plain HTTP to a non-loopback host`;
  }
  return undefined;
}

/** Returns a registry address as entries name it: an ECR host without `:443`, else host[:port]. */
function sameHost(address: string): string {
  return parseEcrHost(address)?.host ?? registryHostOf(address);
}

/** How a TokenCache reports and whom it trusts. */
export interface TokenCacheOptions {
  /** Where the --verbose lines go (why an entry or the directory was ignored). */
  log?: (message: string) => void;
  /** The user the cache must belong to (default: this process's user). */
  uid?: number;
  /**
   * How long withLock waits for another process's refresh before doing its own (default
   * 30 s: a refresh takes about a second, but fifty helpers starting at once on two cores
   * keep the one holding the lock from the CPU for ten).
   */
  lockTimeoutMs?: number;
  /** A lock older than this is stale whoever holds it (default 60 s). */
  lockStaleMs?: number;
}

/** What a lock file holds: who took it, and a nonce so only the taker removes it. */
interface LockOwner {
  pid: number;
  nonce: string;
}

const LOCK_POLL_MS = 25;

/** Returns true when a process with pid exists (EPERM: it exists but is another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { owner?: LockOwner; ageMs: number } | undefined {
  try {
    const st = lstatSync(file);
    let owner: LockOwner | undefined;
    try {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
      if (typeof v.pid === 'number' && typeof v.nonce === 'string') owner = { pid: v.pid, nonce: v.nonce };
    } catch {
      // half-written or garbage: judged by its age alone
    }
    return { ...(owner ? { owner } : {}), ageMs: Date.now() - st.mtimeMs };
  } catch {
    return undefined;
  }
}

function modeText(st: Stats): string {
  return `0${(st.mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** A token cache on disk, or a no-op one when ECRCTL_NO_CACHE=1. */
export class TokenCache {
  readonly dir: string;
  readonly enabled: boolean;
  readonly #log: (message: string) => void;
  readonly #uid: number | undefined;
  readonly #lockTimeoutMs: number;
  readonly #lockStaleMs: number;
  readonly #said = new Set<string>();

  constructor(env: NodeJS.ProcessEnv, dir = cacheDir(env), opts: TokenCacheOptions = {}) {
    this.dir = dir;
    this.enabled = !(env.ECRCTL_NO_CACHE === '1' || env.ECRCTL_NO_CACHE === 'true');
    this.#log = opts.log ?? (() => {});
    // No uid on Windows: there the ownership checks are left to the file system's ACLs.
    this.#uid = opts.uid ?? process.getuid?.();
    this.#lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.#lockStaleMs = opts.lockStaleMs ?? 60_000;
  }

  /**
   * Runs fn (a refresh of key's token) while holding that key's lock file, so that of many
   * processes refreshing at once one calls AWS and the others, once it is done, read its
   * entry. A lock whose process is gone or that is older than lockStaleMs is removed; after
   * lockTimeoutMs of waiting fn runs anyway (a slow refresh elsewhere must not block this one).
   */
  async withLock<T>(key: TokenKey, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return fn();
    let ours: LockOwner | undefined;
    let file = '';
    try {
      if (this.#ensureDir()) {
        file = path.join(this.dir, fileName(key).replace(/\.json$/, '.lock'));
        ours = await this.#acquire(file);
      }
    } catch {
      // a cache we cannot lock is a cache we cannot share: refresh without it
    }
    try {
      return await fn();
    } finally {
      if (ours && readLock(file)?.owner?.nonce === ours.nonce) rmSync(file, { force: true });
    }
  }

  async #acquire(file: string): Promise<LockOwner | undefined> {
    const me: LockOwner = { pid: process.pid, nonce: randomBytes(8).toString('hex') };
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (;;) {
      try {
        // Exclusive create: of all processes racing here exactly one succeeds.
        writeFileSync(file, JSON.stringify(me), { mode: 0o600, flag: 'wx' });
        return me;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = readLock(file);
      if (held) {
        const dead = held.owner !== undefined && held.owner.pid !== process.pid && !processAlive(held.owner.pid);
        if (dead || held.ageMs > this.#lockStaleMs) {
          // Two waiters may both judge it stale; the worst case is one extra refresh.
          this.#log(
            `token cache: removing the stale lock ${file} (${dead ? `process ${held.owner?.pid} is gone` : `${Math.round(held.ageMs / 1000)} s old`})`,
          );
          rmSync(file, { force: true });
          continue;
        }
      }
      if (Date.now() >= deadline) {
        this.#log(
          `token cache: ${file} is still held after ${this.#lockTimeoutMs} ms: refreshing without waiting for it`,
        );
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS + Math.floor(Math.random() * LOCK_POLL_MS)));
    }
  }

  /** Returns the entry for key when it is still fresh at now, else undefined. */
  get(key: TokenKey, now = Date.now()): CachedToken | undefined {
    if (!this.enabled || !this.#dirTrusted()) return undefined;
    const entry = this.#read(path.join(this.dir, fileName(key)));
    if (!entry || !isFresh(entry, now)) return undefined;
    const same =
      entry.kind === key.kind &&
      entry.identity === key.identity &&
      entry.region === key.region &&
      entry.registryKey === key.registryKey &&
      (entry.endpoint ?? '') === (key.endpoint ?? '');
    return same ? entry : undefined;
  }

  /** Writes an entry (atomically, mode 0600); failures to write are not the caller's problem. */
  put(token: CachedToken): boolean {
    if (!this.enabled) return false;
    const tmp = path.join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      if (!this.#ensureDir()) return false;
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
    if (!this.enabled || !this.#dirTrusted()) return;
    rmSync(path.join(this.dir, fileName(key)), { force: true });
  }

  /**
   * Removes every entry, fresh or stale and of any identity, whose registry is at address
   * (a host, or a URL as Docker passes it); returns how many were removed.
   */
  deleteHost(address: string): number {
    if (!this.enabled || !this.#dirTrusted()) return 0;
    const host = sameHost(address);
    const ecr = parseEcrHost(address);
    // Issued for that registry, wherever it is reached (ecrctl local answers for an ECR host
    // name with its own 127.0.0.1:PORT), or reached at that host.
    const issuedFor = (e: CachedToken) =>
      ecr?.kind === 'public'
        ? e.kind === 'public'
        : ecr?.kind === 'private' &&
          e.kind === 'private' &&
          e.region === ecr.region &&
          (e.registryKey === ecr.registryId || e.registryId === ecr.registryId);
    let removed = 0;
    for (const name of this.#names()) {
      const entry = this.#read(path.join(this.dir, name));
      if (entry && (sameHost(entry.host) === host || issuedFor(entry))) {
        rmSync(path.join(this.dir, name), { force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /**
   * Returns every trusted entry that is fresh at now (for `list` and for finding a
   * proxy-endpoint host); with includeStale, also those past half-life.
   */
  entries(now = Date.now(), opts: { includeStale?: boolean } = {}): CachedToken[] {
    if (!this.enabled || !this.#dirTrusted()) return [];
    const out: CachedToken[] = [];
    for (const name of this.#names()) {
      const entry = this.#read(path.join(this.dir, name));
      if (entry && (opts.includeStale || isFresh(entry, now))) out.push(entry);
    }
    return out;
  }

  /** Returns the names of the entry files in the directory. */
  #names(): string[] {
    try {
      return readdirSync(this.dir).filter((name) => name.startsWith(PREFIX) && name.endsWith('.json'));
    } catch {
      return [];
    }
  }

  /** Returns the entry in file when this user alone could have written it and it is bound to its registry. */
  #read(file: string): CachedToken | undefined {
    let fd: number;
    try {
      // O_NOFOLLOW: a symlink planted under an entry's name is refused, not followed.
      fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') this.#ignore(file, 'it is not a regular file');
      return undefined;
    }
    let text: string;
    try {
      const st = fstatSync(fd);
      const problem = st.isFile() ? this.#ownershipProblem(st) : 'it is not a regular file';
      if (problem) {
        this.#ignore(file, problem);
        return undefined;
      }
      text = readFileSync(fd, 'utf8');
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
    const entry = parseEntry(text);
    if (!entry) return undefined;
    const problem = entryProblem(entry);
    if (problem) {
      this.#ignore(file, problem);
      return undefined;
    }
    return entry;
  }

  #ownershipProblem(st: Stats): string | undefined {
    if (this.#uid !== undefined && st.uid !== this.#uid) {
      return `it is owned by uid ${st.uid}, not by you (uid ${this.#uid})`;
    }
    if ((st.mode & 0o022) !== 0) return `it is writable by group or others (mode ${modeText(st)})`;
    return undefined;
  }

  /** Returns why the directory is not trusted ('missing' when it does not exist), else undefined. */
  #dirProblem(): string | undefined {
    let st: Stats;
    try {
      st = lstatSync(this.dir);
    } catch {
      return 'missing';
    }
    if (st.isSymbolicLink()) return 'it is a symbolic link';
    if (!st.isDirectory()) return 'it is not a directory';
    return this.#ownershipProblem(st);
  }

  #dirTrusted(): boolean {
    const problem = this.#dirProblem();
    if (problem && problem !== 'missing') this.#ignore(this.dir, problem);
    return problem === undefined;
  }

  #ignore(file: string, why: string): void {
    // once per file and reason: one command looks at the cache several times
    const line = `token cache: ignoring ${file}: ${why}`;
    if (this.#said.has(line)) return;
    this.#said.add(line);
    this.#log(line);
  }

  /** Creates the directory (0700) or makes an existing one of ours private; false when it is not ours to use. */
  #ensureDir(): boolean {
    let problem = this.#dirProblem();
    if (problem === 'missing') {
      mkdirSync(path.dirname(this.dir), { recursive: true, mode: 0o700 });
      try {
        mkdirSync(this.dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      problem = this.#dirProblem();
    }
    const st = problem === undefined || problem.startsWith('it is writable') ? lstatSync(this.dir) : undefined;
    if (!st) {
      this.#ignore(this.dir, `${problem}; not writing a token there`);
      return false;
    }
    // mkdir's mode is filtered by the umask and ignored for an existing directory.
    if ((st.mode & 0o777) !== 0o700) {
      // O_NOFOLLOW: should the directory have been swapped for a link since the lstat, the
      // open fails rather than changing the mode of whatever the link points at.
      const fd = openSync(this.dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0));
      try {
        fchmodSync(fd, 0o700);
      } finally {
        closeSync(fd);
      }
      if (problem) {
        // Anyone could have put (or swapped) entries while it was open: none of them is kept.
        const names = readdirSync(this.dir).filter((n) => n.startsWith(PREFIX) || n.startsWith('.tmp-'));
        for (const name of names) rmSync(path.join(this.dir, name), { force: true, recursive: true });
        this.#log(
          `token cache: ${this.dir} was writable by group or others (mode ${modeText(st)}): made it 0700 and removed the ${names.length} entries it held`,
        );
      }
    }
    return true;
  }
}

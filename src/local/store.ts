// The local endpoint's state: one JSON document (repositories, images, tags, policies, …)
// plus content-addressed blobs under blobs/sha256/<hex> shared by every repository, and
// upload sessions under uploads/. Every write goes to a temporary file that is synced and
// then renamed over the old one, so a crash leaves either the old state or the new one.
// Concurrent mutations are applied in memory at once and coalesced into one write; each
// caller's promise settles only when a write that includes its change is on disk.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EcrctlError } from '../errors.js';

// Data directories open in this process (a second server on one directory would clobber it).
const openDirs = new Set<string>();

/** A resource tag as the ECR API spells it. */
export interface ResourceTag {
  Key: string;
  Value: string;
}

/** A tag-mutability exclusion filter (WILDCARD only). */
export interface MutabilityExclusionFilter {
  filterType: string;
  filter: string;
}

/** One image (manifest) in a repository. Times are epoch milliseconds. */
export interface ImageRecord {
  digest: string;
  mediaType: string;
  /** Bytes of the manifest itself. */
  manifestSize: number;
  /** imageSizeInBytes as ECR defines it (layers; for an index, its largest child). */
  size: number;
  /** The config media type, or the manifest's artifactType (what ECR reports as artifactMediaType). */
  artifactMediaType?: string;
  /** OCI 1.1 artifactType (manifest field, else config media type for non-images): for referrers. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** OCI 1.1 subject digest (this image is a referrer of it). */
  subject?: string;
  /** Digests of manifests an index refers to. */
  children?: string[];
  pushedAt: number;
  /** Push order within the store (several pushes can share a millisecond). */
  seq?: number;
  lastPulledAt?: number;
  /** The latest vulnerability scan of this image (see ecr-api/scanning.ts). */
  scan?: ImageScanRecord;
  /** Replication of this image, by destination (`<region>/<account>`). */
  replication?: Record<string, ReplicationStatusRecord>;
  /** ARCHIVED once UpdateImageStorageClass moved it to ARCHIVE (absent = ACTIVE); see ecr-api/storage.ts. */
  imageStatus?: 'ARCHIVED';
  /** When the image was last archived / restored, epoch ms. */
  lastArchivedAt?: number;
  lastActivatedAt?: number;
  /**
   * When a restore (UpdateImageStorageClass STANDARD) began, epoch ms: the image is ACTIVATING
   * (still ARCHIVED in imageStatus, so nothing serves it) until the restore's duration has passed.
   */
  activatingSince?: number;
}

/** Where replicating one image to one destination stands (DescribeImageReplicationStatus). */
export interface ReplicationStatusRecord {
  region: string;
  registryId: string;
  status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';
  failureCode?: string;
  /** Unused since states follow the clock (state-delays.ts); kept so stored state stays readable. */
  reported?: boolean;
  /** When replication began, epoch ms: IN_PROGRESS is reported until its duration has passed. */
  startedAt?: number;
}

/** A scan of one image: when it started, how it ended, where its findings are. Times in epoch ms. */
export interface ImageScanRecord {
  /** The registry scan type the scan ran under (a BASIC result is not reported under ENHANCED). */
  type: 'BASIC' | 'ENHANCED';
  /** IN_PROGRESS, COMPLETE, FAILED or UNSUPPORTED_IMAGE (enhanced COMPLETE is reported as ACTIVE). */
  status: string;
  description?: string;
  startedAt: number;
  completedAt?: number;
  /** Blob holding the findings (a JSON list of scanner hits), once complete. */
  findingsDigest?: string;
  /** Findings per severity (non-zero only). */
  counts?: Record<string, number>;
  /** The advisory file's modification time. */
  sourceUpdatedAt?: number;
  /** Set once DescribeImageScanFindings has answered IN_PROGRESS for this scan. */
  reported?: boolean;
}

/** Where a tag points and since when. */
export interface TagRecord {
  digest: string;
  /** When the tag was (last) set, epoch ms. */
  at: number;
}

/** Catalog data of an ECR Public repository, as stored. */
export interface CatalogDataRecord {
  description?: string;
  architectures?: string[];
  operatingSystems?: string[];
  aboutText?: string;
  usageText?: string;
  /** sha256 hex of the logo PNG stored as a blob. */
  logoDigest?: string;
}

/** One repository. New features add optional fields here. */
export interface RepositoryRecord {
  name: string;
  createdAt: number;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: MutabilityExclusionFilter[];
  scanOnPush: boolean;
  encryption: { encryptionType: string; kmsKey?: string };
  resourceTags: ResourceTag[];
  policyText?: string;
  /** Lifecycle policy document (PutLifecyclePolicy). */
  lifecyclePolicyText?: string;
  /** When the lifecycle policy last ran (LocalServer.applyLifecyclePolicies), epoch ms. */
  lifecycleEvaluatedAt?: number;
  /** The last StartLifecyclePolicyPreview; `reported` once a Get has seen it in progress. */
  lifecyclePreview?: { policyText: string; startedAt: number; reported?: boolean };
  images: Record<string, ImageRecord>;
  tags: Record<string, TagRecord>;
  /** Blobs (layers, configs) pushed to this repository: digest → size. */
  blobs: Record<string, number>;
  /** ECR Public only. */
  catalogData?: CatalogDataRecord;
}

/** One registry: a private (account, region) pair or an account's public registry. */
export interface RegistryRecord {
  kind: 'private' | 'public';
  account: string;
  /** The region of a private registry; us-east-1 for the public one. */
  region: string;
  /** The public registry's alias (default `local`). */
  alias?: string;
  /** The data-plane port last used, reused after a restart when free. */
  port?: number;
  repositories: Record<string, RepositoryRecord>;
  /** Registry-level settings added by later features (registry policy, replication, …). */
  settings?: Record<string, unknown>;
}

/** The whole state document. */
export interface StateFile {
  version: 1;
  /** The control-plane port last used. */
  apiPort?: number;
  /** The last ImageRecord.seq handed out. */
  lastSeq?: number;
  registries: Record<string, RegistryRecord>;
}

const STATE = 'state.json';
/** Untouched registries kept in memory at most (see Store.registry). */
const MAX_PENDING_REGISTRIES = 256;
const BASE_REGISTRY_KEYS = new Set(['kind', 'account', 'region', 'alias', 'repositories']);

/** Thrown when a request would create one registry more than the store allows. */
export class RegistryLimitError extends Error {
  constructor(
    readonly key: string,
    readonly limit: number,
  ) {
    super(
      `ecrctl local serves at most ${limit} registries (account/region pairs and public registries); ` +
        `this request would add ${key}. Restart it with --max-registries N to allow more`,
    );
    this.name = 'RegistryLimitError';
  }
}

/** Returns true when a registry holds anything worth keeping. */
function hasContent(reg: RegistryRecord): boolean {
  if (Object.keys(reg.repositories).length > 0) return true;
  if (reg.kind === 'public' && reg.alias !== 'local') return true;
  return Object.entries(reg).some(([k, v]) => !BASE_REGISTRY_KEYS.has(k) && v !== undefined);
}

/** Returns the key of a registry in StateFile.registries. */
export function registryKey(kind: 'private' | 'public', account: string, region: string): string {
  return kind === 'public' ? `public/${account}` : `private/${account}/${region}`;
}

/** The data directory: state document, blobs, upload files and the token-signing secret. */
export class Store {
  readonly dataDir: string;
  readonly state: StateFile;
  /** Signs authorization tokens and download URLs, so they survive a restart. */
  readonly secret: Buffer;
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #running = false;
  #tmpCounter = 0;
  #closed = false;
  /** Registries handed out but not yet written to (see registry()). */
  readonly #pending = new Map<string, RegistryRecord>();
  /** The most registries (account/region pairs and public registries) this store holds. */
  maxRegistries = Number.POSITIVE_INFINITY;

  private constructor(dataDir: string, state: StateFile, secret: Buffer) {
    this.dataDir = dataDir;
    this.state = state;
    this.secret = secret;
  }

  /** Opens (creating when needed) the data directory and reads its state. */
  static async open(dataDir: string): Promise<Store> {
    const dir = path.resolve(dataDir);
    // Blobs and state are the user's images: readable by the owner only, whatever the umask.
    await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    await lockDir(dir);
    try {
      // Upload sessions live in memory; files of sessions from a previous run are orphans.
      await rm(path.join(dir, 'uploads'), { recursive: true, force: true });
      await mkdir(path.join(dir, 'uploads'), { recursive: true, mode: 0o700 });
      // Directories and state an older version created with the umask's modes.
      for (const sub of ['blobs', path.join('blobs', 'sha256'), 'uploads']) await chmod(path.join(dir, sub), 0o700);
      await chmod(path.join(dir, STATE), 0o600).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      let state: StateFile = { version: 1, registries: {} };
      try {
        const parsed = JSON.parse(await readFile(path.join(dir, STATE), 'utf8')) as StateFile;
        if (parsed && parsed.version === 1 && parsed.registries) state = parsed;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      for (const name of await readdir(dir)) {
        if (name.startsWith(`${STATE}.`) && name.endsWith('.tmp')) await rm(path.join(dir, name), { force: true });
      }
      let secret: Buffer;
      const secretFile = path.join(dir, 'secret');
      try {
        secret = await readFile(secretFile);
        if (secret.length < 32) throw Object.assign(new Error('short secret'), { code: 'ENOENT' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        secret = randomBytes(32);
        const store = new Store(dir, state, secret);
        await store.#writeFileAtomic(secretFile, secret, 0o600);
      }
      return new Store(dir, state, secret);
    } catch (err) {
      openDirs.delete(dir);
      await rm(path.join(dir, 'lock'), { force: true });
      throw err;
    }
  }

  /**
   * Returns the registry record for key. A registry nobody has written to yet is held apart
   * (not in state.json, not counted) until a write gives it content — a repository, a
   * setting or a data-plane port — so reads naming made-up accounts leave nothing behind.
   * Throws RegistryLimitError when maxRegistries registries exist already.
   */
  registry(kind: 'private' | 'public', account: string, region: string): RegistryRecord {
    const key = registryKey(kind, account, region);
    if (Object.hasOwn(this.state.registries, key)) return this.state.registries[key] as RegistryRecord;
    if (Object.keys(this.state.registries).length >= this.maxRegistries)
      throw new RegistryLimitError(key, this.maxRegistries);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const reg: RegistryRecord = { kind, account, region, repositories: {} };
    if (kind === 'public') reg.alias = 'local';
    this.#pending.set(key, reg);
    // Bound the memory a flood of made-up accounts can take; the oldest untouched go first.
    if (this.#pending.size > MAX_PENDING_REGISTRIES) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
    }
    return reg;
  }

  /** Moves registries that have been written to into the state. */
  #adoptPending(): void {
    for (const [key, reg] of this.#pending) {
      if (!hasContent(reg)) continue;
      this.state.registries[key] = reg;
      this.#pending.delete(key);
    }
  }

  /**
   * Applies fn to the state at once (fn must not await: checks and changes happen in one
   * turn of the event loop), then resolves with fn's result once the change is on disk.
   */
  async mutate<T>(fn: (state: StateFile) => T): Promise<T> {
    const result = fn(this.state);
    this.#adoptPending();
    await this.persist();
    return result;
  }

  /** Resolves once the current in-memory state is on disk (writes are coalesced). */
  persist(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  /** Waits for pending writes, then refuses further ones and releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#waiters.length > 0 || this.#running) await this.persist();
    this.#closed = true;
    openDirs.delete(this.dataDir);
    await rm(path.join(this.dataDir, 'lock'), { force: true });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#waiters.length > 0) {
      const batch = this.#waiters.splice(0);
      try {
        // Serialised synchronously here: every mutation applied before this line is included.
        this.#adoptPending();
        const text = JSON.stringify(this.state);
        await this.#writeFileAtomic(path.join(this.dataDir, STATE), Buffer.from(text));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running = false;
  }

  async #writeFileAtomic(file: string, data: Buffer, mode = 0o600): Promise<void> {
    const tmp = `${file}.${process.pid}.${++this.#tmpCounter}.tmp`;
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await syncDir(path.dirname(file));
  }

  /** Returns the path of a blob by digest (sha256 only). */
  blobPath(digest: string): string {
    return path.join(this.dataDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  /** Returns the size of a stored blob, or undefined when it is not on disk. */
  async blobSize(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  /** Returns true when the blob file exists. */
  hasBlobFile(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Stores bytes as a blob and returns their digest. */
  async writeBlob(bytes: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (!this.hasBlobFile(digest)) await this.#writeFileAtomic(this.blobPath(digest), bytes);
    return digest;
  }

  /** Reads a whole blob (manifests, small documents). */
  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /** Returns a read stream over a blob, optionally a byte range (inclusive end). */
  blobStream(digest: string, range?: { start: number; end: number }): NodeJS.ReadableStream {
    return createReadStream(this.blobPath(digest), range);
  }

  /** Returns the path of an upload session's file. */
  uploadPath(id: string): string {
    return path.join(this.dataDir, 'uploads', id);
  }

  /** Moves a finished upload file into the blob store under digest (synced first). */
  async commitUpload(id: string, digest: string): Promise<void> {
    const file = this.uploadPath(id);
    if (this.hasBlobFile(digest)) {
      await rm(file, { force: true });
      return;
    }
    const fh = await open(file, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(file, this.blobPath(digest));
    await syncDir(path.dirname(this.blobPath(digest)));
  }

  /** Removes an upload session's file. */
  async discardUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }
}

/** What the lock file records: who holds the directory, and when that process started. */
interface LockRecord {
  pid: number;
  /** The holder's start time (Linux: clock ticks since boot, /proc/PID/stat field 22). */
  start?: string;
  /** A random value: tells this lock from one another run of the same pid wrote. */
  token: string;
}

/**
 * Claims dir for this process, or throws when a live server already uses it. The lock file
 * is created exclusively; a lock whose process is gone, or whose pid now belongs to a
 * process that started at another time, is stale and replaced.
 */
async function lockDir(dir: string): Promise<void> {
  const inUse = (who: string) =>
    new EcrctlError(`the data directory ${dir} is in use by ${who}`, {
      fix: 'stop the other `ecrctl local serve`, or pass another --data directory',
    });
  if (openDirs.has(dir)) throw inUse('another server in this process');
  const lock = path.join(dir, 'lock');
  const mine: LockRecord = { pid: process.pid, token: randomBytes(16).toString('hex') };
  const start = await processStart(process.pid);
  if (start !== undefined) mine.start = start;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lock, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o600 });
      openDirs.add(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
    let text: string;
    try {
      text = await readFile(lock, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    const holder = parseLock(text);
    if (holder && (await lockHeld(holder))) throw inUse(`process ${holder.pid}`);
    // Stale: remove it unless another process replaced it since we read it.
    const again = await readFile(lock, 'utf8').catch(() => undefined);
    if (again === text) await rm(lock, { force: true });
  }
}

/** Returns the lock's record; a lock of older versions holds only the pid. */
function parseLock(text: string): { pid: number; start?: string } | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const doc = JSON.parse(trimmed) as Partial<LockRecord>;
    if (typeof doc.pid !== 'number' || !Number.isInteger(doc.pid) || doc.pid <= 0) return undefined;
    return typeof doc.start === 'string' ? { pid: doc.pid, start: doc.start } : { pid: doc.pid };
  } catch {
    return undefined;
  }
}

/** Returns true when the process that wrote a lock still runs. */
async function lockHeld(holder: { pid: number; start?: string }): Promise<boolean> {
  // Our own pid but not in openDirs: a server of this process that never released it.
  if (holder.pid === process.pid) return false;
  if (!processAlive(holder.pid)) return false;
  if (holder.start === undefined) return true; // an old lock: the pid is all we can check
  const now = await processStart(holder.pid);
  // Where start times cannot be read (not Linux), a live pid counts as the holder.
  return now === undefined || now === holder.start;
}

/** Returns a process's start time (Linux: /proc/PID/stat field 22), or undefined where unknown. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDir(dir: string): Promise<void> {
  // A rename is durable only once the directory entry is synced; some filesystems refuse
  // fsync on a directory, which is fine to ignore.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

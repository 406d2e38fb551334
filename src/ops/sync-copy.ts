// How `sync apply` copies one image: the copy engine (src/oci/copy.ts) and the referrer copy
// (src/oci/referrers.ts) between two registry repositories, with what a whole-registry run
// needs beyond `ecrctl copy`:
// - a blob journal per target registry: every blob that lands (uploaded, mounted or found) is
//   appended to a file and fsync'd, so a rerun after a `kill -9` neither uploads nor even
//   HEADs it again in that repository, and can mount it into other repositories of the same
//   registry instead of sending its bytes once more;
// - PutImage paced per target repository (ECR: about 10 a second), divided by the shard
//   count so N parallel shards together stay under the quota, with an adaptive slow-down
//   when the registry throttles anyway.
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { HttpStatusError, InterruptedError, NotFoundError } from '../errors.js';
import { type CopySummary, copyImage, parsePlatform } from '../oci/copy.js';
import { ECR_LAYER_UPLOAD_RATE, ECR_PUT_IMAGE_RATE, TokenBucket } from '../oci/pacing.js';
import { copyReferrers, type ReferrersReport } from '../oci/referrers.js';
import { type RegistryRepository, registryErrorCodes } from '../oci/registry.js';
import type { BlobPutResult, ImageSource, ImageTarget } from '../oci/store.js';
import type { Descriptor, ManifestBlob } from '../oci/types.js';
import type { Session } from '../session.js';
import { isEcrDataPlane, registryClient } from './ecr.js';

interface BlobRecord {
  blob: string;
  registry: string;
  repository: string;
  /** The blob belongs to an image stored in the repository: another repository can mount it from there. */
  image?: true;
}

/**
 * The blobs known to be stored at target registries: JSON lines `{blob, registry,
 * repository}`, appended through one open file handle and fdatasync'd line by line, so a
 * kill loses at most the blobs in flight.
 */
export class BlobJournal {
  /** The file appended to (undefined: a journal kept in memory for one run). */
  readonly file: string | undefined;
  /** registry → digest → repositories holding it. */
  readonly #known = new Map<string, Map<string, Set<string>>>();
  /** registry → digest → repositories holding it in a stored image (mount sources). */
  readonly #inImage = new Map<string, Map<string, Set<string>>>();
  #fh: Promise<FileHandle> | undefined;
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** Returns a journal of this run only (no --state): it still lets later repositories mount. */
  static memory(): BlobJournal {
    return new BlobJournal(undefined);
  }

  /**
   * Loads the blob journals of one config in dir (every shard's: a blob another shard
   * stored is stored) and names this run's file; writing creates it on the first record.
   */
  static async open(dir: string, key: string, shardSuffix: string): Promise<BlobJournal> {
    const j = new BlobJournal(path.join(dir, `${key}${shardSuffix}.blobs.jsonl`));
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const name of names) {
      if (!name.startsWith(key) || !name.endsWith('.blobs.jsonl')) continue;
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
        try {
          const r = JSON.parse(line) as BlobRecord;
          if (typeof r.blob === 'string' && typeof r.registry === 'string' && typeof r.repository === 'string')
            j.#add(r);
        } catch {
          // The torn last line of a killed run: that blob was in flight.
        }
      }
    }
    return j;
  }

  /** Returns true when the journal says repository at registry holds digest. */
  has(registry: string, repository: string, digest: string): boolean {
    return this.#known.get(registry)?.get(digest)?.has(repository) === true;
  }

  /**
   * Returns another repository of registry holding digest in a stored image, if any: a
   * mount source (ECR mounts only a blob an image of the source repository references).
   */
  holder(registry: string, repository: string, digest: string): string | undefined {
    for (const r of this.#inImage.get(registry)?.get(digest) ?? []) if (r !== repository) return r;
    return undefined;
  }

  /** Records that an image holding these blobs is now stored in repository (once per blob). */
  async recordImage(registry: string, repository: string, digests: Iterable<string>): Promise<void> {
    const lines: string[] = [];
    for (const blob of new Set(digests)) {
      if (this.#inImage.get(registry)?.get(blob)?.has(repository)) continue;
      const r: BlobRecord = { blob, registry, repository, image: true };
      this.#add(r);
      lines.push(`${JSON.stringify(r)}\n`);
    }
    if (this.file === undefined || lines.length === 0) return;
    await this.#append(lines.join(''));
  }

  /** Forgets what the journal says one repository holds (the registry said otherwise). */
  forget(registry: string, repository: string): void {
    for (const repos of this.#known.get(registry)?.values() ?? []) repos.delete(repository);
    for (const repos of this.#inImage.get(registry)?.values() ?? []) repos.delete(repository);
  }

  /** Appends a record (once per registry, repository and digest) and waits until it is on disk. */
  record(registry: string, repository: string, digest: string): Promise<void> {
    if (this.has(registry, repository, digest)) return this.#queue;
    const r: BlobRecord = { blob: digest, registry, repository };
    this.#add(r);
    if (this.file === undefined) return this.#queue;
    return this.#append(`${JSON.stringify(r)}\n`);
  }

  #append(text: string): Promise<void> {
    const turn = this.#queue.then(async () => {
      this.#fh ??= this.#openFile();
      const fh = await this.#fh;
      await fh.appendFile(text);
      await fh.datasync();
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /** Waits for pending records and closes the file. */
  async close(): Promise<void> {
    await this.#queue;
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) await (await fh).close();
  }

  async #openFile(): Promise<FileHandle> {
    const file = this.file!;
    await mkdir(path.dirname(file), { recursive: true });
    const fh = await open(file, 'a+');
    // A killed run may have left half a line: start on a fresh one.
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await fh.appendFile('\n');
    }
    return fh;
  }

  #add(r: BlobRecord): void {
    for (const map of r.image ? [this.#known, this.#inImage] : [this.#known]) {
      let byDigest = map.get(r.registry);
      if (!byDigest) {
        byDigest = new Map();
        map.set(r.registry, byDigest);
      }
      let repos = byDigest.get(r.blob);
      if (!repos) {
        repos = new Set();
        byDigest.set(r.blob, repos);
      }
      repos.add(r.repository);
    }
  }
}

/** Returns the file-name key of a config's journals: a hash of its absolute path. */
export function journalKey(configFile: string): string {
  return `sync-${createHash('sha256').update(path.resolve(configFile)).digest('hex').slice(0, 12)}`;
}

/** Per run: PutImage buckets per target repository, and the registries that declined a mount. */
export interface SyncPacing {
  /** The shard count (quotas are divided by it). */
  shards: number;
  readonly buckets: Map<string, TokenBucket>;
  /** Layer upload starts per target registry (account and region). */
  readonly layerBuckets: Map<string, TokenBucket>;
  readonly noMount: Set<string>;
  /**
   * Blobs being uploaded, per `registry digest`: settles when the uploading image is stored
   * (or has failed), so another repository can wait for it and then mount the blob.
   */
  readonly uploading: Map<string, Promise<unknown>>;
}

/** Returns the pacing state of one run over `shards` parallel shards. */
export function syncPacing(shards = 1): SyncPacing {
  return {
    shards: Math.max(1, shards),
    buckets: new Map(),
    layerBuckets: new Map(),
    noMount: new Set(),
    uploading: new Map(),
  };
}

function putImageBucket(pacing: SyncPacing, key: string): TokenBucket {
  let b = pacing.buckets.get(key);
  if (!b) {
    const rate = (ECR_PUT_IMAGE_RATE.perSecond * ECR_PUT_IMAGE_RATE.headroom) / pacing.shards;
    b = new TokenBucket({ ratePerSecond: rate, minRatePerSecond: rate / 8 });
    pacing.buckets.set(key, b);
  }
  return b;
}

function layerBucket(pacing: SyncPacing, host: string): TokenBucket {
  let b = pacing.layerBuckets.get(host);
  if (!b) {
    const rate = (ECR_LAYER_UPLOAD_RATE.perSecond * ECR_LAYER_UPLOAD_RATE.headroom) / pacing.shards;
    b = new TokenBucket({ ratePerSecond: rate, burst: Math.max(1, Math.floor(rate / 4)) });
    pacing.layerBuckets.set(host, b);
  }
  return b;
}

function throttled(err: unknown): boolean {
  return (
    (err instanceof HttpStatusError && err.status === 429) ||
    registryErrorCodes(err).includes('TOOMANYREQUESTS') ||
    (err instanceof Error && /ThrottlingException|Rate exceeded|too many requests/i.test(err.message))
  );
}

/** What copySyncImage accepts. */
export interface SyncImageCopy {
  /** Read from this source (an OCI layout) instead of sourceHost/sourceRepo at a registry. */
  source?: ImageSource;
  sourceHost: string;
  sourceRepo: string;
  /** The source manifest (by digest). */
  digest: string;
  targetHost: string;
  targetRepo: string;
  /** Tags written last (at least one). */
  tags: string[];
  platform?: string;
  referrers: boolean;
  concurrency: number;
  blobs?: BlobJournal;
  pacing: SyncPacing;
  /** Called with the bytes of each blob as its upload completes. */
  onBytes?: (bytes: number) => void;
}

/** What copySyncImage returns: the engine's summary, and the referrers carried. */
export interface SyncImageResult extends CopySummary {
  referrers?: ReferrersReport;
}

/**
 * Copies one image (every platform, or c.platform) with its tags into store, then its
 * referrers when c.referrers; c.onBytes hears each uploaded blob's size. The one copy step of
 * every sync target, registry or OCI layout.
 */
export async function copyWithReferrers(
  session: Session,
  source: ImageSource,
  store: ImageTarget,
  c: Pick<SyncImageCopy, 'digest' | 'tags' | 'concurrency' | 'platform' | 'referrers' | 'onBytes'>,
): Promise<SyncImageResult> {
  const { signal } = session;
  const summary = await copyImage(source, c.digest, store, {
    tags: c.tags,
    concurrency: c.concurrency,
    signal,
    commit: false,
    ...(c.platform ? { platform: parsePlatform(c.platform) } : {}),
    onEvent: (e) => {
      if (e.kind === 'blob-done' && e.result === 'uploaded') c.onBytes?.(e.descriptor.size);
    },
  });
  let referrers: ReferrersReport | undefined;
  if (c.referrers) {
    referrers = await copyReferrers(source, store, summary.digest, {
      signal,
      log: (m) => session.log.warn(m),
      note: (m) => session.log.verbose(m),
    });
  }
  return { ...summary, ...(referrers ? { referrers } : {}) };
}

/**
 * Copies one source image to a target repository with every tag, its referrers after it;
 * blobs the journal holds there are neither asked for nor sent, blobs another repository
 * of the target registry holds are mounted from it where the registry allows, and each
 * blob that lands is journaled. When the registry no longer has a journaled blob (deleted
 * since), the copy is made once more asking the registry about every blob.
 */
export async function copySyncImage(session: Session, c: SyncImageCopy): Promise<SyncImageResult> {
  const client = await registryClient(session);
  const source = c.source ?? client.repository(c.sourceHost, c.sourceRepo);
  const target = client.repository(c.targetHost, c.targetRepo);
  const ecr = await isEcrDataPlane(session, c.targetHost);
  const attempt = async (trustJournal: boolean): Promise<SyncImageResult> => {
    let stored!: () => void;
    const claim: ImageClaim = {
      keys: new Set(),
      blobs: new Set(),
      stored: new Promise<void>((resolve) => {
        stored = resolve;
      }),
    };
    try {
      const result = await attemptWith(trustJournal, claim);
      await c.blobs?.recordImage(c.targetHost, c.targetRepo, claim.blobs);
      return result;
    } finally {
      for (const key of claim.keys) if (c.pacing.uploading.get(key) === claim.stored) c.pacing.uploading.delete(key);
      stored();
    }
  };
  const attemptWith = async (trustJournal: boolean, claim: ImageClaim): Promise<SyncImageResult> => {
    const store = syncTarget(session, target, c, ecr, trustJournal, claim);
    return copyWithReferrers(session, source, store, c);
  };
  try {
    return await attempt(true);
  } catch (err) {
    if (session.signal.aborted || err instanceof InterruptedError) throw err;
    const codes = registryErrorCodes(err);
    const lost = codes.includes('BLOB_UNKNOWN') || codes.includes('MANIFEST_BLOB_UNKNOWN');
    if (!c.blobs || !(lost || err instanceof NotFoundError)) throw err;
    session.log.verbose(`${c.targetHost}/${c.targetRepo}: a journaled blob is gone; copying again with HEADs`);
    c.blobs.forget(c.targetHost, c.targetRepo);
    return attempt(false);
  }
}

/**
 * Returns target with the journal and pacing of a sync around it: checkBlobs answers
 * journaled blobs without a request, putBlob mounts from another repository of the same
 * registry when one holds the blob, every landed blob is journaled, and putManifest waits
 * for the repository's PutImage token (slowing down when throttled all the same).
 */
/** The blobs one image copy has claimed (is uploading first in its registry) and touched. */
interface ImageClaim {
  keys: Set<string>;
  /** Every blob of the image (and its referrers) that passed through the target. */
  blobs: Set<string>;
  /** Settles once the image is stored (or its copy failed). */
  stored: Promise<void>;
}

function syncTarget(
  session: Session,
  target: RegistryRepository,
  c: SyncImageCopy,
  ecr: boolean,
  trustJournal: boolean,
  claim: ImageClaim,
): ImageTarget {
  const host = c.targetHost;
  const repo = c.targetRepo;
  const journal = c.blobs;
  const bucket = ecr ? putImageBucket(c.pacing, `${host}/${repo}`) : undefined;
  const layers = ecr ? layerBucket(c.pacing, host) : undefined;
  const land = async (d: Descriptor, result: BlobPutResult) => {
    claim.blobs.add(d.digest);
    await journal?.record(host, repo, d.digest);
    return result;
  };
  const checkBlobs = async (descriptors: readonly Descriptor[], opts?: { signal?: AbortSignal | undefined }) => {
    const known = trustJournal && journal ? descriptors.filter((d) => journal.has(host, repo, d.digest)) : [];
    const rest = descriptors.filter((d) => !known.includes(d));
    const present = rest.length > 0 ? await target.checkBlobs(rest, opts) : new Set<string>();
    for (const d of rest) if (present.has(d.digest)) await journal?.record(host, repo, d.digest);
    for (const d of known) present.add(d.digest);
    for (const d of present) claim.blobs.add(d);
    return present;
  };
  const putBlob: ImageTarget['putBlob'] = async (d, open, opts) => {
    const key = `${host} ${d.digest}`;
    const signal = opts?.signal ? { signal: opts.signal } : {};
    for (;;) {
      const mountable = !c.pacing.noMount.has(host);
      // The same blob on its way into another repository of this registry (a shared base
      // layer): wait until that image is stored, then mount the blob rather than send it
      // twice. Only an image that has claimed nothing waits, so waits never form a cycle:
      // a wait on image Y starts after Y claimed (and claims last until Y is stored), and
      // Y's own waits all started before its first claim — so around a cycle the start
      // times would have to fall forever.
      const pending = mountable && claim.keys.size === 0 ? c.pacing.uploading.get(key) : undefined;
      if (pending && pending !== claim.stored) {
        await pending.catch(() => {});
        continue;
      }
      const from = mountable ? journal?.holder(host, repo, d.digest) : undefined;
      if (from === undefined) break;
      await layers?.take();
      if (await target.mountBlob(d, from, signal)) return land(d, 'mounted');
      // The registry declined a mount from a repository whose image holds the blob (ECR
      // without BLOB_MOUNTING): do not ask again this run.
      c.pacing.noMount.add(host);
      break;
    }
    // Claimed before any await: a repository asking for this blob from now on waits.
    if (!c.pacing.uploading.has(key)) {
      c.pacing.uploading.set(key, claim.stored);
      claim.keys.add(key);
    }
    await layers?.take();
    return land(d, await target.putBlob(d, open, opts));
  };
  const putManifest = async (m: ManifestBlob, tag?: string, opts?: { signal?: AbortSignal | undefined }) => {
    for (let tries = 0; ; tries++) {
      await bucket?.take();
      try {
        const digest = await target.putManifest(m, tag, opts);
        bucket?.succeeded();
        return digest;
      } catch (err) {
        if (!bucket || tries >= 3 || !throttled(err)) throw err;
        bucket.throttled();
        session.log.verbose(`${host}/${repo}: PutImage throttled; pacing at ${bucket.rate.toFixed(1)}/s`);
      }
    }
  };
  return new Proxy(target, {
    get(t, key) {
      if (key === 'checkBlobs') return checkBlobs;
      if (key === 'putBlob') return putBlob;
      if (key === 'putManifest') return putManifest;
      const value = Reflect.get(t, key);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  }) as ImageTarget;
}

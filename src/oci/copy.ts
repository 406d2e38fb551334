// The transfer engine: copies an image from any ImageSource to any ImageTarget. Blobs go
// first (largest first, in parallel), then image manifests, then the index, then tags, so a
// failure at any point leaves no tag pointing at an incomplete image. Bytes and digests are
// preserved exactly: manifests are re-sent as the bytes they were read as, never re-encoded.
import { EcrctlError, InterruptedError, NotFoundError, UsageError } from '../errors.js';
import { isImageManifestMediaType, isIndexMediaType } from './media-types.js';
import { noteBytesMoved } from './memory.js';
import type { BlobPutResult, ImageSource, ImageTarget } from './store.js';
import type { Descriptor, ImageIndex, ImageManifest, ManifestBlob, Platform } from './types.js';

/** A platform selector: `os/arch[/variant]`. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** Returns the platform that `os/arch[/variant]` names, or throws UsageError. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  const part = /^[a-z0-9._-]+$/;
  if (
    parts.length < 2 ||
    parts.length > 3 ||
    !os ||
    !architecture ||
    !part.test(os) ||
    !part.test(architecture) ||
    (variant !== undefined && !part.test(variant))
  ) {
    throw new UsageError(`invalid platform ${JSON.stringify(text)}`, {
      rule: 'a platform is os/arch or os/arch/variant, lowercase',
      value: text,
      fix: 'write e.g. --platform linux/amd64 or --platform linux/arm64/v8',
    });
  }
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/**
 * Returns the first index entry for a platform (os and architecture equal; the variant too
 * when one is asked for), or undefined. The one platform matcher of the copy engine and plans.
 */
export function findPlatform<D extends { platform?: Platform | undefined }>(
  entries: readonly D[],
  want: PlatformSpec,
): D | undefined {
  return entries.find(
    (d) =>
      d.platform?.os === want.os &&
      d.platform?.architecture === want.architecture &&
      (want.variant === undefined || d.platform?.variant === want.variant),
  );
}

/** Returns `os/arch[/variant]` for a platform. */
export function formatPlatform(p: Platform | PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * A blob this size or smaller is small: its transfer time is round trips, not bytes (2 MiB is
 * about what one round trip carries at 500 Mbit/s and 40 ms). A "1 MiB" layer is a little
 * over 1 MiB once tar and gzip framing are added: at a 1 MiB line those went 4 at a time.
 */
export const SMALL_BLOB = 2 * 1024 * 1024;
/** What one blob's requests leave to collect, counted as bytes moved (see noteBytesMoved). */
const BLOB_GARBAGE = 1024 * 1024;
/** How many more small blobs than `concurrency` run at once, at most … */
export const SMALL_BLOB_FACTOR = 4;
/**
 * … and the most bytes of small blobs in flight together: sixteen 100 KiB blobs at once, but
 * four of 2 MiB, so a copy's small downloads (each buffered up to its size while its upload
 * waits) cannot add 16 × 2 MiB to peak memory. 8 MiB in flight per two round trips (POST,
 * PUT) still fills 500 Mbit/s at 40 ms.
 */
export const SMALL_BLOB_BUDGET = 8 * 1024 * 1024;

export type CopyEvent =
  | { kind: 'plan'; blobs: number; bytes: number; manifests: number }
  | { kind: 'blob-start'; descriptor: Descriptor }
  | { kind: 'blob-progress'; descriptor: Descriptor; bytes: number }
  | { kind: 'blob-done'; descriptor: Descriptor; result: BlobPutResult }
  | { kind: 'manifest'; digest: string; tag?: string; unchanged: boolean };

export interface CopyOptions {
  /** Copy only the image for this platform out of an index. */
  platform?: PlatformSpec;
  /** Tags to put on the copied image at the target (none: stored by digest only). */
  tags?: readonly string[];
  /** Blobs in flight at once (default 4); small blobs (≤ 1 MiB) get four times as many, unless 1. */
  concurrency?: number;
  signal?: AbortSignal;
  onEvent?: (event: CopyEvent) => void;
  /** What the target's tags point at, already looked up by the caller (saves a HEAD per tag). */
  knownTags?: ReadonlyMap<string, string | undefined>;
  /**
   * Commit the target at the end (default true). False when more goes into the same target
   * first (referrers into an OCI layout): the caller commits once, after everything.
   */
  commit?: boolean;
  /**
   * Start listing the source's referrers of the copied manifests beside the blobs, so that
   * the referrer copy that follows finds the answers waiting (default: when commit is false,
   * which is how callers that carry referrers next call the engine).
   */
  prefetchReferrers?: boolean;
}

/** What a registry source or target offers beyond the interfaces: batched and early requests. */
interface RoundTripSavers {
  /** HEADs every blob at once; returns the digests present (see RegistryRepository.checkBlobs). */
  checkBlobs?(descriptors: readonly Descriptor[], opts?: { signal?: AbortSignal | undefined }): Promise<Set<string>>;
  /** Starts a referrers listing that a later listReferrers takes (RegistryRepository). */
  prefetchReferrers?(digest: string, opts?: { signal?: AbortSignal | undefined }): void;
}

/** Referrer listings started early per copy, at most (an index of many platforms). */
const MAX_PREFETCHED_REFERRERS = 16;

export interface CopySummary {
  /** Digest of the root manifest at the target (the child's, when a platform was chosen). */
  digest: string;
  mediaType: string;
  /** Tags now pointing at digest, and which of them already did. */
  tags: string[];
  unchangedTags: string[];
  platforms: string[];
  blobs: { total: number; uploaded: number; skipped: number; mounted: number };
  /** Bytes of blob content sent (uploaded), and the total size of all blobs. */
  bytesUploaded: number;
  bytesTotal: number;
  manifests: number;
  durationMs: number;
}

/** Nested indexes deeper than this are refused (a loop or a hostile index). */
const MAX_INDEX_DEPTH = 4;

interface Plan {
  /** Manifests in the order they must be written: children before parents. */
  manifests: ManifestBlob[];
  blobs: Map<string, Descriptor>;
  platforms: string[];
}

/** Copies the image that sourceRef names from source to target; returns what happened. */
export async function copyImage(
  source: ImageSource,
  sourceRef: string,
  target: ImageTarget,
  opts: CopyOptions = {},
): Promise<CopySummary> {
  const started = performance.now();
  const signal = opts.signal;
  const emit = opts.onEvent ?? (() => {});
  const root = await source.getManifest(sourceRef, { signal });
  const plan: Plan = { manifests: [], blobs: new Map(), platforms: [] };
  const chosen = await planManifest(source, root, plan, opts, 0, new Set<string>(), signal);

  const blobs = [...plan.blobs.values()].sort((a, b) => b.size - a.size);
  const bytesTotal = blobs.reduce((n, d) => n + d.size, 0);
  emit({ kind: 'plan', blobs: blobs.length, bytes: bytesTotal, manifests: plan.manifests.length });
  const rootManifest = plan.manifests[plan.manifests.length - 1]!;

  // Referrer discovery runs beside the blobs instead of after them (a round trip or three
  // per manifest otherwise sits after the last blob).
  const sourceSavers = source as ImageSource & RoundTripSavers;
  if ((opts.prefetchReferrers ?? opts.commit === false) && typeof sourceSavers.prefetchReferrers === 'function') {
    for (const m of plan.manifests.slice(-MAX_PREFETCHED_REFERRERS).reverse())
      sourceSavers.prefetchReferrers(m.digest, { signal });
  }

  // What the target's tags point at: known from the caller, else asked all at once.
  const tags = [...new Set(opts.tags ?? [])];
  const tagState = new Map<string, string | undefined>();
  const unknownTags = tags.filter((t) => !opts.knownTags?.has(t));
  for (const t of tags) if (opts.knownTags?.has(t)) tagState.set(t, opts.knownTags.get(t));
  if (target.registry !== undefined && unknownTags.length > 0) {
    const found = await Promise.all(unknownTags.map((t) => target.headManifest(t, { signal })));
    for (const [i, t] of unknownTags.entries()) tagState.set(t, found[i]?.digest);
  }
  // A registry keeps every blob and child of a manifest it stores: when every tag already
  // points at this digest, nothing is left to check or send.
  const settled =
    target.registry !== undefined &&
    tags.length > 0 &&
    tags.every((t) => tagState.has(t) && tagState.get(t) === rootManifest.digest);

  const counts = { uploaded: 0, skipped: 0, mounted: 0 };
  let bytesUploaded = 0;
  const sameRepository =
    source.registry !== undefined &&
    target.registry !== undefined &&
    source.registry.host === target.registry.host &&
    source.registry.repository === target.registry.repository;
  const canMount =
    !sameRepository &&
    source.registry !== undefined &&
    target.registry !== undefined &&
    source.registry.host === target.registry.host &&
    target.mountBlob !== undefined;

  // Every existence check in one parallel round (a registry target that can batch them).
  const targetSavers = target as ImageTarget & RoundTripSavers;
  const present =
    !settled && !sameRepository && target.registry !== undefined && typeof targetSavers.checkBlobs === 'function'
      ? await targetSavers.checkBlobs(blobs, { signal })
      : undefined;

  const copyBlob = async (d: Descriptor): Promise<void> => {
    throwIfAborted(signal);
    emit({ kind: 'blob-start', descriptor: d });
    let result: BlobPutResult;
    if (sameRepository || settled || present?.has(d.digest)) {
      result = 'skipped';
    } else if (
      present === undefined &&
      (canMount || target.registry === undefined) &&
      (await target.hasBlob(d, { signal }))
    ) {
      // A registry's putBlob asks HEAD itself, so asking here too would cost a second round
      // trip per blob; only a mount (which must come before any upload) needs the answer first.
      result = 'skipped';
    } else if (canMount && (await target.mountBlob!(d, source.registry!.repository, { signal }))) {
      result = 'mounted';
    } else {
      result = await target.putBlob(d, (offset) => source.openBlob(d, { signal, offset }), {
        signal,
        onProgress: progressEvery(PROGRESS_BYTES, PROGRESS_MS, (bytes) =>
          emit({ kind: 'blob-progress', descriptor: d, bytes }),
        ),
      });
      if (result === 'uploaded') bytesUploaded += d.size;
    }
    counts[result]++;
    emit({ kind: 'blob-done', descriptor: d, result });
    // Each blob leaves JS garbage (requests, headers, promises) however few its bytes: counted
    // as BLOB_GARBAGE bytes moved, 200 small blobs collect young garbage every 16 blobs
    // instead of letting it fill V8's young generation (measured: 122 → 108 MB peak RSS
    // for 200 × 100 KiB with a 2 MiB young generation).
    noteBytesMoved(BLOB_GARBAGE);
  };
  // A small blob's time is round trips (POST, PUT), not bytes: they run SMALL_BLOB_FACTOR
  // times as many at once beside the large ones, which keep `concurrency` to themselves.
  // `--concurrency 1` means one blob at a time (a flaky link, a registry that cannot take
  // more): then a single pool, small blobs included.
  const limit = opts.concurrency ?? 4;
  await runPools(
    limit === 1
      ? [{ items: blobs, limit }]
      : [
          { items: blobs.filter((d) => d.size > SMALL_BLOB), limit },
          {
            items: blobs.filter((d) => !(d.size > SMALL_BLOB)),
            limit: limit * SMALL_BLOB_FACTOR,
            budget: { bytes: SMALL_BLOB_BUDGET, cost: (d: Descriptor) => d.size },
          },
        ],
    copyBlob,
    signal,
  );

  // Children before parents; the root last, and only then tags.
  for (const m of plan.manifests) {
    throwIfAborted(signal);
    if (m === rootManifest) break;
    if (settled) {
      emit({ kind: 'manifest', digest: m.digest, unchanged: true });
      continue;
    }
    const present = await target.headManifest(m.digest, { signal });
    if (present?.digest !== m.digest) await target.putManifest(m, undefined, { signal });
    emit({ kind: 'manifest', digest: m.digest, unchanged: present?.digest === m.digest });
  }
  const unchangedTags: string[] = [];
  if (tags.length === 0) {
    const present = await target.headManifest(rootManifest.digest, { signal });
    if (present?.digest !== rootManifest.digest) await target.putManifest(rootManifest, undefined, { signal });
    emit({ kind: 'manifest', digest: rootManifest.digest, unchanged: present?.digest === rootManifest.digest });
  }
  for (const tag of tags) {
    throwIfAborted(signal);
    const present = tagState.has(tag) ? tagState.get(tag) : (await target.headManifest(tag, { signal }))?.digest;
    const unchanged = present === rootManifest.digest;
    if (unchanged) unchangedTags.push(tag);
    else await target.putManifest(rootManifest, tag, { signal });
    emit({ kind: 'manifest', digest: rootManifest.digest, tag, unchanged });
  }
  throwIfAborted(signal);
  if (opts.commit !== false) await target.commit({ signal });

  return {
    digest: chosen.digest,
    mediaType: chosen.mediaType,
    tags,
    unchangedTags,
    platforms: plan.platforms,
    blobs: { total: blobs.length, ...counts },
    bytesUploaded,
    bytesTotal,
    manifests: plan.manifests.length,
    durationMs: performance.now() - started,
  };
}

/** Parses manifest JSON, naming the manifest when it is not valid. */
export function parseManifest(m: ManifestBlob): ImageManifest | ImageIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(m.bytes.toString('utf8'));
  } catch (err) {
    throw new EcrctlError(`manifest ${m.digest} is not valid JSON`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || (doc as { schemaVersion?: unknown }).schemaVersion !== 2) {
    throw new EcrctlError(`manifest ${m.digest} is not a schema version 2 manifest`, {
      fix: 'schema 1 manifests are deprecated and not supported; re-push the image with a current client',
    });
  }
  return doc as ImageManifest | ImageIndex;
}

/** Returns the media type of a manifest: its declared one, else inferred from its shape. */
export function manifestKind(m: ManifestBlob, doc: ImageManifest | ImageIndex): 'index' | 'image' {
  if (isIndexMediaType(m.mediaType) || isIndexMediaType(doc.mediaType)) return 'index';
  if (isImageManifestMediaType(m.mediaType) || isImageManifestMediaType(doc.mediaType)) return 'image';
  if (Array.isArray((doc as ImageIndex).manifests)) return 'index';
  if ((doc as ImageManifest).config && Array.isArray((doc as ImageManifest).layers)) return 'image';
  throw new EcrctlError(`manifest ${m.digest} has media type ${m.mediaType}, which ecrctl cannot copy`);
}

async function planManifest(
  source: ImageSource,
  m: ManifestBlob,
  plan: Plan,
  opts: CopyOptions,
  depth: number,
  ancestors: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<ManifestBlob> {
  if (ancestors.has(m.digest)) {
    throw new EcrctlError(`index ${m.digest} references itself`, {
      value: m.digest,
      fix: 'the registry serves a manifest loop; report it to its operator',
    });
  }
  // Only the path from the root counts as a loop: siblings may share a child.
  const path = new Set(ancestors).add(m.digest);
  const doc = parseManifest(m);
  if (manifestKind(m, doc) === 'image') {
    const image = doc as ImageManifest;
    for (const d of [image.config, ...image.layers]) {
      if (d.urls && d.urls.length > 0 && /foreign/.test(d.mediaType)) continue; // foreign layers stay where they are
      plan.blobs.set(d.digest, d);
    }
    plan.manifests.push(m);
    return m;
  }
  if (depth >= MAX_INDEX_DEPTH) {
    throw new EcrctlError(`index ${m.digest} nests more than ${MAX_INDEX_DEPTH} levels of indexes`);
  }
  const index = doc as ImageIndex;
  if (!Array.isArray(index.manifests)) throw new EcrctlError(`index ${m.digest} has no manifests list`);
  if (opts.platform && depth === 0) {
    const want = opts.platform;
    const match = findPlatform(index.manifests, want);
    if (!match) {
      const offered = index.manifests
        .filter((d) => d.platform)
        .map((d) => formatPlatform(d.platform!))
        .join(', ');
      throw new NotFoundError(`no image for platform ${formatPlatform(want)} in ${m.digest}`, {
        value: formatPlatform(want),
        fix: offered ? `choose one of: ${offered}` : 'the index declares no platforms; copy without --platform',
      });
    }
    plan.platforms.push(formatPlatform(match.platform!));
    const child = await source.getManifest(match.digest, { signal });
    return planManifest(source, child, plan, { ...opts, platform: undefined }, depth + 1, path, signal);
  }
  for (const d of index.manifests) {
    throwIfAborted(signal);
    if (d.platform) plan.platforms.push(formatPlatform(d.platform));
    // One image listed twice (e.g. for two variants) is planned, and written, once.
    if (plan.manifests.some((x) => x.digest === d.digest)) continue;
    const child = await source.getManifest(d.digest, { signal });
    if (child.digest !== d.digest)
      throw new EcrctlError(`index ${m.digest} entry ${d.digest} resolved to ${child.digest}`);
    await planManifest(source, child, plan, opts, depth + 1, path, signal);
  }
  plan.manifests.push(m);
  return m;
}

/** Runs work over items with at most `limit` in flight; the first failure stops the rest. */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  await runPools([{ items, limit }], work, signal);
}

/** What a pool group may have in flight by weight: the sum of cost() stays within bytes. */
export interface PoolBudget<T> {
  bytes: number;
  cost: (item: T) => number;
}

/**
 * Runs work over several groups of items at once, each group with at most its own `limit`
 * in flight (and, with a budget, at most `budget.bytes` of cost in flight; one item always
 * may run, however heavy); the first failure in any group stops them all from starting more.
 */
export async function runPools<T>(
  groups: ReadonlyArray<{ items: readonly T[]; limit: number; budget?: PoolBudget<T> }>,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let failed: unknown;
  const done: Array<Promise<void>> = [];
  for (const { items, limit, budget } of groups) {
    if (items.length === 0) continue;
    const max = Math.max(1, limit);
    let next = 0;
    let running = 0;
    let weight = 0;
    done.push(
      new Promise<void>((resolve) => {
        const fill = () => {
          while (failed === undefined && next < items.length && running < max) {
            const item = items[next] as T;
            const cost = budget ? budget.cost(item) : 0;
            if (budget && running > 0 && weight + cost > budget.bytes) break;
            next++;
            running++;
            weight += cost;
            const finish = (err?: unknown) => {
              if (err !== undefined) failed ??= err;
              running--;
              weight -= cost;
              fill();
            };
            (async () => {
              throwIfAborted(signal);
              await work(item);
            })().then(() => finish(), finish);
          }
          if (running === 0 && (failed !== undefined || next >= items.length)) resolve();
        };
        fill();
      }),
    );
  }
  await Promise.all(done);
  if (failed !== undefined) throw failed;
}

/** Throws InterruptedError when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/** Progress is reported at most once per this many bytes moved … */
const PROGRESS_BYTES = 256 * 1024;
/** … unless this many milliseconds passed since the last report (a slow link still moves). */
const PROGRESS_MS = 100;

/**
 * Returns a byte-count callback that passes on one count per `bytes` moved or `ms` elapsed.
 * The verifier reports every network read (16 KiB over TLS, ~2,500 for a 40 MB pull), and
 * each report went through the session's event chain to the CLI's renderer: measured ~40 ms
 * CPU of a pull. A renderer paints at most every 100 ms, and blob-done carries the final size.
 */
export function progressEvery(bytes: number, ms: number, report: (n: number) => void): (n: number) => void {
  let lastBytes = 0;
  let lastTime = Number.NEGATIVE_INFINITY; // the first count always goes through
  return (n) => {
    // n falls back when a dropped download restarts from a lower offset: report that at once.
    if (n - lastBytes < bytes && n >= lastBytes) {
      const now = performance.now();
      if (now - lastTime < ms) return;
      lastTime = now;
    } else lastTime = performance.now();
    lastBytes = n;
    report(n);
  };
}

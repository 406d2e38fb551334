// Carries an image's OCI 1.1 referrers (signatures, SBOMs, attestations) from a source to a
// target after the image itself was copied: the referrers of the image, of each platform
// child of an index, and — up to a depth limit — referrers of referrers (a signature on an
// SBOM). Each referrer is copied with the transfer engine (blobs first, manifest by digest).
// A destination that stores a referrer but does not list it through the referrers API (no
// API: 404; ECR has answered 405) gets the OCI referrers tag schema instead: an index under
// the tag `sha256-<hex>` of the subject, merged with what that tag already lists. Referrers
// the destination refuses are reported, never dropped silently.
import { EcrctlError, HttpStatusError, InterruptedError, NotFoundError } from '../errors.js';
import { copyImage, manifestKind, parseManifest } from './copy.js';
import { MediaType } from './media-types.js';
import type { ImageSource, ImageTarget, OpOptions } from './store.js';
import type { Descriptor, ImageIndex, ManifestBlob } from './types.js';

/** A target that can also be read (a registry repository): needed to keep the tag schema. */
export interface ReferrerTarget extends ImageTarget {
  listReferrers?(digest: string, opts?: OpOptions): Promise<Descriptor[]>;
  getManifest?(reference: string, opts?: OpOptions): Promise<ManifestBlob>;
}

export interface ReferrerCopyOptions {
  /** How deep to follow referrers of referrers: 1 = only the image's own (default 3). */
  maxDepth?: number;
  /** Also carry the referrers of each child of an index (default true). */
  includeChildren?: boolean;
  signal?: AbortSignal;
  /** Receives one line per notable step (fallbacks at the target, refusals). */
  log?: (message: string) => void;
  /** Receives routine lines (a source without a referrers API); default: dropped. */
  note?: (message: string) => void;
}

/** What happened to one referrer. */
export interface ReferrerOutcome {
  digest: string;
  /** The manifest it refers to. */
  subject: string;
  artifactType?: string;
  /** 1 for a referrer of the image (or of a child of it), 2 for a referrer of that, … */
  depth: number;
  /** copied; present (already at the destination); refused (see error). */
  status: 'copied' | 'present' | 'refused';
  /** How the destination lists it: through its referrers API or the `sha256-<hex>` tag. */
  via?: 'referrers-api' | 'tag-schema';
  error?: string;
}

/** The referrers a copy carried, and what it could not. */
export interface ReferrersReport {
  referrers: ReferrerOutcome[];
  copied: number;
  present: number;
  refused: number;
  /** Subjects for which the `sha256-<hex>` tag was written (the destination has no usable referrers API). */
  tagSchemaSubjects: string[];
  /** Referrers left behind because they are deeper than maxDepth. */
  beyondDepth: number;
}

/** Returns the tag the OCI referrers tag schema uses for a subject digest (`sha256-<hex>`). */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

/** Statuses with which a registry says it has no referrers API. */
const NO_API = new Set([400, 404, 405, 501]);

/** Copies the referrers of subjectDigest (and of an index's children, and of referrers) from source to target. */
export async function copyReferrers(
  source: ImageSource,
  target: ReferrerTarget,
  subjectDigest: string,
  opts: ReferrerCopyOptions = {},
): Promise<ReferrersReport> {
  const maxDepth = Math.max(1, opts.maxDepth ?? 3);
  const { signal } = opts;
  const log = opts.log ?? (() => {});
  const note = opts.note ?? (() => {});
  const report: ReferrersReport = {
    referrers: [],
    copied: 0,
    present: 0,
    refused: 0,
    tagSchemaSubjects: [],
    beyondDepth: 0,
  };
  const queue: { subject: string; depth: number }[] = [{ subject: subjectDigest, depth: 1 }];
  if (opts.includeChildren !== false) {
    for (const child of await childrenOf(source, subjectDigest, signal)) queue.push({ subject: child, depth: 1 });
  }
  const seen = new Set<string>([subjectDigest]);

  while (queue.length > 0) {
    const { subject, depth } = queue.shift()!;
    if (signal?.aborted) throw new InterruptedError();
    const found = (await sourceReferrers(source, subject, signal, note)).filter((d) => !seen.has(d.digest));
    if (found.length === 0) continue;
    if (depth > maxDepth) {
      report.beyondDepth += found.length;
      log(`${found.length} referrer(s) of ${subject} are deeper than ${maxDepth} levels; not copied`);
      continue;
    }
    const stored: { descriptor: Descriptor; outcome: ReferrerOutcome }[] = [];
    for (const d of found) {
      seen.add(d.digest);
      const outcome: ReferrerOutcome = {
        digest: d.digest,
        subject,
        depth,
        status: 'copied',
        ...(d.artifactType ? { artifactType: d.artifactType } : {}),
      };
      report.referrers.push(outcome);
      try {
        const present = await target.headManifest(d.digest, { signal });
        if (present?.digest === d.digest) outcome.status = 'present';
        // The caller commits the target once, after the image and all its referrers.
        else await copyImage(source, d.digest, target, { tags: [], commit: false, ...(signal ? { signal } : {}) });
        stored.push({ descriptor: d, outcome });
        queue.push({ subject: d.digest, depth: depth + 1 });
      } catch (err) {
        if (signal?.aborted || err instanceof InterruptedError) throw err;
        outcome.status = 'refused';
        outcome.error = err instanceof Error ? err.message : String(err);
        log(
          `${target.displayName} refused referrer ${d.digest}${d.artifactType ? ` (${d.artifactType})` : ''} of ${subject}: ${outcome.error}`,
        );
      }
    }
    if (stored.length > 0) await ensureListed(target, subject, stored, report, signal, log);
  }
  for (const r of report.referrers) report[r.status]++;
  return report;
}

/** Returns the digests of an index's children (none for an image or an unreadable manifest). */
async function childrenOf(source: ImageSource, digest: string, signal: AbortSignal | undefined): Promise<string[]> {
  const m = await source.getManifest(digest, { signal });
  const doc = parseManifest(m);
  if (manifestKind(m, doc) !== 'index') return [];
  return [...new Set((doc as ImageIndex).manifests.map((d) => d.digest))];
}

/** Returns the referrers the source lists for subject: its API, else the tag schema. */
async function sourceReferrers(
  source: ImageSource,
  subject: string,
  signal: AbortSignal | undefined,
  log: (m: string) => void,
): Promise<Descriptor[]> {
  if (!source.listReferrers) return [];
  try {
    return await source.listReferrers(subject, { signal });
  } catch (err) {
    // Interrupts and errors with their own exit code (authentication: 5) keep it.
    if (err instanceof InterruptedError || signal?.aborted || (err instanceof EcrctlError && err.exitCode !== 1))
      throw err;
    if (!(err instanceof HttpStatusError && NO_API.has(err.status))) {
      throw new EcrctlError(
        `could not list the referrers of ${subject} in ${source.displayName}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
          fix: 'the image itself was transferred; use --no-referrers to leave signatures and SBOMs behind',
        },
      );
    }
    log(`${source.displayName} answered ${err.status} to the referrers API; reading the tag ${referrersTag(subject)}`);
    return (await readTagIndex(source, subject, signal)) ?? [];
  }
}

/** Returns the descriptors the `sha256-<hex>` tag index lists, or undefined when there is no such tag. */
async function readTagIndex(
  store: { getManifest?(reference: string, opts?: OpOptions): Promise<ManifestBlob> },
  subject: string,
  signal: AbortSignal | undefined,
): Promise<Descriptor[] | undefined> {
  if (!store.getManifest) return undefined;
  try {
    const m = await store.getManifest(referrersTag(subject), { signal });
    const list = (JSON.parse(m.bytes.toString('utf8')) as { manifests?: unknown }).manifests;
    return Array.isArray(list) ? (list.filter((d) => d !== null && typeof d === 'object') as Descriptor[]) : [];
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * Makes sure the target lists the stored referrers of subject: when its referrers API does
 * not (or it has none), the `sha256-<hex>` tag index is written, merged with what it lists.
 */
async function ensureListed(
  target: ReferrerTarget,
  subject: string,
  stored: { descriptor: Descriptor; outcome: ReferrerOutcome }[],
  report: ReferrersReport,
  signal: AbortSignal | undefined,
  log: (m: string) => void,
): Promise<void> {
  let listed: Descriptor[] = [];
  let apiAnswered = true;
  if (target.listReferrers) {
    try {
      listed = await target.listReferrers(subject, { signal });
    } catch (err) {
      if (!(err instanceof HttpStatusError && NO_API.has(err.status))) throw err;
      apiAnswered = false;
      log(
        `${target.displayName} answered ${err.status} to the referrers API: falling back to the tag schema (${referrersTag(subject)})`,
      );
    }
  }
  const tagged = await readTagIndex(target, subject, signal);
  const inTag = new Set((tagged ?? []).map((d) => d.digest));
  const listedDigests = new Set(listed.map((d) => d.digest));
  const missing = stored.filter((s) => !listedDigests.has(s.descriptor.digest) && !inTag.has(s.descriptor.digest));
  for (const s of stored) {
    // A registry without the API answers listReferrers from the tag: listed there = tag schema.
    s.outcome.via =
      inTag.has(s.descriptor.digest) || (!apiAnswered && !listedDigests.has(s.descriptor.digest))
        ? 'tag-schema'
        : 'referrers-api';
  }
  if (missing.length === 0) return;
  if (apiAnswered) {
    log(
      `${target.displayName} stored ${missing.length} referrer(s) of ${subject} but its referrers API does not list them: writing the tag ${referrersTag(subject)} (OCI referrers tag schema)`,
    );
  }
  const manifests: Descriptor[] = [...(tagged ?? [])];
  for (const s of missing) {
    const d = s.descriptor;
    manifests.push({
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.artifactType ? { artifactType: d.artifactType } : {}),
      ...(d.annotations ? { annotations: d.annotations } : {}),
    });
  }
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  try {
    await target.putManifest(
      { mediaType: MediaType.ociIndex, digest: '', bytes: Buffer.from(JSON.stringify(index)) },
      referrersTag(subject),
      { signal },
    );
    for (const s of missing) s.outcome.via = 'tag-schema';
    if (!report.tagSchemaSubjects.includes(subject)) report.tagSchemaSubjects.push(subject);
  } catch (err) {
    if (signal?.aborted || err instanceof InterruptedError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    for (const s of missing) {
      s.outcome.status = 'refused';
      s.outcome.error = `stored, but not discoverable: the tag ${referrersTag(subject)} could not be written (${why})`;
      delete s.outcome.via;
    }
    log(`could not write the referrers tag ${referrersTag(subject)} at ${target.displayName}: ${why}`);
  }
}

/** Returns a one-line summary of a referrers report (`2 referrers copied, 1 present; …`). */
export function describeReferrers(r: ReferrersReport): string {
  if (r.referrers.length === 0) return 'no referrers';
  const parts = [`${r.copied} referrer${r.copied === 1 ? '' : 's'} copied`];
  if (r.present > 0) parts.push(`${r.present} already present`);
  if (r.refused > 0) parts.push(`${r.refused} refused`);
  if (r.tagSchemaSubjects.length > 0)
    parts.push(`listed through the tag schema (${r.tagSchemaSubjects.map(referrersTag).join(', ')})`);
  if (r.beyondDepth > 0) parts.push(`${r.beyondDepth} deeper than the depth limit left behind`);
  return parts.join(', ');
}

/** Logs the summary of a referrers report; throws when the destination refused any referrer. */
export function checkReferrersReport(
  r: ReferrersReport,
  destination: string,
  log: (message: string) => void,
  done = 'copied',
): void {
  if (r.referrers.length > 0) log(`referrers: ${describeReferrers(r)}`);
  const refused = r.referrers.filter((x) => x.status === 'refused');
  if (refused.length === 0) return;
  throw new EcrctlError(
    `the image was ${done}, but ${destination} refused ${refused.length} of its referrer${refused.length === 1 ? '' : 's'}: ${refused
      .map((x) => `${x.digest}${x.artifactType ? ` (${x.artifactType})` : ''}: ${x.error ?? 'refused'}`)
      .join('; ')}`,
    {
      rule: 'an image moves with its signatures, SBOMs and attestations, or ecrctl says which it could not carry',
      fix: 'check that the destination accepts OCI 1.1 artifacts (manifests with a subject); use --no-referrers to leave them behind on purpose',
    },
  );
}

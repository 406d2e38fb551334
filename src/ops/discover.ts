// discover: the referrers of an image, recursively (signatures of SBOMs, …), from every
// place a registry may keep them: the referrers API, the `sha256-<hex>` tag index, and on
// ECR the control plane's ListImageReferrers (which also sees ARCHIVED referrers).
import { EcrctlError, InterruptedError, NotFoundError } from '../errors.js';
import { listReferrersWithFallback, readReferrersTag } from '../oci/artifact.js';
import { formatReference, manifestReference } from '../oci/reference.js';
import type { RegistryRepository } from '../oci/registry.js';
import type { Descriptor } from '../oci/types.js';
import type { Session } from '../session.js';
import { openRepository } from './artifact.js';
import { ecrConnection, ecrTarget } from './ecr.js';

/** What discover accepts. */
export interface DiscoverOptions {
  /** The image: `repo:tag`, `repo@digest`, `host/repo:tag`. */
  reference: string;
  /** Only referrers of this artifactType (at every level). */
  artifactType?: string;
  /** How deep to follow referrers of referrers (default 5). */
  maxDepth?: number;
}

/** Where a referrer was seen. */
export type ReferrerSource = 'referrers-api' | 'tag-schema' | 'ecr-api';

/** One referrer and its own referrers. */
export interface ReferrerNode {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** ACTIVE, ARCHIVED or ACTIVATING (from ListImageReferrers). */
  artifactStatus?: string;
  /** Every place that listed it. */
  sources: ReferrerSource[];
  referrers: ReferrerNode[];
}

/** What discover found. */
export interface DiscoverResult {
  reference: string;
  digest: string;
  mediaType: string;
  referrers: ReferrerNode[];
  /** How many referrers in all (every level). */
  total: number;
}

/** Lists the referrers of an image as a tree. */
export async function discover(session: Session, opts: DiscoverOptions): Promise<DiscoverResult> {
  const { repo, ref } = await openRepository(session, opts.reference);
  const subject = await repo.headManifest(manifestReference(ref), { signal: session.signal });
  if (!subject) throw new NotFoundError(`${formatReference(ref)} does not exist`, { value: opts.reference });
  const ecr = await ecrLister(session, ref.registry, ref.repository);
  const maxDepth = Math.max(1, opts.maxDepth ?? 5);
  const seen = new Set<string>([subject.digest]);
  let total = 0;
  const walk = async (digest: string, depth: number): Promise<ReferrerNode[]> => {
    if (session.signal.aborted) throw new InterruptedError();
    const found = await referrersOf(session, repo, digest, opts.artifactType, ecr);
    const nodes: ReferrerNode[] = [];
    for (const n of found) {
      if (seen.has(n.digest)) continue;
      seen.add(n.digest);
      total++;
      if (depth < maxDepth) n.referrers = await walk(n.digest, depth + 1);
      nodes.push(n);
    }
    return nodes;
  };
  const referrers = await walk(subject.digest, 1);
  return { reference: formatReference(ref), digest: subject.digest, mediaType: subject.mediaType, referrers, total };
}

type EcrLister = ((digest: string, artifactType: string | undefined) => Promise<Descriptor[]>) | undefined;

/** Returns a ListImageReferrers caller when the registry is ECR (or ecrctl local), else undefined. */
async function ecrLister(session: Session, host: string, repository: string): Promise<EcrLister> {
  const target = await ecrTarget(session, host);
  if (!target) return undefined;
  let broken = false;
  return async (digest, artifactType) => {
    if (broken) return [];
    try {
      const conn = await ecrConnection(session, target);
      const { listImageReferrers } = await import('../ecr/referrers.js');
      return await listImageReferrers(conn, {
        repository,
        subjectDigest: digest,
        ...(artifactType ? { artifactTypes: [artifactType] } : {}),
        artifactStatus: 'ANY',
      });
    } catch (err) {
      if (err instanceof InterruptedError || session.signal.aborted) throw err;
      // The data plane's answer stands on its own; say why the control plane's is missing.
      broken = true;
      session.log.warn(
        `ListImageReferrers failed (${err instanceof Error ? err.message : String(err)}); showing what the registry lists`,
      );
      return [];
    }
  };
}

/** Merges the referrers API (or its tag fallback), the tag index and ECR's list, by digest. */
async function referrersOf(
  session: Session,
  repo: RegistryRepository,
  digest: string,
  artifactType: string | undefined,
  ecr: EcrLister,
): Promise<ReferrerNode[]> {
  const byDigest = new Map<string, ReferrerNode>();
  const add = (list: readonly (Descriptor & { artifactStatus?: string })[], source: ReferrerSource) => {
    for (const d of list) {
      if (artifactType && d.artifactType !== artifactType) continue;
      let n = byDigest.get(d.digest);
      if (!n) {
        n = {
          digest: d.digest,
          mediaType: d.mediaType,
          size: d.size,
          ...(d.artifactType ? { artifactType: d.artifactType } : {}),
          ...(d.annotations && Object.keys(d.annotations).length > 0 ? { annotations: d.annotations } : {}),
          sources: [],
          referrers: [],
        };
        byDigest.set(d.digest, n);
      }
      if (d.artifactStatus && !n.artifactStatus) n.artifactStatus = d.artifactStatus;
      if (!n.sources.includes(source)) n.sources.push(source);
    }
  };
  const signal = session.signal;
  const listing = await listReferrersWithFallback(repo, digest, { ...(artifactType ? { artifactType } : {}), signal });
  if (listing.apiStatus !== undefined)
    session.log.verbose(`${repo.displayName} answered ${listing.apiStatus} to the referrers API; read the tag schema`);
  add(listing.referrers, listing.via);
  // The tag index can hold referrers the API does not list (pushed where the API was missing).
  if (listing.via === 'referrers-api') {
    try {
      add((await readReferrersTag(repo, digest, signal)) ?? [], 'tag-schema');
    } catch (err) {
      if (!(err instanceof EcrctlError) || err.exitCode !== 1) throw err;
      session.log.verbose(`could not read the referrers tag: ${err.message}`);
    }
  }
  if (ecr) add(await ecr(digest, artifactType), 'ecr-api');
  return [...byDigest.values()];
}

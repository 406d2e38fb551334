// archive and restore: move images to ECR's archival storage class (cheap, long-term, cannot
// be pulled) and back to standard (UpdateImageStorageClass). Each reference is reported; the
// rest is still done when one fails.
import { requireRegion, settingsFromSession } from '../ecr/aws-config.js';
import type { EcrConnection } from '../ecr/repositories.js';
import { type TargetStorageClass, updateImageStorageClass } from '../ecr/storage-class.js';
import { EcrctlError, isEcrctlError, NotFoundError, UsageError } from '../errors.js';
import type { Session } from '../session.js';
import { ecrConnection, parseEcrRef } from './ecr.js';

/** What archiveImages and restoreImages accept. */
export interface StorageClassOptions {
  /** The images: `repo:tag`, `repo@sha256:…`, or a full ECR reference; each names a tag or a digest. */
  refs: readonly string[];
}

/** What happened to one reference. */
export interface StorageResult {
  /** The reference as given. */
  ref: string;
  /** The repository it names. */
  repository: string;
  /** The image's digest, as ECR answered. */
  digest?: string;
  /** ARCHIVED, ACTIVATING or ACTIVE; `not-found` / `failed` when ECR refused. */
  status: string;
  /** Why it was refused. */
  reason?: string;
}

/** What archiveImages or restoreImages did: one result per reference, in the order given. */
export interface StorageClassResult {
  /** One per reference, in the order given. */
  results: StorageResult[];
}

/**
 * Moves images to the archival storage class (they cannot be pulled until restored). Every
 * reference is checked first (UsageError: no tag or digest). A reference ECR refuses does not
 * stop the others (credential and access errors do); see storageClassError.
 */
export async function archiveImages(session: Session, opts: StorageClassOptions): Promise<StorageClassResult> {
  return moveImages(session, opts.refs, 'ARCHIVE');
}

/** Restores archived images to the standard storage class (ECR reports ACTIVATING for up to 20 minutes); as archiveImages. */
export async function restoreImages(session: Session, opts: StorageClassOptions): Promise<StorageClassResult> {
  return moveImages(session, opts.refs, 'STANDARD');
}

/**
 * Returns the error an archive or restore run ends with: EcrctlError when an image failed,
 * else NotFoundError when one was not found; undefined when every image moved.
 */
export function storageClassError(result: StorageClassResult, verb: 'archive' | 'restore'): EcrctlError | undefined {
  const { results } = result;
  const missing = results.filter((r) => r.status === 'not-found');
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length > 0) {
    return new EcrctlError(
      `could not ${verb} ${failed.length} of ${results.length} image${results.length === 1 ? '' : 's'}`,
      {
        fix: failed.map((f) => `${f.ref}: ${f.reason}`).join('; '),
      },
    );
  }
  if (missing.length > 0) {
    return new NotFoundError(
      `${missing.length} of ${results.length} image${results.length === 1 ? '' : 's'} not found: ${missing.map((m) => m.ref).join(', ')}`,
      {
        fix: '`ecrctl images REPO` lists the images (archived images are listed with their status)',
      },
    );
  }
  return undefined;
}

async function moveImages(
  session: Session,
  refs: readonly string[],
  target: TargetStorageClass,
): Promise<StorageClassResult> {
  const settings = settingsFromSession(session);
  // Every reference is checked before the first call.
  const parsed = refs.map((text) => {
    const ref = parseEcrRef(session, text);
    const { region, registryId } = ref;
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new UsageError(`${text} names no tag or digest`, {
        value: text,
        fix: `write ${text}:TAG or ${text}@sha256:…; \`ecrctl images ${ref.repository}\` lists them`,
      });
    }
    return { text, repository: ref.repository, tag: ref.tag, digest: ref.digest, region, registryId };
  });

  const results: StorageResult[] = [];
  const connections = new Map<string, EcrConnection>();
  for (const p of parsed) {
    const region = p.region ?? requireRegion(settings);
    const key = `${region}/${p.registryId ?? ''}`;
    let conn = connections.get(key);
    if (!conn) {
      conn = await ecrConnection(session, { region, ...(p.registryId ? { registryId: p.registryId } : {}) });
      connections.set(key, conn);
    }
    try {
      const out = await updateImageStorageClass(
        conn,
        { repository: p.repository, ...(p.digest ? { digest: p.digest } : p.tag ? { tag: p.tag } : {}) },
        target,
      );
      results.push({
        ref: p.text,
        repository: p.repository,
        ...(out.digest ? { digest: out.digest } : {}),
        status: out.status,
      });
      session.log.info(`${p.text}: ${out.status}`);
    } catch (err) {
      // Credentials and access problems stop everything: the next reference would fail alike.
      if (!isEcrctlError(err) || err.exitCode === 5) throw err;
      const notFound = err instanceof NotFoundError;
      results.push({
        ref: p.text,
        repository: p.repository,
        status: notFound ? 'not-found' : 'failed',
        reason: err.message,
      });
      session.log.warn(`${p.text}: ${err.message}`);
    }
  }
  return { results };
}

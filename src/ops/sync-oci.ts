// `oci:DIR/` as a sync target: an air-gapped export with one OCI image layout per target
// repository under DIR (DIR/<repository>/oci-layout, index.json, blobs/), every tag recorded
// in index.json as `org.opencontainers.image.ref.name` (as `ecrctl pull REF oci:DIR:TAG`
// writes it) and the referrers stored beside their subject. Planning reads the layouts only
// (no network towards the target); a layout is written through the copy engine and committed
// once per image, so a failing image leaves the images written before it in place.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { CopySummary } from '../oci/copy.js';
import { OciLayout } from '../oci/layout/oci-dir.js';
import type { ReferrersReport } from '../oci/referrers.js';
import type { ImageTarget } from '../oci/store.js';
import type { Session } from '../session.js';
import { registryClient } from './ecr.js';
import { type BlobJournal, copyWithReferrers } from './sync-copy.js';

/** The transport prefix of an OCI layout directory side. */
export const OCI_PREFIX = 'oci:';

/** Returns true when a side as written in a sync config (`oci:DIR`) is an OCI layout directory. */
export function isOciSide(text: string): boolean {
  return text.startsWith(OCI_PREFIX);
}

/** Returns the absolute directory of an `oci:DIR` side (relative paths from the working directory). */
export function ociRoot(session: Session, text: string): string {
  return path.resolve(session.cwd, text.slice(OCI_PREFIX.length) || '.');
}

/** One repository path segment as the distribution spec allows it: never `.`, `..` or empty. */
const SEGMENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Returns the layout directory of a target repository under root, refusing a name that would
 * leave root (a registry's catalog is not trusted to name only valid repositories).
 */
export function ociRepositoryDir(root: string, repository: string): string {
  if (!repository.split('/').every((s) => SEGMENT.test(s))) {
    throw new UsageError(`${repository} is not a repository name that can be a directory under ${root}`, {
      rule: 'repository path segments are lowercase letters and digits joined by . _ -',
      value: repository,
      fix: 'leave it out with repositories.deny',
    });
  }
  return path.join(root, ...repository.split('/'));
}

/**
 * Checks that dir is a directory or absent (then apply creates it); throws a UsageError naming
 * the path when something else is there (a file where the directory should be).
 */
export async function checkOciDir(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'ENOTDIR') {
      throw new UsageError(`${what} ${dir}: a parent of it is a file, not a directory`, {
        rule: 'an oci:DIR/ sync target is a directory holding one OCI layout per repository',
        value: dir,
        fix: 'choose another directory, or move the file away',
      });
    }
    throw err;
  });
  if (info && !info.isDirectory()) {
    throw new UsageError(`${what} ${dir} is a file, not a directory`, {
      rule: 'an oci:DIR/ sync target is a directory holding one OCI layout per repository',
      value: dir,
      fix: 'choose another directory, or move the file away',
    });
  }
}

/**
 * Returns the layout of a target repository open for reading, or undefined when there is none
 * yet (an absent or empty directory). Anything else in its place throws, naming the path.
 */
export async function readOciTarget(dir: string): Promise<OciLayout | undefined> {
  await checkOciDir(dir, 'the layout directory');
  try {
    return await OciLayout.open(dir, { displayName: `oci:${dir}` });
  } catch (err) {
    const names = await readdir(dir).catch(() => undefined);
    // Missing or empty: nothing exported yet. A directory holding other things is an error.
    if (names === undefined || names.length === 0) return undefined;
    throw err;
  }
}

/** What copyOciImage accepts. */
export interface OciImageCopy {
  sourceHost: string;
  sourceRepo: string;
  /** The source manifest (by digest). */
  digest: string;
  /** The layout directory (absolute) and the name the journal and reports use for it. */
  dir: string;
  target: string;
  /** Recorded as ref names in index.json. */
  tags: string[];
  platform?: string;
  referrers: boolean;
  concurrency: number;
  blobs?: BlobJournal;
  onBytes?: (bytes: number) => void;
}

/** What copyOciImage returns: the engine's summary, and the referrers carried. */
export interface OciImageResult extends CopySummary {
  referrers?: ReferrersReport;
}

/**
 * Copies one source image (every platform, or one) with its referrers into the OCI layout of
 * its target repository, tags recorded in index.json, and commits the layout; blobs already
 * in the layout are not fetched. Each blob that lands is recorded in the blob journal.
 */
export async function copyOciImage(session: Session, c: OciImageCopy): Promise<OciImageResult> {
  const { signal } = session;
  const source = (await registryClient(session)).repository(c.sourceHost, c.sourceRepo);
  const layout = await OciLayout.create(c.dir, { displayName: `oci:${c.dir}` });
  const landed = new Set<string>();
  const store = new Proxy(layout, {
    get(t, key) {
      if (key === 'putBlob') {
        const put: ImageTarget['putBlob'] = async (d, open, opts) => {
          const r = await t.putBlob(d, open, opts);
          landed.add(d.digest);
          return r;
        };
        return put;
      }
      const value = Reflect.get(t, key);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  }) as OciLayout;
  try {
    const result = await copyWithReferrers(session, source, store, c);
    await layout.commit({ signal });
    for (const digest of landed) await c.blobs?.record(OCI_PREFIX, c.target, digest);
    return result;
  } catch (err) {
    await layout.abort().catch(() => {});
    throw err;
  }
}

/**
 * Returns the repositories of an `oci:DIR/` source: every directory under root holding an
 * `oci-layout` file, as its path relative to root (`team/app`), sorted. Layouts are not
 * searched for nested ones (a layout's blobs/ can be large); symbolic links are not followed.
 */
export async function ociRepositoriesUnder(root: string): Promise<string[]> {
  const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!info?.isDirectory()) {
    throw new UsageError(`the oci: source ${root} ${info ? 'is a file, not a directory' : 'does not exist'}`, {
      rule: 'an oci:DIR/ sync source is a directory holding one OCI layout per repository',
      value: root,
      fix: 'point at the directory a sync to oci:DIR/ wrote',
    });
  }
  const found: string[] = [];
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    if (rel.length > 0 && entries.some((e) => e.name === 'oci-layout' && e.isFile())) {
      found.push(rel.join('/'));
      return;
    }
    for (const e of entries) {
      if (e.isDirectory() && SEGMENT.test(e.name)) await walk(path.join(dir, e.name), [...rel, e.name]);
    }
  };
  await walk(root, []);
  return found.sort();
}

// delete: deletes images by tag or digest (or, with untagOnly, removes tags and keeps the
// images), at most 100 ids per BatchDeleteImage call, and reports what ECR said about each
// reference rather than assuming that everything asked for went away.
import { resolveRegion, requireRegion, settingsFromSession } from '../ecr/aws-config.js';
import { deleteImages as deleteEcrImages, listImages as listEcrImages } from '../ecr/images.js';
import { connectEcrPublic, deletePublicImages, listPublicImages } from '../ecr/public-repositories.js';
import { PUBLIC_ECR_REGION } from '../ecr/hosts.js';
import { EcrctlError, NotFoundError, UsageError } from '../errors.js';
import type { Session } from '../session.js';
import { ecrConnection, parseEcrRef } from './ecr.js';

/** What deleteImages accepts. */
export interface DeleteImagesOptions {
  /** The images: `repo:tag`, `repo@sha256:…`, or a full ECR reference; each names a tag or a digest. */
  refs: readonly string[];
  /** Remove the tags named and keep the images (an image's only tag is refused: ECR would delete it). */
  untagOnly?: boolean;
  /** Report what would be deleted (from one DescribeImages listing per repository) and delete nothing. */
  dryRun?: boolean;
  /**
   * The repositories are ECR Public repositories of the account (us-east-1): refs are
   * `name:tag`, `name@sha256:…` or the repository URI (`public.ecr.aws/ALIAS/name:tag`).
   */
  public?: boolean;
}

/** What happened to one reference. */
export interface DeleteResult {
  /** The reference as given. */
  ref: string;
  /** The repository it names. */
  repository: string;
  /** deleted (the image went), untagged (the tag went, the image stayed), not-found, or failed. */
  status: 'deleted' | 'untagged' | 'not-found' | 'failed';
  /** The image's digest, when it was found. */
  digest?: string;
  /** deleted: the tags that went with the image; untagged: the tag removed. */
  tags?: string[];
  /** ECR's failure code (ImageNotFound, RepositoryNotFound, …), or OnlyTag. */
  code?: string;
  /** Why it was not done, as ECR (or ecrctl) says it. */
  reason?: string;
}

/** What deleteImages did: one result per reference (in the order given) and the counts. */
export interface DeleteImagesResult {
  /** One per reference, in the order given. */
  results: DeleteResult[];
  /** How many references were deleted. */
  deleted: number;
  /** How many tags were removed (untagOnly). */
  untagged: number;
  /** How many references were not found. */
  notFound: number;
  /** How many references failed for another reason. */
  failed: number;
  /** True when nothing was deleted: the statuses say what would have happened. */
  dryRun: boolean;
}

interface ParsedRef {
  text: string;
  repository: string;
  tag?: string;
  digest?: string;
  region: string;
  registryId?: string;
}

/**
 * Deletes images (or removes tags). Every reference is checked first (UsageError: no tag or
 * digest; a digest with untagOnly). References into one repository share one listing and
 * batched BatchDeleteImage calls. A reference that fails does not stop the others: see
 * deleteImagesError for the error that the whole run amounts to.
 */
export async function deleteImages(session: Session, opts: DeleteImagesOptions): Promise<DeleteImagesResult> {
  const untagOnly = opts.untagOnly === true;
  const dryRun = opts.dryRun === true;
  const settings = settingsFromSession(session);
  const isPublic = opts.public === true;
  const region = isPublic ? PUBLIC_ECR_REGION : (resolveRegion(settings) ?? '');
  const parsed = isPublic ? parsePublicRefs(opts.refs, untagOnly) : parseRefs(session, opts.refs, untagOnly, region);
  if (parsed.some((p) => p.region === '')) requireRegion(settings); // throws the usual "no region" error
  const pub = isPublic
    ? await connectEcrPublic(settings, session.aws.registryId ? { registryId: session.aws.registryId } : {})
    : undefined;

  const groups = new Map<string, ParsedRef[]>();
  for (const p of parsed) {
    const key = `${p.region}\n${p.registryId ?? ''}\n${p.repository}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const results = new Map<ParsedRef, DeleteResult>();
  const base = (p: ParsedRef): DeleteResult => ({ ref: p.text, repository: p.repository, status: 'failed' });
  for (const members of groups.values()) {
    const first = members[0] as ParsedRef;
    const repository = first.repository;
    // The same listing and batch delete, from ECR or from ECR Public.
    let list: () => Promise<{ digest: string; tags: string[] }[]>;
    let remove: (ids: readonly { digest?: string; tag?: string }[]) => ReturnType<typeof deleteEcrImages>;
    if (pub) {
      list = () => listPublicImages(pub, repository);
      remove = (ids) => deletePublicImages(pub, repository, ids);
    } else {
      const conn = await ecrConnection(session, {
        region: first.region,
        ...(first.registryId ? { registryId: first.registryId } : {}),
      });
      list = () => listEcrImages(conn, repository);
      remove = (ids) => deleteEcrImages(conn, repository, ids);
    }
    try {
      // Tags are resolved from one listing: a plain delete by tag deletes the image (by
      // digest), and --untag-only must know which other tags the image keeps.
      // A dry run lists in every case, to say whether a digest exists (DescribeImages: no
      // manifest is read, so no image counts as pulled).
      const byTag = new Map<string, { digest: string; tags: string[] }>();
      const byDigest = new Map<string, string[]>();
      if (dryRun || members.some((m) => m.tag !== undefined)) {
        for (const image of await list()) {
          byDigest.set(image.digest, image.tags);
          for (const t of image.tags) byTag.set(t, { digest: image.digest, tags: image.tags });
        }
      }
      const ids: { digest?: string; tag?: string }[] = [];
      const seen = new Set<string>();
      const remaining = new Map<string, number>();
      // What each reference sends: the image's digest (delete), or its tag (--untag-only).
      const pending: { ref: ParsedRef; digest?: string; tag?: string }[] = [];
      for (const m of members) {
        if (m.digest !== undefined) {
          if (!seen.has(m.digest)) ids.push({ digest: m.digest });
          seen.add(m.digest);
          pending.push({ ref: m, digest: m.digest });
          continue;
        }
        const found = byTag.get(m.tag as string);
        if (!found) {
          results.set(m, {
            ...base(m),
            status: 'not-found',
            code: 'ImageNotFound',
            reason: `no image is tagged ${m.tag}`,
          });
          continue;
        }
        if (untagOnly) {
          const left = remaining.get(found.digest) ?? found.tags.length;
          if (left <= 1) {
            results.set(m, {
              ...base(m),
              digest: found.digest,
              code: 'OnlyTag',
              reason: `${m.tag} is the last tag of ${found.digest}; ECR deletes an image when its last tag is removed (add another tag first, or delete the image without --untag-only)`,
            });
            continue;
          }
          remaining.set(found.digest, left - 1);
          ids.push({ tag: m.tag as string });
          results.set(m, { ...base(m), digest: found.digest });
          pending.push({ ref: m, tag: m.tag as string });
          continue;
        }
        if (!seen.has(found.digest)) ids.push({ digest: found.digest });
        seen.add(found.digest);
        pending.push({ ref: m, digest: found.digest });
      }
      if (ids.length === 0) continue;
      const { deleted, failures } = dryRun ? simulateDelete(ids, byDigest) : await remove(ids);
      for (const { ref: m, digest, tag } of pending) {
        const r = results.get(m) ?? base(m);
        if (digest !== undefined) {
          r.digest = digest;
          const failure = failures.find((f) => f.id.digest === digest && f.id.tag === undefined);
          const gone = deleted.filter((d) => d.digest === digest);
          if (failure)
            Object.assign(r, {
              status: failure.code === 'ImageNotFound' ? 'not-found' : 'failed',
              code: failure.code,
              reason: failure.reason,
            });
          else if (gone.length > 0)
            Object.assign(r, { status: 'deleted', tags: gone.flatMap((d) => (d.tag ? [d.tag] : [])).sort() });
          else
            Object.assign(r, {
              status: 'failed',
              reason: 'BatchDeleteImage reported neither a deletion nor a failure for it',
            });
        } else {
          const failure = failures.find((f) => f.id.tag === tag && f.id.digest === undefined);
          const gone = deleted.some((d) => d.tag === tag);
          if (failure)
            Object.assign(r, {
              status: failure.code === 'ImageNotFound' ? 'not-found' : 'failed',
              code: failure.code,
              reason: failure.reason,
            });
          else if (gone) Object.assign(r, { status: 'untagged', tags: [tag as string] });
          else
            Object.assign(r, {
              status: 'failed',
              reason: 'BatchDeleteImage reported neither a deletion nor a failure for it',
            });
        }
        results.set(m, r);
      }
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      // The repository itself is missing: every reference into it is not found.
      for (const m of members) {
        if (!results.has(m))
          results.set(m, { ...base(m), status: 'not-found', code: 'RepositoryNotFound', reason: err.message });
      }
    }
  }

  const list = parsed.map((p) => results.get(p) ?? base(p));
  const count = (s: DeleteResult['status']) => list.filter((r) => r.status === s).length;
  return {
    results: list,
    deleted: count('deleted'),
    untagged: count('untagged'),
    notFound: count('not-found'),
    failed: count('failed'),
    dryRun,
  };
}

/** What BatchDeleteImage would answer for ids, from a listing (digest → tags). */
function simulateDelete(
  ids: readonly { digest?: string; tag?: string }[],
  byDigest: ReadonlyMap<string, readonly string[]>,
): Awaited<ReturnType<typeof deleteEcrImages>> {
  const deleted: { digest: string; tag?: string }[] = [];
  const failures: { id: { digest?: string; tag?: string }; code: string; reason: string }[] = [];
  for (const id of ids) {
    if (id.tag !== undefined) {
      const digest = [...byDigest].find(([, tags]) => tags.includes(id.tag as string))?.[0];
      if (digest) deleted.push({ digest, tag: id.tag });
      continue;
    }
    const tags = byDigest.get(id.digest as string);
    if (!tags) {
      failures.push({ id, code: 'ImageNotFound', reason: `no image ${id.digest} in the repository` });
      continue;
    }
    if (tags.length === 0) deleted.push({ digest: id.digest as string });
    for (const tag of tags) deleted.push({ digest: id.digest as string, tag });
  }
  return { deleted, failures } as Awaited<ReturnType<typeof deleteEcrImages>>;
}

/**
 * Returns the error a delete run ends with: EcrctlError when a reference failed, else
 * NotFoundError when one was not found; undefined when everything was done.
 */
export function deleteImagesError(result: DeleteImagesResult): EcrctlError | undefined {
  const total = result.results.length;
  if (result.failed > 0) {
    return new EcrctlError(`${result.failed} of ${total} reference${total === 1 ? '' : 's'} could not be deleted`, {
      fix: 'see the reasons above',
    });
  }
  if (result.notFound > 0) {
    return new NotFoundError(`${result.notFound} of ${total} reference${total === 1 ? ' was' : 's were'} not found`, {
      fix: 'check the names with `ecrctl images REPO`',
    });
  }
  return undefined;
}

/**
 * Parses public references: `name:tag`, `name@sha256:…`, or a repository URI
 * (`public.ecr.aws/ALIAS/name:tag`, whose host and registry alias are dropped).
 */
function parsePublicRefs(refs: readonly string[], untagOnly: boolean): ParsedRef[] {
  return refs.map((text) => {
    let rest = text;
    const first = rest.split('/')[0] ?? '';
    if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost'))
      rest = rest.split('/').slice(2).join('/');
    const at = rest.indexOf('@');
    const colon = at >= 0 ? -1 : rest.lastIndexOf(':');
    const repository = at >= 0 ? rest.slice(0, at) : colon >= 0 ? rest.slice(0, colon) : rest;
    const parsed: ParsedRef = { text, repository, region: PUBLIC_ECR_REGION };
    if (at >= 0) parsed.digest = rest.slice(at + 1);
    else if (colon >= 0) parsed.tag = rest.slice(colon + 1);
    if (!repository || (parsed.tag === undefined && parsed.digest === undefined)) {
      throw new UsageError(`${text} names no public repository with a tag or digest`, {
        value: text,
        fix: 'write NAME:TAG or NAME@sha256:… (the repository name in the public registry, as `ecrctl repos --public` lists it)',
      });
    }
    if (untagOnly && parsed.digest !== undefined) {
      throw new UsageError(`--untag-only removes tags, but ${text} names a digest`, {
        value: text,
        fix: 'name the tag to remove (NAME:TAG), or drop --untag-only to delete the image',
      });
    }
    return parsed;
  });
}

function parseRefs(session: Session, refs: readonly string[], untagOnly: boolean, defaultRegion: string): ParsedRef[] {
  return refs.map((text) => {
    const ref = parseEcrRef(session, text);
    const parsed: ParsedRef = { text, repository: ref.repository, region: ref.region ?? defaultRegion };
    if (ref.registryId) parsed.registryId = ref.registryId;
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new UsageError(`${text} names no tag or digest`, {
        value: text,
        fix: `write ${text}:TAG or ${text}@sha256:…; \`ecrctl images ${ref.repository}\` lists them (to delete the repository, use delete-repo)`,
      });
    }
    if (ref.digest !== undefined) parsed.digest = ref.digest;
    else if (ref.tag !== undefined) parsed.tag = ref.tag;
    if (untagOnly && parsed.tag === undefined) {
      throw new UsageError(`--untag-only removes tags, but ${text} names a digest`, {
        value: text,
        fix: 'name the tag to remove (repo:tag), or drop --untag-only to delete the image',
      });
    }
    return parsed;
  });
}

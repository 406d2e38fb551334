// Image operations shared by the ECR API (PutImage, BatchDeleteImage, …) and the OCI data
// plane (manifest PUT/DELETE): one set of rules, two ways of wording the refusal.
import { createHash } from 'node:crypto';
import type { LocalContext } from './context.js';
import { findRepository } from './context.js';
import { ManifestProblem, parseManifest } from './manifest.js';
import { tagIsImmutable } from './rules.js';
import type { ImageRecord, RegistryRecord, RepositoryRecord } from './store.js';

/** ECR's manifest size limit. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** ECR's quota of tags per image. */
export const MAX_TAGS_PER_IMAGE = 1000;

export type ImageProblemKind =
  | 'repository-not-found'
  | 'invalid'
  | 'too-large'
  | 'blobs-missing'
  | 'manifests-missing'
  | 'digest-mismatch'
  | 'tag-immutable'
  | 'already-exists'
  | 'limit-exceeded';

/** A refusal from the image rules; each protocol words it its own way. */
export class ImageProblem extends Error {
  readonly kind: ImageProblemKind;
  /** Missing digests, the tag in question, … */
  readonly items: string[];
  constructor(kind: ImageProblemKind, message: string, items: string[] = []) {
    super(message);
    this.kind = kind;
    this.items = items;
  }
}

/** Returns the tags of an image, in the order they were set. */
export function tagsOf(repo: RepositoryRecord, digest: string): string[] {
  const tags: string[] = [];
  for (const [tag, rec] of Object.entries(repo.tags)) if (rec.digest === digest) tags.push(tag);
  return tags;
}

/** Returns the image a tag or digest names, or undefined ('mismatch' when both disagree). */
export function resolveImage(
  repo: RepositoryRecord,
  id: { imageDigest?: string; imageTag?: string },
): ImageRecord | 'mismatch' | undefined {
  let image: ImageRecord | undefined;
  if (id.imageTag !== undefined) {
    const t = Object.hasOwn(repo.tags, id.imageTag) ? repo.tags[id.imageTag] : undefined;
    image = t ? repo.images[t.digest] : undefined;
    if (image && id.imageDigest !== undefined && image.digest !== id.imageDigest) return 'mismatch';
    return image;
  }
  if (id.imageDigest !== undefined)
    return Object.hasOwn(repo.images, id.imageDigest) ? repo.images[id.imageDigest] : undefined;
  return undefined;
}

export interface PutManifestInput {
  registry: RegistryRecord;
  repository: string;
  bytes: Buffer;
  /** Content-Type or imageManifestMediaType. */
  declaredType?: string;
  tag?: string;
  /** The digest the client named (PUT by digest, PutImage imageDigest). */
  expectedDigest?: string;
  /** The API refuses a push that changes nothing; the data plane accepts it. */
  refuseNoop: boolean;
  /** ECR itself writes this image (replication): the afterPush hooks do not run, so it is not replicated onwards. */
  replica?: boolean;
}

export interface PutManifestResult {
  image: ImageRecord;
  created: boolean;
}

/** Stores a manifest (and tag) after checking every rule; resolves once it is on disk. */
export async function putManifest(ctx: LocalContext, input: PutManifestInput): Promise<PutManifestResult> {
  const { registry, repository, bytes } = input;
  const repoName = `'${repository}'`;
  if (!findRepository(registry, repository)) {
    throw new ImageProblem(
      'repository-not-found',
      `The repository with name ${repoName} does not exist in the registry with id '${registry.account}'`,
    );
  }
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new ImageProblem(
      'too-large',
      `Manifest size ${bytes.length} exceeds the limit of ${MAX_MANIFEST_BYTES} bytes`,
    );
  }
  let parsed: ReturnType<typeof parseManifest>;
  try {
    parsed = parseManifest(bytes, input.declaredType);
  } catch (err) {
    if (err instanceof ManifestProblem) throw new ImageProblem('invalid', err.message);
    throw err;
  }
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (input.expectedDigest !== undefined && input.expectedDigest !== digest) {
    throw new ImageProblem(
      'digest-mismatch',
      `Provided image digest '${input.expectedDigest}' does not match the calculated image digest '${digest}'`,
      [input.expectedDigest, digest],
    );
  }
  const check = (repo: RepositoryRecord) => {
    const missingBlobs = parsed.blobs.filter((d) => !Object.hasOwn(repo.blobs, d));
    if (missingBlobs.length > 0) {
      throw new ImageProblem(
        'blobs-missing',
        `Layers with digests '[${missingBlobs.join(', ')}]' required for pushing image into repository with name ${repoName} in the registry with id '${registry.account}' do not exist`,
        missingBlobs,
      );
    }
    const missingManifests = parsed.manifests.filter((d) => !Object.hasOwn(repo.images, d));
    if (missingManifests.length > 0) {
      throw new ImageProblem(
        'manifests-missing',
        `Manifests with digests '[${missingManifests.join(', ')}]' referenced by the manifest list do not exist in the repository with name ${repoName} in the registry with id '${registry.account}'`,
        missingManifests,
      );
    }
  };
  check(findRepository(registry, repository)!);
  await ctx.store.writeBlob(bytes);

  // From here on no await until the state is changed: the checks hold when the change lands.
  const repo = findRepository(registry, repository);
  if (!repo) {
    throw new ImageProblem(
      'repository-not-found',
      `The repository with name ${repoName} does not exist in the registry with id '${registry.account}'`,
    );
  }
  check(repo);
  const existing = Object.hasOwn(repo.images, digest) ? repo.images[digest] : undefined;
  const limit = ctx.imagesPerRepositoryLimit;
  if (!existing && limit !== undefined && Object.keys(repo.images).length >= limit) {
    // ECR's words (a 403 DENIED on the data plane), as seen in the field.
    throw new ImageProblem(
      'limit-exceeded',
      `The repository with name ${repoName} in registry with id '${registry.account}' already has the maximum allowed number of images which is '${limit}'`,
    );
  }
  const tag = input.tag;
  if (tag !== undefined) {
    const current = Object.hasOwn(repo.tags, tag) ? repo.tags[tag] : undefined;
    // ECR's quota of tags per image (1,000), the same on the API and the data plane.
    if (current?.digest !== digest && existing && tagsOf(repo, digest).length >= MAX_TAGS_PER_IMAGE) {
      throw new ImageProblem(
        'limit-exceeded',
        `The image with digest '${digest}' in the repository with name ${repoName} in registry with id '${registry.account}' already has the maximum allowed number of tags which is '${MAX_TAGS_PER_IMAGE}'`,
      );
    }
    if (
      current &&
      current.digest !== digest &&
      tagIsImmutable(repo.imageTagMutability, repo.imageTagMutabilityExclusionFilters, tag)
    ) {
      const why = repo.imageTagMutability === 'IMMUTABLE' ? 'the repository is immutable' : 'the tag is immutable';
      throw new ImageProblem(
        'tag-immutable',
        `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because ${why}.`,
        [tag],
      );
    }
    if (current && current.digest === digest && existing && input.refuseNoop) {
      throw new ImageProblem(
        'already-exists',
        `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name ${repoName} in registry with id '${registry.account}'`,
      );
    }
  } else if (existing && input.refuseNoop) {
    throw new ImageProblem(
      'already-exists',
      `Image with digest '${digest}' already exists in the repository with name ${repoName} in registry with id '${registry.account}'`,
    );
  }
  const now = ctx.now();
  const image: ImageRecord = existing ?? {
    digest,
    mediaType: parsed.mediaType,
    manifestSize: bytes.length,
    size: parsed.isIndex
      ? Math.max(0, ...parsed.manifests.map((d) => repo.images[d]?.size ?? 0))
      : parsed.schema1
        ? parsed.blobs.reduce((sum, d) => sum + (repo.blobs[d] ?? 0), 0)
        : parsed.layersSize,
    pushedAt: now,
  };
  if (!existing) {
    ctx.store.state.lastSeq = (ctx.store.state.lastSeq ?? 0) + 1;
    image.seq = ctx.store.state.lastSeq;
    if (parsed.artifactMediaType) image.artifactMediaType = parsed.artifactMediaType;
    if (parsed.artifactType) image.artifactType = parsed.artifactType;
    if (parsed.subject) image.subject = parsed.subject;
    if (parsed.annotations) image.annotations = parsed.annotations;
    if (parsed.isIndex) image.children = parsed.manifests;
    repo.images[digest] = image;
  }
  if (tag !== undefined && repo.tags[tag]?.digest !== digest) {
    // Re-setting a tag moves it to the end, as a new tag would be.
    delete repo.tags[tag];
    repo.tags[tag] = { digest, at: now };
  }
  await ctx.store.persist();
  // Replication, managed signing, …: whatever the server subscribed (see context.ts).
  if (!input.replica) {
    const event = { registry, repository, image, tag, created: !existing };
    for (const hook of ctx.afterPush) await hook(ctx, event);
  }
  return { image, created: !existing };
}

/** Returns a key that sorts images by push time, then push order. */
export function pushOrderKey(image: ImageRecord): string {
  return `${String(image.pushedAt).padStart(16, '0')}|${String(image.seq ?? 0).padStart(12, '0')}|${image.digest}`;
}

/** Returns the digests of indexes in repo that list digest. */
export function referencingIndexes(repo: RepositoryRecord, digest: string): string[] {
  return Object.values(repo.images)
    .filter((i) => i.children?.includes(digest))
    .map((i) => i.digest);
}

/** Removes an image and all its tags from repo (in memory; the caller persists). */
export function removeImage(repo: RepositoryRecord, digest: string): string[] {
  const tags = tagsOf(repo, digest);
  for (const t of tags) delete repo.tags[t];
  delete repo.images[digest];
  return tags;
}

/** One entry of a registry's pull-time update exclusion list. */
export interface PullTimeExclusion {
  principalArn: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** The registry settings key of the pull-time update exclusion list. */
export const PULL_TIME_EXCLUSIONS_KEY = 'pullTimeUpdateExclusions';

/**
 * Returns the IAM principal the emulator takes a request's access key for. There is no IAM
 * here, so every access key is a user of the default account named after the key: what ECR
 * compares with the pull-time update exclusion list.
 */
export function principalArnOf(account: string, accessKeyId: string): string {
  return `arn:aws:iam::${account}:user/${accessKeyId}`;
}

/** Returns the registry's pull-time update exclusions (oldest first). */
export function pullTimeExclusions(registry: RegistryRecord): PullTimeExclusion[] {
  const raw = registry.settings?.[PULL_TIME_EXCLUSIONS_KEY];
  return Array.isArray(raw) ? (raw as PullTimeExclusion[]) : [];
}

/**
 * Records a pull of images, as ECR does for BatchGetImage and manifest GETs, unless the
 * principal is on the registry's pull-time update exclusion list (then nothing changes).
 * Changes memory only; returns whether anything changed, so the caller persists.
 */
export function recordPull(
  ctx: LocalContext,
  registry: RegistryRecord,
  images: readonly ImageRecord[],
  principalArn: string | undefined,
): boolean {
  if (images.length === 0) return false;
  if (principalArn !== undefined && pullTimeExclusions(registry).some((e) => e.principalArn === principalArn)) {
    return false;
  }
  const now = ctx.now();
  for (const image of images) image.lastPulledAt = now;
  return true;
}

// ECR image calls (DescribeImages, BatchDeleteImage) behind an adapter that returns our own
// types, pages through everything and deletes in batches of at most 100 ids, plus the pure
// sorting and filtering of image lists (ECR returns images in no useful order).
import { EcrctlError, UsageError } from '../errors.js';
import { awsErrorName, callEcr, type EcrConnection } from './repositories.js';

/** BatchDeleteImage takes at most this many image ids per call. */
export const DELETE_BATCH = 100;
/** DescribeImages' largest page (its default is 100). */
export const DESCRIBE_IMAGES_MAX = 1000;

/** One image of a repository as ecrctl shows it. */
export interface ImageSummary {
  repository: string;
  digest: string;
  tags: string[];
  sizeBytes: number;
  pushedAt?: Date;
  lastPulledAt?: Date;
  /** The basic / enhanced scan status (COMPLETE, ACTIVE, IN_PROGRESS, …) when there is one. */
  scanStatus?: string;
  mediaType?: string;
  artifactMediaType?: string;
  /** ACTIVE, ARCHIVED or ACTIVATING (being restored). */
  status?: string;
  lastArchivedAt?: Date;
  lastActivatedAt?: Date;
}

/** An image id for BatchDeleteImage: a digest, a tag, or both. */
export interface ImageId {
  digest?: string;
  tag?: string;
}

/** One id that BatchDeleteImage did not delete, with ECR's code and reason. */
export interface ImageFailure {
  id: ImageId;
  code: string;
  reason: string;
}

/** Returns every image of a repository (all pages of DescribeImages), in ECR's order. */
export async function listImages(
  conn: EcrConnection,
  repository: string,
  opts: { tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY' } = {},
): Promise<ImageSummary[]> {
  const { DescribeImagesCommand } = conn.sdk;
  const images: ImageSummary[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'DescribeImages', `repository ${repository}`, () =>
      conn.client.send(
        new DescribeImagesCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          maxResults: conn.pageSize ?? DESCRIBE_IMAGES_MAX,
          // Archived images are listed only when asked for; ecrctl shows every image.
          filter: { imageStatus: 'ANY', ...(opts.tagStatus ? { tagStatus: opts.tagStatus } : {}) },
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    for (const d of out.imageDetails ?? []) {
      if (!d.imageDigest) throw new EcrctlError(`DescribeImages returned an image without a digest in ${repository}`);
      const image: ImageSummary = {
        repository,
        digest: d.imageDigest,
        tags: [...(d.imageTags ?? [])].sort(),
        sizeBytes: d.imageSizeInBytes ?? 0,
      };
      if (d.imagePushedAt) image.pushedAt = d.imagePushedAt;
      if (d.lastRecordedPullTime) image.lastPulledAt = d.lastRecordedPullTime;
      if (d.imageScanStatus?.status) image.scanStatus = d.imageScanStatus.status;
      if (d.imageManifestMediaType) image.mediaType = d.imageManifestMediaType;
      if (d.artifactMediaType) image.artifactMediaType = d.artifactMediaType;
      if (d.imageStatus) image.status = d.imageStatus;
      if (d.lastArchivedAt) image.lastArchivedAt = d.lastArchivedAt;
      if (d.lastActivatedAt) image.lastActivatedAt = d.lastActivatedAt;
      images.push(image);
    }
    nextToken = out.nextToken;
  } while (nextToken);
  return images;
}

/** Returns how many images (manifests) a repository holds. */
export async function countImages(conn: EcrConnection, repository: string): Promise<number> {
  return (await listImages(conn, repository)).length;
}

/**
 * Deletes image ids from a repository in batches of at most 100 and returns what ECR
 * reported: the ids it deleted and each failure with its code, never a plain count.
 */
export async function deleteImages(
  conn: EcrConnection,
  repository: string,
  ids: readonly ImageId[],
): Promise<{ deleted: ImageId[]; failures: ImageFailure[] }> {
  const { BatchDeleteImageCommand } = conn.sdk;
  const deleted: ImageId[] = [];
  const failures: ImageFailure[] = [];
  for (let i = 0; i < ids.length; i += DELETE_BATCH) {
    const batch = ids.slice(i, i + DELETE_BATCH);
    const out = await callEcr(conn, 'BatchDeleteImage', `repository ${repository}`, () =>
      conn.client.send(
        new BatchDeleteImageCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          imageIds: sdkImageIds(batch),
        }),
      ),
    );
    addBatchDeleteOutcome(out, deleted, failures);
  }
  return { deleted, failures };
}

/** An image id as the SDKs of ECR and ECR Public spell it. */
interface SdkImageId {
  imageDigest?: string | undefined;
  imageTag?: string | undefined;
}

/** Returns our image ids as BatchDeleteImage's `imageIds` (ECR and ECR Public take the same). */
export function sdkImageIds(ids: readonly ImageId[]): SdkImageId[] {
  return ids.map((id) => ({
    ...(id.digest ? { imageDigest: id.digest } : {}),
    ...(id.tag ? { imageTag: id.tag } : {}),
  }));
}

/** Adds a BatchDeleteImage answer (ECR's or ECR Public's: the same shape) to deleted and failures. */
export function addBatchDeleteOutcome(
  out: {
    imageIds?: SdkImageId[] | undefined;
    failures?:
      | { imageId?: SdkImageId | undefined; failureCode?: string | undefined; failureReason?: string | undefined }[]
      | undefined;
  },
  deleted: ImageId[],
  failures: ImageFailure[],
): void {
  const ours = (d: SdkImageId): ImageId => ({
    ...(d.imageDigest ? { digest: d.imageDigest } : {}),
    ...(d.imageTag ? { tag: d.imageTag } : {}),
  });
  for (const d of out.imageIds ?? []) deleted.push(ours(d));
  for (const f of out.failures ?? [])
    failures.push({ id: ours(f.imageId ?? {}), code: f.failureCode ?? 'Unknown', reason: f.failureReason ?? '' });
}

/** How `images` sorts: newest push first, largest first, or by first tag (untagged last). */
export type ImageSort = 'pushed' | 'size' | 'tag';

/** Returns images sorted (a new array); ties fall back to newest push, then digest. */
export function sortImages(images: readonly ImageSummary[], by: ImageSort = 'pushed'): ImageSummary[] {
  const pushed = (i: ImageSummary) => i.pushedAt?.getTime() ?? 0;
  const byPushed = (a: ImageSummary, b: ImageSummary) =>
    pushed(b) - pushed(a) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
  const compare: Record<ImageSort, (a: ImageSummary, b: ImageSummary) => number> = {
    pushed: byPushed,
    size: (a, b) => b.sizeBytes - a.sizeBytes || byPushed(a, b),
    tag: (a, b) => {
      const ta = a.tags[0];
      const tb = b.tags[0];
      if (ta === undefined || tb === undefined) return ta === tb ? byPushed(a, b) : ta === undefined ? 1 : -1;
      return ta.localeCompare(tb, 'en', { numeric: true }) || byPushed(a, b);
    },
  };
  return [...images].sort(compare[by]);
}

/** Returns the images that pass the filters (tagged only, untagged only, pushed at or after since). */
export function filterImages(
  images: readonly ImageSummary[],
  filters: { tagged?: boolean; untagged?: boolean; since?: Date },
): ImageSummary[] {
  return images.filter((i) => {
    if (filters.tagged && i.tags.length === 0) return false;
    if (filters.untagged && i.tags.length > 0) return false;
    if (filters.since && (i.pushedAt === undefined || i.pushedAt.getTime() < filters.since.getTime())) return false;
    return true;
  });
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Returns the moment `--since` names: a duration back from now (`7d`, `12h`, `30m`, `2w`) or a date. */
export function parseSince(text: string, now: Date): Date {
  const duration = /^([0-9]+)\s*([smhdw])$/.exec(text.trim());
  if (duration) {
    return new Date(now.getTime() - Number(duration[1]) * (UNIT_MS[duration[2] as string] as number));
  }
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(`--since takes a date or a duration, not "${text}"`, {
    value: text,
    fix: 'write a duration back from now (7d, 12h, 30m, 2w) or a date (2025-01-31, 2025-01-31T12:00:00Z)',
  });
}

/** Returns the image count of each repository, asking at most `concurrency` at a time. */
export async function countImagesOf(
  conn: EcrConnection,
  repositories: readonly string[],
  concurrency = 8,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < repositories.length) {
      const name = repositories[next++] as string;
      counts.set(name, await countImages(conn, name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, repositories.length) }, worker));
  return counts;
}

/**
 * Adds a principal to the registry's pull-time update exclusion list
 * (RegisterPullTimeUpdateExclusion); 'exists' when it is on the list already.
 */
export async function registerPullTimeExclusion(
  conn: EcrConnection,
  principalArn: string,
): Promise<{ outcome: 'added'; createdAt?: Date } | { outcome: 'exists' }> {
  const { RegisterPullTimeUpdateExclusionCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn }));
    return { outcome: 'added', ...(out.createdAt ? { createdAt: out.createdAt } : {}) };
  } catch (err) {
    if (awsErrorName(err) === 'ExclusionAlreadyExistsException') return { outcome: 'exists' };
    return callEcr(conn, 'RegisterPullTimeUpdateExclusion', undefined, () => Promise.reject(err));
  }
}

/** Removes a principal from the exclusion list; false when it was not on it. */
export async function deregisterPullTimeExclusion(conn: EcrConnection, principalArn: string): Promise<boolean> {
  const { DeregisterPullTimeUpdateExclusionCommand } = conn.sdk;
  try {
    await conn.client.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn }));
    return true;
  } catch (err) {
    if (awsErrorName(err) === 'ExclusionNotFoundException') return false;
    return callEcr(conn, 'DeregisterPullTimeUpdateExclusion', undefined, () => Promise.reject(err));
  }
}

/** Returns every principal on the registry's pull-time update exclusion list (all pages). */
export async function listPullTimeExclusions(conn: EcrConnection): Promise<string[]> {
  const { ListPullTimeUpdateExclusionsCommand } = conn.sdk;
  const out: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await callEcr(conn, 'ListPullTimeUpdateExclusions', undefined, () =>
      conn.client.send(
        new ListPullTimeUpdateExclusionsCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
      ),
    );
    out.push(...(page.pullTimeUpdateExclusions ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

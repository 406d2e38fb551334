// Archived images: UpdateImageStorageClass moves an image to the ARCHIVE storage class and
// back (STANDARD), and the image operations that list, describe, fetch or scan images learn
// about it, as the ECR user guide describes: DescribeImages and ListImages show only ACTIVE
// images unless filter.imageStatus asks for ARCHIVED / ACTIVATING / ANY; an archived image is
// described with imageStatus ARCHIVED and lastArchivedAt; BatchGetImage and the data plane
// refuse it (404); StartImageScan answers ImageArchivedException.
// A restore answers ACTIVATING and stays ACTIVATING (not pullable) until its duration has
// passed on the endpoint's clock (ECR: up to 20 minutes; state-delays.ts, scaled by
// LocalServerOptions.stateDelayScale); the first read after that makes the image ACTIVE with
// lastActivatedAt = when the restore ended. Archived images have a 90-day minimum storage
// duration on ECR; no API field reports it (the model has lastArchivedAt only): it shows as
// the lifecycle refusal in lifecycle.ts and in `ecrctl cost`.
import type { LocalContext } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { principalArnOf, recordPull, resolveImage } from '../images.js';
import { stateEndsAt } from '../state-delays.js';
import type { ImageRecord, RepositoryRecord } from '../store.js';
import { imageOperations } from './images.js';
import {
  type ApiRequest,
  type Handler,
  obj,
  type OperationTable,
  privateRegistry,
  reqStr,
  requireRepository,
  str,
  ts,
} from './kit.js';
import { scanningOperations } from './scanning.js';

const STATUSES = ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'];

/** The message the data plane and BatchGetImage give for an archived image. */
export const ARCHIVED_MESSAGE =
  'The image is archived and cannot be pulled. Restore it to the standard storage class first (UpdateImageStorageClass with targetStorageClass STANDARD).';

/** Returns ACTIVE, ARCHIVED or ACTIVATING (a restore under way) for a stored image. */
export function imageStatusOf(image: ImageRecord | undefined): 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING' {
  if (image?.imageStatus !== 'ARCHIVED') return 'ACTIVE';
  return image.activatingSince !== undefined ? 'ACTIVATING' : 'ARCHIVED';
}

/**
 * Ends the restores whose duration has passed (in memory; returns true when the caller must
 * persist): the image becomes ACTIVE with lastActivatedAt set to when its restore ended.
 * Readers call it before looking at images, so the state follows the clock, not the reads.
 */
export function settleRestores(ctx: LocalContext, repo: RepositoryRecord): boolean {
  let changed = false;
  for (const image of Object.values(repo.images)) {
    if (image.activatingSince === undefined) continue;
    const endsAt = stateEndsAt(ctx, 'restore', image.activatingSince);
    if (ctx.now() < endsAt) continue;
    delete image.imageStatus;
    delete image.activatingSince;
    image.lastActivatedAt = endsAt;
    changed = true;
  }
  return changed;
}

/** Settles a repository's finished restores and persists when one ended (every reader calls it). */
export async function settle(ctx: LocalContext, repo: RepositoryRecord): Promise<void> {
  if (Object.values(repo.images).some((i) => i.activatingSince !== undefined)) {
    await ctx.store.mutate(() => {
      settleRestores(ctx, repo);
    });
  }
}

/** Returns the input without filter.imageStatus, and the status asked for (default ACTIVE). */
function splitStatusFilter(input: Record<string, unknown>): { input: Record<string, unknown>; status: string } {
  const filter = obj(input, 'filter');
  const status = filter ? (str(filter, 'imageStatus') ?? 'ACTIVE') : 'ACTIVE';
  if (!STATUSES.includes(status)) {
    throw invalidParameter('filter.imageStatus', `Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
  }
  if (!filter || filter.imageStatus === undefined) return { input, status };
  const { imageStatus: _dropped, ...rest } = filter;
  return { input: { ...input, filter: rest }, status };
}

const wanted = (status: string, image: ImageRecord | undefined) => status === 'ANY' || status === imageStatusOf(image);

function repoOf(req: ApiRequest): RepositoryRecord {
  return requireRepository(privateRegistry(req), reqStr(req.input, 'repositoryName'));
}

/** Returns the request's repository once its finished restores are settled. */
async function settledRepoOf(req: ApiRequest): Promise<RepositoryRecord> {
  const repo = repoOf(req);
  await settle(req.ctx, repo);
  return repo;
}

function withInput(req: ApiRequest, input: Record<string, unknown>): ApiRequest {
  return { ...req, input };
}

const innerDescribe = (scanningOperations.DescribeImages ?? imageOperations.DescribeImages) as Handler;
const innerList = imageOperations.ListImages as Handler;
const innerBatchGet = imageOperations.BatchGetImage as Handler;
const innerStartScan = scanningOperations.StartImageScan as Handler;

interface Detail {
  imageDigest?: string;
  [key: string]: unknown;
}

export const storageOperations: OperationTable = {
  async UpdateImageStorageClass(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName', { min: 2, max: 256 });
    const idInput = obj(req.input, 'imageId', true) as Record<string, unknown>;
    const target = reqStr(req.input, 'targetStorageClass');
    if (target !== 'STANDARD' && target !== 'ARCHIVE') {
      throw invalidParameter('targetStorageClass', 'Member must satisfy enum value set: [STANDARD, ARCHIVE]');
    }
    const id: { imageDigest?: string; imageTag?: string } = {};
    const digest = str(idInput, 'imageDigest');
    const tag = str(idInput, 'imageTag', { min: 1, max: 300 });
    if (digest !== undefined) id.imageDigest = digest;
    if (tag !== undefined) id.imageTag = tag;
    if (digest === undefined && tag === undefined) {
      throw new ApiError('InvalidParameterException', 'Invalid request parameters: both tag and digest cannot be null');
    }
    return req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, repository);
      settleRestores(req.ctx, repo);
      const image = resolveImage(repo, id);
      if (!image || image === 'mismatch') {
        throw new ApiError(
          'ImageNotFoundException',
          `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repository}' in the registry with id '${registry.account}'`,
        );
      }
      const now = req.ctx.now();
      let imageStatus: string;
      if (target === 'ARCHIVE') {
        if (image.activatingSince !== undefined) {
          throw new ApiError(
            'ImageStorageClassUpdateNotSupportedException',
            `The image ${image.digest} is being restored (ACTIVATING) and cannot be archived until it is ACTIVE`,
          );
        }
        if (image.imageStatus === 'ARCHIVED') {
          throw new ApiError(
            'ImageStorageClassUpdateNotSupportedException',
            `The image ${image.digest} is already archived`,
          );
        }
        image.imageStatus = 'ARCHIVED';
        image.lastArchivedAt = now;
        imageStatus = 'ARCHIVED';
      } else {
        if (image.activatingSince !== undefined) {
          throw new ApiError(
            'ImageStorageClassUpdateNotSupportedException',
            `The image ${image.digest} is already being restored (ACTIVATING)`,
          );
        }
        if (image.imageStatus !== 'ARCHIVED') {
          throw new ApiError(
            'ImageStorageClassUpdateNotSupportedException',
            `The image ${image.digest} is not archived: only an archived image can be restored`,
          );
        }
        // Stays ARCHIVED in the store (nothing serves it) until the restore's duration passes.
        image.activatingSince = now;
        imageStatus = 'ACTIVATING';
        // At scale 0 the restore has already ended; ECR's answer is still ACTIVATING.
        settleRestores(req.ctx, repo);
      }
      return {
        registryId: registry.account,
        repositoryName: repository,
        imageId: { imageDigest: image.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
        imageStatus,
      };
    });
  },

  async DescribeImages(req) {
    const { input, status } = splitStatusFilter(req.input);
    const repo = await settledRepoOf(req);
    const byIds = input.imageIds !== undefined;
    const out = (await innerDescribe(withInput(req, input))) as { imageDetails?: Detail[]; nextToken?: string };
    const details = (out.imageDetails ?? [])
      // Images named by id are described whatever their status (the filter selects listings).
      .filter((d) => byIds || wanted(status, repo.images[d.imageDigest ?? '']))
      .map((d) => {
        const image = repo.images[d.imageDigest ?? ''];
        return {
          ...d,
          imageStatus: imageStatusOf(image),
          ...(image?.lastArchivedAt !== undefined ? { lastArchivedAt: ts(image.lastArchivedAt) } : {}),
          ...(image?.lastActivatedAt !== undefined ? { lastActivatedAt: ts(image.lastActivatedAt) } : {}),
        };
      });
    return { ...out, imageDetails: details };
  },

  async ListImages(req) {
    const { input, status } = splitStatusFilter(req.input);
    const repo = await settledRepoOf(req);
    const out = (await innerList(withInput(req, input))) as { imageIds?: Detail[]; nextToken?: string };
    return { ...out, imageIds: (out.imageIds ?? []).filter((id) => wanted(status, repo.images[id.imageDigest ?? ''])) };
  },

  async BatchGetImage(req) {
    const repo = await settledRepoOf(req);
    const out = (await innerBatchGet(req)) as { images?: { imageId?: Detail }[]; failures?: unknown[] };
    const images = [];
    const failures = [...(out.failures ?? [])];
    for (const image of out.images ?? []) {
      if (imageStatusOf(repo.images[image.imageId?.imageDigest ?? '']) !== 'ACTIVE') {
        failures.push({ imageId: image.imageId, failureCode: 'ImageNotFound', failureReason: ARCHIVED_MESSAGE });
      } else images.push(image);
    }
    // Reading a manifest is a pull on ECR (lastRecordedPullTime), unless the caller's
    // principal is on the registry's pull-time update exclusion list.
    const pulled = images
      .map((i) => repo.images[i.imageId?.imageDigest ?? ''])
      .filter((i): i is ImageRecord => i !== undefined);
    const registry = privateRegistry(req);
    if (recordPull(req.ctx, registry, pulled, principalArnOf(req.ctx.account, req.accessKeyId))) {
      await req.ctx.store.persist();
    }
    return { images, failures };
  },

  async StartImageScan(req) {
    const repo = await settledRepoOf(req);
    const id = obj(req.input, 'imageId');
    const image = id
      ? resolveImage(repo, {
          ...(typeof id.imageDigest === 'string' ? { imageDigest: id.imageDigest } : {}),
          ...(typeof id.imageTag === 'string' ? { imageTag: id.imageTag } : {}),
        })
      : undefined;
    if (image && image !== 'mismatch' && image.imageStatus === 'ARCHIVED') {
      throw new ApiError('ImageArchivedException', 'The specified image is archived and cannot be scanned.');
    }
    return innerStartScan(req);
  },
};

// Image operations of the API: PutImage, BatchGetImage, DescribeImages, ListImages,
// BatchDeleteImage. The rules themselves live in ../images.ts, shared with the data plane.
import { convertManifest, negotiatedType } from '../convert.js';
import { ApiError, invalidParameter, repositoryNotFound } from '../errors.js';
import {
  ImageProblem,
  MAX_MANIFEST_BYTES,
  pushOrderKey,
  putManifest,
  referencingIndexes,
  removeImage,
  resolveImage,
  tagsOf,
} from '../images.js';
import { API_TAG, SHA256_DIGEST } from '../rules.js';
import type { ImageRecord, RegistryRecord, RepositoryRecord } from '../store.js';
import { list, obj, type OperationTable, page, privateRegistry, reqStr, requireRepository, str, ts } from './kit.js';

/** An image identifier of the batch calls: a digest, a tag, or both. */
export interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

/** Returns an ImageProblem worded as the ECR API words it. */
export function apiErrorOf(err: unknown, registry: RegistryRecord, repository: string): unknown {
  if (!(err instanceof ImageProblem)) return err;
  switch (err.kind) {
    case 'repository-not-found':
      return repositoryNotFound(repository, registry.account);
    case 'invalid':
      return invalidParameter('ImageManifest', err.message);
    case 'too-large':
      return invalidParameter('imageManifest', `Member must have length less than or equal to ${MAX_MANIFEST_BYTES}`);
    case 'blobs-missing':
      return new ApiError('LayersNotFoundException', err.message);
    case 'manifests-missing':
      return new ApiError('ReferencedImagesNotFoundException', err.message);
    case 'digest-mismatch':
      return new ApiError('ImageDigestDoesNotMatchException', err.message);
    case 'tag-immutable':
      return new ApiError('ImageTagAlreadyExistsException', err.message);
    case 'already-exists':
      return new ApiError('ImageAlreadyExistsException', err.message);
    case 'limit-exceeded':
      return new ApiError('LimitExceededException', err.message);
  }
}

/** Returns an ImageDetail of DescribeImages. */
export function imageDetail(registry: RegistryRecord, repo: RepositoryRecord, image: ImageRecord) {
  const tags = tagsOf(repo, image.digest);
  return {
    registryId: registry.account,
    repositoryName: repo.name,
    imageDigest: image.digest,
    ...(tags.length > 0 ? { imageTags: tags } : {}),
    imageSizeInBytes: image.size,
    imagePushedAt: ts(image.pushedAt),
    imageManifestMediaType: image.mediaType,
    ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
    ...(image.lastPulledAt !== undefined ? { lastRecordedPullTime: ts(image.lastPulledAt) } : {}),
    ...(image.subject ? { subjectManifestDigest: image.subject } : {}),
    imageStatus: 'ACTIVE',
  };
}

/** Reads a request's `imageIds` (1–100 identifiers), as ECR and ECR Public take them. */
export function imageIdsOf(input: Record<string, unknown>, required: boolean): ImageId[] | undefined {
  const raw = list<Record<string, unknown>>(input, 'imageIds', { required, min: 1, max: 100 });
  return raw?.map((r) => {
    const id: ImageId = {};
    const digest = str(r, 'imageDigest');
    const tag = str(r, 'imageTag', { min: 1, max: 300 });
    if (digest !== undefined) id.imageDigest = digest;
    if (tag !== undefined) id.imageTag = tag;
    return id;
  });
}

/** Returns an ImageFailure, or undefined when the identifier is well formed. */
function idFailure(id: ImageId) {
  if (id.imageDigest === undefined && id.imageTag === undefined) {
    return {
      imageId: id,
      failureCode: 'MissingDigestAndTag',
      failureReason: 'Invalid request parameters: both tag and digest cannot be null',
    };
  }
  if (id.imageDigest !== undefined && !SHA256_DIGEST.test(id.imageDigest)) {
    return {
      imageId: id,
      failureCode: 'InvalidImageDigest',
      failureReason:
        "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
    };
  }
  if (id.imageTag !== undefined && !API_TAG.test(id.imageTag)) {
    return {
      imageId: id,
      failureCode: 'InvalidImageTag',
      failureReason: 'Invalid request parameters: image tag is invalid',
    };
  }
  return undefined;
}

/** Returns the image an identifier names, or the failure entry ECR's batch calls report for it. */
function imageOrFailure(
  repo: RepositoryRecord,
  id: ImageId,
): { image: ImageRecord } | { failure: { imageId: ImageId; failureCode: string; failureReason: string } } {
  const bad = idFailure(id);
  if (bad) return { failure: bad };
  const image = resolveImage(repo, id);
  if (image === 'mismatch') {
    return {
      failure: {
        imageId: id,
        failureCode: 'ImageTagDoesNotMatchDigest',
        failureReason: 'Invalid request parameters: image tag does not match the digest',
      },
    };
  }
  if (!image)
    return { failure: { imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' } };
  return { image };
}

function describeId(id: ImageId): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

export const imageOperations: OperationTable = {
  async PutImage(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const manifest = reqStr(req.input, 'imageManifest', { min: 1, max: MAX_MANIFEST_BYTES });
    const declared = str(req.input, 'imageManifestMediaType');
    const tag = str(req.input, 'imageTag', { min: 1, max: 300 });
    const expectedDigest = str(req.input, 'imageDigest');
    if (tag !== undefined && !API_TAG.test(tag)) {
      throw invalidParameter('imageTag', `must satisfy regular expression '${API_TAG.source}'`);
    }
    requireRepository(registry, repository);
    if (declared === undefined) {
      // ECR requires the media type from one place or the other (API model, PutImage).
      let inner: unknown;
      try {
        inner = (JSON.parse(manifest) as { mediaType?: unknown }).mediaType;
      } catch {
        throw invalidParameter('ImageManifest', 'Invalid JSON syntax');
      }
      if (typeof inner !== 'string') {
        throw invalidParameter(
          'imageManifestMediaType',
          'the image manifest has no mediaType field, so imageManifestMediaType must be given',
        );
      }
    }
    try {
      const { image } = await putManifest(req.ctx, {
        registry,
        repository,
        bytes: Buffer.from(manifest, 'utf8'),
        ...(declared !== undefined ? { declaredType: declared } : {}),
        ...(tag !== undefined ? { tag } : {}),
        ...(expectedDigest !== undefined ? { expectedDigest } : {}),
        refuseNoop: true,
      });
      return {
        image: {
          registryId: registry.account,
          repositoryName: repository,
          imageId: { imageDigest: image.digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
          imageManifest: manifest,
          imageManifestMediaType: image.mediaType,
        },
      };
    } catch (err) {
      throw apiErrorOf(err, registry, repository);
    }
  },

  async BatchGetImage(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const ids = imageIdsOf(req.input, true) ?? [];
    const accepted = list<string>(req.input, 'acceptedMediaTypes', { min: 1, max: 100 });
    const repo = requireRepository(registry, repository);
    const images = [];
    const failures = [];
    for (const id of ids) {
      const found = imageOrFailure(repo, id);
      if ('failure' in found) {
        failures.push(found.failure);
        continue;
      }
      const { image } = found;
      let served = {
        bytes: await req.ctx.store.readBlob(image.digest),
        digest: image.digest,
        mediaType: image.mediaType,
      };
      if (accepted && !accepted.includes(image.mediaType)) {
        // As on the data plane: an image asked for by tag is converted Docker v2 ↔ OCI when
        // only the other format is accepted; one asked for by digest is that document only.
        const target = id.imageDigest === undefined ? negotiatedType(image.mediaType, accepted) : undefined;
        const converted = target === undefined ? undefined : convertManifest(served.bytes, target);
        if (!converted) {
          failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          continue;
        }
        served = converted;
      }
      images.push({
        registryId: registry.account,
        repositoryName: repository,
        imageId: { imageDigest: served.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
        imageManifest: served.bytes.toString('utf8'),
        imageManifestMediaType: served.mediaType,
      });
    }
    return { images, failures };
  },

  async DescribeImages(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const ids = imageIdsOf(req.input, false);
    const filter = obj(req.input, 'filter');
    const tagStatus = filter ? (str(filter, 'tagStatus') ?? 'ANY') : 'ANY';
    if (!['ANY', 'TAGGED', 'UNTAGGED'].includes(tagStatus)) {
      throw invalidParameter('filter.tagStatus', 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]');
    }
    const repo = requireRepository(registry, repository);
    if (ids) {
      if (req.input.maxResults !== undefined || req.input.nextToken !== undefined) {
        throw new ApiError(
          'InvalidParameterException',
          'Invalid parameter: maxResults and nextToken cannot be used with imageIds',
        );
      }
      const seen = new Map<string, ImageRecord>();
      for (const id of ids) {
        const bad = idFailure(id);
        if (bad) throw new ApiError('InvalidParameterException', bad.failureReason);
        const image = resolveImage(repo, id);
        if (!image || image === 'mismatch') {
          throw new ApiError(
            'ImageNotFoundException',
            `The image with imageId ${describeId(id)} does not exist within the repository with name '${repository}' in the registry with id '${registry.account}'`,
          );
        }
        seen.set(image.digest, image);
      }
      return { imageDetails: [...seen.values()].map((i) => imageDetail(registry, repo, i)) };
    }
    const all = Object.values(repo.images).filter((i) => {
      const tagged = tagsOf(repo, i.digest).length > 0;
      return tagStatus === 'ANY' || (tagStatus === 'TAGGED') === tagged;
    });
    const p = page(all, pushOrderKey, req.input);
    return {
      imageDetails: p.items.map((i) => imageDetail(registry, repo, i)),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async ListImages(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const filter = obj(req.input, 'filter');
    const tagStatus = filter ? (str(filter, 'tagStatus') ?? 'ANY') : 'ANY';
    if (!['ANY', 'TAGGED', 'UNTAGGED'].includes(tagStatus)) {
      throw invalidParameter('filter.tagStatus', 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]');
    }
    const repo = requireRepository(registry, repository);
    const entries: { key: string; id: ImageId }[] = [];
    for (const image of Object.values(repo.images)) {
      const tags = tagsOf(repo, image.digest);
      const base = pushOrderKey(image);
      if (tags.length === 0 && tagStatus !== 'TAGGED')
        entries.push({ key: `${base}|`, id: { imageDigest: image.digest } });
      if (tagStatus !== 'UNTAGGED') {
        for (const t of tags) entries.push({ key: `${base}|${t}`, id: { imageDigest: image.digest, imageTag: t } });
      }
    }
    const p = page(entries, (e) => e.key, req.input);
    return { imageIds: p.items.map((e) => e.id), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
  },

  async BatchDeleteImage(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const ids = imageIdsOf(req.input, true) ?? [];
    requireRepository(registry, repository);
    return req.ctx.store.mutate(() => batchDeleteImages(requireRepository(registry, repository), ids));
  },
};

/**
 * BatchDeleteImage of ECR and ECR Public alike: deletes each identified image (or tag) and
 * reports the rest as ECR's failures. Changes memory only (run it inside store.mutate).
 */
export function batchDeleteImages(repo: RepositoryRecord, ids: readonly ImageId[]) {
  const deleted: ImageId[] = [];
  const failures = [];
  for (const id of ids) {
    const found = imageOrFailure(repo, id);
    if ('failure' in found) {
      failures.push(found.failure);
      continue;
    }
    const result = deleteImageOrTag(repo, found.image, id.imageTag);
    if (result.referencedBy) {
      failures.push({
        imageId: id,
        failureCode: 'ImageReferencedByManifestList',
        failureReason: `Requested image referenced by manifest list: [${result.referencedBy.join(', ')}]`,
      });
      continue;
    }
    deleted.push(...result.deleted);
  }
  return { imageIds: deleted, failures };
}

/**
 * Deletes by tag (the tag; the image too when it was its last tag) or by digest (the image
 * and its tags, unless an index in the repository lists it). Changes memory only.
 */
export function deleteImageOrTag(
  repo: RepositoryRecord,
  image: ImageRecord,
  tag: string | undefined,
): { deleted: ImageId[]; referencedBy?: string[] } {
  if (tag !== undefined) {
    delete repo.tags[tag];
    if (tagsOf(repo, image.digest).length === 0 && referencingIndexes(repo, image.digest).length === 0) {
      delete repo.images[image.digest];
    }
    return { deleted: [{ imageDigest: image.digest, imageTag: tag }] };
  }
  const refs = referencingIndexes(repo, image.digest);
  if (refs.length > 0) return { deleted: [], referencedBy: refs };
  const tags = removeImage(repo, image.digest);
  return {
    deleted:
      tags.length > 0 ? tags.map((t) => ({ imageDigest: image.digest, imageTag: t })) : [{ imageDigest: image.digest }],
  };
}

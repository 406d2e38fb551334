// Layer operations of the API: BatchCheckLayerAvailability, InitiateLayerUpload,
// UploadLayerPart, CompleteLayerUpload, GetDownloadUrlForLayer.
import { ApiError } from '../errors.js';
import { SHA256_DIGEST } from '../rules.js';
import type { RegistryRecord } from '../store.js';
import { presignedBlobUrl } from '../registry/blob-host.js';
import { mintDownloadToken } from '../tokens.js';
import { abortUpload, appendBytes, commitUpload, startUpload, uploadDigest } from '../uploads.js';
import { type ApiRequest, int, list, type OperationTable, privateRegistry, reqStr, requireRepository } from './kit.js';

const MiB = 1024 * 1024;
/** ECR's part size rules for UploadLayerPart (all parts but the last: 5–10 MiB). */
export const MIN_PART = 5 * MiB;
export const MAX_PART = 10 * MiB;
/** How long a GetDownloadUrlForLayer URL works. */
const DOWNLOAD_URL_TTL_MS = 10 * 60 * 1000;

function sessionOf(req: ApiRequest, registry: RegistryRecord, repository: string) {
  const uploadId = reqStr(req.input, 'uploadId');
  const session = req.ctx.uploads.get(uploadId);
  if (!session || session.registry !== registry || session.repository !== repository) {
    throw new ApiError(
      'UploadNotFoundException',
      `The upload with id '${uploadId}' does not exist in the repository with name '${repository}' in the registry with id '${registry.account}'`,
    );
  }
  return session;
}

export const layerOperations: OperationTable = {
  async BatchCheckLayerAvailability(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const digests = list<string>(req.input, 'layerDigests', { required: true, min: 1, max: 100 }) ?? [];
    const repo = requireRepository(registry, repository);
    const layers = [];
    const failures = [];
    for (const d of digests) {
      if (typeof d !== 'string' || !SHA256_DIGEST.test(d)) {
        failures.push({ layerDigest: d, failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' });
      } else if (Object.hasOwn(repo.blobs, d)) {
        layers.push({ layerDigest: d, layerAvailability: 'AVAILABLE', layerSize: repo.blobs[d] });
      } else {
        failures.push({
          layerDigest: d,
          failureCode: 'MissingLayerDigest',
          failureReason: 'Requested layer not found',
        });
      }
    }
    return { layers, failures };
  },

  async InitiateLayerUpload(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    requireRepository(registry, repository);
    const session = await startUpload(req.ctx, registry, repository);
    return { uploadId: session.id, partSize: MAX_PART };
  },

  async UploadLayerPart(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    requireRepository(registry, repository);
    const session = sessionOf(req, registry, repository);
    const first = int(req.input, 'partFirstByte', 0, Number.MAX_SAFE_INTEGER);
    const last = int(req.input, 'partLastByte', 0, Number.MAX_SAFE_INTEGER);
    const blob = reqStr(req.input, 'layerPartBlob');
    if (first === undefined || last === undefined) {
      throw new ApiError(
        'InvalidParameterException',
        "Invalid parameter: 'partFirstByte' and 'partLastByte' are required",
      );
    }
    const bytes = Buffer.from(blob, 'base64');
    const invalid = (why: string) =>
      new ApiError('InvalidLayerPartException', `The layer part is invalid: ${why}`, 400, {
        registryId: registry.account,
        repositoryName: repository,
        uploadId: session.id,
        lastValidByteReceived: session.size - 1,
      });
    if (first !== session.size) {
      throw invalid(`the part must start at byte ${session.size} (it starts at ${first}); parts are uploaded in order`);
    }
    if (last - first + 1 !== bytes.length) {
      throw invalid(
        `partFirstByte ${first} and partLastByte ${last} describe ${last - first + 1} bytes, but the part has ${bytes.length}`,
      );
    }
    if (bytes.length > MAX_PART)
      throw invalid(`a part may be at most ${MAX_PART} bytes (10 MiB); this one has ${bytes.length}`);
    if (session.lastPartSize !== undefined && session.lastPartSize < MIN_PART) {
      throw new ApiError(
        'LayerPartTooSmallException',
        `Layer part size must be at least ${MIN_PART} bytes (5 MiB) for every part but the last; the previous part had ${session.lastPartSize}`,
      );
    }
    await appendBytes(req.ctx, session, bytes);
    session.lastPartSize = bytes.length;
    return {
      registryId: registry.account,
      repositoryName: repository,
      uploadId: session.id,
      lastByteReceived: session.size - 1,
    };
  },

  async CompleteLayerUpload(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    requireRepository(registry, repository);
    const session = sessionOf(req, registry, repository);
    const digests = list<string>(req.input, 'layerDigests', { required: true, min: 1, max: 100 }) ?? [];
    const expected = digests[0];
    if (session.size === 0) {
      await abortUpload(req.ctx, session);
      throw new ApiError('EmptyUploadException', `The upload with id '${session.id}' does not contain any layer parts`);
    }
    const actual = uploadDigest(session);
    if (typeof expected !== 'string' || expected !== actual) {
      await abortUpload(req.ctx, session);
      throw new ApiError(
        'InvalidLayerException',
        `Invalid layer digest: the uploaded layer has digest '${actual}', not '${String(expected)}'`,
      );
    }
    if (Object.hasOwn(requireRepository(registry, repository).blobs, actual)) {
      await abortUpload(req.ctx, session);
      throw new ApiError(
        'LayerAlreadyExistsException',
        `The layer with digest '${actual}' already exists in the repository with name '${repository}' in the registry with id '${registry.account}'`,
      );
    }
    const size = session.size;
    await commitUpload(req.ctx, session, actual);
    await req.ctx.store.mutate(() => {
      requireRepository(registry, repository).blobs[actual] = size;
    });
    return { registryId: registry.account, repositoryName: repository, uploadId: session.id, layerDigest: actual };
  },

  async GetDownloadUrlForLayer(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const digest = reqStr(req.input, 'layerDigest');
    const repo = requireRepository(registry, repository);
    if (!SHA256_DIGEST.test(digest)) {
      throw new ApiError(
        'InvalidParameterException',
        `Invalid parameter at 'layerDigest': '${digest}' is not a sha256 digest`,
      );
    }
    if (!Object.hasOwn(repo.blobs, digest)) {
      throw new ApiError(
        'LayersNotFoundException',
        `The layer with digest '${digest}' does not exist in the repository with name '${repository}' in the registry with id '${registry.account}'`,
      );
    }
    // ECR answers with a presigned S3 URL; here, the blob host's (when redirects are on).
    if (req.ctx.blobHostEndpoint) {
      return {
        downloadUrl: presignedBlobUrl(req.ctx, await req.ctx.blobHostEndpoint(), registry, repository, digest),
        layerDigest: digest,
      };
    }
    const endpoint = await req.ctx.registryEndpoint(registry);
    const token = mintDownloadToken(req.ctx.store.secret, {
      registry: `${registry.kind}/${registry.account}/${registry.region}`,
      repository,
      digest,
      exp: req.ctx.now() + DOWNLOAD_URL_TTL_MS,
    });
    return {
      downloadUrl: `${endpoint}/v2/${repository}/blobs/${digest}?download-token=${token}`,
      layerDigest: digest,
    };
  },
};

// ListImageReferrers: the control plane's list of an image's OCI 1.1 referrers. Unlike the
// data plane's referrers API it sees archived referrers (filter.artifactStatus, default
// ACTIVE only) and filters by several artifactTypes at once; pages hold 20 by default, at
// most 50.
import { ApiError, invalidParameter } from '../errors.js';
import {
  type ApiRequest,
  int,
  list,
  obj,
  type OperationTable,
  page,
  privateRegistry,
  reqStr,
  requireRepository,
  sortable,
  str,
} from './kit.js';
import { imageStatusOf, settle } from './storage.js';

const STATUSES = ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'];
const DIGEST = /^[0-9a-zA-Z-+.:=]+:[0-9a-fA-F]+$/;

async function listImageReferrers(req: ApiRequest): Promise<unknown> {
  const repo = requireRepository(privateRegistry(req), reqStr(req.input, 'repositoryName', { min: 2, max: 256 }));
  await settle(req.ctx, repo);
  const subjectId = obj(req.input, 'subjectId', true) as Record<string, unknown>;
  const subject = reqStr(subjectId, 'imageDigest');
  if (!DIGEST.test(subject)) throw invalidParameter('subjectId.imageDigest', 'Member must be a valid image digest');
  // 1..50, as the model documents; checked before page() (which allows up to 1000).
  int(req.input, 'maxResults', 1, 50);
  const filter = obj(req.input, 'filter');
  const types = filter ? list<string>(filter, 'artifactTypes', { min: 1, max: 5 }) : undefined;
  if (types?.some((t) => typeof t !== 'string'))
    throw new ApiError('SerializationException', "Expected a list of strings for 'artifactTypes'");
  const status = (filter ? str(filter, 'artifactStatus') : undefined) ?? 'ACTIVE';
  if (!STATUSES.includes(status))
    throw invalidParameter('filter.artifactStatus', `Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
  const found = Object.values(repo.images).filter(
    (i) =>
      i.subject === subject &&
      (types === undefined || (i.artifactType !== undefined && types.includes(i.artifactType))) &&
      (status === 'ANY' || imageStatusOf(i) === status),
  );
  // Push order: a stable key that the nextToken can continue after.
  const p = page(found, (i) => `${sortable(i.pushedAt)}-${sortable(i.seq ?? 0)}-${i.digest}`, req.input, 20);
  return {
    referrers: p.items.map((i) => ({
      digest: i.digest,
      mediaType: i.mediaType,
      ...(i.artifactType ? { artifactType: i.artifactType } : {}),
      size: i.manifestSize,
      ...(i.annotations ? { annotations: i.annotations } : {}),
      artifactStatus: imageStatusOf(i),
    })),
    ...(p.nextToken ? { nextToken: p.nextToken } : {}),
  };
}

/** The referrers operation. */
export const referrerOperations: OperationTable = {
  ListImageReferrers: listImageReferrers,
};

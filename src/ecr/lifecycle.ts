// ECR lifecycle policy calls (get, put, delete, start and read a preview) and the image list
// the lifecycle simulator needs, behind adapters that return our own types, page through every
// result and map service exceptions to our error kinds. No SDK type leaves this file. Waiting
// for a preview is a use case: src/ops/lifecycle.ts.
import { EcrctlError, NotFoundError } from '../errors.js';
import type { LifecycleImage } from '../policy/lifecycle/index.js';
import { listImages } from './images.js';
import { awsErrorName, callEcr, type EcrConnection, putLifecyclePolicy as putPolicy } from './repositories.js';

/** A repository's lifecycle policy as ECR returns it. */
export interface StoredLifecyclePolicy {
  repository: string;
  registryId?: string;
  text: string;
  /** When ECR last ran the policy (absent, or the epoch, when it never ran). */
  lastEvaluatedAt?: Date;
}

/** One image a preview says a rule acts on. */
export interface PreviewResult {
  digest: string;
  tags: string[];
  pushedAt?: Date;
  action: 'expire' | 'transition';
  rulePriority?: number;
}

/** A finished (or still running) lifecycle policy preview. */
export interface LifecyclePreview {
  status: 'IN_PROGRESS' | 'COMPLETE' | 'EXPIRED' | 'FAILED' | string;
  policyText?: string;
  results: PreviewResult[];
  expiringCount: number;
  transitioningCount: number;
}

function registry(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** Returns the lifecycle policy of a repository, or undefined when it has none. */
export async function getLifecyclePolicy(
  conn: EcrConnection,
  repository: string,
): Promise<StoredLifecyclePolicy | undefined> {
  const { GetLifecyclePolicyCommand } = conn.sdk;
  try {
    const out = await callEcr(conn, 'GetLifecyclePolicy', `repository ${repository}`, () =>
      conn.client.send(new GetLifecyclePolicyCommand({ ...registry(conn), repositoryName: repository })),
    );
    if (out.lifecyclePolicyText === undefined)
      throw new EcrctlError(`GetLifecyclePolicy returned no policy text for ${repository}`);
    const policy: StoredLifecyclePolicy = {
      repository: out.repositoryName ?? repository,
      text: out.lifecyclePolicyText,
    };
    if (out.registryId) policy.registryId = out.registryId;
    if (out.lastEvaluatedAt && out.lastEvaluatedAt.getTime() > 0) policy.lastEvaluatedAt = out.lastEvaluatedAt;
    return policy;
  } catch (err) {
    if (isPolicyNotFound(err)) return undefined;
    throw err;
  }
}

/** Sets the lifecycle policy of a repository (text validated by the caller). */
export async function putLifecyclePolicy(conn: EcrConnection, repository: string, text: string): Promise<void> {
  await putPolicy(conn, repository, text);
}

/** Deletes the lifecycle policy of a repository; returns the text it had, or undefined when it had none. */
export async function deleteLifecyclePolicy(conn: EcrConnection, repository: string): Promise<string | undefined> {
  const { DeleteLifecyclePolicyCommand } = conn.sdk;
  try {
    const out = await callEcr(conn, 'DeleteLifecyclePolicy', `repository ${repository}`, () =>
      conn.client.send(new DeleteLifecyclePolicyCommand({ ...registry(conn), repositoryName: repository })),
    );
    return out.lifecyclePolicyText ?? '';
  } catch (err) {
    if (isPolicyNotFound(err)) return undefined;
    throw err;
  }
}

// callEcr maps errors to NotFoundError, which also covers a missing repository: look at the
// service's own name (kept as the cause) to tell "no policy" from "no repository".
function isPolicyNotFound(err: unknown): boolean {
  return err instanceof NotFoundError && awsErrorName(err.cause) === 'LifecyclePolicyNotFoundException';
}

/** Starts ECR's preview of a policy (the repository's own when text is absent); returns its status. */
export async function startLifecyclePreview(conn: EcrConnection, repository: string, text?: string): Promise<string> {
  const { StartLifecyclePolicyPreviewCommand } = conn.sdk;
  const out = await callEcr(conn, 'StartLifecyclePolicyPreview', `repository ${repository}`, () =>
    conn.client.send(
      new StartLifecyclePolicyPreviewCommand({
        ...registry(conn),
        repositoryName: repository,
        ...(text !== undefined ? { lifecyclePolicyText: text } : {}),
      }),
    ),
  );
  return out.status ?? 'IN_PROGRESS';
}

/** Returns the current preview of a repository with every page of its results. */
export async function getLifecyclePreview(conn: EcrConnection, repository: string): Promise<LifecyclePreview> {
  const { GetLifecyclePolicyPreviewCommand } = conn.sdk;
  const preview: LifecyclePreview = { status: 'IN_PROGRESS', results: [], expiringCount: 0, transitioningCount: 0 };
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'GetLifecyclePolicyPreview', `repository ${repository}`, () =>
      conn.client.send(
        new GetLifecyclePolicyPreviewCommand({
          ...registry(conn),
          repositoryName: repository,
          // The operation's largest page is 100.
          maxResults: Math.min(conn.pageSize ?? 100, 100),
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    preview.status = out.status ?? 'IN_PROGRESS';
    if (out.lifecyclePolicyText !== undefined) preview.policyText = out.lifecyclePolicyText;
    if (preview.status !== 'COMPLETE') return preview;
    for (const r of out.previewResults ?? []) {
      if (!r.imageDigest)
        throw new EcrctlError(`GetLifecyclePolicyPreview returned a result without an image digest in ${repository}`);
      const result: PreviewResult = {
        digest: r.imageDigest,
        tags: [...(r.imageTags ?? [])].sort(),
        action: r.action?.type === 'TRANSITION' ? 'transition' : 'expire',
      };
      if (r.imagePushedAt) result.pushedAt = r.imagePushedAt;
      if (r.appliedRulePriority !== undefined) result.rulePriority = r.appliedRulePriority;
      preview.results.push(result);
    }
    preview.expiringCount = out.summary?.expiringImageTotalCount ?? 0;
    preview.transitioningCount = (out.summary?.transitioningImageTotalCounts ?? []).reduce(
      (n, t) => n + (t.imageTotalCount ?? 0),
      0,
    );
    nextToken = out.nextToken;
  } while (nextToken);
  return preview;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** What listLifecycleImages found besides the images. */
export interface LifecycleImageList {
  images: LifecycleImage[];
  /** Digests of the image indexes in the repository. */
  indexes: string[];
  /** Whether the indexes' manifests were read, so `referencedBy` is known. */
  indexesRead: boolean;
}

/**
 * Returns every image of a repository as the lifecycle simulator needs it: all pages of
 * DescribeImages (tags, push and pull times, size, storage class, which images are indexes).
 * With readIndexes, also the manifests the indexes list (BatchGetImage), so images an index
 * references are not expired — but ECR records every BatchGetImage as a pull of the index
 * (lastRecordedPullTime) unless the caller is on the pull-time update exclusion list, so
 * that read is the caller's explicit choice.
 */
export async function listLifecycleImages(
  conn: EcrConnection,
  repository: string,
  opts: { readIndexes?: boolean } = {},
): Promise<LifecycleImageList> {
  const { BatchGetImageCommand } = conn.sdk;
  const images: LifecycleImage[] = [];
  const indexes: string[] = [];
  // Archived images included: rules with storageClass "archive" select them.
  for (const d of await listImages(conn, repository)) {
    if (!d.pushedAt) throw new EcrctlError(`DescribeImages returned no push time for ${d.digest} in ${repository}`);
    const image: LifecycleImage = {
      digest: d.digest,
      tags: d.tags,
      pushedAt: d.pushedAt,
      storageClass: d.status === 'ARCHIVED' ? 'archive' : 'standard',
      sizeBytes: d.sizeBytes,
    };
    if (d.lastPulledAt) image.lastPulledAt = d.lastPulledAt;
    if (d.lastArchivedAt) image.lastArchivedAt = d.lastArchivedAt;
    if (d.mediaType && INDEX_TYPES.has(d.mediaType)) indexes.push(d.digest);
    images.push(image);
  }

  if (!opts.readIndexes || indexes.length === 0) return { images, indexes, indexesRead: indexes.length === 0 };
  const byDigest = new Map(images.map((i) => [i.digest, i]));
  for (let i = 0; i < indexes.length; i += 100) {
    const batch = indexes.slice(i, i + 100);
    const out = await callEcr(conn, 'BatchGetImage', `repository ${repository}`, () =>
      conn.client.send(
        new BatchGetImageCommand({
          ...registry(conn),
          repositoryName: repository,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
          acceptedMediaTypes: [...INDEX_TYPES],
        }),
      ),
    );
    for (const got of out.images ?? []) {
      const index = got.imageId?.imageDigest;
      if (!index || !got.imageManifest) continue;
      let listed: unknown;
      try {
        listed = (JSON.parse(got.imageManifest) as { manifests?: unknown }).manifests;
      } catch {
        continue; // not JSON: nothing it could reference
      }
      if (!Array.isArray(listed)) continue;
      for (const m of listed as { digest?: unknown }[]) {
        const child = typeof m?.digest === 'string' ? byDigest.get(m.digest) : undefined;
        if (child) child.referencedBy = [...(child.referencedBy ?? []), index];
      }
    }
  }
  return { images, indexes, indexesRead: true };
}

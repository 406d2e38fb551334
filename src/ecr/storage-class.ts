// Moving images between ECR's storage classes (UpdateImageStorageClass): ARCHIVE for
// long-term storage that cannot be pulled, STANDARD to restore an archived image.
import { callEcr, type EcrConnection } from './repositories.js';

/** The storage classes UpdateImageStorageClass accepts. */
export type TargetStorageClass = 'ARCHIVE' | 'STANDARD';

/** One image to move: by tag or by digest. */
export interface StorageClassTarget {
  repository: string;
  tag?: string;
  digest?: string;
}

/** What ECR answered for one image. */
export interface StorageClassResult {
  repository: string;
  digest?: string;
  tag?: string;
  /** ACTIVE, ARCHIVED or ACTIVATING (a restore takes up to 20 minutes on ECR). */
  status: string;
}

/** Moves one image to target storage class and returns the image's new status. */
export async function updateImageStorageClass(
  conn: EcrConnection,
  image: StorageClassTarget,
  target: TargetStorageClass,
): Promise<StorageClassResult> {
  const { UpdateImageStorageClassCommand } = conn.sdk;
  const imageId = image.digest ? { imageDigest: image.digest } : { imageTag: image.tag };
  const what = `${image.repository}${image.digest ? `@${image.digest}` : `:${image.tag}`}`;
  const out = await callEcr(conn, 'UpdateImageStorageClass', `image ${what}`, () =>
    conn.client.send(
      new UpdateImageStorageClassCommand({
        ...(conn.registryId ? { registryId: conn.registryId } : {}),
        repositoryName: image.repository,
        imageId,
        targetStorageClass: target,
      }),
    ),
  );
  const result: StorageClassResult = {
    repository: image.repository,
    status: out.imageStatus ?? (target === 'ARCHIVE' ? 'ARCHIVED' : 'ACTIVE'),
  };
  const digest = out.imageId?.imageDigest ?? image.digest;
  const tag = out.imageId?.imageTag ?? image.tag;
  if (digest) result.digest = digest;
  if (tag) result.tag = tag;
  return result;
}

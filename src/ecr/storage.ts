// What a repository stores, layer by layer, for `ecrctl cost --repos`. DescribeImages tells
// each image's size and which images are indexes; reading the layers themselves takes every
// image's manifest (BatchGetImage, 100 ids a call), and ECR records each such read as a pull
// (lastRecordedPullTime) — which defeats sinceImagePulled lifecycle rules — so that is only
// done when the caller asks for it. Indexes hold no layers of their own (their platform
// images are listed as images themselves) and are never read.
import { EcrctlError } from '../errors.js';
import { MANIFEST_ACCEPT } from '../oci/media-types.js';
import { listImages } from './images.js';
import { callEcr, type EcrConnection } from './repositories.js';
import { isIndexMediaType } from './scanning.js';

/** BatchGetImage takes at most this many image ids per call. */
const BATCH_GET = 100;

/** One image as storage sees it: its layers and the size of its config. */
export interface StoredImageLayers {
  digest: string;
  layers: { digest: string; size: number }[];
  configSize: number;
}

/**
 * Returns the stored images of a repository (indexes and archived images left out). With
 * readManifests, each image's layers from its manifest (BatchGetImage: recorded as a pull by
 * ECR); without, one entry per image of the size DescribeImages reports, keyed by the image
 * digest, so nothing is shared and nothing is recorded as pulled.
 */
export async function repositoryLayers(
  conn: EcrConnection,
  repository: string,
  opts: { readManifests?: boolean } = {},
): Promise<StoredImageLayers[]> {
  const stored = (await listImages(conn, repository)).filter(
    (i) => !isIndexMediaType(i.mediaType) && (i.status === undefined || i.status === 'ACTIVE'),
  );
  if (!opts.readManifests) {
    return stored.map((i) => ({ digest: i.digest, configSize: 0, layers: [{ digest: i.digest, size: i.sizeBytes }] }));
  }
  const { BatchGetImageCommand } = conn.sdk;
  const digests = stored.map((i) => i.digest);
  const out: StoredImageLayers[] = [];
  for (let i = 0; i < digests.length; i += BATCH_GET) {
    const batch = digests.slice(i, i + BATCH_GET);
    const answer = await callEcr(conn, 'BatchGetImage', `repository ${repository}`, () =>
      conn.client.send(
        new BatchGetImageCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
          acceptedMediaTypes: [...MANIFEST_ACCEPT],
        }),
      ),
    );
    for (const image of answer.images ?? []) {
      const digest = image.imageId?.imageDigest;
      if (!digest || !image.imageManifest)
        throw new EcrctlError(`BatchGetImage returned an image of ${repository} without its manifest`);
      let doc: { config?: { size?: number }; layers?: { digest?: string; size?: number }[] };
      try {
        doc = JSON.parse(image.imageManifest) as typeof doc;
      } catch (err) {
        throw new EcrctlError(`the manifest of ${repository}@${digest} is not JSON`, { cause: err });
      }
      if (!Array.isArray(doc.layers)) continue; // an index: its children are images of their own
      out.push({
        digest,
        configSize: doc.config?.size ?? 0,
        layers: doc.layers
          .filter(
            (l): l is { digest: string; size: number } => typeof l.digest === 'string' && typeof l.size === 'number',
          )
          .map((l) => ({ digest: l.digest, size: l.size })),
      });
    }
  }
  return out;
}

// What a repository stores, layer by layer, for `ecrctl cost --repos`: every image's
// manifest (BatchGetImage, 100 ids a call) reduced to its layers and config size. Indexes
// hold no layers of their own; their platform images are listed as images themselves.
import { EcrctlError } from '../errors.js';
import { MANIFEST_ACCEPT } from '../oci/media-types.js';
import { listImages } from './images.js';
import { callEcr, type EcrConnection } from './repositories.js';

/** BatchGetImage takes at most this many image ids per call. */
const BATCH_GET = 100;

/** One image as storage sees it: its layers and the size of its config. */
export interface StoredImageLayers {
  digest: string;
  layers: { digest: string; size: number }[];
  configSize: number;
}

/** Returns the layers of every image manifest in a repository (indexes contribute none). */
export async function repositoryLayers(conn: EcrConnection, repository: string): Promise<StoredImageLayers[]> {
  const { BatchGetImageCommand } = conn.sdk;
  const digests = (await listImages(conn, repository)).map((i) => i.digest);
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

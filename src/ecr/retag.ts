// The ECR calls `promote` needs: read an image's manifest (BatchGetImage), the tags an image
// and a tag have (DescribeImages), and write a tag by manifest alone (PutImage, always with
// imageManifestMediaType so OCI artifacts and Helm charts retag too). No blob moves.
import { EcrctlError, NotFoundError, RuleViolation } from '../errors.js';
import { MANIFEST_ACCEPT } from '../oci/media-types.js';
import { awsErrorName, callEcr, type EcrConnection } from './repositories.js';

/** An image's manifest as ECR stores it. */
export interface EcrManifest {
  digest: string;
  mediaType: string;
  manifest: string;
}

// Artifacts (Helm charts, signatures, SBOMs) are OCI manifests with their own config types;
// the manifest media types cover them, and ECR also knows the Docker schema 1 types.
const ACCEPTED = [
  ...new Set([
    ...MANIFEST_ACCEPT,
    'application/vnd.docker.distribution.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ]),
];

function registryOf(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** Returns the manifest of the image a tag or digest names; throws NotFoundError when absent. */
export async function getEcrManifest(
  conn: EcrConnection,
  repository: string,
  ref: { tag?: string; digest?: string },
): Promise<EcrManifest> {
  const { BatchGetImageCommand } = conn.sdk;
  const id = { ...(ref.digest ? { imageDigest: ref.digest } : {}), ...(ref.tag ? { imageTag: ref.tag } : {}) };
  const out = await callEcr(conn, 'BatchGetImage', `repository ${repository}`, () =>
    conn.client.send(
      new BatchGetImageCommand({
        ...registryOf(conn),
        repositoryName: repository,
        imageIds: [id],
        acceptedMediaTypes: ACCEPTED,
      }),
    ),
  );
  const image = out.images?.[0];
  if (!image) {
    const f = out.failures?.[0];
    throw new NotFoundError(
      `${repository}:${ref.tag ?? ref.digest} was not found${f?.failureReason ? `: ${f.failureReason}` : ''}`,
      {
        value: ref.tag ?? ref.digest,
        fix: `list what is there with \`ecrctl tags ${repository}\``,
      },
    );
  }
  if (!image.imageManifest || !image.imageId?.imageDigest)
    throw new EcrctlError('BatchGetImage returned an image without its manifest or digest');
  return {
    digest: image.imageId.imageDigest,
    // amazon-ecr-login's lesson: check each answer; ECR always sends the media type, but a
    // manifest that carries its own is the fallback.
    mediaType:
      image.imageManifestMediaType ?? (JSON.parse(image.imageManifest) as { mediaType?: string }).mediaType ?? '',
    manifest: image.imageManifest,
  };
}

/** Returns the tags of one image (DescribeImages by digest). */
export async function tagsOfImage(conn: EcrConnection, repository: string, digest: string): Promise<string[]> {
  const { DescribeImagesCommand } = conn.sdk;
  const out = await callEcr(conn, 'DescribeImages', `repository ${repository}`, () =>
    conn.client.send(
      new DescribeImagesCommand({
        ...registryOf(conn),
        repositoryName: repository,
        imageIds: [{ imageDigest: digest }],
      }),
    ),
  );
  return [...(out.imageDetails?.[0]?.imageTags ?? [])];
}

/** Returns the digest a tag points at, or undefined when the tag does not exist. */
export async function digestOfTag(conn: EcrConnection, repository: string, tag: string): Promise<string | undefined> {
  const { DescribeImagesCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new DescribeImagesCommand({ ...registryOf(conn), repositoryName: repository, imageIds: [{ imageTag: tag }] }),
    );
    return out.imageDetails?.[0]?.imageDigest;
  } catch (err) {
    if (awsErrorName(err) === 'ImageNotFoundException') return undefined;
    return callEcr(conn, 'DescribeImages', `repository ${repository}`, () => Promise.reject(err));
  }
}

/** Puts tag on the image by its manifest (PutImage); returns 'unchanged' when it already was. */
export async function putTag(
  conn: EcrConnection,
  repository: string,
  image: EcrManifest,
  tag: string,
): Promise<'added' | 'unchanged'> {
  const { PutImageCommand } = conn.sdk;
  try {
    await conn.client.send(
      new PutImageCommand({
        ...registryOf(conn),
        repositoryName: repository,
        imageManifest: image.manifest,
        imageManifestMediaType: image.mediaType,
        imageDigest: image.digest,
        imageTag: tag,
      }),
    );
    return 'added';
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'ImageAlreadyExistsException') return 'unchanged';
    if (name === 'ImageTagAlreadyExistsException') {
      throw new RuleViolation(
        `tag '${tag}' already exists in ${repository} and cannot be moved: the tag is immutable`,
        {
          rule: 'an immutable tag keeps pointing at the image it was first pushed with',
          value: tag,
          fix: 'choose a new tag, or allow moving it with an IMMUTABLE_WITH_EXCLUSION filter (e.g. for staging, production)',
          cause: err,
        },
      );
    }
    throw await callEcr(conn, 'PutImage', `repository ${repository}`, () => Promise.reject(err)).catch(
      (e: unknown) => e,
    );
  }
}

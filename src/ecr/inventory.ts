// What `ecrctl inventory` and `ecrctl prune` read from ECR: every image of a repository with
// the fields DescribeImages carries (sizes, times, tags, scan status and severity counts, the
// subject of a referrer). Only DescribeImages: reading a manifest (BatchGetImage, a
// data-plane GET) would update lastRecordedPullTime and make every image look recently
// pulled (ECR-FACTS.md, "Reading a manifest is a pull").
import { EcrctlError } from '../errors.js';
import { DESCRIBE_IMAGES_MAX } from './images.js';
import { callEcr, type EcrConnection } from './repositories.js';

/**
 * The commercial-partition regions where ECR runs, for `--regions all` (opt-in regions
 * included: one the account has not enabled answers with an auth error and is skipped).
 * ecrctl loads no EC2 client to ask DescribeRegions; update this list when AWS adds one.
 */
export const ECR_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

/** One image as the inventory sees it. */
export interface InventoryImageDetail {
  digest: string;
  tags: string[];
  sizeBytes: number;
  pushedAt?: Date;
  lastPulledAt?: Date;
  mediaType?: string;
  artifactMediaType?: string;
  /** ACTIVE, ARCHIVED or ACTIVATING. */
  status?: string;
  scanStatus?: string;
  /** findingSeverityCounts of the latest scan (CRITICAL, HIGH, …). */
  severityCounts?: Record<string, number>;
  /** The image this one refers to (an OCI 1.1 referrer: signature, SBOM, attestation). */
  subjectDigest?: string;
}

/** Returns every image of a repository from DescribeImages (all pages), without reading manifests. */
export async function describeInventoryImages(
  conn: EcrConnection,
  repository: string,
): Promise<InventoryImageDetail[]> {
  const { DescribeImagesCommand } = conn.sdk;
  const out: InventoryImageDetail[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await callEcr(conn, 'DescribeImages', `repository ${repository}`, () =>
      conn.client.send(
        new DescribeImagesCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          maxResults: conn.pageSize ?? DESCRIBE_IMAGES_MAX,
          filter: { imageStatus: 'ANY' },
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    for (const d of page.imageDetails ?? []) {
      if (!d.imageDigest) throw new EcrctlError(`DescribeImages returned an image without a digest in ${repository}`);
      const image: InventoryImageDetail = {
        digest: d.imageDigest,
        tags: [...(d.imageTags ?? [])].sort(),
        sizeBytes: d.imageSizeInBytes ?? 0,
      };
      if (d.imagePushedAt) image.pushedAt = d.imagePushedAt;
      if (d.lastRecordedPullTime) image.lastPulledAt = d.lastRecordedPullTime;
      if (d.imageManifestMediaType) image.mediaType = d.imageManifestMediaType;
      if (d.artifactMediaType) image.artifactMediaType = d.artifactMediaType;
      if (d.imageStatus) image.status = d.imageStatus;
      if (d.imageScanStatus?.status) image.scanStatus = d.imageScanStatus.status;
      const counts = d.imageScanFindingsSummary?.findingSeverityCounts;
      if (counts && Object.keys(counts).length > 0) image.severityCounts = { ...counts };
      if (d.subjectManifestDigest) image.subjectDigest = d.subjectManifestDigest;
      out.push(image);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/**
 * Runs task over items with at most `limit` running at once and returns the results in the
 * items' order; the first failure stops new work and is thrown once the running ones end.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length && !signal?.aborted) {
      const i = next++;
      try {
        results[i] = await task(items[i] as T, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.err;
  return results;
}

// images: every image of a repository (all pages of DescribeImages), sorted newest push first
// because ECR returns them in no useful order, with tag and age filters.
import {
  filterImages,
  type ImageSort,
  type ImageSummary,
  listImages as listEcrImages,
  sortImages,
} from '../ecr/images.js';
import { settingsFromSession } from '../ecr/aws-config.js';
import { mapAwsError } from '../ecr/errors.js';
import { connectEcrPublic, listPublicImages } from '../ecr/public-repositories.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/** What listImages accepts. */
export interface ListImagesOptions {
  /** The repository name, e.g. `team/app` (in the session's default region and registry). */
  repository: string;
  /** Only images with at least one tag (`tagged`) or with none (`untagged`); default: all. */
  filter?: 'tagged' | 'untagged';
  /** Only images pushed at or after this moment. */
  since?: Date;
  /** Newest push first (default), largest first, or by first tag. */
  sort?: ImageSort;
  /** An ECR Public repository of the account (us-east-1). */
  public?: boolean;
}

/** The images of a repository. */
export interface ListImagesResult {
  /** The repository listed. */
  repository: string;
  /** The images that pass the filters, sorted. */
  images: ImageSummary[];
}

/** Lists the images of a repository, filtered and sorted; logs when none are left. */
export async function listImages(session: Session, opts: ListImagesOptions): Promise<ListImagesResult> {
  const { repository } = opts;
  const tagged = opts.filter === 'tagged';
  const untagged = opts.filter === 'untagged';
  const all: ImageSummary[] = opts.public
    ? await listPublicImages(
        await connectEcrPublic(
          settingsFromSession(session),
          session.aws.registryId ? { registryId: session.aws.registryId } : {},
        ),
        repository,
      )
    : await listEcrImages(
        await ecrConnection(session),
        repository,
        tagged ? { tagStatus: 'TAGGED' } : untagged ? { tagStatus: 'UNTAGGED' } : {},
      );
  const shown = sortImages(
    filterImages(all, {
      ...(tagged ? { tagged: true } : {}),
      ...(untagged ? { untagged: true } : {}),
      ...(opts.since ? { since: opts.since } : {}),
    }),
    opts.sort ?? 'pushed',
  );
  if (shown.length === 0)
    session.log.info(all.length === 0 ? `repository ${repository} has no images` : 'no image matches the filters');
  return { repository, images: shown };
}

/** What listPublicTags returns: the same shape as the registry listing of `ecrctl tags`. */
export interface PublicTagsResult {
  /** The public repository listed. */
  repository: string;
  /** Every tag, sorted. */
  tags: string[];
}

/**
 * Lists every tag of an ECR Public repository of the account (all pages of ECR Public's
 * DescribeImageTags, in us-east-1). NotFoundError when the repository does not exist.
 */
export async function listPublicTags(session: Session, opts: { repository: string }): Promise<PublicTagsResult> {
  const conn = await connectEcrPublic(
    settingsFromSession(session),
    session.aws.registryId ? { registryId: session.aws.registryId } : {},
  );
  const { DescribeImageTagsCommand } = conn.sdk;
  const tags: string[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await conn.client.send(
        new DescribeImageTagsCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: opts.repository,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const t of page.imageTagDetails ?? []) if (t.imageTag) tags.push(t.imageTag);
      nextToken = page.nextToken;
    } catch (err) {
      throw mapAwsError(err, {
        operation: 'DescribeImageTags',
        permission: 'ecr-public:DescribeImageTags',
        resource: `public repository ${opts.repository}`,
        region: 'us-east-1',
        ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
      });
    }
  } while (nextToken);
  if (tags.length === 0) session.log.info(`public repository ${opts.repository} has no tags`);
  return { repository: opts.repository, tags: tags.sort() };
}

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

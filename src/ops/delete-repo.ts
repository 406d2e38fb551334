// delete-repo: deletes a repository; one that still holds images only with force, so that a
// typo cannot take the images of a live service with it.
import { countImages } from '../ecr/images.js';
import { deleteRepository as deleteEcrRepository, describeRepository } from '../ecr/repositories.js';
import { EcrctlError, NotFoundError } from '../errors.js';
import { settingsFromSession } from '../ecr/aws-config.js';
import {
  connectEcrPublic,
  deletePublicRepository,
  describePublicRepository,
  listPublicImages,
} from '../ecr/public-repositories.js';
import type { Session } from '../session.js';
import { plural } from '../text.js';
import { ecrConnection } from './ecr.js';

/** What deleteRepository accepts. */
export interface DeleteRepositoryOptions {
  /** The repository name, e.g. `team/app` (in the session's default region and registry). */
  name: string;
  /** Delete the repository together with its images; without it a repository with images is refused. */
  force?: boolean;
  /** An ECR Public repository of the account (us-east-1). */
  public?: boolean;
  /** Say what would be deleted; delete nothing. */
  dryRun?: boolean;
  /**
   * Asks a person before deleting (without force, not on a dry run): called with the question
   * ("Delete repository team/app with 3 images?"); true deletes the repository with its
   * images, false deletes nothing (EcrctlError, exit 1). Absent: a repository with images is
   * refused without force, as in CI.
   */
  confirm?: (question: string) => Promise<boolean>;
}

/** What deleteRepository did. */
export interface DeleteRepositoryResult {
  /** The repository deleted. */
  name: string;
  /** The URI the repository had. */
  uri: string;
  /** How many images went with it (0 unless force); on a dry run, how many would. */
  imagesDeleted: number;
  /** True when nothing was deleted (dryRun). */
  dryRun: boolean;
}

/**
 * Deletes a repository. NotFoundError when it does not exist; EcrctlError (nothing deleted)
 * when it holds images and force is not given.
 */
export async function deleteRepository(
  session: Session,
  opts: DeleteRepositoryOptions,
): Promise<DeleteRepositoryResult> {
  const { name } = opts;
  const force = opts.force === true;
  const dryRun = opts.dryRun === true;
  if (opts.public) return deletePublic(session, name, force, dryRun, opts.confirm);
  const conn = await ecrConnection(session);
  const info = await describeRepository(conn, name);
  if (!info) {
    throw new NotFoundError(
      `repository ${name} does not exist in ${conn.region}${conn.registryId ? ` (registry ${conn.registryId})` : ''}`,
      {
        value: name,
        fix: '`ecrctl repos` lists the repositories; check --region and --registry-id',
      },
    );
  }
  const images = await countImages(conn, name);
  const confirmed = await ask(opts, `repository ${name}`, images);
  if (images > 0 && !force && !confirmed) throw notEmpty(name, images, '');
  if (dryRun) {
    session.log.info(
      `dry run: would delete repository ${name}${images > 0 ? ` and its ${images} image${images === 1 ? '' : 's'}` : ''}`,
    );
    return { name, uri: info.uri, imagesDeleted: images, dryRun };
  }
  await deleteEcrRepository(conn, name, force || confirmed);
  session.log.info(
    `deleted repository ${name}${images > 0 ? ` and its ${images} image${images === 1 ? '' : 's'}` : ''}`,
  );
  return { name, uri: info.uri, imagesDeleted: images, dryRun };
}

async function deletePublic(
  session: Session,
  name: string,
  force: boolean,
  dryRun: boolean,
  confirm: DeleteRepositoryOptions['confirm'],
): Promise<DeleteRepositoryResult> {
  const conn = await connectEcrPublic(
    settingsFromSession(session),
    session.aws.registryId ? { registryId: session.aws.registryId } : {},
  );
  const info = await describePublicRepository(conn, name);
  if (!info) {
    throw new NotFoundError(`public repository ${name} does not exist`, {
      value: name,
      fix: '`ecrctl repos --public` lists the public repositories',
    });
  }
  const images = (await listPublicImages(conn, name)).length;
  const confirmed = await ask({ force, dryRun, ...(confirm ? { confirm } : {}) }, `public repository ${name}`, images);
  if (images > 0 && !force && !confirmed) throw notEmpty(name, images, ' --public');
  if (!dryRun) await deletePublicRepository(conn, name, force || confirmed);
  session.log.info(
    `${dryRun ? 'dry run: would delete' : 'deleted'} public repository ${name}${images > 0 ? ` and its ${images} image${images === 1 ? '' : 's'}` : ''}`,
  );
  return { name, uri: info.uri, imagesDeleted: images, dryRun };
}

/**
 * Asks opts.confirm, when given and neither force nor dryRun: true when the person said yes;
 * EcrctlError (exit 1, nothing deleted) when they did not; false when nobody was asked.
 */
async function ask(
  opts: Pick<DeleteRepositoryOptions, 'force' | 'dryRun' | 'confirm'>,
  what: string,
  images: number,
): Promise<boolean> {
  if (!opts.confirm || opts.force || opts.dryRun) return false;
  const question = `Delete ${what} with ${plural(images, 'image')}?`;
  if (await opts.confirm(question)) return true;
  throw new EcrctlError(`${what} not deleted: the answer was not yes`, {
    value: what.replace(/^(public )?repository /, ''),
    fix: 'answer y to delete it, or pass --force to delete it without a question',
  });
}

function notEmpty(name: string, images: number, flags: string): EcrctlError {
  return new EcrctlError(`repository ${name} holds ${images} image${images === 1 ? '' : 's'}; not deleted`, {
    rule: 'a repository with images is deleted only with --force',
    value: name,
    fix: `run \`ecrctl delete-repo ${name}${flags} --force\` to delete it with its ${images} image${images === 1 ? '' : 's'}`,
  });
}

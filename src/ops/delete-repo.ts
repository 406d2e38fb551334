// delete-repo: deletes a repository; one that still holds images only with force, so that a
// typo cannot take the images of a live service with it.
import { countImages } from '../ecr/images.js';
import { deleteRepository as deleteEcrRepository, describeRepository } from '../ecr/repositories.js';
import { EcrctlError, NotFoundError } from '../errors.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/** What deleteRepository accepts. */
export interface DeleteRepositoryOptions {
  /** The repository name, e.g. `team/app` (in the session's default region and registry). */
  name: string;
  /** Delete the repository together with its images; without it a repository with images is refused. */
  force?: boolean;
}

/** What deleteRepository did. */
export interface DeleteRepositoryResult {
  /** The repository deleted. */
  name: string;
  /** The URI the repository had. */
  uri: string;
  /** How many images went with it (0 unless force). */
  imagesDeleted: number;
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
  if (images > 0 && !force) {
    throw new EcrctlError(`repository ${name} holds ${images} image${images === 1 ? '' : 's'}; not deleted`, {
      rule: 'a repository with images is deleted only with --force',
      value: name,
      fix: `run \`ecrctl delete-repo ${name} --force\` to delete it with its ${images} image${images === 1 ? '' : 's'}`,
    });
  }
  await deleteEcrRepository(conn, name, force);
  session.log.info(
    `deleted repository ${name}${images > 0 ? ` and its ${images} image${images === 1 ? '' : 's'}` : ''}`,
  );
  return { name, uri: info.uri, imagesDeleted: images };
}

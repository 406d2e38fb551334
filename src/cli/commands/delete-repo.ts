// `ecrctl delete-repo NAME`: deletes a repository; one that still holds images only with
// --force, so that a typo cannot take the images of a live service with it.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** Declares `ecrctl delete-repo`. */
export function defineDeleteRepo(program: Command, host: CommandHost): void {
  program
    .command('delete-repo')
    .summary('delete a repository (with its images only when --force)')
    .description(
      'Deletes repository NAME. A repository that still holds images is refused (exit 1, with the count) unless --force is given.',
    )
    .argument('<name>', 'repository name, e.g. team/app')
    .option('--force', 'delete the repository together with its images')
    .addHelpText('after', examples('ecrctl delete-repo team/old-app', 'ecrctl delete-repo team/old-app --force'))
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runDeleteRepo(ctx, name, opts.force === true);
    });
}

async function runDeleteRepo(ctx: CliContext, name: string, force: boolean): Promise<void> {
  const { settingsFromContext, requireRegion } = await import('../../ecr/aws-config.js');
  const { EcrctlError, NotFoundError } = await import('../../errors.js');
  const repos = await import('../../ecr/repositories.js');
  const { countImages } = await import('../../ecr/images.js');
  const settings = settingsFromContext(ctx);
  const conn = await repos.connectEcr(settings, {
    region: requireRegion(settings),
    ...(ctx.globals.registryId ? { registryId: ctx.globals.registryId } : {}),
  });
  const info = await repos.describeRepository(conn, name);
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
  await repos.deleteRepository(conn, name, force);
  ctx.log.info(`deleted repository ${name}${images > 0 ? ` and its ${images} image${images === 1 ? '' : 's'}` : ''}`);
  render(
    ctx,
    { name, uri: info.uri, imagesDeleted: images },
    {
      text: (d) => d.uri,
      env: (d) => ({ REPOSITORY_NAME: d.name, REPOSITORY_URI: d.uri, IMAGES_DELETED: String(d.imagesDeleted) }),
    },
  );
}

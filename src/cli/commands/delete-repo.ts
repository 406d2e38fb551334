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

/** Deletes the repository and prints its URI. */
async function runDeleteRepo(ctx: CliContext, name: string, force: boolean): Promise<void> {
  const { deleteRepository } = await import('../../ops/delete-repo.js');
  const result = await deleteRepository(ctx, { name, force });
  render(ctx, result, {
    text: (d) => d.uri,
    env: (d) => ({ REPOSITORY_NAME: d.name, REPOSITORY_URI: d.uri, IMAGES_DELETED: String(d.imagesDeleted) }),
  });
}

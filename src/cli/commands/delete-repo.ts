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
    .option('--public', 'an ECR Public repository of the account')
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .addHelpText(
      'after',
      examples(
        'ecrctl delete-repo team/old-app',
        'ecrctl delete-repo team/old-app --force --dry-run',
        'ecrctl delete-repo old-tool --public --force',
      ),
    )
    .action(async (name: string, opts: { force?: boolean; public?: boolean; dryRun?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runDeleteRepo(ctx, name, opts);
    });
}

/** Deletes the repository and prints its URI. */
async function runDeleteRepo(
  ctx: CliContext,
  name: string,
  opts: { force?: boolean; public?: boolean; dryRun?: boolean },
): Promise<void> {
  const { deleteRepository } = await import('../../ops/delete-repo.js');
  const result = await deleteRepository(ctx, {
    name,
    force: opts.force === true,
    public: opts.public === true,
    dryRun: opts.dryRun === true,
  });
  render(ctx, result, {
    text: (d) => (d.dryRun ? `would delete ${d.uri}` : d.uri),
    env: (d) => ({
      REPOSITORY_NAME: d.name,
      REPOSITORY_URI: d.uri,
      IMAGES_DELETED: String(d.imagesDeleted),
      DRY_RUN: String(d.dryRun),
    }),
  });
}

// `ecrctl delete-repo NAME`: deletes a repository; one that still holds images only with
// --force, so that a typo cannot take the images of a live service with it. On a terminal it
// asks first ("Delete repository X with N images? [y/N]"); in CI and pipes nobody can answer,
// so it does not ask there.
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
      'Deletes repository NAME. On a terminal it asks first ("Delete repository NAME\n' +
        'with N images? [y/N]"); y or yes deletes it with its images, anything else deletes\n' +
        'nothing (exit 1). Without a terminal (CI, pipes) or with --yes it does not ask: a\n' +
        'repository that still holds images is then refused (exit 1, with the count) unless\n' +
        '--force is given.',
    )
    .argument('<name>', 'repository name, e.g. team/app')
    .option('--force', 'delete the repository together with its images (no question)')
    .option('-y, --yes', 'do not ask; a repository with images still needs --force')
    .option('--public', 'an ECR Public repository of the account')
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .addHelpText(
      'after',
      examples(
        'ecrctl delete-repo team/old-app',
        'ecrctl delete-repo team/old-app --force --dry-run',
        'ecrctl delete-repo team/empty-app --yes   # no question (scripts on a terminal)',
        'ecrctl delete-repo old-tool --public --force',
      ),
    )
    .action(async (name: string, opts: DeleteRepoOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await runDeleteRepo(ctx, name, opts);
    });
}

/** The options of delete-repo as commander hands them over. */
interface DeleteRepoOptions {
  force?: boolean;
  yes?: boolean;
  public?: boolean;
  dryRun?: boolean;
}

/** Deletes the repository (asking first on a terminal) and prints its URI. */
async function runDeleteRepo(ctx: CliContext, name: string, opts: DeleteRepoOptions): Promise<void> {
  const { deleteRepository } = await import('../../ops/delete-repo.js');
  const result = await deleteRepository(ctx, {
    name,
    force: opts.force === true,
    public: opts.public === true,
    dryRun: opts.dryRun === true,
    // Only a person at a terminal is asked; --yes, CI and pipes keep the --force rule.
    ...(ctx.confirm && opts.yes !== true ? { confirm: ctx.confirm } : {}),
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

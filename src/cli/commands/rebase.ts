// `ecrctl rebase`: an image's base layers swapped for a patched base's. The op is src/ops/rebase.ts.
import type { Command } from 'commander';
import { type CommandHost, examples, strategiesOf, type TagCliOptions, tagOptions } from '../command-kit.js';

interface RebaseFlags extends TagCliOptions {
  oldBase: string;
  newBase: string;
  target: string;
  createRepo?: boolean;
  dryRun?: boolean;
  concurrency?: string;
}

/** Declares `ecrctl rebase`. */
export function defineRebase(program: Command, host: CommandHost): void {
  tagOptions(
    program
      .command('rebase')
      .summary("swap an image's base layers for a new base's (a patched base)")
      .description(
        "Rebuilds IMAGE on --new-base: its first layers must be --old-base's (exit 3 if not),\n" +
          "and the two bases must offer the same platforms. The image's own layers are kept\n" +
          "byte for byte; the config keeps its settings with the new base's layers and history.\n" +
          'The result goes to --target with tags as tag-push; blobs are skipped, mounted or\n' +
          'streamed, never written to disk.',
      )
      .argument('<image>', 'the image to rebase (registry reference or oci:DIR[:TAG])')
      .requiredOption('--old-base <ref>', 'the base the image was built on')
      .requiredOption('--new-base <ref>', 'the base to put under it')
      .requiredOption('--target <ref>', 'registry reference, oci:DIR[:TAG] or docker-archive:FILE'),
  )
    .option('--create-repo', 'create a missing ECR repository')
    .option('--dry-run', 'plan (digest, tags, rules); write nothing')
    .option('--concurrency <n>', 'blobs moved at once', '4')
    .addHelpText(
      'after',
      examples(
        'ecrctl rebase team/app:v1 --old-base base@sha256:4f… --new-base base:1 --target team/app:v1-patched',
        'ecrctl rebase oci:./out:v1 --old-base node:22@sha256:4f… --new-base node:22 --target oci:./out:v1p',
      ),
    )
    .action(async (image: string, flags: RebaseFlags, cmd: Command) => {
      const ctx = host.context(cmd);
      const [{ rebase }, { concurrencyOf }, { reportBuild }] = await Promise.all([
        import('../../ops/rebase.js'),
        import('../transfer.js'),
        import('./build.js'),
      ]);
      const result = await rebase(ctx, {
        image,
        oldBase: flags.oldBase,
        newBase: flags.newBase,
        target: flags.target,
        tags: flags.tag ?? [],
        strategies: strategiesOf(flags),
        ...(flags.semverAliases ? { semverAliases: true } : {}),
        ...(flags.createRepo ? { createRepo: true } : {}),
        ...(flags.dryRun ? { dryRun: true } : {}),
        concurrency: concurrencyOf(flags.concurrency),
      });
      await reportBuild(ctx, result);
      if (result.plan?.violation) throw result.plan.violation;
    });
}

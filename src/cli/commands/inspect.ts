import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type CommandHost, examples } from '../command-kit.js';

/** Declares `ecrctl inspect`. */
export function defineInspect(program: Command, host: CommandHost): void {
  program
    .command('inspect')
    .summary('show an image: digest, media type, platforms, layers, size')
    .description(
      'Reads the manifest REF names (from a registry, an OCI layout or a docker-archive) and\n' +
        'prints its digest, media type, platforms, layers and total size. --raw prints the\n' +
        'manifest bytes exactly as stored. --config shows the image configuration (os/arch,\n' +
        'entrypoint, cmd, env, user, labels, ports, created, history) of each platform.\n' +
        '--referrers shows the tree of signatures, SBOMs and attestations that refer to it.',
    )
    .argument('<ref>', 'image reference or location')
    .option('--raw', 'print the manifest bytes as stored')
    .option('--config', 'show the image configuration of each platform (after REF)')
    .option('--referrers', 'show the referrers tree (registry images only)')
    .addHelpText(
      'after',
      examples(
        'ecrctl inspect 127.0.0.1:5000/team/app:v1',
        'ecrctl inspect oci:./out:v1 --raw',
        'ecrctl inspect team/app:v1 --config',
        'ecrctl inspect team/app:v1 --config -o json',
        'ecrctl inspect team/app:v1 --referrers',
      ),
    )
    .action(async (ref: string, opts: { raw?: boolean; config?: boolean; referrers?: boolean }, cmd: Command) => {
      // The global `--config [file]` takes `--config` without a file: here it means this view.
      let root = cmd;
      while (root.parent) root = root.parent;
      if (root.getOptionValue('config') === true) {
        root.setOptionValue('config', undefined);
        opts.config = true;
      }
      const ctx = host.context(cmd);
      const chosen = (['raw', 'config', 'referrers'] as const).filter((k) => opts[k] === true);
      if (chosen.length > 1) {
        throw new UsageError(`--${chosen[0]} and --${chosen[1]} cannot be used together`, {
          value: chosen.map((k) => `--${k}`).join(' '),
          fix: 'ask for one view per run',
        });
      }
      const { runInspect } = await import('../transfer.js');
      await runInspect(ctx, ref, chosen[0] ?? 'summary');
    });
}

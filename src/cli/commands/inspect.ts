import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';

/** Declares `ecrctl inspect`. */
export function defineInspect(program: Command, host: CommandHost): void {
  program
    .command('inspect')
    .summary('show an image: digest, media type, platforms, layers, size')
    .description(
      'Reads the manifest REF names (from a registry, an OCI layout or a docker-archive) and\n' +
        'prints its digest, media type, platforms, layers and total size. --raw prints the\n' +
        'manifest bytes exactly as stored.',
    )
    .argument('<ref>', 'image reference or location')
    .option('--raw', 'print the manifest bytes as stored')
    .addHelpText('after', examples('ecrctl inspect 127.0.0.1:5000/team/app:v1', 'ecrctl inspect oci:./out:v1 --raw'))
    .action(async (ref: string, opts: { raw?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { runInspect } = await import('../transfer.js');
      await runInspect(ctx, ref, opts.raw === true);
    });
}

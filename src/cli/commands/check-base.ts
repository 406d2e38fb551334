// `ecrctl check-base`: exit 3 when an image's base tag has moved on (a patched base exists).
// The op is src/ops/check-base.ts; this file renders and sets the exit code.
import type { Command } from 'commander';
import { RuleViolation } from '../../errors.js';
import { type CommandHost, examples } from '../command-kit.js';

/** Declares `ecrctl check-base`. */
export function defineCheckBase(program: Command, host: CommandHost): void {
  program
    .command('check-base')
    .summary("exit 3 when an image's base image has moved on")
    .description(
      'Reads the base of IMAGE from its annotations (org.opencontainers.image.base.name and\n' +
        '.base.digest, written by ecrctl build) or --base, and compares it with what the base\n' +
        'reference points at now. Exit 0: up to date; exit 3: the base moved (rebase or\n' +
        "rebuild). Without a recorded digest, the base's current layers must be the image's\n" +
        'first layers.',
    )
    .argument('<image>', 'the image to check (registry reference or oci:DIR[:TAG])')
    .option('--base <ref>', 'the base to compare with (default: from the annotations)')
    .addHelpText(
      'after',
      examples(
        'ecrctl check-base team/app:v1',
        'ecrctl check-base team/app:v1 --base public.ecr.aws/lambda/nodejs:22 || ecrctl rebase …',
        'ecrctl check-base oci:./out:v1 --output json',
      ),
    )
    .action(async (image: string, flags: { base?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      const [{ checkBase }, { render }] = await Promise.all([
        import('../../ops/check-base.js'),
        import('../output.js'),
      ]);
      const r = await checkBase(ctx, { image, ...(flags.base ? { base: flags.base } : {}) });
      render(ctx, r, {
        text: (x) =>
          x.upToDate ? `${x.image}: up to date with ${x.base} (${x.current})` : `${x.image}: base moved: ${x.reason}`,
        env: (x) => ({
          IMAGE_BASE: x.base,
          IMAGE_BASE_DIGEST: x.current,
          IMAGE_BASE_BUILT_ON: x.builtOn ?? '',
          IMAGE_BASE_UP_TO_DATE: String(x.upToDate),
        }),
      });
      if (!r.upToDate) {
        throw new RuleViolation(`the base of ${r.image} has moved on`, {
          rule: 'an image is on the current version of its base',
          value: r.base,
          fix: `rebuild, or \`ecrctl rebase ${r.image} --old-base ${r.base.replace(/[:@][^/:]*$/, '')}@${r.builtOn ?? 'OLD'} --new-base ${r.base} --target …\``,
        });
      }
    });
}

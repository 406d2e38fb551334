// `ecrctl archive REF…` and `ecrctl restore REF…`: move images to ECR's archival storage
// class (cheap, long-term, cannot be pulled) and back to standard (UpdateImageStorageClass).
// Each reference is reported; the rest is still done when one fails.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** Declares `ecrctl archive`. */
export function defineArchive(program: Command, host: CommandHost): void {
  program
    .command('archive')
    .summary('move images to the archival storage class (they cannot be pulled until restored)')
    .description(
      'Moves the images REF names (repo:tag, repo@sha256:…, or a full ECR reference) to the ECR\n' +
        'archival storage class: cheaper long-term storage, a 90-day minimum, and no pulls until\n' +
        '`ecrctl restore REF` brings them back. Archived images still appear in describe and list\n' +
        'calls with the status ARCHIVED. Exits 6 when a reference was not found, 1 on other failures.',
    )
    .argument('<refs...>', 'images: team/app:v1, team/app@sha256:…')
    .addHelpText('after', examples('ecrctl archive team/app:v1 team/app:v2', 'ecrctl archive team/app@sha256:0123…'))
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await runStorageClass(host.context(cmd), refs, 'archive');
    });
}

/** Declares `ecrctl restore`. */
export function defineRestore(program: Command, host: CommandHost): void {
  program
    .command('restore')
    .summary('restore archived images to the standard storage class')
    .description(
      'Restores archived images to the ECR standard storage class so they can be pulled again.\n' +
        'ECR reports ACTIVATING at first; a restore takes up to 20 minutes, after which the image\n' +
        'behaves like a newly pushed one. Exits 6 when a reference was not found, 1 on other failures.',
    )
    .argument('<refs...>', 'images: team/app:v1, team/app@sha256:…')
    .addHelpText('after', examples('ecrctl restore team/app:v1', 'ecrctl restore team/app@sha256:0123… -o json'))
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      await runStorageClass(host.context(cmd), refs, 'restore');
    });
}

/** Archives or restores the images and prints the status of each. */
async function runStorageClass(ctx: CliContext, refs: string[], verb: 'archive' | 'restore'): Promise<void> {
  const { archiveImages, restoreImages, storageClassError } = await import('../../ops/archive.js');
  const result = await (verb === 'archive' ? archiveImages : restoreImages)(ctx, { refs });
  render(ctx, result, {
    text: (d) => d.results.map((r) => `${r.ref}\t${r.status}${r.digest ? `\t${r.digest}` : ''}`).join('\n'),
    env: (d) => ({
      IMAGE_STATUSES: d.results.map((r) => `${r.ref}=${r.status}`).join(','),
      ...(d.results.length === 1
        ? { IMAGE_STATUS: d.results[0]?.status ?? '', IMAGE_DIGEST: d.results[0]?.digest ?? '' }
        : {}),
    }),
  });
  const failure = storageClassError(result, verb);
  if (failure) throw failure;
}

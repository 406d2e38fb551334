// `ecrctl delete REF…`: deletes images by tag or digest (or, with --untag-only, removes tags
// and keeps the images), at most 100 ids per BatchDeleteImage call, and reports what ECR
// said about each reference rather than assuming that everything asked for went away.
import type { Command } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render } from '../output.js';

/** Declares `ecrctl delete`. */
export function defineDelete(program: Command, host: CommandHost): void {
  program
    .command('delete')
    .summary('delete images by tag or digest, or remove tags with --untag-only')
    .description(
      'Deletes the images that REF names — repo:tag, repo@sha256:…, or a full ECR reference —\n' +
        'with all their tags. With --untag-only a tag is removed and the image kept; ECR deletes\n' +
        "an image when its last tag is removed, so ecrctl refuses to remove an image's only tag.\n" +
        'Exits 6 when a reference was not found (after deleting the rest), 1 on other failures.\n' +
        'With --public, REF names an image of an ECR Public repository of the account\n' +
        '(NAME:TAG, NAME@sha256:… or the repository URI; ECR Public is in us-east-1).',
    )
    .argument(
      '<refs...>',
      'images: team/app:v1, team/app@sha256:…, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1',
    )
    .option('--untag-only', 'remove the tags named and keep the images')
    .option('--dry-run', 'say what would be deleted; delete nothing')
    .option('--public', 'images of ECR Public repositories of the account')
    .addHelpText(
      'after',
      examples(
        'ecrctl delete team/app:v1 team/app:v2',
        'ecrctl delete team/app@sha256:0123…',
        'ecrctl delete team/app:old-name --untag-only',
        'ecrctl delete team/app:v1 --dry-run',
        'ecrctl delete tools/cli:v0.1 --public',
      ),
    )
    .action(async (refs: string[], opts: { untagOnly?: boolean; dryRun?: boolean; public?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runDelete(ctx, refs, opts.untagOnly === true, opts.dryRun === true, opts.public === true);
    });
}

/** Deletes the images (or tags), prints what happened to each reference. */
async function runDelete(
  ctx: CliContext,
  refs: string[],
  untagOnly: boolean,
  dryRun: boolean,
  isPublic: boolean,
): Promise<void> {
  const { deleteImages, deleteImagesError } = await import('../../ops/delete.js');
  const result = await deleteImages(ctx, { refs, untagOnly, dryRun, ...(isPublic ? { public: true } : {}) });
  const said = (done: string, verb: string) => (dryRun ? `would ${verb}` : done).padEnd(dryRun ? 12 : 9);
  render(ctx, result, {
    text: (d) =>
      d.results
        .map((r) => {
          switch (r.status) {
            case 'deleted':
              return `${said('deleted', 'delete')} ${r.ref} (${r.digest}${r.tags && r.tags.length > 0 ? `, tags ${r.tags.join(', ')}` : ', untagged'})`;
            case 'untagged':
              return `${said('untagged', 'untag')} ${r.ref} (image ${r.digest} kept)`;
            case 'not-found':
              return `not found ${r.ref}: ${r.reason}`;
            default:
              return `failed    ${r.ref}: ${r.code ? `${r.code}: ` : ''}${r.reason}`;
          }
        })
        .join('\n')
        .replace(/^/, dryRun ? 'dry run: nothing deleted\n' : ''),
    env: (d) => ({
      DELETED: String(d.deleted),
      UNTAGGED: String(d.untagged),
      NOT_FOUND: String(d.notFound),
      FAILED: String(d.failed),
    }),
  });
  const failure = deleteImagesError(result);
  if (failure) throw failure;
}

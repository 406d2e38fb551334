// `ecrctl images REPO`: every image of a repository (all pages), sorted newest push first
// because ECR returns them in no useful order, with tag / age filters.
import { type Command, Option } from 'commander';
import { type CommandHost, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { formatBytes, render, table } from '../output.js';

interface ImagesOptions {
  sort: 'pushed' | 'size' | 'tag';
  tagged?: boolean;
  untagged?: boolean;
  since?: string;
  trunc: boolean;
  public?: boolean;
}

/** Declares `ecrctl images`. */
export function defineImages(program: Command, host: CommandHost): void {
  program
    .command('images')
    .summary("list a repository's images: digest, tags, size, push and pull times, scan status")
    .description(
      'Lists every image of REPO (every page of DescribeImages), newest push first unless\n' +
        '--sort says otherwise. --since takes a duration back from now (7d, 12h, 30m, 2w) or a\n' +
        'date, and keeps images pushed at or after it. With -q (--quiet) only the full\n' +
        'digests print, one per line, as `docker images -q` prints IDs.',
    )
    .argument('<repo>', 'repository name, e.g. team/app')
    .addOption(
      new Option('--sort <key>', 'sort by push time (newest first), size (largest first) or tag')
        .choices(['pushed', 'size', 'tag'])
        .default('pushed'),
    )
    .option('--tagged', 'only images with at least one tag')
    .option('--untagged', 'only images without tags')
    .option('--since <date|duration>', 'only images pushed since, e.g. 7d or 2025-01-31')
    .option('--no-trunc', 'print whole digests in the table')
    .option('--public', 'a repository of ECR Public (of the account)')
    .addHelpText(
      'after',
      examples(
        'ecrctl images team/app',
        'ecrctl images team/app --untagged --since 30d',
        "ecrctl images team/app --untagged -q | sed 's|^|team/app@|' | xargs -r ecrctl delete",
        'ecrctl images team/app --sort size --output json',
      ),
    )
    .action(async (repo: string, opts: ImagesOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await runImages(ctx, repo, opts);
    });
}

async function runImages(ctx: CliContext, repository: string, opts: ImagesOptions): Promise<void> {
  const { UsageError } = await import('../../errors.js');
  if (opts.tagged && opts.untagged) {
    throw new UsageError('--tagged and --untagged exclude each other', {
      fix: 'give one of them, or neither for all images',
    });
  }
  const [{ parseSince }, { listImages }] = await Promise.all([
    import('../../ecr/images.js'),
    import('../../ops/images.js'),
  ]);
  const since = opts.since !== undefined ? parseSince(opts.since, new Date()) : undefined;
  const result = await listImages(ctx, {
    repository,
    filter: opts.tagged ? 'tagged' : opts.untagged ? 'untagged' : undefined,
    since,
    sort: opts.sort,
    public: opts.public === true,
  });
  const day = (d: Date | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
  render(ctx, result, {
    text: (d) =>
      d.images.length === 0
        ? ''
        : ctx.globals.quiet
          ? d.images.map((i) => i.digest).join('\n')
          : table(
              ['DIGEST', 'TAGS', 'SIZE', 'PUSHED', 'LAST PULL', 'SCAN', 'STATUS'],
              d.images.map((i) => [
                opts.trunc ? i.digest.slice(0, 19) : i.digest,
                i.tags.length > 0 ? i.tags.join(',') : '<untagged>',
                formatBytes(i.sizeBytes),
                day(i.pushedAt),
                day(i.lastPulledAt),
                i.scanStatus ?? '-',
                i.status === 'ARCHIVED' ? `ARCHIVED ${day(i.lastArchivedAt)}` : (i.status ?? 'ACTIVE'),
              ]),
            ),
    env: (d) => ({
      IMAGE_COUNT: String(d.images.length),
      ...(d.images[0] ? { LATEST_DIGEST: d.images[0].digest, LATEST_TAGS: d.images[0].tags.join(',') } : {}),
    }),
  });
}

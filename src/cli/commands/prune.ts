// `ecrctl prune REPO_PATTERN`: cleanup by last pull, untagged age, tag patterns, keeping the
// newest N, what runs (--keep-in-use) and what is protected. A dry run unless --apply.
import type { Command } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';
import { parseNow, splitList } from './inventory.js';

interface PruneFlags {
  notPulledSince?: string;
  untaggedOlderThan?: string;
  keepNewest?: string;
  tagsMatching?: string;
  keepInUse?: string[];
  protect?: string;
  apply?: boolean;
  regions?: string;
  profiles?: string;
  roleArns?: string;
  registryIds?: string;
  now?: string;
}

/** Declares `ecrctl prune`. */
export function definePrune(program: Command, host: CommandHost): void {
  program
    .command('prune')
    .summary('delete stale images by last pull, age or tag (dry run by default)')
    .description(
      'Selects images in repositories matching PATTERN by the rules given, keeps what runs (--keep-in-use), what --protect lists, the newest N and images a remaining index needs, and prints each decision with its reason. Nothing changes without --apply.',
    )
    .argument('<pattern>', "repositories (glob, e.g. 'team/*')")
    .option('--not-pulled-since <days>', 'not pulled (never: pushed) for more than N days')
    .option('--untagged-older-than <days>', 'untagged and pushed more than N days ago')
    .option('--keep-newest <n>', 'always keep the newest N images per repository')
    .option('--tags-matching <glob>', 'remove matching tags; delete images left untagged')
    .option('--keep-in-use <file>', 'keep images this evidence file names', collect)
    .option('--protect <file>', 'keep digests / tags / tag patterns listed')
    .option('--apply', 'delete for real (BatchDeleteImage, 100 ids a call)')
    .option('--regions <list>', 'regions, comma-separated, or all')
    .option('--profiles <list>', 'shared-config profiles, one account each')
    .option('--role-arns <list>', 'roles to assume, one account each')
    .option('--registry-ids <list>', 'account ids (credentials from registries: entries)')
    .option('--now <date>', 'measure ages from this moment')
    .addHelpText(
      'after',
      examples(
        "ecrctl prune 'team/*' --not-pulled-since 90d --keep-in-use pods.json",
        "ecrctl prune 'cache/*' --not-pulled-since 30d --keep-newest 3 --apply",
        "ecrctl prune '*' --untagged-older-than 14d --regions all",
        "ecrctl prune 'team/app' --tags-matching 'pr-*' --not-pulled-since 14d",
      ),
    )
    .action(async (pattern: string, flags: PruneFlags, cmd: Command) => {
      await runPrune(host.context(cmd), pattern, flags);
    });
}

async function runPrune(ctx: CliContext, pattern: string, flags: PruneFlags): Promise<void> {
  const { parseDays, prune, pruneFailureError } = await import('../../ops/prune.js');
  const regions = flags.regions === 'all' ? 'all' : splitList(flags.regions);
  const now = parseNow(flags.now);
  const result = await prune(ctx, {
    repositories: pattern,
    ...(flags.notPulledSince !== undefined
      ? { notPulledSinceDays: parseDays(flags.notPulledSince, '--not-pulled-since') }
      : {}),
    ...(flags.untaggedOlderThan !== undefined
      ? { untaggedOlderThanDays: parseDays(flags.untaggedOlderThan, '--untagged-older-than') }
      : {}),
    ...(flags.keepNewest !== undefined ? { keepNewest: parseDays(flags.keepNewest, '--keep-newest') } : {}),
    ...(flags.tagsMatching !== undefined ? { tagsMatching: flags.tagsMatching } : {}),
    ...(flags.keepInUse ? { keepInUseFiles: flags.keepInUse } : {}),
    ...(flags.protect !== undefined ? { protectFile: flags.protect } : {}),
    ...(regions ? { regions } : {}),
    ...(flags.profiles ? { profiles: splitList(flags.profiles) ?? [] } : {}),
    ...(flags.roleArns ? { roleArns: splitList(flags.roleArns) ?? [] } : {}),
    ...(flags.registryIds ? { registryIds: splitList(flags.registryIds) ?? [] } : {}),
    ...(now ? { now } : {}),
    apply: flags.apply === true,
  });
  const { formatBytes } = await import('../report/format.js');
  render(ctx, result, {
    text: (r) => {
      const short = (d: string) => d.slice(0, 19);
      const rows = [
        ...r.delete.map((e) => [
          r.applied ? 'deleted' : 'delete',
          e.repository,
          short(e.digest),
          e.tags.join(',') || '-',
          e.reasons.join('; '),
        ]),
        ...r.untag.map((e) => [
          r.applied ? 'untagged' : 'untag',
          e.repository,
          short(e.digest),
          (e.untag ?? []).join(','),
          e.reasons.join('; '),
        ]),
        ...r.kept.map((e) => ['keep', e.repository, short(e.digest), e.tags.join(',') || '-', e.keptBecause ?? '']),
      ];
      const lines = [`rules: ${r.rules.join('; ')}`, ''];
      lines.push(rows.length > 0 ? table(['ACTION', 'REPOSITORY', 'DIGEST', 'TAGS', 'WHY'], rows) : 'nothing selected');
      lines.push(
        '',
        r.applied
          ? `deleted ${r.deleted} images, removed ${r.untagged} tags in ${r.batches} BatchDeleteImage calls; ${r.failures.length} failures`
          : `dry run: would delete ${r.delete.length} images (${formatBytes(r.bytesFreed)}) and untag ${r.untag.length}; run again with --apply`,
      );
      for (const f of r.failures) lines.push(`failed: ${f.repository} ${f.digest ?? f.tag}: ${f.code} ${f.reason}`);
      return lines.join('\n');
    },
    env: (r) => ({
      APPLIED: String(r.applied),
      DELETE: r.delete.map((e) => e.digest).join(','),
      UNTAG: r.untag.map((e) => e.digest).join(','),
      BYTES_FREED: String(r.bytesFreed),
      FAILURES: String(r.failures.length),
    }),
  });
  if (result.failures.length > 0) throw pruneFailureError(result);
}

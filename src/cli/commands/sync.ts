import type { Command } from 'commander';
import type { SyncFailure, SyncPlan, SyncProgress } from '../../ops/sync.js';
import { type CommandHost, examples } from '../command-kit.js';
import { formatBytes } from '../../text.js';
import type { CliContext } from '../context.js';
import { trustOptions, trustSettings } from '../trust-options.js';

interface SyncFlags {
  file: string;
  shard?: string;
  state?: string;
  report?: string;
  concurrency: string;
  dryRun?: boolean;
  requireSigned?: boolean;
  trustStore?: string;
  trustPolicy?: string;
  signingProfile?: string;
}
type Verb = 'plan' | 'apply' | 'check';

/** Declares `ecrctl sync plan|apply|check`. */
export function defineSync(program: Command, host: CommandHost): void {
  const sync = program
    .command('sync')
    .summary('mirror whole repositories and registries, declared in a config file')
    .description(
      'Syncs the repositories a YAML config names (one repository, or every repository under a\n' +
        'prefix) to their targets: tags filtered, compared by digest with HEAD requests only,\n' +
        'copied with every platform and referrer, missing ECR repositories created. A failing\n' +
        'tag or repository does not stop the others. With --state, every completed blob and\n' +
        'tag is journaled as it completes, so a rerun after a kill redoes none of it. Writes\n' +
        'to ECR are paced under its quotas (PutImage per repository, layer uploads per\n' +
        'registry), divided by N under --shard I/N. Repositories a CREATE_ON_PUSH creation\n' +
        'template covers are created with its settings. See `ecrctl help sync-config`.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl sync plan -f sync.yaml',
        'ecrctl sync apply -f sync.yaml --state .sync --report sync-report.json',
        'ecrctl sync check -f sync.yaml || echo "a mirror is stale"',
      ),
    );
  const verbs: [Verb, string, string][] = [
    ['plan', 'show what apply would create, copy, overwrite and skip; write nothing', 'plan -f sync.yaml --shard 1/4'],
    ['apply', 'create missing repositories, copy the tags missing or moved', 'apply -f sync.yaml --state .sync'],
    ['check', 'list stale tags (missing or moved at the target); exit 3 when any', 'check -f sync.yaml'],
  ];
  for (const [verb, summary, example] of verbs) {
    const cmd = sync
      .command(verb)
      .summary(summary)
      .description(summary)
      .requiredOption('-f, --file <file>', 'the sync config (YAML, see `ecrctl help sync-config`)')
      .option('--shard <I/N>', 'only the target repositories of slice I of N (stable; for parallel jobs)')
      .option('--state <dir>', 'journal of completed blobs and tags: a rerun skips them')
      .option('--concurrency <n>', 'repositories at once, 1 to 64', '4')
      .addHelpText('after', examples(`ecrctl sync ${example}`))
      .action((flags: SyncFlags, c: Command) => run(host.context(c), verb, flags));
    if (verb === 'apply') {
      cmd
        .option('--report <file>', 'write the result (every success and failure) as JSON to FILE')
        .option('--dry-run', 'plan and report, write nothing');
      trustOptions(cmd, true);
    }
  }
}

async function run(ctx: CliContext, verb: Verb, flags: SyncFlags): Promise<void> {
  const [fs, path, errors, { parseSyncConfig }, ops, { render, table }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../../errors.js'),
    import('../../policy/sync-config.js'),
    import('../../ops/sync.js'),
    import('../output.js'),
  ]);
  const text = await fs.readFile(path.resolve(ctx.cwd, flags.file), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new errors.NotFoundError(`cannot read the sync config ${flags.file}: ${err.code ?? err.message}`, {
      value: flags.file,
      fix: 'give the path of a sync config with -f (see `ecrctl help sync-config`)',
    });
  });
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new errors.UsageError('--concurrency must be a whole number from 1 to 64', { value: flags.concurrency });
  const opts = {
    config: parseSyncConfig(text, flags.file),
    concurrency,
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(flags.state ? { state: flags.state } : {}),
  };
  const failed = (list: readonly SyncFailure[], head: string) =>
    list.length === 0
      ? []
      : [
          head,
          ...list.map(
            (f) =>
              `  ${f.source}${f.tags ? `:${f.tags.join(',')}` : ''}${f.target ? ` → ${f.target}` : ''}\n` +
              `    ${f.stage}: ${f.kind}: ${f.message}${f.fix ? `\n    fix: ${f.fix}` : ''}`,
          ),
        ];
  const totals = (c: SyncPlan['counts']) =>
    `${c.tags} tags in ${c.repositories} repositories: ${c.copy} to copy, ${c.overwrite} to overwrite, ` +
    `${c.skip} to skip; ${c.create} repositories to create; ${c.failures} failures`;
  const fail = (n: number, what: string) =>
    new errors.EcrctlError(`${n} ${what} (listed above)`, {
      fix: 'fix the causes named, then run the same command again: what completed is skipped',
    });
  if (verb === 'plan') {
    const plan = await ops.planSync(ctx, opts);
    const rows = plan.repositories.map((r) => {
      const n = (a: string) => String(r.tags.filter((t) => t.action === a).length);
      const create = r.create
        ? [r.template ? `template ${r.template}` : 'yes', r.lifecycle ? `lifecycle ${r.lifecycle}` : '']
            .filter(Boolean)
            .join(', ')
        : 'no';
      return [r.target, r.source, create, n('copy'), n('overwrite'), n('skip')];
    });
    const head = ['TARGET', 'SOURCE', 'CREATE', 'COPY', 'OVERWRITE', 'SKIP'];
    const backups = plan.repositories.flatMap((r) =>
      r.tags.filter((t) => t.backupTag).map((t) => `backup ${r.target}:${t.tag} (${t.targetDigest}) as ${t.backupTag}`),
    );
    render(ctx, plan, {
      text: (p) =>
        [table(head, rows), ...backups, totals(p.counts), ...failed(p.failures, 'could not plan:')].join('\n'),
    });
    if (plan.failures.length > 0) throw fail(plan.failures.length, 'sources could not be planned');
  } else if (verb === 'check') {
    const check = await ops.checkSync(ctx, opts);
    const rows = check.stale.map((s) => [s.target, s.tag, s.action === 'copy' ? 'missing' : 'moved', s.sourceDigest]);
    render(ctx, check, {
      text: (c) =>
        [
          rows.length === 0
            ? `up to date: ${c.counts.tags} tags in ${c.counts.repositories} repositories`
            : table(['TARGET', 'TAG', 'STALE', 'SOURCE DIGEST'], rows),
          ...failed(c.failures, 'could not check:'),
        ].join('\n'),
    });
    if (check.stale.length > 0) {
      throw new errors.RuleViolation(
        `${check.stale.length === 1 ? '1 tag is' : `${check.stale.length} tags are`} stale at their targets`,
        {
          rule: 'sync check: every tag the config selects is at its target with the source digest',
          fix: `run \`ecrctl sync apply -f ${flags.file}\``,
        },
      );
    }
    if (check.failures.length > 0) throw fail(check.failures.length, 'sources could not be checked');
  } else {
    const trust = trustSettings(flags);
    // A terminal gets one refreshing line (repositories, tags, bytes, rate, ETA); CI logs
    // get the heartbeat lines instead.
    const live = ctx.stderr.isTTY && !flags.dryRun;
    const task = live ? (await import('../progress.js')).startTask(ctx, 'sync: planning') : undefined;
    let last = 0;
    let result: Awaited<ReturnType<typeof ops.applySync>>;
    try {
      result = await ops.applySync(ctx, {
        ...opts,
        heartbeat: heartbeatOf(ctx.env.ECRCTL_SYNC_HEARTBEAT, ctx.stderr.isTTY, errors),
        dryRun: flags.dryRun === true,
        ...(trust ? { requireSigned: trust } : {}),
        ...(task
          ? {
              onProgress: (p: SyncProgress) => {
                // Ten redraws a second are plenty for a human.
                if (p.elapsedMs - last < 100 && p.repositories.done < p.repositories.total) return;
                last = p.elapsedMs;
                task.update(formatSyncProgress(p));
              },
            }
          : {}),
      });
    } catch (err) {
      task?.fail('sync: stopped');
      throw err;
    }
    task?.succeed(`sync: ${result.counts.copiedTags} tags synced`);
    if (flags.report) {
      // Written whole under a temporary name, then renamed: a reader never sees half a report.
      const file = path.resolve(ctx.cwd, flags.report);
      const temp = `${file}.${process.pid}.tmp`;
      try {
        await fs.writeFile(temp, `${ctx.secrets.redact(JSON.stringify(result, null, 2))}\n`);
        await fs.rename(temp, file);
      } finally {
        await fs.rm(temp, { force: true });
      }
    }
    render(ctx, result, {
      text: (r) =>
        [
          ...r.created.map((c) => `created ${c}`),
          ...r.backups.map((b) => `kept ${b.target}@${b.digest} as ${b.target}:${b.backupTag} (was :${b.tag})`),
          ...r.copied.map((c) => `${c.action} ${c.source}@${c.digest} → ${c.target}:${c.tags.join(',')}`),
          r.dryRun
            ? `${totals(r.counts)}\nnothing written (--dry-run)`
            : `${r.counts.copiedTags} tags synced, ${r.skipped} skipped, ${r.counts.failedTags} failed; ` +
              `${r.created.length} repositories created`,
          ...failed(r.failures, 'failed:'),
        ].join('\n'),
    });
    if (result.failures.length > 0) throw fail(result.failures.length, 'sync failures; everything else was synced');
  }
}

/**
 * Returns the heartbeat interval of an apply in milliseconds: ECRCTL_SYNC_HEARTBEAT (`30s`,
 * `500ms`, `2m`, `0` for none) when set, else every 30 s when stderr is not a terminal (CI
 * logs), else none (a terminal shows progress).
 */
function heartbeatOf(text: string | undefined, tty: boolean, errors: typeof import('../../errors.js')): number {
  if (text === undefined || text === '') return tty ? 0 : 30_000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) {
    throw new errors.UsageError('ECRCTL_SYNC_HEARTBEAT is a duration such as 30s, 500ms or 2m (0: none)', {
      value: text,
      fix: 'set ECRCTL_SYNC_HEARTBEAT=30s, or unset it',
    });
  }
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.round(Number(m[1]) * unit);
}

/** Returns a duration as `45s`, `3m05s` or `2h07m`. */
function durationText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Returns the one-line progress of a sync apply: repositories and tags done of their totals,
 * bytes sent, the byte rate, and an ETA from the rate tags complete at (once one has).
 */
export function formatSyncProgress(p: SyncProgress): string {
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.bytes / secs : 0;
  const left = p.tags.total - p.tags.done;
  const eta = p.tags.done > 0 && left > 0 ? ` · ETA ${durationText((p.elapsedMs / p.tags.done) * left)}` : '';
  const failed = p.tags.failed > 0 ? ` (${p.tags.failed} failed)` : '';
  return (
    `sync: ${p.repositories.done}/${p.repositories.total} repositories · ` +
    `${p.tags.done}/${p.tags.total} tags${failed} · ${formatBytes(p.bytes)} · ${formatBytes(Math.round(rate))}/s${eta}`
  );
}

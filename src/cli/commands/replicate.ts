// `ecrctl replicate`: replication rules, one image's replication status, on-demand copies to
// other regions and accounts, and backfills. The workflows are in src/ops/replicate.ts; here:
// the commands, their options, and the tables.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { ReplicationRules } from '../../ops/replicate.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { readInputFile } from '../inputs.js';
import { render, table } from '../output.js';

/** Declares `ecrctl replicate`. */
export function defineReplicate(program: Command, host: CommandHost): void {
  const replicate = program
    .command('replicate')
    .summary('replication rules, replication status, on-demand cross-region copies, backfill')
    .description(
      'Manages ECR replication: the registry-wide rules that copy every push to other regions\n' +
        'and accounts (at most 10 rules, 25 unique destinations, 100 prefix filters per rule —\n' +
        'checked before anything is sent), the status of one image at each destination, copies\n' +
        'on demand through ecrctl itself, and backfills of images pushed before a rule existed.\n' +
        'Destinations are REGION or REGION:ACCOUNT (the account defaults to your registry).',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl replicate config add --to eu-west-1 --to us-west-2:111122223333 --filter team/',
        'ecrctl replicate status team/app:v1 --wait',
        'ecrctl replicate copy team/app:v1 --to eu-central-1 --to ap-southeast-2 --create-repo',
      ),
    );

  const config = replicate
    .command('config')
    .summary('show or change the replication rules')
    .addHelpText(
      'after',
      examples(
        'ecrctl replicate config get',
        'ecrctl replicate config add --to eu-west-1 --filter team/',
        'ecrctl replicate config remove --rule 1',
      ),
    );
  config
    .command('get')
    .summary('print the replication rules')
    .addHelpText(
      'after',
      examples('ecrctl replicate config get', 'ecrctl replicate config get --output json > replication.json'),
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { getReplicationRules } = await import('../../ops/replicate.js');
      renderRules(ctx, await getReplicationRules(ctx));
    });
  config
    .command('set')
    .summary('replace the replication rules with the ones in a JSON file')
    .description(
      'FILE holds {"rules":[…]} (or the {"replicationConfiguration":{…}} that `aws ecr describe-registry` prints).\nAn empty rule list turns replication off.',
    )
    .argument('<file>', 'JSON file with the rules')
    .addHelpText('after', examples('ecrctl replicate config set replication.json'))
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { parseReplicationRules, setReplicationRules } = await import('../../ops/replicate.js');
      const rules = parseReplicationRules(await readInputFile(ctx, file, 'replication rules'), file);
      renderRules(ctx, await setReplicationRules(ctx, { rules }));
    });
  config
    .command('add')
    .summary('add a rule: replicate to these destinations (repositories matching the filters)')
    .requiredOption('--to <region[:account]>', 'a destination (repeatable)', collect)
    .option(
      '--filter <prefix>',
      'replicate only repositories whose name starts with this (repeatable; default: all)',
      collect,
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl replicate config add --to eu-west-1',
        'ecrctl replicate config add --to us-east-2:111122223333 --filter prod- --filter team/',
      ),
    )
    .action(async (opts: { to: string[]; filter?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { addReplicationRule } = await import('../../ops/replicate.js');
      renderRules(
        ctx,
        await addReplicationRule(ctx, { to: opts.to, ...(opts.filter ? { filters: opts.filter } : {}) }),
      );
    });
  config
    .command('remove')
    .summary('remove a rule (--rule N, as `config get` numbers them) or a destination from every rule')
    .option('--rule <n>', 'the rule number, from 1')
    .option('--to <region[:account]>', 'remove this destination from every rule (rules left empty go)')
    .addHelpText(
      'after',
      examples('ecrctl replicate config remove --rule 2', 'ecrctl replicate config remove --to eu-west-1'),
    )
    .action(async (opts: { rule?: string; to?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { removeReplicationRule } = await import('../../ops/replicate.js');
      renderRules(
        ctx,
        await removeReplicationRule(ctx, {
          ...(opts.rule !== undefined ? { rule: opts.rule } : {}),
          ...(opts.to !== undefined ? { to: opts.to } : {}),
        }),
      );
    });

  replicate
    .command('status')
    .summary("an image's replication status at each destination")
    .description(
      'Prints, per destination, whether the image has been replicated (IN_PROGRESS, COMPLETE,\n' +
        'FAILED with a failure code). With --wait, polls until every destination is COMPLETE or\n' +
        'FAILED. Exits 1 when a destination FAILED or the wait timed out.',
    )
    .argument('<ref>', 'the image: REPO:TAG, REPO@DIGEST, or a full ECR reference')
    .option('--wait', 'wait until every destination is COMPLETE or FAILED')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 900)')
    .addHelpText(
      'after',
      examples('ecrctl replicate status team/app:v1', 'ecrctl replicate status team/app:v1 --wait --timeout 300'),
    )
    .action(async (ref: string, opts: { wait?: boolean; timeout?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runStatus(ctx, ref, opts);
    });

  replicate
    .command('copy')
    .summary('copy an image to other regions / accounts now, through ecrctl')
    .description(
      'Copies an image (all platforms) to each destination registry, in parallel, and checks\n' +
        'the digest at each destination afterwards. With --create-repo a missing destination\n' +
        "repository is created with the source repository's settings. One failing destination\n" +
        'does not stop the others; the summary names each failure and the exit code is 1.',
    )
    .argument('<ref>', 'the image: REPO:TAG, REPO@DIGEST, or a full ECR reference')
    .requiredOption('--to <region[:account]>', 'a destination (repeatable)', collect)
    .option('--create-repo', 'create missing destination repositories with the source settings')
    .option('--no-referrers', "do not carry the image's referrers (signatures, SBOMs, attestations) along")
    .addHelpText(
      'after',
      examples('ecrctl replicate copy team/app:v1 --to eu-west-1 --to us-west-2:111122223333 --create-repo'),
    )
    .action(async (ref: string, opts: { to: string[]; createRepo?: boolean; referrers?: boolean }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runCopy(ctx, ref, opts);
    });

  replicate
    .command('backfill')
    .summary('replicate images pushed before the rules existed to one destination')
    .description(
      'Starts an ECR replication backfill: every image of the repositories that the rules with\n' +
        'this destination cover is replicated there. With --wait, polls until it ends and lists\n' +
        'the images that failed (exit 1 when any did).',
    )
    .requiredOption('--to <region[:account]>', 'a destination of the current rules')
    .option('--wait', 'wait until the backfill ends')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 3600)')
    .addHelpText('after', examples('ecrctl replicate backfill --to eu-west-1 --wait'))
    .action(async (opts: { to: string; wait?: boolean; timeout?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runBackfill(ctx, opts);
    });
}

function renderRules(ctx: CliContext, { registryId, rules }: ReplicationRules): void {
  render(
    ctx,
    { registryId, rules },
    {
      text: (d) =>
        d.rules.length === 0
          ? 'no replication rules'
          : d.rules
              .map(
                (r, i) =>
                  `rule ${i + 1}: to ${r.destinations.map((x) => `${x.region}:${x.registryId}`).join(', ')}` +
                  `; repositories: ${r.repositoryFilters?.length ? r.repositoryFilters.map((f) => `${f.filter}*`).join(', ') : 'all'}`,
              )
              .join('\n'),
      env: (d) => ({ REPLICATION_RULES: String(d.rules.length) }),
    },
  );
}

function secondsOption(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} takes a number of seconds`, { value: text });
  return n;
}

async function runStatus(ctx: CliContext, text: string, opts: { wait?: boolean; timeout?: string }): Promise<void> {
  const { replicationStatus, checkReplicationStatus } = await import('../../ops/replicate.js');
  const timeoutMs = secondsOption(opts.timeout, 900, '--timeout') * 1000;
  const report = await replicationStatus(ctx, { image: text, wait: opts.wait === true, timeoutMs });
  render(
    ctx,
    { repository: report.repository, digest: report.digest, status: report.status, destinations: report.destinations },
    {
      text: (d) =>
        d.destinations.length === 0
          ? `${report.image} (${d.digest}): no replication destinations`
          : table(
              ['DESTINATION', 'STATUS', 'FAILURE'],
              d.destinations.map((x) => [`${x.region}:${x.registryId}`, x.status, x.failureCode ?? '']),
            ),
      env: (d) => ({ IMAGE_DIGEST: d.digest, REPLICATION_STATUS: d.status }),
    },
  );
  checkReplicationStatus(report);
}

async function runCopy(
  ctx: CliContext,
  text: string,
  opts: { to: string[]; createRepo?: boolean; referrers?: boolean },
): Promise<void> {
  const { replicateImage, checkReplicatedImage } = await import('../../ops/replicate.js');
  const result = await replicateImage(ctx, {
    image: text,
    to: opts.to,
    createRepo: opts.createRepo === true,
    referrers: opts.referrers !== false,
  });
  render(ctx, result, {
    text: (d) =>
      table(
        ['DESTINATION', 'STATUS', 'DIGEST / ERROR'],
        d.destinations.map((o) => [
          o.destination,
          o.status,
          o.status === 'copied' ? (o.digest ?? '') : (o.error ?? ''),
        ]),
      ),
    env: (d) => {
      const at = (status: string) =>
        d.destinations
          .filter((o) => o.status === status)
          .map((o) => o.destination)
          .join(' ');
      const digest = d.destinations.find((o) => o.digest)?.digest;
      return { COPIED: at('copied'), FAILED: at('failed'), ...(digest ? { IMAGE_DIGEST: digest } : {}) };
    },
  });
  checkReplicatedImage(result, { createRepo: opts.createRepo === true });
}

async function runBackfill(ctx: CliContext, opts: { to: string; wait?: boolean; timeout?: string }): Promise<void> {
  const { backfillReplication, checkBackfill } = await import('../../ops/replicate.js');
  const timeoutMs = secondsOption(opts.timeout, 3600, '--timeout') * 1000;
  const b = await backfillReplication(ctx, { to: opts.to, wait: opts.wait === true, timeoutMs });
  render(ctx, b, {
    text: (x) =>
      [
        `backfill ${x.id} to ${x.destination.region}:${x.destination.registryId}: ${x.status}, ${x.completed} of ${x.total} images replicated, ${x.failed} failed`,
        ...x.failures.map((f) => `  failed: ${f.repository}@${f.digest} (${f.failureCode})`),
      ].join('\n'),
    env: (x) => ({ BACKFILL_ID: x.id, BACKFILL_STATUS: x.status }),
  });
  checkBackfill(b);
}

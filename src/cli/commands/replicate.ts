import type { Command } from 'commander';
import {
  DigestMismatchError,
  EcrctlError,
  InterruptedError,
  NotFoundError,
  RuleViolation,
  UsageError,
} from '../../errors.js';
import type { ReplicationDestination, ReplicationRule } from '../../policy/replication.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';
import { readInputFile } from '../inputs.js';

type EcrConnection = import('../../ecr/repositories.js').EcrConnection;

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
      const conn = await connect(ctx);
      const { getReplicationConfiguration } = await import('../../ecr/replication.js');
      const cfg = await getReplicationConfiguration(conn);
      renderRules(ctx, cfg.registryId, cfg.rules);
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
      const rules = await readRulesFile(ctx, file);
      const conn = await connect(ctx);
      const { getReplicationConfiguration } = await import('../../ecr/replication.js');
      const current = await getReplicationConfiguration(conn);
      await putChecked(ctx, conn, current.registryId, rules);
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
      const conn = await connect(ctx);
      const { getReplicationConfiguration } = await import('../../ecr/replication.js');
      const current = await getReplicationConfiguration(conn);
      const destinations = await parseDestinations(current.registryId, opts.to);
      const rule: ReplicationRule = { destinations };
      if (opts.filter && opts.filter.length > 0)
        rule.repositoryFilters = opts.filter.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' }));
      await putChecked(ctx, conn, current.registryId, [...current.rules, rule]);
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
      if ((opts.rule === undefined) === (opts.to === undefined)) {
        throw new UsageError('give exactly one of --rule N and --to REGION[:ACCOUNT]', {
          fix: 'see `ecrctl replicate config get` for the rule numbers',
        });
      }
      const conn = await connect(ctx);
      const { getReplicationConfiguration } = await import('../../ecr/replication.js');
      const current = await getReplicationConfiguration(conn);
      let rules: ReplicationRule[];
      if (opts.rule !== undefined) {
        const n = Number(opts.rule);
        if (!Number.isInteger(n) || n < 1 || n > current.rules.length) {
          throw new UsageError(
            `--rule ${opts.rule}: the configuration has ${current.rules.length} rule${current.rules.length === 1 ? '' : 's'}`,
            {
              value: opts.rule,
              fix: 'see `ecrctl replicate config get` for the rule numbers',
            },
          );
        }
        rules = current.rules.filter((_, i) => i !== n - 1);
      } else {
        const [dest] = await parseDestinations(current.registryId, [opts.to as string]);
        const same = (d: ReplicationDestination) => d.region === dest?.region && d.registryId === dest?.registryId;
        if (!current.rules.some((r) => r.destinations.some(same))) {
          throw new NotFoundError(`no replication rule has the destination ${opts.to}`, {
            fix: 'see `ecrctl replicate config get`',
          });
        }
        rules = current.rules
          .map((r) => ({ ...r, destinations: r.destinations.filter((d) => !same(d)) }))
          .filter((r) => r.destinations.length > 0);
      }
      await putChecked(ctx, conn, current.registryId, rules);
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

// ---- shared ----------------------------------------------------------------------------

async function connect(ctx: CliContext, where: { region?: string; registryId?: string } = {}): Promise<EcrConnection> {
  return (await import('../ecr-ref.js')).ecrConnection(ctx, where);
}

async function parseDestinations(defaultAccount: string, texts: readonly string[]): Promise<ReplicationDestination[]> {
  const { parseDestination } = await import('../../policy/replication.js');
  const problems: string[] = [];
  const out: ReplicationDestination[] = [];
  for (const t of texts) {
    const d = parseDestination(t, defaultAccount);
    if ('problem' in d) problems.push(d.problem);
    else if (!out.some((x) => x.region === d.region && x.registryId === d.registryId)) out.push(d);
  }
  if (problems.length > 0) {
    throw new RuleViolation(problems.length === 1 ? (problems[0] as string) : 'the destinations break the rules', {
      rule: 'a destination is REGION or REGION:ACCOUNT (12 digits)',
      fix: 'write e.g. --to eu-west-1 or --to us-east-2:111122223333',
      ...(problems.length > 1 ? { problems } : {}),
    });
  }
  return out;
}

/** Checks rules against ECR's limits (exit 3 with every problem), then puts them. */
async function putChecked(
  ctx: CliContext,
  conn: EcrConnection,
  registryId: string,
  rules: ReplicationRule[],
): Promise<void> {
  const { checkReplicationRules } = await import('../../policy/replication.js');
  const problems = checkReplicationRules(rules, { region: conn.region, registryId });
  if (problems.length > 0) {
    throw new RuleViolation(
      problems.length === 1
        ? `the replication configuration breaks a rule: ${problems[0]}`
        : `the replication configuration breaks ${problems.length} rules; nothing was changed`,
      {
        rule: 'at most 10 rules, 25 unique destinations in all, 1–100 PREFIX_MATCH filters per rule, no destination equal to the source registry',
        fix: 'fix the problems listed; `ecrctl replicate config get` shows the current rules',
        ...(problems.length > 1 ? { problems } : {}),
      },
    );
  }
  const { putReplicationConfiguration } = await import('../../ecr/replication.js');
  const stored = await putReplicationConfiguration(conn, rules);
  ctx.log.info(
    rules.length === 0
      ? 'replication turned off (no rules)'
      : `replication configuration saved: ${rules.length} rule${rules.length === 1 ? '' : 's'}`,
  );
  renderRules(ctx, registryId, stored);
}

function renderRules(ctx: CliContext, registryId: string, rules: ReplicationRule[]): void {
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

async function readRulesFile(ctx: CliContext, file: string): Promise<ReplicationRule[]> {
  const text = await readInputFile(ctx, file, 'replication rules');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuleViolation(`${file} is not valid JSON: ${(err as Error).message}`, {
      value: file,
      fix: 'write {"rules":[{"destinations":[{"region":"eu-west-1","registryId":"…"}]}]}',
    });
  }
  const holder = (doc as { replicationConfiguration?: unknown })?.replicationConfiguration ?? doc;
  const rules = (holder as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) {
    throw new RuleViolation(`${file} has no "rules" list`, {
      value: file,
      fix: 'write {"rules":[{"destinations":[{"region":"eu-west-1","registryId":"…"}]}]}',
    });
  }
  return rules as ReplicationRule[];
}

/** Where an image reference points: its registry host (if named), repository, tag or digest. */
interface ImageRef {
  text: string;
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** From an ECR host name. */
  region?: string;
  registryId?: string;
}

async function parseImageRef(text: string): Promise<ImageRef> {
  const { parseReference } = await import('../../oci/reference.js');
  const { parseEcrHost } = await import('../../ecr/hosts.js');
  const r = parseReference(text);
  const out: ImageRef = { text, host: r.registry, repository: r.repository };
  if (r.digest) out.digest = r.digest;
  else out.tag = r.tag ?? 'latest';
  const ecr = r.registry ? parseEcrHost(r.registry) : undefined;
  if (ecr?.kind === 'private') {
    out.region = ecr.region;
    out.registryId = ecr.registryId;
  } else if (ecr?.kind === 'public') {
    throw new UsageError('ECR Public repositories are not replicated', {
      value: text,
      fix: 'name a private ECR image',
    });
  }
  return out;
}

function describeRef(ref: ImageRef): string {
  return `${ref.repository}${ref.digest ? `@${ref.digest}` : `:${ref.tag}`}`;
}

function secondsOption(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} takes a number of seconds`, { value: text });
  return n;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function throwIfInterrupted(ctx: CliContext): void {
  if (ctx.signal.aborted) throw new InterruptedError();
}

// ---- status ----------------------------------------------------------------------------

async function runStatus(ctx: CliContext, text: string, opts: { wait?: boolean; timeout?: string }): Promise<void> {
  const ref = await parseImageRef(text);
  const timeoutMs = secondsOption(opts.timeout, 900, '--timeout') * 1000;
  const conn = await connect(ctx, {
    ...(ref.region ? { region: ref.region } : {}),
    ...(ref.registryId ? { registryId: ref.registryId } : {}),
  });
  const { describeReplicationStatus } = await import('../../ecr/replication.js');
  const started = Date.now();
  let interval = 1000;
  let result = await describeReplicationStatus(conn, ref.repository, ref);
  const done = () => result.destinations.every((d) => d.status === 'COMPLETE' || d.status === 'FAILED');
  if (opts.wait && result.destinations.length === 0) {
    ctx.log.warn(
      `${describeRef(ref)} has no replication destinations: no replication rule covers ${ref.repository}, or it was pushed before the rule existed (see \`ecrctl replicate backfill\`)`,
    );
  }
  while (opts.wait && !done()) {
    throwIfInterrupted(ctx);
    if (Date.now() - started > timeoutMs) {
      renderStatus(ctx, ref, result);
      throw new EcrctlError(
        `replication of ${describeRef(ref)} did not finish within ${Math.round(timeoutMs / 1000)} s`,
        {
          fix: 'run again with a longer --timeout, or check the destinations with `ecrctl replicate status`',
        },
      );
    }
    const pending = result.destinations.filter((d) => d.status !== 'COMPLETE' && d.status !== 'FAILED');
    ctx.log.info(
      `waiting for ${pending.map((d) => `${d.region}:${d.registryId}`).join(', ')} (${pending[0]?.status ?? ''})`,
    );
    await sleep(interval, ctx.signal);
    interval = Math.min(interval * 1.5, 10_000);
    result = await describeReplicationStatus(conn, ref.repository, { digest: result.digest });
  }
  renderStatus(ctx, ref, result);
  const failed = result.destinations.filter((d) => d.status === 'FAILED');
  if (failed.length > 0) {
    throw new EcrctlError(
      `replication of ${describeRef(ref)} failed at ${failed.map((d) => `${d.region}:${d.registryId}${d.failureCode ? ` (${d.failureCode})` : ''}`).join(', ')}`,
      {
        fix: 'check the destination repository (an immutable tag already set there, a repository policy, a KMS key); `ecrctl replicate copy` copies on demand',
      },
    );
  }
}

function overall(destinations: readonly { status: string }[]): string {
  if (destinations.length === 0) return 'NONE';
  if (destinations.some((d) => d.status === 'FAILED')) return 'FAILED';
  if (destinations.every((d) => d.status === 'COMPLETE')) return 'COMPLETE';
  return 'IN_PROGRESS';
}

function renderStatus(
  ctx: CliContext,
  ref: ImageRef,
  result: {
    digest: string;
    destinations: { region: string; registryId: string; status: string; failureCode?: string }[];
  },
): void {
  render(
    ctx,
    {
      repository: ref.repository,
      digest: result.digest,
      status: overall(result.destinations),
      destinations: result.destinations,
    },
    {
      text: (d) =>
        d.destinations.length === 0
          ? `${describeRef(ref)} (${d.digest}): no replication destinations`
          : table(
              ['DESTINATION', 'STATUS', 'FAILURE'],
              d.destinations.map((x) => [`${x.region}:${x.registryId}`, x.status, x.failureCode ?? '']),
            ),
      env: (d) => ({ IMAGE_DIGEST: d.digest, REPLICATION_STATUS: d.status }),
    },
  );
}

// ---- copy ------------------------------------------------------------------------------

interface CopyOutcome {
  destination: string;
  region: string;
  registryId: string;
  uri?: string;
  digest?: string;
  repositoryCreated?: boolean;
  /** The referrers carried along (absent with --no-referrers). */
  referrers?: import('../../oci/referrers.js').ReferrersReport;
  status: 'copied' | 'failed';
  error?: string;
}

async function runCopy(
  ctx: CliContext,
  text: string,
  opts: { to: string[]; createRepo?: boolean; referrers?: boolean },
): Promise<void> {
  const ref = await parseImageRef(text);
  const { settingsFromContext, requireRegion } = await import('../../ecr/aws-config.js');
  const settings = settingsFromContext(ctx);
  const sourceRegion = ref.region ?? requireRegion(settings);
  const sourceConn = await connect(ctx, {
    region: sourceRegion,
    ...(ref.registryId ? { registryId: ref.registryId } : {}),
  });
  const { getReplicationConfiguration } = await import('../../ecr/replication.js');
  const account =
    ref.registryId ?? ctx.globals.registryId ?? (await getReplicationConfiguration(sourceConn)).registryId;
  const destinations = await parseDestinations(account, opts.to);
  const self = destinations.find((d) => d.region === sourceRegion && d.registryId === account);
  if (self) {
    throw new RuleViolation(`--to ${self.region}:${self.registryId} is the source registry itself`, {
      fix: 'name other regions or accounts',
    });
  }

  const { TokenSource } = await import('../../ecr/auth.js');
  const tokens = new TokenSource(settings);
  const sourceHost =
    ref.host ||
    (
      await tokens.privateToken({
        region: sourceRegion,
        ...((ref.registryId ?? ctx.globals.registryId) ? { registryId: ref.registryId ?? ctx.globals.registryId } : {}),
      })
    ).host;
  const repos = await import('../../ecr/repositories.js');
  let sourceSettings: Awaited<ReturnType<typeof repos.describeRepository>> | undefined;
  if (opts.createRepo) {
    sourceSettings = await repos.describeRepository(sourceConn, ref.repository);
    if (!sourceSettings)
      throw new NotFoundError(`repository ${ref.repository} does not exist in ${sourceRegion}:${account}`);
  }
  const { registryClient } = await import('../ecr-access.js');
  const client = await registryClient(ctx);
  const { copyImage } = await import('../../oci/copy.js');
  const source = client.repository(sourceHost, ref.repository);
  const manifestRef = ref.digest ?? (ref.tag as string);
  ctx.log.info(`copying ${describeRef(ref)} to ${destinations.map((d) => `${d.region}:${d.registryId}`).join(', ')}`);

  const one = async (d: ReplicationDestination): Promise<CopyOutcome> => {
    const name = `${d.region}:${d.registryId}`;
    const outcome: CopyOutcome = { destination: name, region: d.region, registryId: d.registryId, status: 'failed' };
    try {
      const token = await tokens.privateToken({ registryId: d.registryId, region: d.region });
      if (opts.createRepo && sourceSettings) {
        const conn = await repos.connectEcr(settings, { region: d.region, registryId: d.registryId });
        // A KMS key belongs to one region: elsewhere the AWS managed key is used.
        const kmsKey =
          sourceSettings.encryption.kmsKey && d.region === sourceRegion ? sourceSettings.encryption.kmsKey : undefined;
        const made = await repos.createRepository(conn, {
          name: ref.repository,
          tagMutability: sourceSettings.tagMutability as import('../../ecr/repositories.js').TagMutability,
          ...(sourceSettings.mutabilityExclusions.length > 0
            ? { mutabilityExclusions: sourceSettings.mutabilityExclusions }
            : {}),
          scanOnPush: sourceSettings.scanOnPush,
          encryption: {
            type: sourceSettings.encryption.type === 'AES256' ? 'AES256' : 'KMS',
            ...(kmsKey ? { kmsKey } : {}),
          },
        });
        outcome.repositoryCreated = made.created;
        if (made.created) ctx.log.info(`${name}: created repository ${ref.repository}`);
      }
      const target = client.repository(token.host, ref.repository);
      const summary = await copyImage(source, manifestRef, target, {
        tags: ref.tag && !ref.digest ? [ref.tag] : [],
        signal: ctx.signal,
      });
      const present = await target.headManifest(summary.digest, { signal: ctx.signal });
      if (present?.digest !== summary.digest) {
        throw new DigestMismatchError(
          `${name}: the registry reports ${present?.digest ?? 'no manifest'} for ${summary.digest} after the copy`,
        );
      }
      if (opts.referrers !== false) {
        const { copyReferrers, checkReferrersReport } = await import('../../oci/referrers.js');
        outcome.referrers = await copyReferrers(source, target, summary.digest, {
          signal: ctx.signal,
          log: (m) => ctx.log.warn(`${name}: ${m}`),
          note: (m) => ctx.log.verbose(`${name}: ${m}`),
        });
        // Refused referrers make this destination a failure: the table names them.
        checkReferrersReport(outcome.referrers, `${name}`, (m) => ctx.log.info(`${name}: ${m}`));
      }
      outcome.status = 'copied';
      outcome.digest = summary.digest;
      outcome.uri = `${token.host}/${ref.repository}@${summary.digest}`;
      ctx.log.info(
        `${name}: copied ${summary.digest} (${summary.blobs.uploaded} blobs uploaded, ${summary.blobs.skipped} present)`,
      );
    } catch (err) {
      outcome.error = err instanceof Error ? err.message : String(err);
      ctx.log.warn(`${name}: ${outcome.error}`);
    }
    return outcome;
  };
  const outcomes = await Promise.all(destinations.map(one));
  throwIfInterrupted(ctx);
  render(
    ctx,
    { source: describeRef(ref), destinations: outcomes },
    {
      text: (d) =>
        table(
          ['DESTINATION', 'STATUS', 'DIGEST / ERROR'],
          d.destinations.map((o) => [
            o.destination,
            o.status,
            o.status === 'copied' ? (o.digest ?? '') : (o.error ?? ''),
          ]),
        ),
      env: (d) => ({
        COPIED: d.destinations
          .filter((o) => o.status === 'copied')
          .map((o) => o.destination)
          .join(' '),
        FAILED: d.destinations
          .filter((o) => o.status === 'failed')
          .map((o) => o.destination)
          .join(' '),
        ...(d.destinations.find((o) => o.digest)
          ? { IMAGE_DIGEST: d.destinations.find((o) => o.digest)?.digest ?? '' }
          : {}),
      }),
    },
  );
  const failed = outcomes.filter((o) => o.status === 'failed');
  if (failed.length > 0) {
    throw new EcrctlError(
      `replicate copy failed for ${failed.length} of ${outcomes.length} destinations: ${failed.map((o) => o.destination).join(', ')}`,
      {
        fix: opts.createRepo
          ? 'see the errors above'
          : 'a missing destination repository is created with --create-repo',
      },
    );
  }
}

// ---- backfill --------------------------------------------------------------------------

async function runBackfill(ctx: CliContext, opts: { to: string; wait?: boolean; timeout?: string }): Promise<void> {
  const timeoutMs = secondsOption(opts.timeout, 3600, '--timeout') * 1000;
  const conn = await connect(ctx);
  const rep = await import('../../ecr/replication.js');
  const current = await rep.getReplicationConfiguration(conn);
  const [destination] = await parseDestinations(current.registryId, [opts.to]);
  const dest = destination as ReplicationDestination;
  if (
    !current.rules.some((r) => r.destinations.some((d) => d.region === dest.region && d.registryId === dest.registryId))
  ) {
    throw new NotFoundError(`no replication rule has the destination ${dest.region}:${dest.registryId}`, {
      fix: `add one first: ecrctl replicate config add --to ${dest.region}:${dest.registryId}`,
    });
  }
  const started = await rep.startBackfill(conn, dest);
  ctx.log.info(`backfill ${started.id} to ${dest.region}:${dest.registryId}: ${started.status}`);
  let b = await rep.describeBackfill(conn, started.id);
  const t0 = Date.now();
  let interval = 1000;
  const final = (s: string) => s === 'COMPLETE' || s === 'FAILED' || s === 'STOPPED';
  while (opts.wait && !final(b.status)) {
    throwIfInterrupted(ctx);
    if (Date.now() - t0 > timeoutMs)
      throw new EcrctlError(`backfill ${started.id} did not finish within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(interval, ctx.signal);
    interval = Math.min(interval * 1.5, 10_000);
    b = await rep.describeBackfill(conn, started.id);
    ctx.log.info(`backfill ${b.id}: ${b.status} (${b.completed + b.failed}/${b.total})`);
  }
  render(ctx, b, {
    text: (x) =>
      [
        `backfill ${x.id} to ${x.destination.region}:${x.destination.registryId}: ${x.status}, ${x.completed} of ${x.total} images replicated, ${x.failed} failed`,
        ...x.failures.map((f) => `  failed: ${f.repository}@${f.digest} (${f.failureCode})`),
      ].join('\n'),
    env: (x) => ({ BACKFILL_ID: x.id, BACKFILL_STATUS: x.status }),
  });
  if (b.status === 'FAILED' || b.failed > 0) {
    throw new EcrctlError(
      `backfill ${b.id}: ${b.failed} image${b.failed === 1 ? '' : 's'} failed to replicate${b.failureCodes.length ? ` (${b.failureCodes.join(', ')})` : ''}`,
    );
  }
}

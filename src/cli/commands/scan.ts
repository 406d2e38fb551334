// `ecrctl scan REF`: starts a scan (or uses the one ECR already has from the last 24 hours:
// ECR allows one scan per image per day), waits for it, reads every page of findings — basic
// and enhanced alike — into one model, applies the ignore list, and reports as a table, JSON
// or SARIF; `--fail-on` turns findings into exit code 4. An image index is scanned platform
// by platform. `ecrctl scan config get|set` manages the registry scanning configuration.
import type { Command } from 'commander';
import type { EcrConnection } from '../../ecr/repositories.js';
import type { ScanState } from '../../ecr/scanning.js';
import type { Finding, IgnoreEntry, PlatformReport, ScanReport, Severity } from '../../policy/scan.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import type { Task } from '../progress.js';

/** Output formats of `ecrctl scan`. */
export type ScanFormat = 'table' | 'json' | 'sarif';

/** What scanImage needs: the image, and how to wait, judge and report. */
export interface ScanImageOptions {
  repository: string;
  /** The image by digest (wins) or tag; one of them is needed. */
  digest?: string;
  tag?: string;
  registryId?: string;
  region?: string;
  /** Exit 4 (ScanThresholdError) when a finding at or above this severity remains after ignores. */
  failOn?: string;
  /** Path of an ignore file (YAML or JSON), relative to ctx.cwd. */
  ignore?: string;
  format?: ScanFormat;
  /** Wait for the scan to end (implied by failOn). */
  wait?: boolean;
  /** The longest wait: ms, or a duration such as `10m` (default 10 minutes). */
  timeout?: number | string;
  /** Between two status reads (default 5 s). */
  pollIntervalMs?: number;
  /** Before re-reading a COMPLETE scan with no findings, to confirm it (default 5 s). */
  confirmDelayMs?: number;
  /** The reference as the user wrote it, for messages. */
  reference?: string;
  /** Findings per DescribeImageScanFindings page (default 1000; tests use small ones). */
  pageSize?: number;
  /** SARIF artifact location (default: the repository name). */
  sarifUri?: string;
}

const DAY_MS = 24 * 3600 * 1000;
const WAITING = new Set(['IN_PROGRESS', 'PENDING']);

/** Why a scan status other than COMPLETE / ACTIVE ends without a result, and what to do. */
const STATUS_MESSAGES: Record<string, { message: string; fix: string }> = {
  FAILED: {
    message: 'the scan failed',
    fix: 'look at the description ECR gave; ECR allows one new scan per image per day',
  },
  UNSUPPORTED_IMAGE: {
    message: "ECR cannot scan this image's operating system or package manager",
    fix: 'basic scanning supports Debian, Ubuntu, Alpine, Amazon Linux, RHEL, CentOS and Oracle Linux images; scratch and distroless images need enhanced scanning or another scanner',
  },
  FINDINGS_UNAVAILABLE: {
    message: 'the findings of this image are no longer available',
    fix: 'enhanced scanning drops findings of images it no longer monitors (e.g. deleted or not pulled within the rescan duration); push the image again or re-enable its scanning',
  },
  LIMIT_EXCEEDED: {
    message: 'the scan limit was exceeded',
    fix: 'ECR allows one scan per image per day; wait and run again',
  },
  SCAN_ELIGIBILITY_EXPIRED: {
    message: 'enhanced scanning no longer scans this image (its scan eligibility expired)',
    fix: 'push or pull the image again, or lengthen the scan duration in Amazon Inspector (ECR re-scan duration)',
  },
};

/** Declares `ecrctl scan` and `ecrctl scan config get|set`. */
export function defineScan(program: Command, host: CommandHost): void {
  const scan = program
    .command('scan')
    .summary('scan an image for vulnerabilities; table, JSON or SARIF; threshold exit code')
    .description(
      'Starts an ECR scan of REF (repo:tag, repo@sha256:…, or a full ECR reference), or uses the\n' +
        'scan ECR already has from the last 24 hours (ECR allows one scan per image per day), waits\n' +
        'for it with --wait, and reports the findings: counts per severity, then each finding most\n' +
        'severe first. Basic and enhanced (Amazon Inspector) findings are read into one model.\n' +
        'An image index is scanned platform by platform. --fail-on SEVERITY exits 4 when a finding\n' +
        'at or above it remains after --ignore (a YAML/JSON list of {id, package, expires, reason},\n' +
        'matched by id and package). A COMPLETE scan with no findings is read twice before the\n' +
        'image is called clean. Exits 1 when a scan fails or --timeout passes.',
    )
    .argument('<ref>', 'the image: team/app:v1, team/app@sha256:…, 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1')
    .option('--wait', 'wait for the scan to finish (implied by --fail-on)')
    .option('--timeout <duration>', 'longest wait, e.g. 90s, 10m (default: 10m)')
    .option('--fail-on <severity>', 'exit 4 when a finding is at or above CRITICAL|HIGH|MEDIUM|LOW|INFORMATIONAL')
    .option(
      '--format <format>',
      'table (default), json (the findings model) or sarif (SARIF 2.1.0 for GitHub code scanning)',
    )
    .option('--ignore <file>', 'accepted findings: YAML or JSON list of {id, package, expires, reason}')
    .option('--poll-interval <duration>', 'time between status reads while waiting (default: 5s)')
    .option('--confirm-delay <duration>', 'wait before re-reading a scan that found nothing (default: 5s)')
    .option('--sarif-uri <path>', 'file the SARIF results point at, e.g. Dockerfile (default: the repository name)')
    .addHelpText(
      'after',
      examples(
        'ecrctl scan team/app:v1 --wait',
        'ecrctl scan team/app:v1 --fail-on HIGH --ignore .ecr-ignore.yaml',
        'ecrctl scan team/app:v1 --wait --format sarif > ecr-scan.sarif',
        'ecrctl scan config set --type ENHANCED --rule CONTINUOUS_SCAN:prod-* --rule SCAN_ON_PUSH:*',
      ),
    )
    .action(async (ref: string, opts: ScanCliOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await runScanCommand(ctx, ref, opts);
    });

  const config = scan
    .command('config')
    .summary('get or set the registry scanning configuration')
    .description(
      'The registry scanning configuration: the scan type (BASIC or ENHANCED) and up to 2 rules,\n' +
        'each a frequency (SCAN_ON_PUSH, CONTINUOUS_SCAN — ENHANCED only — or MANUAL) and WILDCARD\n' +
        'repository filters.',
    );
  config
    .command('get')
    .summary('print the registry scanning configuration')
    .addHelpText('after', examples('ecrctl scan config get', 'ecrctl scan config get --output json'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      await runConfig(ctx, undefined);
    });
  config
    .command('set')
    .summary('replace the registry scanning configuration')
    .description(
      'Replaces the scan type and all rules. --rule FREQUENCY:FILTER[,FILTER]… may be given up to\n' +
        'twice; filters are WILDCARD patterns (* matches anything). Checked here before ECR is asked.',
    )
    .option('--type <type>', 'BASIC or ENHANCED (default: the current type)')
    .option(
      '--rule <FREQ:FILTERS>',
      'a rule, e.g. SCAN_ON_PUSH:* or CONTINUOUS_SCAN:prod-*,team/* (repeatable)',
      collect,
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl scan config set --type BASIC --rule SCAN_ON_PUSH:*',
        'ecrctl scan config set --type ENHANCED --rule CONTINUOUS_SCAN:prod-* --rule SCAN_ON_PUSH:*',
      ),
    )
    .action(async (opts: { type?: string; rule?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      await runConfig(ctx, opts);
    });
}

interface ScanCliOptions {
  wait?: boolean;
  timeout?: string;
  failOn?: string;
  format?: string;
  ignore?: string;
  pollInterval?: string;
  confirmDelay?: string;
  sarifUri?: string;
}

async function runScanCommand(ctx: CliContext, text: string, opts: ScanCliOptions): Promise<void> {
  const [{ UsageError }, { parseDuration }] = await Promise.all([
    import('../../errors.js'),
    import('../../policy/scan.js'),
  ]);
  if (opts.format !== undefined && !['table', 'json', 'sarif'].includes(opts.format)) {
    throw new UsageError(`--format takes table, json or sarif, not "${opts.format}"`, {
      value: opts.format,
      fix: 'e.g. --format sarif',
    });
  }
  const where = await parseScanRef(ctx, text);
  await scanImage(ctx, {
    ...where,
    reference: text,
    ...(opts.failOn !== undefined ? { failOn: opts.failOn } : {}),
    ...(opts.ignore !== undefined ? { ignore: opts.ignore } : {}),
    ...(opts.format !== undefined ? { format: opts.format as ScanFormat } : {}),
    ...(opts.wait ? { wait: true } : {}),
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    ...(opts.pollInterval !== undefined ? { pollIntervalMs: parseDuration(opts.pollInterval, '--poll-interval') } : {}),
    ...(opts.confirmDelay !== undefined ? { confirmDelayMs: parseDuration(opts.confirmDelay, '--confirm-delay') } : {}),
    ...(opts.sarifUri !== undefined ? { sarifUri: opts.sarifUri } : {}),
    ...(ctx.env.ECRCTL_SCAN_PAGE_SIZE ? { pageSize: Number(ctx.env.ECRCTL_SCAN_PAGE_SIZE) } : {}),
  });
}

/** Returns repository, tag/digest, region and registry of a REF as `scan` reads it. */
async function parseScanRef(
  ctx: CliContext,
  text: string,
): Promise<{ repository: string; digest?: string; tag?: string; region?: string; registryId?: string }> {
  const { parseEcrRef } = await import('../ecr-ref.js');
  const ref = parseEcrRef(ctx, text);
  const out: { repository: string; digest?: string; tag?: string; region?: string; registryId?: string } = {
    repository: ref.repository,
  };
  if (ref.registryId) out.registryId = ref.registryId;
  if (ref.region) out.region = ref.region;
  if (ref.digest !== undefined) out.digest = ref.digest;
  else out.tag = ref.tag ?? 'latest';
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One manifest to scan: the image itself, or one platform of an index. */
interface Target {
  digest: string;
  platform?: string;
}

/** Where one target ended up. */
interface Outcome {
  target: Target;
  state: ScanState;
  /** Set when the result came from an earlier scan (ECR's one-a-day limit). */
  reused?: boolean;
}

/**
 * Scans an image (every platform of an index), waits when asked, prints the report in the
 * chosen format and returns it; throws ScanThresholdError (exit 4) when findings at or above
 * failOn remain, and EcrctlError (exit 1) on a failed scan or a timeout.
 */
export async function scanImage(ctx: CliContext, opts: ScanImageOptions): Promise<ScanReport> {
  const [policy, scanning, { settingsFromContext, requireRegion }, { connectEcr }, { startTask }, errors] =
    await Promise.all([
      import('../../policy/scan.js'),
      import('../../ecr/scanning.js'),
      import('../../ecr/aws-config.js'),
      import('../../ecr/repositories.js'),
      import('../progress.js'),
      import('../../errors.js'),
    ]);
  if (!opts.digest && !opts.tag)
    throw new errors.UsageError('scanImage needs a digest or a tag', { fix: 'pass digest (or tag)' });
  const failOn = opts.failOn !== undefined ? policy.parseSeverity(opts.failOn) : undefined;
  const timeoutMs =
    typeof opts.timeout === 'number' ? opts.timeout : policy.parseDuration(opts.timeout ?? '10m', '--timeout');
  const pollMs = opts.pollIntervalMs ?? 5000;
  const confirmMs = opts.confirmDelayMs ?? 5000;
  const wait = opts.wait === true || failOn !== undefined;
  const format: ScanFormat = opts.format ?? (ctx.globals.output === 'json' ? 'json' : 'table');
  // Read the ignore list first: a bad file should fail before minutes of waiting.
  let ignores: IgnoreEntry[] = [];
  if (opts.ignore !== undefined) {
    const { readFile } = await import('node:fs/promises');
    const path = await import('node:path');
    const file = path.resolve(ctx.cwd, opts.ignore);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new errors.NotFoundError(
        `cannot read the ignore file ${opts.ignore}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          value: opts.ignore,
          fix: 'check the path given to --ignore',
          cause: err,
        },
      );
    }
    ignores = policy.parseIgnoreList(text, opts.ignore);
  }

  const settings = settingsFromContext(ctx);
  const region = opts.region ?? requireRegion(settings);
  const conn = await connectEcr(settings, { region, ...(opts.registryId ? { registryId: opts.registryId } : {}) });
  const display = opts.reference ?? `${opts.repository}${opts.digest ? `@${opts.digest}` : `:${opts.tag}`}`;
  const image = await scanning.describeScanTarget(conn, opts.repository, {
    ...(opts.digest ? { digest: opts.digest } : {}),
    ...(opts.tag ? { tag: opts.tag } : {}),
  });
  let targets: Target[] = [{ digest: image.digest }];
  if (scanning.isIndexMediaType(image.mediaType)) {
    const children = await scanning.indexChildren(conn, opts.repository, image.digest);
    targets = children
      .filter((c) => !c.attestation)
      .map((c) => ({ digest: c.digest, ...(c.platform ? { platform: c.platform } : {}) }));
    ctx.log.info(
      `${display} is an image index: scanning its ${targets.length} platform${targets.length === 1 ? '' : 's'} one by one (${targets.map((t) => t.platform ?? t.digest.slice(0, 19)).join(', ')})`,
    );
  }

  const deadline = Date.now() + timeoutMs;
  const outcomes: Outcome[] = [];
  for (const target of targets) {
    outcomes.push(
      await obtain(
        ctx,
        conn,
        opts,
        target,
        { wait, deadline, pollMs, confirmMs, timeoutMs, display },
        scanning,
        startTask,
        errors,
      ),
    );
  }

  const now = new Date();
  const images: PlatformReport[] = outcomes.map(({ target, state }) => {
    const applied = policy.applyIgnores(state.findings ?? [], ignores, now);
    return {
      ...(target.platform ? { platform: target.platform } : {}),
      digest: target.digest,
      status: state.status,
      ...(state.description ? { statusDescription: state.description } : {}),
      scanType: state.scanType,
      ...(state.completedAt ? { completedAt: state.completedAt.toISOString() } : {}),
      ...(state.sourceUpdatedAt ? { vulnerabilitySourceUpdatedAt: state.sourceUpdatedAt.toISOString() } : {}),
      counts: policy.countBySeverity(applied.findings),
      findings: policy.sortFindings(applied.findings),
      ignored: applied.ignored,
    };
  });
  const expired = policy.applyIgnores([], ignores, now).expired;
  for (const e of expired) {
    const matched = outcomes.some((o) =>
      (o.state.findings ?? []).some((f) => f.id.toUpperCase() === e.id.toUpperCase() && f.package === e.package),
    );
    ctx.log.warn(
      `the ignore for ${e.id} (${e.package}) expired on ${e.expires}: it no longer applies${matched ? ' and the finding is reported again' : ''}`,
    );
  }
  const failing = failOn
    ? images.flatMap((i) =>
        policy
          .findingsAtOrAbove(i.findings, failOn)
          .map((f) => ({ ...f, ...(i.platform ? { platform: i.platform } : {}) })),
      )
    : [];
  const report: ScanReport = {
    repository: opts.repository,
    ...(opts.registryId ? { registryId: opts.registryId } : {}),
    region,
    reference: display,
    digest: image.digest,
    images,
    expiredIgnores: expired,
    ...(failOn ? { failOn } : {}),
    failing,
  };

  await printReport(ctx, report, format, opts, policy);

  if (failOn && failing.length > 0) {
    const shown = failing
      .slice(0, 20)
      .map((f) =>
        `${f.id} ${f.severity} ${f.package ?? '?'} ${f.version ?? ''}${f.platform ? ` (${f.platform})` : ''}`.trimEnd(),
      );
    throw new errors.ScanThresholdError(
      `${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${failOn} in ${display}:\n  ${shown.join('\n  ')}${failing.length > shown.length ? `\n  … and ${failing.length - shown.length} more` : ''}`,
      {
        rule: `--fail-on ${failOn}`,
        fix: 'upgrade the packages named, or accept a finding with an entry {id, package, expires, reason} in an --ignore file',
      },
    );
  }
  const bad = images.filter((i) => STATUS_MESSAGES[i.status] !== undefined);
  if (bad.length > 0) {
    const first = bad[0] as PlatformReport;
    const known = STATUS_MESSAGES[first.status] as { message: string; fix: string };
    const which = bad.map(
      (b) => `${b.platform ?? display}: ${b.status}${b.statusDescription ? ` (${b.statusDescription})` : ''}`,
    );
    throw new errors.EcrctlError(`${known.message}: ${which.join('; ')}`, { fix: known.fix, value: display });
  }
  return report;
}

interface WaitSettings {
  wait: boolean;
  deadline: number;
  pollMs: number;
  confirmMs: number;
  timeoutMs: number;
  display: string;
}

/** Starts or reuses the scan of one target and, when asked, waits until it ends. */
async function obtain(
  ctx: CliContext,
  conn: EcrConnection,
  opts: ScanImageOptions,
  target: Target,
  w: WaitSettings,
  scanning: typeof import('../../ecr/scanning.js'),
  startTask: typeof import('../progress.js').startTask,
  errors: typeof import('../../errors.js'),
): Promise<Outcome> {
  const label = target.platform ? `${w.display} (${target.platform})` : w.display;
  const read = () =>
    scanning.describeImageScan(conn, opts.repository, target.digest, opts.pageSize ? { pageSize: opts.pageSize } : {});
  let state = await read();
  let reused = false;
  const reuseNote = (s: ScanState) =>
    `${label} was scanned${s.completedAt ? ` at ${s.completedAt.toISOString()}` : ''}, within the last 24 hours; ECR allows one scan per image per day, so that result is used`;
  if (state === undefined || (!WAITING.has(state.status) && state.status !== 'ACTIVE' && !recent(state))) {
    const started = await scanning.startImageScan(conn, opts.repository, target.digest);
    if (started.outcome === 'unsupported') {
      return {
        target,
        state: { status: 'UNSUPPORTED_IMAGE', description: started.message, scanType: 'BASIC', counts: {} },
      };
    }
    if (started.outcome === 'limit-exceeded') {
      state = (await read()) ?? state;
      if (!state) {
        throw new errors.RateLimitedError(
          `ECR refused to scan ${label} and has no earlier scan of it: ${started.message}`,
          {
            fix: 'ECR allows one scan per image per day; wait and run again',
          },
        );
      }
      reused = true;
      ctx.log.info(reuseNote(state));
    } else {
      ctx.log.verbose(`started a scan of ${label}`);
      state = { status: started.status, scanType: 'BASIC', counts: {} };
    }
  } else if (WAITING.has(state.status)) {
    ctx.log.info(`a scan of ${label} is already running`);
  } else if (state.status !== 'ACTIVE') {
    reused = true;
    ctx.log.info(reuseNote(state));
  }

  if (!w.wait) {
    if (WAITING.has(state.status))
      ctx.log.info(`scan of ${label}: ${state.status}; run again with --wait to wait for the findings`);
    return { target, state, reused };
  }
  let task: Task | undefined;
  const started = Date.now();
  let lastStatus = '';
  try {
    // ACTIVE (enhanced) without findings yet means Inspector has not reported: keep waiting.
    while (WAITING.has(state.status) || (state.status === 'ACTIVE' && state.findings === undefined)) {
      if (!task) task = await startTask(ctx, `waiting for the scan of ${label}`);
      if (state.status !== lastStatus) {
        lastStatus = state.status;
        if (!ctx.stderr.isTTY) ctx.log.info(`scan of ${label}: ${state.status}`);
      }
      task.update(`scan of ${label}: ${state.status} (${Math.round((Date.now() - started) / 1000)}s)`);
      const left = w.deadline - Date.now();
      if (left <= 0) {
        throw new errors.EcrctlError(
          `timed out after ${formatMs(w.timeoutMs)} waiting for the scan of ${label} (still ${state.status})`,
          {
            fix: 'run again with a longer --timeout; the scan goes on in ECR, and a later `ecrctl scan` picks up its result',
          },
        );
      }
      await sleep(Math.min(w.pollMs, left), ctx.signal);
      state = (await read()) ?? state;
    }
    if ((state.status === 'COMPLETE' || state.status === 'ACTIVE') && (state.findings?.length ?? 0) === 0) {
      // ECR has reported COMPLETE before the findings were in: confirm "clean" with a second read.
      task?.update(`scan of ${label}: no findings; confirming in ${formatMs(w.confirmMs)}`);
      if (!ctx.stderr.isTTY)
        ctx.log.info(`scan of ${label}: no findings; reading again in ${formatMs(w.confirmMs)} to confirm`);
      await sleep(w.confirmMs, ctx.signal);
      state = (await read()) ?? state;
    }
    const n = state.findings?.length ?? 0;
    const summary = `scan of ${label}: ${state.status}${state.findings ? `, ${n} finding${n === 1 ? '' : 's'}` : ''}`;
    if (STATUS_MESSAGES[state.status]) task?.fail(summary);
    else task?.succeed(summary);
  } catch (err) {
    task?.fail(`scan of ${label}: ${state.status}`);
    throw err;
  }
  return { target, state, reused };
}

function recent(state: ScanState): boolean {
  return state.completedAt !== undefined && Date.now() - state.completedAt.getTime() < DAY_MS;
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

async function printReport(
  ctx: CliContext,
  report: ScanReport,
  format: ScanFormat,
  opts: ScanImageOptions,
  policy: typeof import('../../policy/scan.js'),
): Promise<void> {
  const out = (s: string) => ctx.stdout.write(ctx.secrets.redact(s));
  if (format === 'sarif') {
    const { version } = await import('../program.js');
    const sarif = policy.renderSarif(report, {
      toolVersion: version(),
      ...(opts.sarifUri ? { artifactUri: opts.sarifUri } : {}),
    });
    out(`${JSON.stringify(sarif, null, 2)}\n`);
    return;
  }
  if (format === 'json') {
    out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const { render, table } = await import('../output.js');
  render(ctx, report, {
    text: (r) => r.images.map((i) => platformText(r, i, table, policy)).join('\n'),
    env: (r) => {
      const total = policy.countBySeverity(r.images.flatMap((i) => i.findings));
      return {
        SCAN_STATUS: r.images.map((i) => i.status).join(','),
        SCAN_FINDINGS: String(r.images.reduce((n, i) => n + i.findings.length, 0)),
        ...Object.fromEntries(policy.SEVERITIES.map((s) => [`SCAN_${s}`, String(total[s])])),
        SCAN_FAILING: String(r.failing.length),
      };
    },
  });
}

function platformText(
  r: ScanReport,
  i: PlatformReport,
  table: typeof import('../output.js').table,
  policy: typeof import('../../policy/scan.js'),
): string {
  const head = `${r.repository}@${i.digest}${i.platform ? ` (${i.platform})` : ''}`;
  const lines = [
    `${head}: ${i.status}${i.scanType === 'ENHANCED' ? ' (enhanced)' : ''}${i.completedAt ? `, scanned ${i.completedAt.replace(/\.\d{3}Z$/, 'Z')}` : ''}`,
  ];
  if (i.statusDescription && i.status !== 'COMPLETE' && i.status !== 'ACTIVE') lines.push(`  ${i.statusDescription}`);
  if (i.status === 'COMPLETE' || i.status === 'ACTIVE') {
    lines.push(policy.SEVERITIES.map((s: Severity) => `${s} ${i.counts[s]}`).join('  '));
    if (i.findings.length === 0) lines.push('no findings');
    else {
      lines.push(
        table(
          ['SEVERITY', 'ID', 'PACKAGE', 'VERSION', 'FIXED IN', 'SCORE', 'LINK'],
          i.findings.map((f: Finding) => [
            f.severity,
            f.id,
            f.package ?? '-',
            f.version ?? '-',
            f.fixedIn ?? '-',
            f.score !== undefined ? f.score.toFixed(1) : '-',
            f.uri ?? '-',
          ]),
        ),
      );
    }
    if (i.ignored.length > 0) {
      lines.push(`ignored (${i.ignored.length}):`);
      for (const { finding, entry } of i.ignored) {
        lines.push(
          `  ${finding.id} ${finding.severity} ${finding.package ?? ''}${entry.expires ? ` until ${entry.expires}` : ''}${entry.reason ? ` — ${entry.reason}` : ''}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

async function runConfig(ctx: CliContext, set: { type?: string; rule?: string[] } | undefined): Promise<void> {
  const [policy, scanning, { settingsFromContext, requireRegion }, { connectEcr }, { RuleViolation }, { render }] =
    await Promise.all([
      import('../../policy/scan.js'),
      import('../../ecr/scanning.js'),
      import('../../ecr/aws-config.js'),
      import('../../ecr/repositories.js'),
      import('../../errors.js'),
      import('../output.js'),
    ]);
  const rules = (set?.rule ?? []).map((r) => policy.parseScanningRule(r));
  const settings = settingsFromContext(ctx);
  const connect = () =>
    connectEcr(settings, {
      region: requireRegion(settings),
      ...(ctx.globals.registryId ? { registryId: ctx.globals.registryId } : {}),
    });
  let config: import('../../policy/scan.js').ScanningConfiguration;
  if (set) {
    const typeText = set.type?.trim().toUpperCase();
    // Check what can be checked before any call, so a typo never half-applies.
    const draft = { scanType: (typeText ?? 'BASIC') as import('../../policy/scan.js').ScanType, rules };
    const problems = policy.scanningConfigProblems(draft);
    if (problems.length > 0) {
      throw new RuleViolation(
        `the scanning configuration is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
        {
          problems,
          rule: `scan type ${policy.SCAN_TYPES.join('|')}; at most ${policy.MAX_SCANNING_RULES} rules of ${policy.SCAN_FREQUENCIES.join('|')}:FILTER[,FILTER]…`,
          fix: 'e.g. --type ENHANCED --rule CONTINUOUS_SCAN:prod-* --rule SCAN_ON_PUSH:*',
        },
      );
    }
    const conn = await connect();
    const scanType = typeText ? draft.scanType : (await scanning.getScanningConfiguration(conn)).scanType;
    const again = policy.scanningConfigProblems({ scanType, rules });
    if (again.length > 0)
      throw new RuleViolation(`the scanning configuration is not valid for ${scanType} scanning`, { problems: again });
    config = await scanning.putScanningConfiguration(conn, { scanType, rules });
    ctx.log.info(
      `registry scanning configuration set: ${config.scanType}, ${config.rules.length} rule${config.rules.length === 1 ? '' : 's'}`,
    );
  } else {
    config = await scanning.getScanningConfiguration(await connect());
  }
  render(ctx, config, {
    text: (c) =>
      `scan type: ${c.scanType}\n${c.rules.length === 0 ? 'rules: none (images are scanned only when asked)' : `rules:\n${c.rules.map((r) => `  ${r.scanFrequency}  ${r.filters.join(', ')}`).join('\n')}`}`,
    env: (c) => ({
      SCAN_TYPE: c.scanType,
      SCAN_RULES: c.rules.map((r) => `${r.scanFrequency}:${r.filters.join(',')}`).join(' '),
    }),
  });
}

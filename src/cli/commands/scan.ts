// `ecrctl scan REF`: starts a scan (or uses the one ECR already has from the last 24 hours:
// ECR allows one scan per image per day), waits for it, reads every page of findings — basic
// and enhanced alike — into one model, applies the ignore list, and reports as a table, JSON
// or SARIF; `--fail-on` turns findings into exit code 4. An image index is scanned platform
// by platform. `ecrctl scan config get|set` manages the registry scanning configuration.
import type { Command } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import type { ScanFormat } from '../scan-report.js';

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
        'An image index is scanned platform by platform: its manifest is read (BatchGetImage) to\n' +
        'find them, and ECR records that read as a pull of the index (not of its images) unless\n' +
        'you are on the pull-time update exclusion list. --fail-on SEVERITY exits 4 when a finding\n' +
        'at or above it remains after --ignore (a YAML/JSON list of {id, package, expires, reason},\n' +
        'matched by id and package). A COMPLETE scan with no findings is read twice before the\n' +
        'image is called clean. Exits 1 when a scan fails or --timeout passes.',
    )
    .argument('<ref>', 'the image: team/app:v1, team/app@sha256:…, or a whole ECR reference')
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

/** Scans REF, prints the report in the chosen format, then gives the verdict (exit 4 over --fail-on). */
async function runScanCommand(ctx: CliContext, text: string, opts: ScanCliOptions): Promise<void> {
  const [{ UsageError }, { scanImage, checkScanReport }, { printScanReport }] = await Promise.all([
    import('../../errors.js'),
    import('../../ops/scan.js'),
    import('../scan-report.js'),
  ]);
  if (opts.format !== undefined && !['table', 'json', 'sarif'].includes(opts.format)) {
    throw new UsageError(`--format takes table, json or sarif, not "${opts.format}"`, {
      value: opts.format,
      fix: 'e.g. --format sarif',
    });
  }
  const report = await scanImage(ctx, {
    image: text,
    ...(opts.pollInterval !== undefined ? { pollInterval: opts.pollInterval } : {}),
    ...(opts.confirmDelay !== undefined ? { confirmDelay: opts.confirmDelay } : {}),
    ...(opts.failOn !== undefined ? { failOn: opts.failOn } : {}),
    ...(opts.ignore !== undefined ? { ignore: opts.ignore } : {}),
    ...(opts.wait ? { wait: true } : {}),
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    ...(ctx.env.ECRCTL_SCAN_PAGE_SIZE ? { pageSize: Number(ctx.env.ECRCTL_SCAN_PAGE_SIZE) } : {}),
    statusLines: !ctx.stderr.isTTY,
  });
  const format = (opts.format as ScanFormat | undefined) ?? (ctx.globals.output === 'json' ? 'json' : 'table');
  printScanReport(ctx, report, format, opts.sarifUri !== undefined ? { sarifUri: opts.sarifUri } : {});
  checkScanReport(report);
}

/** Prints the registry scanning configuration, after replacing it when `set` options are given. */
async function runConfig(ctx: CliContext, set: { type?: string; rule?: string[] } | undefined): Promise<void> {
  const [{ getScanningConfig, setScanningConfig }, { render }] = await Promise.all([
    import('../../ops/scan.js'),
    import('../output.js'),
  ]);
  const config = set
    ? await setScanningConfig(ctx, {
        ...(set.type !== undefined ? { type: set.type } : {}),
        rules: set.rule ?? [],
      })
    : await getScanningConfig(ctx);
  render(ctx, config, {
    text: (c) =>
      `scan type: ${c.scanType}\n${c.rules.length === 0 ? 'rules: none (images are scanned only when asked)' : `rules:\n${c.rules.map((r) => `  ${r.scanFrequency}  ${r.filters.join(', ')}`).join('\n')}`}`,
    env: (c) => ({
      SCAN_TYPE: c.scanType,
      SCAN_RULES: c.rules.map((r) => `${r.scanFrequency}:${r.filters.join(',')}`).join(' '),
    }),
  });
}

// scan: starts an ECR scan of an image (or uses the one ECR already has from the last 24
// hours: ECR allows one scan per image per day), waits for it, reads every page of findings —
// basic and enhanced alike — into one model and applies the ignore list. An image index is
// scanned platform by platform. checkScanReport turns the report into the exit-code verdict
// (--fail-on); the registry scanning configuration is read and replaced here too.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  describeImageScan,
  describeScanTarget,
  getScanningConfiguration,
  indexChildren,
  isIndexMediaType,
  putScanningConfiguration,
  type ScanState,
  startImageScan,
} from '../ecr/scanning.js';
import type { EcrConnection } from '../ecr/repositories.js';
import {
  EcrctlError,
  NotFoundError,
  RateLimitedError,
  RuleViolation,
  ScanThresholdError,
  UsageError,
} from '../errors.js';
import {
  applyIgnores,
  countBySeverity,
  findingsAtOrAbove,
  type IgnoreEntry,
  MAX_SCANNING_RULES,
  parseDuration,
  parseIgnoreList,
  parseScanningRule,
  parseSeverity,
  type PlatformReport,
  SCAN_FREQUENCIES,
  SCAN_TYPES,
  type ScanningConfiguration,
  type ScanningRule,
  type ScanReport,
  type ScanType,
  scanningConfigProblems,
  sortFindings,
} from '../policy/scan.js';
import type { Session } from '../session.js';
import { sleep } from '../oci/transport/retry.js';
import { ecrConnection, parseEcrRef } from './ecr.js';
import { pollUntil, type Step, startStep } from './wait.js';

export type { ScanReport } from '../policy/scan.js';

/** What scanImage accepts: the image, and how to wait and judge. */
export interface ScanImageOptions {
  /**
   * The image: `team/app:v1`, `team/app@sha256:…` or a full ECR reference (a reference
   * without tag or digest means `:latest`). Alternatively give `repository` and `digest` or `tag`.
   */
  image?: string;
  /** The repository, when `image` is not given. */
  repository?: string;
  /** The image by digest (wins over tag), when `image` is not given. */
  digest?: string;
  /** The image by tag, when `image` is not given. */
  tag?: string;
  /** The registry (account id), when `image` is not given; default: the session's. */
  registryId?: string;
  /** The region, when `image` is not given; default: the session's. */
  region?: string;
  /** Findings at or above this severity (CRITICAL … INFORMATIONAL) that remain after ignores go to `report.failing`. */
  failOn?: string;
  /** Path of an ignore file (YAML or JSON list of {id, package, expires, reason}), relative to the session's cwd. */
  ignore?: string;
  /** Wait for the scan to end (implied by failOn). */
  wait?: boolean;
  /** The longest wait: ms, or a duration such as `10m` (default 10 minutes). */
  timeout?: number | string;
  /** Between two status reads: ms, or a duration such as `5s` (default 5 s). */
  pollInterval?: number | string;
  /** Before re-reading a COMPLETE scan with no findings, to confirm it: ms or a duration (default 5 s). */
  confirmDelay?: number | string;
  /** The reference as the user wrote it, for messages (default: `image`, or repository and digest/tag). */
  reference?: string;
  /** Findings per DescribeImageScanFindings page (default 1000; tests use small ones). */
  pageSize?: number;
  /**
   * Also log each status change while waiting as an info line: for logs read top to bottom,
   * where the step's updates (a spinner's text) do not show.
   */
  statusLines?: boolean;
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

/** How obtain() waits. */
interface WaitSettings {
  wait: boolean;
  startedAt: number;
  pollMs: number;
  confirmMs: number;
  timeoutMs: number;
  display: string;
  statusLines: boolean;
  pageSize?: number;
}

/**
 * Scans an image (every platform of an index), waits when asked and returns the report:
 * findings after ignores, most severe first, and those at or above failOn in `failing`.
 * What the scan found never throws here: checkScanReport gives the verdict. Throws
 * EcrctlError (exit 1) when the wait times out, NotFoundError for a missing ignore file.
 */
export async function scanImage(session: Session, opts: ScanImageOptions): Promise<ScanReport> {
  const where = opts.image !== undefined ? imageOf(session, opts.image) : opts;
  const pollMs = durationOf(opts.pollInterval, 5000, '--poll-interval');
  const confirmMs = durationOf(opts.confirmDelay, 5000, '--confirm-delay');
  if (!where.repository || (!where.digest && !where.tag))
    throw new UsageError('scanImage needs a digest or a tag', { fix: 'pass digest (or tag)' });
  const repository = where.repository;
  const failOn = opts.failOn !== undefined ? parseSeverity(opts.failOn) : undefined;
  const timeoutMs = durationOf(opts.timeout, 10 * 60_000, '--timeout');
  const wait = opts.wait === true || failOn !== undefined;
  // Read the ignore list first: a bad file should fail before minutes of waiting.
  const ignores = opts.ignore !== undefined ? await readIgnores(session, opts.ignore) : [];

  const conn = await ecrConnection(session, {
    ...(where.region ? { region: where.region } : {}),
    ...(where.registryId ? { registryId: where.registryId } : {}),
  });
  const display = opts.reference ?? opts.image ?? `${repository}${where.digest ? `@${where.digest}` : `:${where.tag}`}`;
  const image = await describeScanTarget(conn, repository, {
    ...(where.digest ? { digest: where.digest } : {}),
    ...(where.tag ? { tag: where.tag } : {}),
  });
  let targets: Target[] = [{ digest: image.digest }];
  if (isIndexMediaType(image.mediaType)) {
    const children = await indexChildren(conn, repository, image.digest);
    targets = children
      .filter((c) => !c.attestation)
      .map((c) => ({ digest: c.digest, ...(c.platform ? { platform: c.platform } : {}) }));
    session.log.info(
      `${display} is an image index: scanning its ${targets.length} platform${targets.length === 1 ? '' : 's'} one by one (${targets.map((t) => t.platform ?? t.digest.slice(0, 19)).join(', ')})`,
    );
  }

  // One deadline for every platform.
  const settings: WaitSettings = {
    wait,
    startedAt: Date.now(),
    pollMs,
    confirmMs,
    timeoutMs,
    display,
    statusLines: opts.statusLines === true,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  };
  const outcomes: Outcome[] = [];
  for (const target of targets) outcomes.push(await obtain(session, conn, repository, target, settings));

  const now = new Date();
  const images: PlatformReport[] = outcomes.map(({ target, state }) => {
    const applied = applyIgnores(state.findings ?? [], ignores, now);
    return {
      ...(target.platform ? { platform: target.platform } : {}),
      digest: target.digest,
      status: state.status,
      ...(state.description ? { statusDescription: state.description } : {}),
      scanType: state.scanType,
      ...(state.completedAt ? { completedAt: state.completedAt.toISOString() } : {}),
      ...(state.sourceUpdatedAt ? { vulnerabilitySourceUpdatedAt: state.sourceUpdatedAt.toISOString() } : {}),
      counts: countBySeverity(applied.findings),
      findings: sortFindings(applied.findings),
      ignored: applied.ignored,
    };
  });
  const expired = applyIgnores([], ignores, now).expired;
  for (const e of expired) {
    const matched = outcomes.some((o) =>
      (o.state.findings ?? []).some((f) => f.id.toUpperCase() === e.id.toUpperCase() && f.package === e.package),
    );
    session.log.warn(
      `the ignore for ${e.id} (${e.package}) expired on ${e.expires}: it no longer applies${matched ? ' and the finding is reported again' : ''}`,
    );
  }
  const failing = failOn
    ? images.flatMap((i) =>
        findingsAtOrAbove(i.findings, failOn).map((f) => ({ ...f, ...(i.platform ? { platform: i.platform } : {}) })),
      )
    : [];
  return {
    repository,
    ...(where.registryId ? { registryId: where.registryId } : {}),
    region: conn.region,
    reference: display,
    digest: image.digest,
    images,
    expiredIgnores: expired,
    ...(failOn ? { failOn } : {}),
    failing,
  };
}

/**
 * Throws ScanThresholdError (exit 4) when the report has findings at or above its failOn,
 * and EcrctlError (exit 1) when the scan of a platform failed, is unsupported, or has no
 * findings available; returns quietly otherwise.
 */
export function checkScanReport(report: ScanReport): void {
  const { failing, failOn, reference: display } = report;
  if (failOn && failing.length > 0) {
    const shown = failing
      .slice(0, 20)
      .map((f) =>
        `${f.id} ${f.severity} ${f.package ?? '?'} ${f.version ?? ''}${f.platform ? ` (${f.platform})` : ''}`.trimEnd(),
      );
    throw new ScanThresholdError(
      `${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${failOn} in ${display}:\n  ${shown.join('\n  ')}${failing.length > shown.length ? `\n  … and ${failing.length - shown.length} more` : ''}`,
      {
        rule: `--fail-on ${failOn}`,
        fix: 'upgrade the packages named, or accept a finding with an entry {id, package, expires, reason} in an --ignore file',
      },
    );
  }
  const bad = report.images.filter((i) => STATUS_MESSAGES[i.status] !== undefined);
  if (bad.length > 0) {
    const first = bad[0] as PlatformReport;
    const known = STATUS_MESSAGES[first.status] as { message: string; fix: string };
    const which = bad.map(
      (b) => `${b.platform ?? display}: ${b.status}${b.statusDescription ? ` (${b.statusDescription})` : ''}`,
    );
    throw new EcrctlError(`${known.message}: ${which.join('; ')}`, { fix: known.fix, value: display });
  }
}

/** Returns repository, tag/digest, region and registry of a reference as scan reads it. */
function imageOf(
  session: Session,
  text: string,
): { repository: string; digest?: string; tag?: string; region?: string; registryId?: string } {
  const ref = parseEcrRef(session, text);
  const out: { repository: string; digest?: string; tag?: string; region?: string; registryId?: string } = {
    repository: ref.repository,
  };
  if (ref.registryId) out.registryId = ref.registryId;
  if (ref.region) out.region = ref.region;
  if (ref.digest !== undefined) out.digest = ref.digest;
  else out.tag = ref.tag ?? 'latest';
  return out;
}

function durationOf(value: number | string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  return typeof value === 'number' ? value : parseDuration(value, option);
}

async function readIgnores(session: Session, file: string): Promise<IgnoreEntry[]> {
  let text: string;
  try {
    text = await readFile(path.resolve(session.cwd, file), 'utf8');
  } catch (err) {
    throw new NotFoundError(
      `cannot read the ignore file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        value: file,
        fix: 'check the path given to --ignore',
        cause: err,
      },
    );
  }
  return parseIgnoreList(text, file);
}

/** Starts or reuses the scan of one target and, when asked, waits until it ends. */
async function obtain(
  session: Session,
  conn: EcrConnection,
  repository: string,
  target: Target,
  w: WaitSettings,
): Promise<Outcome> {
  const label = target.platform ? `${w.display} (${target.platform})` : w.display;
  const read = () => describeImageScan(conn, repository, target.digest, w.pageSize ? { pageSize: w.pageSize } : {});
  let state = await read();
  let reused = false;
  const reuseNote = (s: ScanState) =>
    `${label} was scanned${s.completedAt ? ` at ${s.completedAt.toISOString()}` : ''}, within the last 24 hours; ECR allows one scan per image per day, so that result is used`;
  if (state === undefined || (!WAITING.has(state.status) && state.status !== 'ACTIVE' && !recent(state))) {
    const started = await startImageScan(conn, repository, target.digest);
    if (started.outcome === 'unsupported') {
      return {
        target,
        state: { status: 'UNSUPPORTED_IMAGE', description: started.message, scanType: 'BASIC', counts: {} },
      };
    }
    if (started.outcome === 'limit-exceeded') {
      state = (await read()) ?? state;
      if (!state) {
        throw new RateLimitedError(`ECR refused to scan ${label} and has no earlier scan of it: ${started.message}`, {
          fix: 'ECR allows one scan per image per day; wait and run again',
        });
      }
      reused = true;
      session.log.info(reuseNote(state));
    } else {
      session.log.verbose(`started a scan of ${label}`);
      state = { status: started.status, scanType: 'BASIC', counts: {} };
    }
  } else if (WAITING.has(state.status)) {
    session.log.info(`a scan of ${label} is already running`);
  } else if (state.status !== 'ACTIVE') {
    reused = true;
    session.log.info(reuseNote(state));
  }

  if (!w.wait) {
    if (WAITING.has(state.status))
      session.log.info(`scan of ${label}: ${state.status}; run again with --wait to wait for the findings`);
    return { target, state, reused };
  }
  let step: Step | undefined;
  const started = Date.now();
  let lastStatus = '';
  let current: ScanState = state;
  // Says, before each wait, what is being waited for.
  const progress = (s: ScanState) => {
    if (!step) step = startStep(session, `waiting for the scan of ${label}`);
    if (s.status !== lastStatus) {
      lastStatus = s.status;
      if (w.statusLines) session.log.info(`scan of ${label}: ${s.status}`);
    }
    step.update(`scan of ${label}: ${s.status} (${Math.round((Date.now() - started) / 1000)}s)`);
  };
  try {
    current = await pollUntil(session, {
      first: current,
      read: async () => {
        current = (await read()) ?? current;
        return current;
      },
      // ACTIVE (enhanced) without findings yet means Inspector has not reported: keep waiting.
      done: (s) => !(WAITING.has(s.status) || (s.status === 'ACTIVE' && s.findings === undefined)),
      intervalMs: w.pollMs,
      timeoutMs: w.timeoutMs,
      startedAt: w.startedAt,
      deadline: 'shorten',
      onWait: progress,
      onTimeout: (s) => {
        progress(s);
        return new EcrctlError(
          `timed out after ${formatMs(w.timeoutMs)} waiting for the scan of ${label} (still ${s.status})`,
          {
            fix: 'run again with a longer --timeout; the scan goes on in ECR, and a later `ecrctl scan` picks up its result',
          },
        );
      },
    });
    if ((current.status === 'COMPLETE' || current.status === 'ACTIVE') && (current.findings?.length ?? 0) === 0) {
      // ECR has reported COMPLETE before the findings were in: confirm "clean" with a second read.
      step?.update(`scan of ${label}: no findings; confirming in ${formatMs(w.confirmMs)}`);
      if (w.statusLines)
        session.log.info(`scan of ${label}: no findings; reading again in ${formatMs(w.confirmMs)} to confirm`);
      await sleep(w.confirmMs, session.signal);
      current = (await read()) ?? current;
    }
    const n = current.findings?.length ?? 0;
    const summary = `scan of ${label}: ${current.status}${current.findings ? `, ${n} finding${n === 1 ? '' : 's'}` : ''}`;
    step?.end(STATUS_MESSAGES[current.status] === undefined, summary);
  } catch (err) {
    step?.end(false, `scan of ${label}: ${current.status}`);
    throw err;
  }
  return { target, state: current, reused };
}

function recent(state: ScanState): boolean {
  return state.completedAt !== undefined && Date.now() - state.completedAt.getTime() < DAY_MS;
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** What setScanningConfig accepts. */
export interface SetScanningConfigOptions {
  /** BASIC or ENHANCED (any case); default: the current type. */
  type?: string;
  /** The rules, replacing all current ones: `FREQUENCY:FILTER[,FILTER]…` text (e.g. `SCAN_ON_PUSH:*`) or parsed rules. */
  rules?: readonly (string | ScanningRule)[];
}

/** Returns the registry scanning configuration: the scan type and its rules. */
export async function getScanningConfig(session: Session): Promise<ScanningConfiguration> {
  return getScanningConfiguration(await ecrConnection(session));
}

/**
 * Replaces the registry scanning configuration and returns what ECR stored. Everything that
 * can be checked is checked before ECR is asked (RuleViolation with every problem).
 */
export async function setScanningConfig(
  session: Session,
  opts: SetScanningConfigOptions,
): Promise<ScanningConfiguration> {
  const rules = (opts.rules ?? []).map((r) => (typeof r === 'string' ? parseScanningRule(r) : r));
  const typeText = opts.type?.trim().toUpperCase();
  // Check what can be checked before any call, so a typo never half-applies.
  const draft = { scanType: (typeText ?? 'BASIC') as ScanType, rules };
  const problems = scanningConfigProblems(draft);
  if (problems.length > 0) {
    throw new RuleViolation(
      `the scanning configuration is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      {
        problems,
        rule: `scan type ${SCAN_TYPES.join('|')}; at most ${MAX_SCANNING_RULES} rules of ${SCAN_FREQUENCIES.join('|')}:FILTER[,FILTER]…`,
        fix: 'e.g. --type ENHANCED --rule CONTINUOUS_SCAN:prod-* --rule SCAN_ON_PUSH:*',
      },
    );
  }
  const conn = await ecrConnection(session);
  const scanType = typeText ? draft.scanType : (await getScanningConfiguration(conn)).scanType;
  const again = scanningConfigProblems({ scanType, rules });
  if (again.length > 0)
    throw new RuleViolation(`the scanning configuration is not valid for ${scanType} scanning`, { problems: again });
  const config = await putScanningConfiguration(conn, { scanType, rules });
  session.log.info(
    `registry scanning configuration set: ${config.scanType}, ${config.rules.length} rule${config.rules.length === 1 ? '' : 's'}`,
  );
  return config;
}

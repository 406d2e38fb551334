// replicate: the registry's replication rules (read, replace, add, remove — checked against
// ECR's limits before anything is sent), one image's replication status at each destination
// (waiting until each ends), copies to other regions and accounts on demand through ecrctl
// itself, and backfills of images pushed before a rule existed. The check* functions turn a
// result into the exit-code verdict after the caller has shown it.
import { requireRegion, settingsFromSession } from '../ecr/aws-config.js';
import { parseEcrHost } from '../ecr/hosts.js';
import {
  type Backfill,
  type DestinationStatus,
  describeBackfill,
  describeReplicationStatus,
  getReplicationConfiguration,
  putReplicationConfiguration,
  startBackfill,
} from '../ecr/replication.js';
import {
  createRepository,
  describeRepository,
  type EcrConnection,
  type RepositoryInfo,
  type TagMutability,
} from '../ecr/repositories.js';
import {
  DigestMismatchError,
  EcrctlError,
  InterruptedError,
  NotFoundError,
  RuleViolation,
  UsageError,
} from '../errors.js';
import { copyImage } from '../oci/copy.js';
import { parseReference } from '../oci/reference.js';
import { checkReferrersReport, copyReferrers, type ReferrersReport } from '../oci/referrers.js';
import {
  checkReplicationRules,
  parseDestination,
  type ReplicationDestination,
  type ReplicationRule,
} from '../policy/replication.js';
import type { Session } from '../session.js';
import { ecrConnection, registryClient, ecrRegistryHost } from './ecr.js';
import { backoff, pollUntil } from './wait.js';

export type { Backfill, DestinationStatus } from '../ecr/replication.js';

/** The registry's replication rules and the registry (account) they belong to. */
export interface ReplicationRules {
  /** The registry (account id) whose pushes are replicated. */
  registryId: string;
  /** The rules, in the order ECR holds them (`config get` numbers them from 1). */
  rules: ReplicationRule[];
}

/** Returns the replication rules of the session's registry (none when replication is off). */
export async function getReplicationRules(session: Session): Promise<ReplicationRules> {
  const cfg = await getReplicationConfiguration(await ecrConnection(session));
  return { registryId: cfg.registryId, rules: cfg.rules };
}

/**
 * Replaces every replication rule (an empty list turns replication off) and returns what ECR
 * stored. RuleViolation (exit 3, nothing changed) when the rules break ECR's limits.
 */
export async function setReplicationRules(
  session: Session,
  opts: { rules: readonly ReplicationRule[] },
): Promise<ReplicationRules> {
  const conn = await ecrConnection(session);
  const current = await getReplicationConfiguration(conn);
  return putChecked(session, conn, current.registryId, [...opts.rules]);
}

/** What addReplicationRule accepts. */
export interface AddReplicationRuleOptions {
  /** Destinations: `REGION` or `REGION:ACCOUNT` (the account defaults to the registry's own). */
  to: readonly string[];
  /** Replicate only repositories whose name starts with one of these (default: all). */
  filters?: readonly string[];
}

/** Adds a rule that replicates to the destinations given; returns the rules ECR stored. */
export async function addReplicationRule(session: Session, opts: AddReplicationRuleOptions): Promise<ReplicationRules> {
  const conn = await ecrConnection(session);
  const current = await getReplicationConfiguration(conn);
  const destinations = parseDestinations(current.registryId, opts.to);
  const rule: ReplicationRule = { destinations };
  if (opts.filters && opts.filters.length > 0)
    rule.repositoryFilters = opts.filters.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' }));
  return putChecked(session, conn, current.registryId, [...current.rules, rule]);
}

/** What removeReplicationRule accepts: exactly one of `rule` and `to`. */
export interface RemoveReplicationRuleOptions {
  /** The rule to remove, numbered from 1 as getReplicationRules lists them (a number, or its text). */
  rule?: number | string;
  /** Remove this destination (`REGION[:ACCOUNT]`) from every rule; rules left empty go. */
  to?: string;
}

/** Removes a rule, or a destination from every rule; returns the rules ECR stored. */
export async function removeReplicationRule(
  session: Session,
  opts: RemoveReplicationRuleOptions,
): Promise<ReplicationRules> {
  if ((opts.rule === undefined) === (opts.to === undefined)) {
    throw new UsageError('give exactly one of --rule N and --to REGION[:ACCOUNT]', {
      fix: 'see `ecrctl replicate config get` for the rule numbers',
    });
  }
  const conn = await ecrConnection(session);
  const current = await getReplicationConfiguration(conn);
  let rules: ReplicationRule[];
  if (opts.rule !== undefined) {
    const n = Number(opts.rule);
    if (!Number.isInteger(n) || n < 1 || n > current.rules.length) {
      throw new UsageError(
        `--rule ${opts.rule}: the configuration has ${current.rules.length} rule${current.rules.length === 1 ? '' : 's'}`,
        {
          value: String(opts.rule),
          fix: 'see `ecrctl replicate config get` for the rule numbers',
        },
      );
    }
    rules = current.rules.filter((_, i) => i !== n - 1);
  } else {
    const [dest] = parseDestinations(current.registryId, [opts.to as string]);
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
  return putChecked(session, conn, current.registryId, rules);
}

/**
 * Returns the rules of a replication configuration document: `{"rules":[…]}`, or the
 * `{"replicationConfiguration":{…}}` that `aws ecr describe-registry` prints. RuleViolation
 * when the text is not JSON or has no rules list; `name` (a file name) is used in messages.
 */
export function parseReplicationRules(text: string, name: string): ReplicationRule[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuleViolation(`${name} is not valid JSON: ${(err as Error).message}`, {
      value: name,
      fix: 'write {"rules":[{"destinations":[{"region":"eu-west-1","registryId":"…"}]}]}',
    });
  }
  const holder = (doc as { replicationConfiguration?: unknown })?.replicationConfiguration ?? doc;
  const rules = (holder as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) {
    throw new RuleViolation(`${name} has no "rules" list`, {
      value: name,
      fix: 'write {"rules":[{"destinations":[{"region":"eu-west-1","registryId":"…"}]}]}',
    });
  }
  return rules as ReplicationRule[];
}

/** What replicationStatus accepts. */
export interface ReplicationStatusOptions {
  /** The image: `REPO:TAG`, `REPO@DIGEST` (no tag: `latest`), or a full ECR reference. */
  image: string;
  /** Wait until every destination is COMPLETE or FAILED. */
  wait?: boolean;
  /** With wait: give up after this long (default 900 s). */
  timeoutMs?: number;
}

/** One image's replication status at each destination. */
export interface ReplicationStatusReport {
  /** The repository name (without registry). */
  repository: string;
  /** The image as `repo:tag` or `repo@digest`, for messages. */
  image: string;
  /** The image manifest's digest. */
  digest: string;
  /** NONE (no destinations), FAILED (any failed), COMPLETE (all complete) or IN_PROGRESS. */
  status: 'NONE' | 'FAILED' | 'COMPLETE' | 'IN_PROGRESS';
  /** Each destination (region and account) with its status and failure code. */
  destinations: DestinationStatus[];
  /** Set when the wait gave up before every destination ended: the timeout, in ms. */
  timedOutAfterMs?: number;
}

/**
 * Returns an image's replication status at each destination; with wait, polls (1 s, growing
 * to 10 s, a log line each time) until every destination is COMPLETE or FAILED or the timeout
 * passes (`timedOutAfterMs`). checkReplicationStatus gives the verdict.
 */
export async function replicationStatus(
  session: Session,
  opts: ReplicationStatusOptions,
): Promise<ReplicationStatusReport> {
  const ref = parseImageRef(opts.image);
  const timeoutMs = opts.timeoutMs ?? 900_000;
  const conn = await ecrConnection(session, {
    ...(ref.region ? { region: ref.region } : {}),
    ...(ref.registryId ? { registryId: ref.registryId } : {}),
  });
  const startedAt = Date.now();
  const first = await describeReplicationStatus(conn, ref.repository, ref);
  const ended = (r: typeof first) => r.destinations.every((d) => d.status === 'COMPLETE' || d.status === 'FAILED');
  if (opts.wait && first.destinations.length === 0) {
    session.log.warn(
      `${describeRef(ref)} has no replication destinations: no replication rule covers ${ref.repository}, or it was pushed before the rule existed (see \`ecrctl replicate backfill\`)`,
    );
  }
  const result = !opts.wait
    ? first
    : await pollUntil(session, {
        first,
        read: () => describeReplicationStatus(conn, ref.repository, { digest: first.digest }),
        done: ended,
        intervalMs: backoff(1000, 1.5, 10_000),
        timeoutMs,
        startedAt,
        deadline: 'allow',
        onWait: (r) => {
          const pending = r.destinations.filter((d) => d.status !== 'COMPLETE' && d.status !== 'FAILED');
          session.log.info(
            `waiting for ${pending.map((d) => `${d.region}:${d.registryId}`).join(', ')} (${pending[0]?.status ?? ''})`,
          );
        },
      });
  return {
    repository: ref.repository,
    image: describeRef(ref),
    digest: result.digest,
    status: overall(result.destinations),
    destinations: result.destinations,
    ...(opts.wait && !ended(result) ? { timedOutAfterMs: timeoutMs } : {}),
  };
}

/** Throws EcrctlError (exit 1) when the wait timed out, or when a destination FAILED. */
export function checkReplicationStatus(report: ReplicationStatusReport): void {
  if (report.timedOutAfterMs !== undefined) {
    throw new EcrctlError(
      `replication of ${report.image} did not finish within ${Math.round(report.timedOutAfterMs / 1000)} s`,
      {
        fix: 'run again with a longer --timeout, or check the destinations with `ecrctl replicate status`',
      },
    );
  }
  const failed = report.destinations.filter((d) => d.status === 'FAILED');
  if (failed.length > 0) {
    throw new EcrctlError(
      `replication of ${report.image} failed at ${failed.map((d) => `${d.region}:${d.registryId}${d.failureCode ? ` (${d.failureCode})` : ''}`).join(', ')}`,
      {
        fix: 'check the destination repository (an immutable tag already set there, a repository policy, a KMS key); `ecrctl replicate copy` copies on demand',
      },
    );
  }
}

/** What replicateImage accepts. */
export interface ReplicateImageOptions {
  /** The image: `REPO:TAG`, `REPO@DIGEST` (no tag: `latest`), or a full ECR reference. */
  image: string;
  /** Destinations: `REGION` or `REGION:ACCOUNT` (the account defaults to the source's). */
  to: readonly string[];
  /** Create a missing destination repository with the source repository's settings. */
  createRepo?: boolean;
  /** Carry the image's referrers (signatures, SBOMs, attestations) along (default true). */
  referrers?: boolean;
}

/** What happened at one destination of replicateImage. */
export interface CopyOutcome {
  /** `REGION:ACCOUNT`. */
  destination: string;
  /** The destination region. */
  region: string;
  /** The destination registry (account id). */
  registryId: string;
  /** The image there, pinned by digest. */
  uri?: string;
  /** The digest copied and checked there. */
  digest?: string;
  /** True when the destination repository was created (createRepo). */
  repositoryCreated?: boolean;
  /** The referrers carried along (absent when not asked for). */
  referrers?: ReferrersReport;
  /** Whether the image is there now. */
  status: 'copied' | 'failed';
  /** Why the copy to this destination failed. */
  error?: string;
}

/** What replicateImage did at each destination. */
export interface ReplicateImageResult {
  /** The image as `repo:tag` or `repo@digest`. */
  source: string;
  /** One outcome per destination, in the order given. */
  destinations: CopyOutcome[];
}

/**
 * Copies an image (all platforms, and its referrers) to each destination registry in
 * parallel, and checks the digest at each afterwards. One failing destination does not stop
 * the others: its outcome says why (checkReplicatedImage gives the verdict).
 */
export async function replicateImage(session: Session, opts: ReplicateImageOptions): Promise<ReplicateImageResult> {
  const ref = parseImageRef(opts.image);
  const settings = settingsFromSession(session);
  const sourceRegion = ref.region ?? requireRegion(settings);
  const sourceConn = await ecrConnection(session, {
    region: sourceRegion,
    ...(ref.registryId ? { registryId: ref.registryId } : {}),
  });
  const defaultRegistry = ref.registryId ?? session.aws.registryId;
  const account = defaultRegistry ?? (await getReplicationConfiguration(sourceConn)).registryId;
  const destinations = parseDestinations(account, opts.to);
  const self = destinations.find((d) => d.region === sourceRegion && d.registryId === account);
  if (self) {
    throw new RuleViolation(`--to ${self.region}:${self.registryId} is the source registry itself`, {
      fix: 'name other regions or accounts',
    });
  }

  const sourceHost =
    ref.host || (await ecrRegistryHost(session, { region: sourceRegion, registryId: defaultRegistry }));
  let sourceSettings: RepositoryInfo | undefined;
  if (opts.createRepo) {
    sourceSettings = await describeRepository(sourceConn, ref.repository);
    if (!sourceSettings)
      throw new NotFoundError(`repository ${ref.repository} does not exist in ${sourceRegion}:${account}`);
  }
  const client = await registryClient(session);
  const source = client.repository(sourceHost, ref.repository);
  const manifestRef = ref.digest ?? (ref.tag as string);
  session.log.info(
    `copying ${describeRef(ref)} to ${destinations.map((d) => `${d.region}:${d.registryId}`).join(', ')}`,
  );

  const one = async (d: ReplicationDestination): Promise<CopyOutcome> => {
    const name = `${d.region}:${d.registryId}`;
    const outcome: CopyOutcome = { destination: name, region: d.region, registryId: d.registryId, status: 'failed' };
    try {
      const host = await ecrRegistryHost(session, { region: d.region, registryId: d.registryId });
      if (opts.createRepo && sourceSettings) {
        const conn = await ecrConnection(session, { region: d.region, registryId: d.registryId });
        // A KMS key belongs to one region: elsewhere the AWS managed key is used.
        const kmsKey =
          sourceSettings.encryption.kmsKey && d.region === sourceRegion ? sourceSettings.encryption.kmsKey : undefined;
        const made = await createRepository(conn, {
          name: ref.repository,
          tagMutability: sourceSettings.tagMutability as TagMutability,
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
        if (made.created) session.log.info(`${name}: created repository ${ref.repository}`);
      }
      const target = client.repository(host, ref.repository);
      const summary = await copyImage(source, manifestRef, target, {
        tags: ref.tag && !ref.digest ? [ref.tag] : [],
        signal: session.signal,
      });
      const present = await target.headManifest(summary.digest, { signal: session.signal });
      if (present?.digest !== summary.digest) {
        throw new DigestMismatchError(
          `${name}: the registry reports ${present?.digest ?? 'no manifest'} for ${summary.digest} after the copy`,
        );
      }
      if (opts.referrers !== false) {
        outcome.referrers = await copyReferrers(source, target, summary.digest, {
          signal: session.signal,
          log: (m) => session.log.warn(`${name}: ${m}`),
          note: (m) => session.log.verbose(`${name}: ${m}`),
        });
        // Refused referrers make this destination a failure: the table names them.
        checkReferrersReport(outcome.referrers, `${name}`, (m) => session.log.info(`${name}: ${m}`));
      }
      outcome.status = 'copied';
      outcome.digest = summary.digest;
      outcome.uri = `${host}/${ref.repository}@${summary.digest}`;
      session.log.info(
        `${name}: copied ${summary.digest} (${summary.blobs.uploaded} blobs uploaded, ${summary.blobs.skipped} present)`,
      );
    } catch (err) {
      outcome.error = err instanceof Error ? err.message : String(err);
      session.log.warn(`${name}: ${outcome.error}`);
    }
    return outcome;
  };
  const outcomes = await Promise.all(destinations.map(one));
  if (session.signal.aborted) throw new InterruptedError();
  return { source: describeRef(ref), destinations: outcomes };
}

/** Throws EcrctlError (exit 1) naming the destinations replicateImage failed to copy to. */
export function checkReplicatedImage(result: ReplicateImageResult, opts: { createRepo?: boolean } = {}): void {
  const failed = result.destinations.filter((o) => o.status === 'failed');
  if (failed.length > 0) {
    throw new EcrctlError(
      `replicate copy failed for ${failed.length} of ${result.destinations.length} destinations: ${failed.map((o) => o.destination).join(', ')}`,
      {
        fix: opts.createRepo
          ? 'see the errors above'
          : 'a missing destination repository is created with --create-repo',
      },
    );
  }
}

/** What backfillReplication accepts. */
export interface BackfillOptions {
  /** A destination of the current rules: `REGION` or `REGION:ACCOUNT`. */
  to: string;
  /** Wait until the backfill ends (COMPLETE, FAILED or STOPPED). */
  wait?: boolean;
  /** With wait: give up after this long (default 3600 s; EcrctlError). */
  timeoutMs?: number;
}

/**
 * Starts an ECR replication backfill to one destination of the rules: every image of the
 * repositories those rules cover is replicated there. With wait, polls (1 s, growing to 10 s,
 * a log line each time) until it ends. checkBackfill gives the verdict.
 */
export async function backfillReplication(session: Session, opts: BackfillOptions): Promise<Backfill> {
  const timeoutMs = opts.timeoutMs ?? 3_600_000;
  const conn = await ecrConnection(session);
  const current = await getReplicationConfiguration(conn);
  const [destination] = parseDestinations(current.registryId, [opts.to]);
  const dest = destination as ReplicationDestination;
  if (
    !current.rules.some((r) => r.destinations.some((d) => d.region === dest.region && d.registryId === dest.registryId))
  ) {
    throw new NotFoundError(`no replication rule has the destination ${dest.region}:${dest.registryId}`, {
      fix: `add one first: ecrctl replicate config add --to ${dest.region}:${dest.registryId}`,
    });
  }
  const started = await startBackfill(conn, dest);
  session.log.info(`backfill ${started.id} to ${dest.region}:${dest.registryId}: ${started.status}`);
  const first = await describeBackfill(conn, started.id);
  if (!opts.wait) return first;
  return pollUntil(session, {
    first,
    read: async () => {
      const b = await describeBackfill(conn, started.id);
      session.log.info(`backfill ${b.id}: ${b.status} (${b.completed + b.failed}/${b.total})`);
      return b;
    },
    done: (b) => b.status === 'COMPLETE' || b.status === 'FAILED' || b.status === 'STOPPED',
    intervalMs: backoff(1000, 1.5, 10_000),
    timeoutMs,
    deadline: 'allow',
    onTimeout: () => new EcrctlError(`backfill ${started.id} did not finish within ${Math.round(timeoutMs / 1000)} s`),
  });
}

/** Throws EcrctlError (exit 1) when the backfill failed or any image failed to replicate. */
export function checkBackfill(b: Backfill): void {
  if (b.status === 'FAILED' || b.failed > 0) {
    throw new EcrctlError(
      `backfill ${b.id}: ${b.failed} image${b.failed === 1 ? '' : 's'} failed to replicate${b.failureCodes.length ? ` (${b.failureCodes.join(', ')})` : ''}`,
    );
  }
}

/** Returns destinations parsed against the default account, duplicates dropped; RuleViolation for bad ones. */
function parseDestinations(defaultAccount: string, texts: readonly string[]): ReplicationDestination[] {
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
  session: Session,
  conn: EcrConnection,
  registryId: string,
  rules: ReplicationRule[],
): Promise<ReplicationRules> {
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
  const stored = await putReplicationConfiguration(conn, rules);
  session.log.info(
    rules.length === 0
      ? 'replication turned off (no rules)'
      : `replication configuration saved: ${rules.length} rule${rules.length === 1 ? '' : 's'}`,
  );
  return { registryId, rules: stored };
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

function parseImageRef(text: string): ImageRef {
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

function overall(destinations: readonly { status: string }[]): ReplicationStatusReport['status'] {
  if (destinations.length === 0) return 'NONE';
  if (destinations.some((d) => d.status === 'FAILED')) return 'FAILED';
  if (destinations.every((d) => d.status === 'COMPLETE')) return 'COMPLETE';
  return 'IN_PROGRESS';
}

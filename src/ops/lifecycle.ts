// lifecycle: the lifecycle policy of a repository — validated locally for everything ECR would
// reject, simulated over the repository's real images (or a given list) with ECR's semantics,
// compared with the current one rule by rule and image by image, previewed by ECR itself, and
// read, put and deleted. checkProtection turns a protect list into the exit-code verdict.
import {
  deleteLifecyclePolicy as deleteStoredPolicy,
  getLifecyclePolicy as getStoredPolicy,
  getLifecyclePreview,
  type LifecyclePreview,
  listLifecycleImages,
  type PreviewResult,
  putLifecyclePolicy as putStoredPolicy,
  startLifecyclePreview,
} from '../ecr/lifecycle.js';
import type { EcrConnection } from '../ecr/repositories.js';
import { EcrctlError, NotFoundError, RuleViolation, UsageError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { describeRule, diffRules, type RuleDiff } from '../policy/lifecycle/diff.js';
import {
  type LifecycleDecision,
  type LifecycleImage,
  type LifecyclePolicy,
  type LifecycleProblem,
  type LifecycleRule,
  parseLifecyclePolicy,
  simulateLifecycle,
} from '../policy/lifecycle/index.js';
import { type DecisionSummary, findProtectedExpirations, summarizeDecisions } from '../policy/lifecycle/report.js';
import { formatFileProblems, lifecycleFileProblems } from '../policy/problems.js';
import type { Session } from '../session.js';
import { plural } from '../text.js';
import { ecrConnection, parseEcrRef } from './ecr.js';
import { pollUntil, type Step, startStep } from './wait.js';

export type { RuleDiff } from '../policy/lifecycle/diff.js';

/** What validateLifecyclePolicy found. */
export interface LifecycleValidation {
  /** True when ECR would accept the policy. */
  valid: boolean;
  /** How many rules the policy has (0 when it does not parse). */
  rules: number;
  /** Every problem ECR would reject, with line, rule, field and fix. */
  problems: LifecycleProblem[];
}

/**
 * Returns every problem ECR would reject in a lifecycle policy's JSON text, all at once:
 * syntax (with line and column), unknown or null fields, duplicate priorities, tag lists,
 * count and action combinations. No I/O.
 */
export function validateLifecyclePolicy(text: string): LifecycleValidation {
  const { policy, problems } = parseLifecyclePolicy(text);
  return { valid: problems.length === 0, rules: policy?.rules.length ?? 0, problems };
}

/**
 * Returns the RuleViolation (exit 3) that lists a policy's problems, sorted by position, one
 * line each as `FILE:line:column field: problem — fix`; `name` says which policy (a file
 * name), `file` how the lines name it (default: name).
 */
export function lifecyclePolicyError(
  name: string,
  problems: readonly LifecycleProblem[],
  file: string = name,
): RuleViolation {
  return new RuleViolation(
    `lifecycle policy ${name === '-' ? 'on standard input' : name} is not valid: ${plural(problems.length, 'problem')}`,
    {
      problems: formatFileProblems(lifecycleFileProblems(file, problems)),
    },
  );
}

/** Returns a policy's parsed form; RuleViolation (exit 3) with every problem when ECR would reject it. */
export function checkLifecyclePolicy(text: string, name = 'given'): LifecyclePolicy {
  const { policy, problems } = parseLifecyclePolicy(text);
  if (!policy || problems.length > 0) throw lifecyclePolicyError(name, problems);
  return policy;
}

/** The repository every lifecycle op works on. */
export interface LifecycleRepositoryOptions {
  /** The repository: `team/app`, or `<account>.dkr.ecr.<region>.amazonaws.com/team/app` (no tag or digest). */
  repository: string;
}

/** A policy to use instead of the repository's own. */
export interface LifecyclePolicyInput {
  /** The policy's JSON text; it is validated before anything is sent (RuleViolation, exit 3). */
  policy: string;
  /** How messages name the policy (a file name, `preset:NAME`); default `given`. */
  policyName?: string;
}

/** A repository's lifecycle policy as ECR holds it. */
export interface StoredPolicy {
  /** The repository name (without registry). */
  repository: string;
  /** The policy text as ECR returned it. */
  text: string;
  /** The policy as a JSON document (the text itself if it is not JSON). */
  document: unknown;
  /** The policy as the simulator reads it. */
  policy: LifecyclePolicy;
  /** When ECR last ran the policy (absent when it never ran). */
  lastEvaluatedAt?: Date;
}

/**
 * Returns a repository's lifecycle policy. NotFoundError (exit 6) when it has none;
 * RuleViolation when it cannot be read as a policy; each lesser problem is logged as a warning.
 */
export async function getLifecyclePolicy(session: Session, opts: LifecycleRepositoryOptions): Promise<StoredPolicy> {
  const { conn, repository } = await connect(session, opts.repository);
  return repositoryPolicy(session, conn, repository);
}

/** What putLifecyclePolicy did. */
export interface PutLifecycleResult {
  /** The repository name (without registry). */
  repository: string;
  /** How many rules the policy has. */
  rules: number;
}

/** Sets a repository's lifecycle policy, after checking it for everything ECR would reject (RuleViolation, nothing sent). */
export async function putLifecyclePolicy(
  session: Session,
  opts: LifecycleRepositoryOptions & LifecyclePolicyInput,
): Promise<PutLifecycleResult> {
  const policy = checkLifecyclePolicy(opts.policy, opts.policyName);
  const { conn, repository } = await connect(session, opts.repository);
  await putStoredPolicy(conn, repository, opts.policy);
  const n = policy.rules.length;
  session.log.info(`lifecycle policy of ${repository} set: ${n} ${n === 1 ? 'rule' : 'rules'}`);
  return { repository, rules: n };
}

/** What deleteLifecyclePolicy did. */
export interface DeleteLifecycleResult {
  /** The repository name (without registry). */
  repository: string;
  /** Always true: a repository without a policy is a NotFoundError. */
  deleted: true;
}

/** Deletes a repository's lifecycle policy (its images stay); NotFoundError (exit 6) when it has none. */
export async function deleteLifecyclePolicy(
  session: Session,
  opts: LifecycleRepositoryOptions,
): Promise<DeleteLifecycleResult> {
  const { conn, repository } = await connect(session, opts.repository);
  const old = await deleteStoredPolicy(conn, repository);
  if (old === undefined) throw noPolicy(repository);
  session.log.info(`lifecycle policy of ${repository} deleted`);
  return { repository, deleted: true };
}

/** What a simulation or a preview decided, image by image. */
export interface LifecycleSimulation {
  /** The time the images were judged at. */
  at: Date;
  /** Counts and bytes freed / archived. */
  summary: DecisionSummary;
  /** One decision per image: expire, transition (archive) or keep, and why. */
  decisions: LifecycleDecision[];
  /**
   * Image indexes in the repository whose manifests were not read (readManifests off): the
   * images they list are kept by ECR but could not be told apart here.
   */
  unreadIndexes?: number;
}

/**
 * Lists a repository's images for the simulator, reading index manifests only when asked,
 * and warns when images would expire while unread indexes might still list them.
 */
async function imagesForSimulation(
  conn: EcrConnection,
  repository: string,
  readManifests: boolean | undefined,
): Promise<{ images: LifecycleImage[]; unreadIndexes: number }> {
  const list = await listLifecycleImages(conn, repository, { readIndexes: readManifests === true });
  if (list.indexesRead) return { images: list.images, unreadIndexes: 0 };
  return { images: list.images, unreadIndexes: list.indexes.length };
}

/** Warns that images judged to expire might be listed by indexes whose manifests were not read. */
function warnUnreadIndexes(session: Session, repository: string, unread: number, expiring: number): void {
  if (unread === 0 || expiring === 0) return;
  session.log.warn(
    `${repository} holds ${unread} image ${unread === 1 ? 'index' : 'indexes'} whose manifests were not read: ` +
      `ECR keeps an image an index lists, so some of the ${expiring} images judged to expire may stay. ` +
      '--read-manifests reads them (BatchGetImage; ECR records it as a pull of each index unless you are on the ' +
      "registry's pull-time update exclusion list: ecrctl pull-time-exclusion add)",
  );
}

/** What simulateLifecyclePolicy accepts: a repository (images from ECR) or an image list. */
export interface SimulateLifecycleOptions {
  /** The repository whose images are judged (every page of DescribeImages); give this or `images`. */
  repository?: string;
  /** Judge these images instead (offline: nothing is sent anywhere). */
  images?: LifecycleImage[];
  /** The policy's JSON text; default with a repository: the repository's own. */
  policy?: string;
  /** How messages name the policy (a file name, `preset:NAME`); default `given`. */
  policyName?: string;
  /** Judge the images as of this time (default: now). */
  at?: Date;
  /**
   * Read the manifests of the repository's image indexes (BatchGetImage), so the images they
   * list are kept as ECR keeps them. ECR records each read as a pull of the index unless the
   * caller is on the pull-time update exclusion list, so it is off by default.
   */
  readManifests?: boolean;
}

/**
 * Applies a policy to images with ECR's semantics (rules in priority order, one rule per
 * image, images an index still references kept) and returns each decision with its reason.
 */
export async function simulateLifecyclePolicy(
  session: Session,
  opts: SimulateLifecycleOptions,
): Promise<LifecycleSimulation> {
  const at = opts.at ?? new Date();
  const given = opts.policy !== undefined ? checkLifecyclePolicy(opts.policy, opts.policyName) : undefined;
  let images: LifecycleImage[];
  let effective: LifecyclePolicy;
  let unreadIndexes = 0;
  if (opts.repository !== undefined) {
    const { conn, repository } = await connect(session, opts.repository);
    effective = given ?? (await repositoryPolicy(session, conn, repository)).policy;
    const listed = await imagesForSimulation(conn, repository, opts.readManifests);
    images = listed.images;
    unreadIndexes = listed.unreadIndexes;
    session.log.info(`${images.length} ${images.length === 1 ? 'image' : 'images'} in ${repository}`);
  } else {
    if (!opts.images) throw new UsageError('simulateLifecyclePolicy needs a repository or images');
    if (!given) throw new UsageError('simulateLifecyclePolicy needs a policy to judge a list of images');
    images = opts.images;
    effective = given;
  }
  const decisions = simulateLifecycle(effective, images, at);
  if (opts.repository !== undefined) {
    const expiring = decisions.filter((d) => d.action === 'expire').length;
    warnUnreadIndexes(session, opts.repository, unreadIndexes, expiring);
  }
  return {
    at,
    summary: summarizeDecisions(decisions),
    decisions,
    ...(unreadIndexes > 0 ? { unreadIndexes } : {}),
  };
}

/** An image whose fate a new policy changes. */
export interface ImageChange {
  /** The image manifest's digest. */
  digest: string;
  /** Its tags (none: untagged). */
  tags: string[];
  /** Its fate under the current policy. */
  before: LifecycleDecision['action'];
  /** Its fate under the new one. */
  after: LifecycleDecision['action'];
  /** Why, under the new policy. */
  reason: string;
  /** Its size, as DescribeImages reports it. */
  sizeBytes: number | undefined;
}

/** What putting a new policy would change. */
export interface LifecycleDiff {
  /** The repository name (without registry). */
  repository: string;
  /** The time the images were judged at. */
  at: Date;
  /** Rules added, removed and changed (by rulePriority). */
  rules: RuleDiff;
  /** Every image whose fate changes. */
  images: ImageChange[];
  /** How many images the repository has. */
  imageCount: number;
  /** Image indexes whose manifests were not read (see SimulateLifecycleOptions.readManifests). */
  unreadIndexes?: number;
}

/**
 * Compares a policy with the repository's current one (none counts as no rules): rule by rule,
 * and — running the simulator with both over the repository's real images — image by image.
 */
export async function diffLifecyclePolicy(
  session: Session,
  opts: LifecycleRepositoryOptions & LifecyclePolicyInput & { at?: Date; readManifests?: boolean },
): Promise<LifecycleDiff> {
  const at = opts.at ?? new Date();
  const next = checkLifecyclePolicy(opts.policy, opts.policyName);
  const { conn, repository } = await connect(session, opts.repository);
  const stored = await getStoredPolicy(conn, repository);
  let current: LifecyclePolicy = { rules: [] };
  if (stored) {
    const parsed = parseLifecyclePolicy(stored.text);
    if (parsed.policy) current = parsed.policy;
    else
      session.log.warn(
        `the current policy of ${repository} does not pass local validation; comparing rules as far as they parse`,
      );
  } else {
    session.log.info(`${repository} has no lifecycle policy yet`);
  }
  const rules = diffRules(current, next);
  const { images, unreadIndexes } = await imagesForSimulation(conn, repository, opts.readManifests);
  const before = new Map(simulateLifecycle(current, images, at).map((d) => [d.digest, d]));
  const judged = simulateLifecycle(next, images, at);
  warnUnreadIndexes(session, repository, unreadIndexes, judged.filter((d) => d.action === 'expire').length);
  const changed = judged
    .filter((d) => before.get(d.digest)?.action !== d.action)
    .map((d) => ({
      digest: d.digest,
      tags: d.tags,
      before: before.get(d.digest)?.action ?? 'keep',
      after: d.action,
      reason: d.reason,
      sizeBytes: d.sizeBytes,
    }));
  return {
    repository,
    at,
    rules,
    images: changed,
    imageCount: images.length,
    ...(unreadIndexes > 0 ? { unreadIndexes } : {}),
  };
}

/** What previewLifecyclePolicy accepts. */
export interface PreviewLifecycleOptions extends LifecycleRepositoryOptions {
  /** The policy's JSON text; default: the repository's own. */
  policy?: string;
  /** How messages name the policy (a file name, `preset:NAME`); default `given`. */
  policyName?: string;
  /** Give up waiting for ECR after this long (default 300 s). */
  timeoutMs?: number;
}

/**
 * Runs ECR's own lifecycle policy preview (StartLifecyclePolicyPreview), waits for it (a
 * step event while it runs) and returns its result as decisions, sizes from DescribeImages.
 * EcrctlError (exit 1) when the preview fails or the timeout passes.
 */
export async function previewLifecyclePolicy(
  session: Session,
  opts: PreviewLifecycleOptions,
): Promise<LifecycleSimulation> {
  const givenText = opts.policy;
  if (givenText !== undefined) checkLifecyclePolicy(givenText, opts.policyName);
  const { conn, repository } = await connect(session, opts.repository);
  await startLifecyclePreview(conn, repository, givenText);
  const step: Step = startStep(session, `ECR is previewing the lifecycle policy of ${repository}`);
  let preview: LifecyclePreview;
  try {
    preview = await waitForLifecyclePreview(conn, repository, {
      timeoutMs: opts.timeoutMs ?? 300_000,
      signal: session.signal,
      onPoll: (status, ms) =>
        step.update(`ECR is previewing the lifecycle policy of ${repository}: ${status} (${(ms / 1000).toFixed(0)} s)`),
    });
  } catch (err) {
    step.end(false, 'preview did not complete');
    throw err;
  }
  step.end(true, `preview complete: ${preview.expiringCount} to expire, ${preview.transitioningCount} to archive`);
  const rules = new Map(
    (parseLifecyclePolicy(preview.policyText ?? givenText ?? '').policy?.rules ?? []).map((r) => [r.rulePriority, r]),
  );
  // Tags and sizes only: ECR's preview already knew which images indexes list.
  const { images } = await listLifecycleImages(conn, repository);
  const acted = new Map(preview.results.map((r) => [r.digest, r]));
  const decisions: LifecycleDecision[] = images.map((image) => {
    const r = acted.get(image.digest);
    acted.delete(image.digest);
    return previewDecision(image.digest, image.tags, image.sizeBytes, r, rules);
  });
  // Results for images gone since the preview ran still show what ECR said.
  for (const r of acted.values()) decisions.push(previewDecision(r.digest, r.tags, undefined, r, rules));
  return { at: new Date(), summary: summarizeDecisions(decisions), decisions };
}

/**
 * Polls ECR's lifecycle policy preview until it is no longer IN_PROGRESS and returns it;
 * throws EcrctlError when it ends otherwise than COMPLETE or timeoutMs passes first (no wait
 * is started that would end after it), InterruptedError when the signal aborts. onPoll sees
 * each status and the elapsed ms; pollMs is the schedule of waits (the last one repeats).
 */
export async function waitForLifecyclePreview(
  conn: EcrConnection,
  repository: string,
  opts: {
    timeoutMs: number;
    signal?: AbortSignal;
    onPoll?: (status: string, elapsedMs: number) => void;
    pollMs?: number[];
  },
): Promise<LifecyclePreview> {
  // ECR takes seconds to minutes: start quick, then back off to one look every 5 s.
  const schedule = opts.pollMs ?? [500, 1000, 2000, 3000, 5000];
  const startedAt = Date.now();
  const preview = await pollUntil(
    { signal: opts.signal ?? new AbortController().signal },
    {
      read: async () => {
        const p = await getLifecyclePreview(conn, repository);
        opts.onPoll?.(p.status, Date.now() - startedAt);
        return p;
      },
      done: (p) => p.status !== 'IN_PROGRESS',
      intervalMs: (attempt) => schedule[Math.min(attempt, schedule.length - 1)] ?? 5000,
      timeoutMs: opts.timeoutMs,
      startedAt,
      deadline: 'refuse',
      onTimeout: () =>
        new EcrctlError(
          `the lifecycle policy preview of ${repository} did not finish within ${Math.round(opts.timeoutMs / 1000)} s`,
          {
            fix: 'run `ecrctl lifecycle preview` again with a larger --timeout (ECR keeps the preview running), or use `ecrctl lifecycle simulate`, which answers at once',
          },
        ),
    },
  );
  if (preview.status !== 'COMPLETE') {
    throw new EcrctlError(`the lifecycle policy preview of ${repository} ended with status ${preview.status}`, {
      fix: 'run the preview again',
    });
  }
  return preview;
}

/**
 * Checks decisions against a protect list (digests, or tags with `*` as in tagPatternList):
 * throws RuleViolation (exit 3) naming each protected image the policy would expire; logs a
 * warning for each entry that matches no image, and an info line when every protected image stays.
 */
export function checkProtection(
  session: Session,
  decisions: readonly LifecycleDecision[],
  protect: readonly string[],
): void {
  if (protect.length === 0) return;
  const { violations, unmatched } = findProtectedExpirations(decisions, protect);
  for (const entry of unmatched) session.log.warn(`protected entry "${entry}" matches no image`);
  if (violations.length === 0) {
    session.log.info(
      `protected: no protected image would be expired (${protect.length} ${protect.length === 1 ? 'entry' : 'entries'} checked)`,
    );
    return;
  }
  const images = new Set(violations.map((v) => v.decision.digest));
  throw new RuleViolation(
    `the policy would expire ${images.size} protected ${images.size === 1 ? 'image' : 'images'}`,
    {
      problems: violations.map(
        (v) =>
          `${v.decision.digest} (${v.decision.tags.join(',') || 'untagged'}) is protected by "${v.entry}": ${v.decision.reason}`,
      ),
      fix: 'add a rule with a lower rulePriority that selects these tags and never expires them (e.g. imageCountMoreThan 9999), or narrow the rule that expires them',
    },
  );
}

/** Returns an ECR connection and the repository name a repository reference names. */
async function connect(session: Session, repo: string): Promise<{ conn: EcrConnection; repository: string }> {
  const ref = parseReference(repo);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(`${repo} names an image; lifecycle policies belong to a repository`, {
      value: repo,
      fix: `write the repository alone: ${ref.registry ? `${ref.registry}/` : ''}${ref.repository}`,
    });
  }
  const { registryId, region } = parseEcrRef(session, repo, 'repository');
  const conn = await ecrConnection(session, {
    ...(region ? { region } : {}),
    ...(registryId ? { registryId } : {}),
  });
  return { conn, repository: ref.repository };
}

function noPolicy(repository: string): NotFoundError {
  return new NotFoundError(`repository ${repository} has no lifecycle policy`, {
    fix: `set one with \`ecrctl lifecycle put ${repository} policy.json\` (or preset:NAME)`,
  });
}

/** Returns the repository's stored policy and its parsed form; exit 6 when it has none. */
async function repositoryPolicy(session: Session, conn: EcrConnection, repository: string): Promise<StoredPolicy> {
  const stored = await getStoredPolicy(conn, repository);
  if (!stored) throw noPolicy(repository);
  const { policy, problems } = parseLifecyclePolicy(stored.text);
  if (!policy) throw lifecyclePolicyError(`of ${repository}`, problems, `policy of ${repository}`);
  for (const line of formatFileProblems(lifecycleFileProblems(`policy of ${repository}`, problems)))
    session.log.warn(line);
  let document: unknown = stored.text;
  try {
    document = JSON.parse(stored.text);
  } catch {
    /* shown as ECR holds it */
  }
  return {
    repository,
    text: stored.text,
    document,
    policy,
    ...(stored.lastEvaluatedAt ? { lastEvaluatedAt: stored.lastEvaluatedAt } : {}),
  };
}

/** Returns a decision for the table from what ECR's preview said about one image. */
function previewDecision(
  digest: string,
  tags: string[],
  sizeBytes: number | undefined,
  r: Pick<PreviewResult, 'action' | 'rulePriority'> | undefined,
  rules: Map<number, LifecycleRule>,
): LifecycleDecision {
  const d: LifecycleDecision = { digest, tags: [...tags], action: 'keep', reason: 'ECR preview: no rule acts on it' };
  if (sizeBytes !== undefined) d.sizeBytes = sizeBytes;
  if (r) {
    d.action = r.action;
    if (r.rulePriority !== undefined) {
      d.rulePriority = r.rulePriority;
      const rule = rules.get(r.rulePriority);
      d.reason = `rule ${r.rulePriority} (ECR preview)${rule ? `: ${describeRule(rule)}` : ''}`;
    } else {
      d.reason = 'ECR preview';
    }
  }
  return d;
}

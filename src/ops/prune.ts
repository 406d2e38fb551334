// prune: the cleanup ECR lifecycle policies cannot express — not pulled since N days, untagged
// older than N days, keep the newest N, tag-level expiry — that never touches what runs
// (in-use evidence) or what is protected. A dry run unless apply: the plan is the same either
// way, and every decision carries its reason. Reads DescribeImages only (no manifest reads,
// so no lastRecordedPullTime moves); deletes with BatchDeleteImage, ≤ 100 ids a call.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { deleteImages, type ImageId } from '../ecr/images.js';
import type { EcrConnection } from '../ecr/repositories.js';
import { EcrctlError, NotFoundError, UsageError } from '../errors.js';
import { imageKey } from '../policy/in-use.js';
import { parseProtectList } from '../policy/lifecycle/report.js';
import { type PruneDecision, type PruneImage, planPrune } from '../policy/prune/plan.js';
import type { Session } from '../session.js';
import {
  collectImages,
  type InventoryTargets,
  inUseOf,
  isIndex,
  type LocatedImage,
  readInUseEvidence,
} from './inventory.js';

/** What prune accepts. */
export interface PruneOptions extends Omit<InventoryTargets, 'repositories'> {
  /** Glob over repository names (`team/*`). */
  repositories: string;
  /** Delete images not pulled (never pulled: not pushed) for more than this many days. */
  notPulledSinceDays?: number;
  /** Delete untagged images pushed more than this many days ago. */
  untaggedOlderThanDays?: number;
  /** Keep the newest N images of each repository whatever the rules say. */
  keepNewest?: number;
  /** Tag-level expiry: remove tags matching this glob; delete an image only when no tag is left. */
  tagsMatching?: string;
  /** In-use evidence files (relative to cwd): images they name are kept. */
  keepInUseFiles?: readonly string[];
  /** A protect list (digests, tags, tag patterns; JSON array or one per line): matches are kept. */
  protectFile?: string;
  /** Delete for real; without it nothing changes. */
  apply?: boolean;
  /** The moment ages are measured from (default now). */
  now?: Date;
}

/** One image prune deletes, untags, or keeps although a rule selected it. */
export interface PruneEntry extends PruneDecision {
  account: string;
  region: string;
  repository: string;
  pushedAt?: string;
  lastPulledAt?: string;
}

/** One id BatchDeleteImage did not delete. */
export interface PruneFailure {
  account: string;
  region: string;
  repository: string;
  digest?: string;
  tag?: string;
  code: string;
  reason: string;
}

/** The plan, and with apply what happened: the JSON of `ecrctl prune --output json`. */
export interface PruneResult {
  applied: boolean;
  /** The rules as given, in words. */
  rules: string[];
  repositories: number;
  images: number;
  /** Images to delete (or deleted, with apply). */
  delete: PruneEntry[];
  /** Images that lose some tags and stay. */
  untag: PruneEntry[];
  /** Images a rule selected that a guard keeps (in use, protected, keep-newest, referrer, index). */
  kept: PruneEntry[];
  bytesFreed: number;
  /** With apply: BatchDeleteImage calls made, and each failure. */
  batches: number;
  failures: PruneFailure[];
  /** With apply: images deleted and tags removed, as ECR reported them. */
  deleted: number;
  untagged: number;
}

/** Returns whole days from text like `90d`, `2w`, `90` (UsageError otherwise). */
export function parseDays(text: string, option: string): number {
  const m = /^([0-9]+)\s*([dw]?)$/.exec(text.trim());
  if (!m) {
    throw new UsageError(`${option} takes a number of days, not "${text}"`, {
      value: text,
      fix: `write days or weeks, e.g. ${option} 90d or ${option} 2w`,
    });
  }
  return Number(m[1]) * (m[2] === 'w' ? 7 : 1);
}

/**
 * Plans (and with apply, carries out) the cleanup of the repositories matching a glob in
 * every asked account and region. UsageError without a rule; NotFoundError for a missing file
 * or no matching repository. Failures of BatchDeleteImage are returned, not thrown.
 */
export async function prune(session: Session, opts: PruneOptions): Promise<PruneResult> {
  if (
    opts.notPulledSinceDays === undefined &&
    opts.untaggedOlderThanDays === undefined &&
    opts.tagsMatching === undefined
  ) {
    throw new UsageError('prune needs a rule: nothing would be selected', {
      fix: 'add --not-pulled-since 90d, --untagged-older-than 14d or --tags-matching GLOB',
    });
  }
  for (const [name, v] of [
    ['--keep-newest', opts.keepNewest],
    ['--not-pulled-since', opts.notPulledSinceDays],
    ['--untagged-older-than', opts.untaggedOlderThanDays],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new UsageError(`${name} takes a whole number of at least 0, not ${v}`, { value: String(v) });
    }
  }
  const now = opts.now ?? new Date();
  let protect: string[] = [];
  if (opts.protectFile !== undefined) {
    let text: string;
    try {
      text = await readFile(path.resolve(session.cwd, opts.protectFile), 'utf8');
    } catch (err) {
      throw new NotFoundError(`protect file not found: ${opts.protectFile}`, { value: opts.protectFile, cause: err });
    }
    try {
      protect = parseProtectList(text);
    } catch (err) {
      throw new UsageError(`${opts.protectFile}: ${(err as Error).message}`, {
        value: opts.protectFile,
        fix: 'write a JSON array of digests and tags, or one per line',
      });
    }
  }
  const evidence = await readInUseEvidence(session, opts.keepInUseFiles ?? []);
  const collected = await collectImages(session, opts);
  const { matches } = inUseOf(collected.images, evidence.refs);

  const rules: string[] = [];
  if (opts.notPulledSinceDays !== undefined)
    rules.push(`not pulled since ${opts.notPulledSinceDays} days (never pulled: pushed)`);
  if (opts.untaggedOlderThanDays !== undefined)
    rules.push(`untagged, pushed over ${opts.untaggedOlderThanDays} days ago`);
  if (opts.tagsMatching !== undefined)
    rules.push(`remove tags matching ${opts.tagsMatching}; delete an image when no tag is left`);
  if (opts.keepNewest !== undefined) rules.push(`keep the newest ${opts.keepNewest} of each repository`);
  if (evidence.files.length > 0) rules.push(`keep what ${evidence.files.map((f) => f.file).join(', ')} name`);
  if (protect.length > 0) rules.push(`keep what ${opts.protectFile} protects (${protect.length} entries)`);

  const byRepo = new Map<string, LocatedImage[]>();
  for (const r of collected.repositories) byRepo.set(`${r.account}/${r.region}/${r.name}`, []);
  for (const im of collected.images) byRepo.get(`${im.account}/${im.region}/${im.repository}`)?.push(im);

  const result: PruneResult = {
    applied: opts.apply === true,
    rules,
    repositories: collected.repositories.length,
    images: collected.images.length,
    delete: [],
    untag: [],
    kept: [],
    bytesFreed: 0,
    batches: 0,
    failures: [],
    deleted: 0,
    untagged: 0,
  };
  const work: { account: string; region: string; repository: string; conn: EcrConnection; entries: PruneEntry[] }[] =
    [];
  for (const repo of collected.repositories) {
    const located = byRepo.get(`${repo.account}/${repo.region}/${repo.name}`) ?? [];
    const known = located.filter((im) => im.pushedAt !== undefined);
    const images = known.map((im): PruneImage => {
      const p: PruneImage = {
        digest: im.digest,
        tags: im.tags,
        pushedAt: im.pushedAt as Date,
        sizeBytes: im.sizeBytes,
      };
      if (im.lastPulledAt) p.lastPulledAt = im.lastPulledAt;
      if (im.subjectDigest) p.subjectDigest = im.subjectDigest;
      if (isIndex(im.mediaType)) p.isIndex = true;
      const used = matches.get(imageKey(im));
      if (used) p.inUseBy = used;
      return p;
    });
    const decisions = planPrune(
      images,
      {
        ...(opts.notPulledSinceDays !== undefined ? { notPulledSinceDays: opts.notPulledSinceDays } : {}),
        ...(opts.untaggedOlderThanDays !== undefined ? { untaggedOlderThanDays: opts.untaggedOlderThanDays } : {}),
        ...(opts.keepNewest !== undefined ? { keepNewest: opts.keepNewest } : {}),
        ...(opts.tagsMatching !== undefined ? { tagsMatching: opts.tagsMatching } : {}),
        protect,
      },
      now,
    );
    const entries: PruneEntry[] = [];
    decisions.forEach((d, i) => {
      const im = known[i] as LocatedImage;
      const e: PruneEntry = { account: repo.account, region: repo.region, repository: repo.name, ...d };
      if (im.pushedAt) e.pushedAt = im.pushedAt.toISOString();
      if (im.lastPulledAt) e.lastPulledAt = im.lastPulledAt.toISOString();
      if (d.action === 'delete') {
        result.delete.push(e);
        result.bytesFreed += im.mediaType && isIndex(im.mediaType) ? 0 : im.sizeBytes;
        entries.push(e);
      } else if (d.action === 'untag') {
        result.untag.push(e);
        entries.push(e);
      } else if (d.keptBecause !== undefined) result.kept.push(e);
    });
    // Indexes go first: ECR refuses to delete an image a remaining index references.
    entries.sort((a, b) => Number(isIndexEntry(b, known)) - Number(isIndexEntry(a, known)));
    if (entries.length > 0)
      work.push({ account: repo.account, region: repo.region, repository: repo.name, conn: repo.conn, entries });
  }

  if (opts.apply) {
    for (const w of work) {
      if (session.signal.aborted) break;
      // The connection that listed the repository: the same profile or role deletes.
      const conn = w.conn;
      const ids: ImageId[] = [];
      for (const e of w.entries) {
        if (e.action === 'delete') ids.push({ digest: e.digest });
        else for (const tag of e.untag ?? []) ids.push({ tag });
      }
      session.log.info(`${w.repository} (${w.account}, ${w.region}): removing ${ids.length} image ids`);
      const out = await deleteImages(conn, w.repository, ids);
      result.batches += Math.ceil(ids.length / 100);
      // ECR lists a deleted image once per tag it had: count from the ids asked minus failures.
      const failed = new Set(out.failures.map((f) => f.id.digest ?? `tag:${f.id.tag}`));
      for (const id of ids) {
        if (id.digest !== undefined) result.deleted += failed.has(id.digest) ? 0 : 1;
        else result.untagged += failed.has(`tag:${id.tag}`) ? 0 : 1;
      }
      for (const f of out.failures) {
        result.failures.push({
          account: w.account,
          region: w.region,
          repository: w.repository,
          ...(f.id.digest ? { digest: f.id.digest } : {}),
          ...(f.id.tag ? { tag: f.id.tag } : {}),
          code: f.code,
          reason: f.reason,
        });
        session.log.warn(`${w.repository}: ${f.id.digest ?? f.id.tag}: ${f.code} ${f.reason}`);
      }
    }
  }
  return result;
}

function isIndexEntry(e: PruneEntry, images: readonly LocatedImage[]): boolean {
  return isIndex(images.find((i) => i.digest === e.digest)?.mediaType);
}

/** Thrown after rendering when an applied prune had failures (exit 1), naming the first. */
export function pruneFailureError(result: PruneResult): EcrctlError {
  const first = result.failures[0] as PruneFailure;
  return new EcrctlError(
    `${result.failures.length} of the ${result.delete.length + result.untag.length} planned removals failed (first: ${first.repository} ${first.digest ?? first.tag}: ${first.code})`,
    { fix: 'see the failures listed above; run prune again to retry what is left' },
  );
}

// The rules `ecrctl prune` adds to what ECR lifecycle policies can say: not pulled since N
// days, untagged older than N days, keep the newest N, tag-level expiry, and guards (in use,
// protected, referrers, images an index references). The age and count rules are run through
// the lifecycle simulator (one single-rule policy each), so their reasons are worded exactly
// as `ecrctl lifecycle simulate` words them; tag expiry and the guards are prune's own.
// Pure: the clock and the images come in.
import { simulateLifecycle, tagPatternMatcher } from '../lifecycle/simulate.js';
import type { LifecycleDecision, LifecycleImage, LifecycleRule } from '../lifecycle/types.js';
import { expireTags } from './tag-expiry.js';

/** The rules of one prune run. */
export interface PruneRules {
  /** Select images not pulled (never pulled: not pushed) for more than this many days. */
  notPulledSinceDays?: number;
  /** Select untagged images pushed more than this many days ago. */
  untaggedOlderThanDays?: number;
  /** Never touch the newest N images (by push time) of each repository. */
  keepNewest?: number;
  /** Tag-level expiry: remove tags matching this glob (`*` any characters); delete an image only when no tag is left. */
  tagsMatching?: string;
  /** Protect-list entries: digests, tags, or tag patterns with `*`. */
  protect?: readonly string[];
}

/** An image as the planner sees it. */
export interface PruneImage extends LifecycleImage {
  /** Who uses it (from in-use evidence); any entry keeps the image. */
  inUseBy?: readonly { usedBy: string; byTag: boolean }[];
  /** The image this one refers to (a signature, SBOM, attestation). */
  subjectDigest?: string;
  /** True for an image index (manifest list). */
  isIndex?: boolean;
}

/** What prune does to one image, and why. */
export interface PruneDecision {
  digest: string;
  tags: string[];
  /** delete the image, remove some of its tags (untag), or keep it. */
  action: 'delete' | 'untag' | 'keep';
  /** For untag: the tags removed. */
  untag?: string[];
  /** Why a rule selected it (each rule that did), in the lifecycle simulator's words. */
  reasons: string[];
  /** For a selected image that is kept: the guard that kept it. */
  keptBecause?: string;
  sizeBytes?: number;
}

function ageRule(
  tagStatus: 'any' | 'untagged',
  countType: 'sinceImagePulled' | 'sinceImagePushed',
  days: number,
): LifecycleRule {
  return {
    rulePriority: 1,
    selection: { tagStatus, countType, countUnit: 'days', countNumber: days },
    action: { type: 'expire' },
  };
}

/** Returns one rule's decisions by digest (the simulator sees every image as standard storage: prune reads both classes). */
function runRule(rule: LifecycleRule, images: readonly LifecycleImage[], now: Date): Map<string, LifecycleDecision> {
  const plain = images.map((im): LifecycleImage => {
    const out: LifecycleImage = { digest: im.digest, tags: im.tags, pushedAt: im.pushedAt };
    if (im.lastPulledAt) out.lastPulledAt = im.lastPulledAt;
    if (im.sizeBytes !== undefined) out.sizeBytes = im.sizeBytes;
    return out;
  });
  const out = new Map<string, LifecycleDecision>();
  for (const d of simulateLifecycle({ rules: [rule] }, plain, now)) out.set(d.digest, d);
  return out;
}

/** Returns the simulator's reason without its rule number. */
function words(d: LifecycleDecision | undefined): string {
  return (d?.reason ?? '').replace(/^rule [0-9]+: /, '');
}

/**
 * Plans one repository: one decision per image. An image is selected when any age rule
 * expires it (or, with tagsMatching alone, when a tag matches); a selected image is deleted,
 * or with tagsMatching untagged (deleted only when no tag would be left); guards keep it:
 * the protect list, in-use evidence, keep-newest, being a referrer, an index that stays.
 */
export function planPrune(images: readonly PruneImage[], rules: PruneRules, now: Date): PruneDecision[] {
  const stale =
    rules.notPulledSinceDays !== undefined
      ? runRule(ageRule('any', 'sinceImagePulled', rules.notPulledSinceDays), images, now)
      : undefined;
  const untagged =
    rules.untaggedOlderThanDays !== undefined
      ? runRule(ageRule('untagged', 'sinceImagePushed', rules.untaggedOlderThanDays), images, now)
      : undefined;
  const newest =
    rules.keepNewest !== undefined && rules.keepNewest > 0
      ? runRule(
          {
            rulePriority: 1,
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: rules.keepNewest },
            action: { type: 'expire' },
          },
          images,
          now,
        )
      : undefined;
  const tagMatch = rules.tagsMatching !== undefined ? tagPatternMatcher(rules.tagsMatching) : undefined;
  const protect = (rules.protect ?? []).map((entry) => ({
    entry,
    isDigest: entry.includes(':'),
    match: tagPatternMatcher(entry),
  }));

  const decisions = images.map((im): PruneDecision => {
    const reasons: string[] = [];
    const staleD = stale?.get(im.digest);
    const untaggedD = untagged?.get(im.digest);
    let selected = false;
    if (staleD?.action === 'expire' && (tagMatch === undefined || im.tags.some(tagMatch))) {
      selected = true;
      reasons.push(`not pulled since ${rules.notPulledSinceDays}d: ${words(staleD)}`);
    }
    if (untaggedD?.action === 'expire') {
      selected = true;
      reasons.push(`untagged older than ${rules.untaggedOlderThanDays}d: ${words(untaggedD)}`);
    }
    if (tagMatch && stale === undefined && im.tags.some(tagMatch)) {
      selected = true;
      reasons.push(`tags matching ${rules.tagsMatching}: ${im.tags.filter(tagMatch).join(', ')}`);
    }
    const d: PruneDecision = { digest: im.digest, tags: [...im.tags], action: 'keep', reasons };
    if (im.sizeBytes !== undefined) d.sizeBytes = im.sizeBytes;
    if (!selected) return d;

    const guard = guardOf(im, protect, newest?.get(im.digest));
    if (guard !== undefined) {
      d.keptBecause = guard;
      return d;
    }
    if (tagMatch && im.tags.length > 0) {
      const t = expireTags(im.tags, tagMatch);
      if (t.remaining.length > 0) {
        d.action = 'untag';
        d.untag = t.removed;
        d.reasons.push(`keeps ${t.remaining.join(', ')}: the image stays`);
        return d;
      }
      d.reasons.push('no tag left: the image goes');
    }
    d.action = 'delete';
    return d;
  });

  keepWhatIndexesNeed(images, decisions);
  return decisions;
}

/** Returns the guard that keeps a selected image, in words, or undefined. */
function guardOf(
  im: PruneImage,
  protect: readonly { entry: string; isDigest: boolean; match: (tag: string) => boolean }[],
  newest: LifecycleDecision | undefined,
): string | undefined {
  for (const p of protect) {
    if (p.isDigest ? im.digest === p.entry : im.tags.some(p.match)) return `protected by ${p.entry}`;
  }
  if (im.inUseBy && im.inUseBy.length > 0) {
    const first = im.inUseBy[0] as { usedBy: string; byTag: boolean };
    const more = im.inUseBy.length > 1 ? ` and ${im.inUseBy.length - 1} more` : '';
    return `in use by ${first.usedBy}${first.byTag ? ' (by tag)' : ''}${more}`;
  }
  if (newest && newest.action === 'keep')
    return words(newest)
      .replace(/^#/, 'keep-newest: #')
      .replace(/^the newest/, 'keep-newest: the newest');
  if (im.subjectDigest) return `a referrer of ${im.subjectDigest}: it goes with its subject`;
  return undefined;
}

/**
 * Keeps any image an index that stays still references (repeating, since a kept index keeps
 * its children): deleting it would break the index. Only references the caller knows about
 * (referencedBy) count; ECR refuses the rest itself (ImageReferencedByManifestList).
 */
function keepWhatIndexesNeed(images: readonly PruneImage[], decisions: PruneDecision[]): void {
  const at = new Map(images.map((im, i) => [im.digest, i]));
  const stays = (digest: string) => {
    const j = at.get(digest);
    return j === undefined || decisions[j]?.action !== 'delete';
  };
  let changed = true;
  while (changed) {
    changed = false;
    images.forEach((im, i) => {
      const d = decisions[i] as PruneDecision;
      if (d.action !== 'delete') return;
      const keeper = (im.referencedBy ?? []).find(stays);
      if (keeper === undefined) return;
      d.action = 'keep';
      d.keptBecause = `referenced by index ${keeper}, which stays`;
      changed = true;
    });
  }
}

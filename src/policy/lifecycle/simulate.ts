// Applies a lifecycle policy to a list of images the way ECR does (ECR-FACTS.md, "Lifecycle
// policies"): every rule sees the whole repository, each image is governed by the first rule
// (lowest rulePriority) whose selection contains it, and only that rule may act on it; lower
// rules still count it. Pure: the time is passed in.
import type { LifecycleDecision, LifecycleImage, LifecyclePolicy, LifecycleRule, StorageClass } from './types.js';

const DAY_MS = 86_400_000;

/** A rule prepared for fast matching. */
export interface CompiledRule {
  rule: LifecycleRule;
  storageClass: StorageClass;
  /** Each entry must match at least one tag (tagged rules only). */
  entries: ((tag: string) => boolean)[];
  /** "images tagged prod*", "untagged images", … for reasons. */
  describe: string;
}

/** Returns a predicate for an ECR tag pattern: `*` is zero or more characters, the rest literal. */
export function tagPatternMatcher(pattern: string): (tag: string) => boolean {
  if (!pattern.includes('*')) return (tag) => tag === pattern;
  // Without a regex: the text before the first * is a prefix, after the last * a suffix, and the
  // pieces between must appear in order; taking each piece at its leftmost place is always safe.
  const parts = pattern.split('*');
  const head = parts[0] ?? '';
  const tail = parts[parts.length - 1] ?? '';
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const fixed = head.length + tail.length;
  // The two shapes nearly every policy uses, without the general loop.
  if (middle.length === 0 && tail === '') return (tag) => tag.startsWith(head);
  if (parts.length === 3 && head === '' && tail === '') {
    const piece = parts[1] ?? '';
    return (tag) => tag.includes(piece);
  }
  return (tag) => {
    if (tag.length < fixed || !tag.startsWith(head) || !tag.endsWith(tail)) return false;
    const end = tag.length - tail.length;
    let pos = head.length;
    for (const piece of middle) {
      const at = tag.indexOf(piece, pos);
      if (at < 0 || at + piece.length > end) return false;
      pos = at + piece.length;
    }
    return true;
  };
}

/** Returns the rule with its tag entries compiled into predicates. */
export function compileRule(rule: LifecycleRule): CompiledRule {
  const s = rule.selection;
  const storageClass = s.storageClass ?? 'standard';
  let entries: ((tag: string) => boolean)[] = [];
  let describe: string;
  if (s.tagStatus === 'tagged') {
    // A prefix "prod" selects exactly what the pattern "prod*" selects.
    const patterns = s.tagPatternList ?? (s.tagPrefixList ?? []).map((p) => `${p}*`);
    // A bare "*" matches any tag, and a tagged image has one: such an entry never filters.
    entries = patterns.filter((p) => !/^\*+$/.test(p)).map(tagPatternMatcher);
    describe = `images tagged ${patterns.join(' and ')}`;
  } else {
    describe = s.tagStatus === 'untagged' ? 'untagged images' : 'images';
  }
  if (storageClass === 'archive') describe += ' in archive';
  return { rule, storageClass, entries, describe };
}

/** Returns true when the rule's selection (tag status, tags, storage class) contains the image. */
export function selects(c: CompiledRule, image: LifecycleImage): boolean {
  if ((image.storageClass ?? 'standard') !== c.storageClass) return false;
  switch (c.rule.selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return image.tags.length === 0;
    default: {
      const tags = image.tags;
      if (tags.length === 0) return false;
      // Several entries in one rule: an AND across entries, an OR across the image's tags.
      // Indexed loops: this is the simulator's inner loop (images x rules x entries x tags).
      const entries = c.entries;
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e]!;
        let hit = false;
        for (let t = 0; t < tags.length; t++) {
          if (entry(tags[t]!)) {
            hit = true;
            break;
          }
        }
        if (!hit) return false;
      }
      return true;
    }
  }
}

/** Returns images' indexes ordered newest push first (ties by digest, for stable output). */
export function newestFirst(images: readonly LifecycleImage[]): number[] {
  const pushed = images.map((im) => im.pushedAt.getTime());
  return images
    .map((_, i) => i)
    .sort((a, b) => (pushed[b] ?? 0) - (pushed[a] ?? 0) || cmp(images[a]?.digest ?? '', images[b]?.digest ?? ''));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Verdict {
  act: boolean;
  text: string;
}

/** Returns the image's age in days for the rule's countType (undefined: unknown), or its rank for a count rule. */
function measure(c: CompiledRule, image: LifecycleImage, rank: number, nowMs: number): number | undefined {
  switch (c.rule.selection.countType) {
    case 'imageCountMoreThan':
      return rank;
    case 'sinceImagePushed':
      return (nowMs - image.pushedAt.getTime()) / DAY_MS;
    case 'sinceImagePulled':
      // ECR falls back to the push time for an image never pulled.
      return (nowMs - (image.lastPulledAt ?? image.pushedAt).getTime()) / DAY_MS;
    case 'sinceImageTransitioned':
      return image.lastArchivedAt ? (nowMs - image.lastArchivedAt.getTime()) / DAY_MS : undefined;
  }
}

/** Returns true when the rule would act on an image with this measure (rank or age in days). */
function acts(c: CompiledRule, m: number | undefined): boolean {
  const n = c.rule.selection.countNumber;
  return m !== undefined && (c.rule.selection.countType === 'imageCountMoreThan' ? m >= n : m > n);
}

/** Returns why the rule acts or not on an image with this measure, in words. */
function explain(c: CompiledRule, image: LifecycleImage, m: number | undefined): string {
  const s = c.rule.selection;
  const n = s.countNumber;
  const act = acts(c, m);
  if (m === undefined) return 'archived, but the time it was archived is unknown';
  switch (s.countType) {
    case 'imageCountMoreThan': {
      const what = n === 1 ? c.describe.replace('images', 'image') : c.describe;
      if (act) return `more than ${n} ${what}; this is #${m + 1} by push time`;
      return n === 1 ? `the newest ${what}` : `#${m + 1} of the newest ${n} ${what}`;
    }
    case 'sinceImagePushed':
      return `pushed ${days(fmtDays(m, n))} ago${act ? ` > ${n}` : `, not more than ${n}`}`;
    case 'sinceImagePulled': {
      const what = image.lastPulledAt
        ? `last pulled ${days(fmtDays(m, n))} ago`
        : `never pulled; pushed ${days(fmtDays(m, n))} ago`;
      return `${what}${act ? ` > ${n}` : `, not more than ${n}`}`;
    }
    case 'sinceImageTransitioned':
      return `archived ${days(fmtDays(m, n))} ago${act ? ` > ${n}` : `, not more than ${n}`}`;
  }
}

/** Returns a day count as text with its unit: `1 day`, `2 days`, `0.9 days`. */
function days(text: string): string {
  return `${text} ${text === '1' ? 'day' : 'days'}`;
}

/** Returns whole days, or one decimal when whole days would hide which side of the limit it is. */
function fmtDays(days: number, limit: number): string {
  const whole = Math.floor(days);
  if (days > limit && whole <= limit) return days.toFixed(1);
  return String(Math.max(whole, 0));
}

/** Applies a policy to images at time `now` with ECR's semantics; one decision per image. */
export function simulateLifecycle(
  policy: LifecyclePolicy,
  images: readonly LifecycleImage[],
  now: Date,
): LifecycleDecision[] {
  const nowMs = now.getTime();
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority).map(compileRule);
  const order = newestFirst(images);
  const count = images.length;

  // governor[i]: index (into rules) of the first rule whose selection holds image i.
  const governor = new Int32Array(count).fill(-1);
  const verdicts: (Verdict | undefined)[] = new Array(count);
  // A note for images a lower rule wanted but could not touch, to explain surprises.
  const blockedNote: (string | undefined)[] = new Array(count);

  for (let r = 0; r < rules.length; r++) {
    const c = rules[r]!;
    // Only count rules need every image of their selection (for the rank); an age rule can
    // skip images already decided, unless a note about them is still to be written.
    const counting = c.rule.selection.countType === 'imageCountMoreThan';
    let rank = 0;
    for (const i of order) {
      const g = governor[i]!;
      if (!counting && g !== -1 && (blockedNote[i] !== undefined || verdicts[i]!.act)) continue;
      const image = images[i]!;
      if (!selects(c, image)) continue;
      if (g === -1) {
        governor[i] = r;
        const m = measure(c, image, rank, nowMs);
        verdicts[i] = { act: acts(c, m), text: explain(c, image, m) };
      } else if (
        blockedNote[i] === undefined &&
        verdicts[i]?.act === false &&
        acts(c, measure(c, image, rank, nowMs))
      ) {
        blockedNote[i] =
          `rule ${c.rule.rulePriority} would ${c.rule.action.type} it, but rule ${rules[g]!.rule.rulePriority} selects it first`;
      }
      rank++;
    }
  }

  const decisions: LifecycleDecision[] = images.map((image, i) => {
    const g = governor[i]!;
    const d: LifecycleDecision = {
      digest: image.digest,
      tags: [...image.tags],
      action: 'keep',
      reason: 'no rule selects it',
    };
    if (image.sizeBytes !== undefined) d.sizeBytes = image.sizeBytes;
    if (g === -1) return d;
    const rule = rules[g]!.rule;
    const v = verdicts[i]!;
    d.rulePriority = rule.rulePriority;
    d.reason = `rule ${rule.rulePriority}: ${v.text}`;
    if (v.act) d.action = rule.action.type;
    else if (blockedNote[i]) d.reason += ` (${blockedNote[i]})`;
    return d;
  });

  protectReferencedImages(images, decisions);
  return decisions;
}

/**
 * Keeps any image an index still references: ECR does not expire a manifest that a manifest
 * list needs while that list exists. An index missing from `images` is taken to exist.
 * Repeats until stable, because keeping an index keeps what it references in turn.
 */
function protectReferencedImages(images: readonly LifecycleImage[], decisions: LifecycleDecision[]): void {
  const indexOf = new Map<string, number>();
  images.forEach((im, i) => {
    indexOf.set(im.digest, i);
  });
  const survives = (digest: string) => {
    const j = indexOf.get(digest);
    return j === undefined || decisions[j]?.action !== 'expire';
  };
  let pending = images
    .map((_, i) => i)
    .filter((i) => decisions[i]!.action === 'expire' && (images[i]!.referencedBy?.length ?? 0) > 0);
  let changed = true;
  while (changed && pending.length > 0) {
    changed = false;
    const next: number[] = [];
    for (const i of pending) {
      const d = decisions[i]!;
      const keeper = images[i]!.referencedBy!.find(survives);
      if (keeper === undefined) {
        next.push(i);
        continue;
      }
      d.action = 'keep';
      d.reason = `kept: referenced by index ${keeper} (${d.reason.replace(/^rule (\d+): /, 'rule $1 would expire it: ')})`;
      changed = true;
    }
    pending = next;
  }
}

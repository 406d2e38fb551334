// Pure comparisons of lifecycle policies: a rule in one line of words, and the rules added,
// removed and changed between two policies (matched by rulePriority). No I/O.
import type { LifecyclePolicy, LifecycleRule } from './types.js';
import { plural } from '../../text.js';

/** The rules that differ between two policies, each list sorted by rulePriority. */
export interface RuleDiff {
  /** Rules whose rulePriority only the new policy has. */
  added: LifecycleRule[];
  /** Rules whose rulePriority only the old policy has. */
  removed: LifecycleRule[];
  /** Rules at the same rulePriority whose content differs (key order does not count). */
  changed: { rulePriority: number; before: LifecycleRule; after: LifecycleRule }[];
}

/** Returns one line saying what a rule does: "expire images tagged v* beyond the newest 3". */
export function describeRule(rule: LifecycleRule): string {
  const s = rule.selection;
  const patterns = s.tagPatternList ?? (s.tagPrefixList ?? []).map((p) => `${p}*`);
  let what =
    s.tagStatus === 'tagged'
      ? `images tagged ${patterns.join(' and ')}`
      : s.tagStatus === 'untagged'
        ? 'untagged images'
        : 'any images';
  if (s.storageClass === 'archive') what += ' in archive';
  const verb = rule.action.type === 'transition' ? 'archive' : 'expire';
  const n = s.countNumber;
  const when =
    s.countType === 'imageCountMoreThan'
      ? `beyond the newest ${n}`
      : s.countType === 'sinceImagePushed'
        ? `pushed more than ${plural(n, 'day')} ago`
        : s.countType === 'sinceImagePulled'
          ? `not pulled for more than ${plural(n, 'day')}`
          : `archived more than ${plural(n, 'day')} ago`;
  return `${verb} ${what} ${when}${rule.description ? ` ("${rule.description}")` : ''}`;
}

/** Returns the rules added, removed and changed between two policies, matched by rulePriority. */
export function diffRules(before: LifecyclePolicy, after: LifecyclePolicy): RuleDiff {
  const canonical = (r: LifecycleRule) => JSON.stringify(sortKeys(r));
  const old = new Map(before.rules.map((r) => [r.rulePriority, r]));
  const now = new Map(after.rules.map((r) => [r.rulePriority, r]));
  const byPriority = (a: LifecycleRule, b: LifecycleRule) => a.rulePriority - b.rulePriority;
  const changed = after.rules
    .filter((r) => old.has(r.rulePriority) && canonical(old.get(r.rulePriority) as LifecycleRule) !== canonical(r))
    .sort(byPriority)
    .map((r) => ({ rulePriority: r.rulePriority, before: old.get(r.rulePriority) as LifecycleRule, after: r }));
  return {
    added: after.rules.filter((r) => !old.has(r.rulePriority)).sort(byPriority),
    removed: before.rules.filter((r) => !now.has(r.rulePriority)).sort(byPriority),
    changed,
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

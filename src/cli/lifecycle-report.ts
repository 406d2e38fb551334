// Prints what `ecrctl lifecycle simulate | preview | diff` found (see src/ops/lifecycle.ts): the
// table of images that would go and why with the totals, or the rules and images a new
// policy changes — as text, one JSON document, or KEY=value lines.
import type { LifecycleDiff, LifecycleSimulation } from '../ops/lifecycle.js';
import { describeRule } from '../policy/lifecycle/diff.js';
import type { DecisionSummary } from '../policy/lifecycle/report.js';
import type { CliContext } from './context.js';
import { formatBytes, render, table } from './output.js';

/** Prints a simulation or a preview: what would go and why, then the totals (`all`: kept images too). */
export function renderSimulation(ctx: CliContext, result: LifecycleSimulation, all: boolean): void {
  const { at, summary, decisions } = result;
  render(
    ctx,
    { at, summary, decisions },
    {
      text: () => {
        const shown = all ? decisions : decisions.filter((d) => d.action !== 'keep');
        const order = { expire: 0, transition: 1, keep: 2 } as const;
        const rows = [...shown]
          .sort((a, b) => order[a.action] - order[b.action] || (a.rulePriority ?? 1e9) - (b.rulePriority ?? 1e9))
          .map((d) => [
            d.action,
            shortDigest(d.digest),
            d.tags.length > 0 ? d.tags.join(',') : '<untagged>',
            d.sizeBytes === undefined ? '-' : formatBytes(d.sizeBytes),
            d.reason,
          ]);
        const lines: string[] = [];
        if (rows.length > 0) lines.push(table(['ACTION', 'DIGEST', 'TAGS', 'SIZE', 'REASON'], rows), '');
        lines.push(totalsLine(summary));
        return lines.join('\n');
      },
      env: () => ({
        EXPIRE_COUNT: String(summary.expire),
        TRANSITION_COUNT: String(summary.transition),
        KEEP_COUNT: String(summary.keep),
        BYTES_FREED: String(summary.bytesFreed),
        BYTES_ARCHIVED: String(summary.bytesArchived),
      }),
    },
  );
}

/** Prints what putting a new policy would change: rules, then every image whose fate changes. */
export function renderDiff(ctx: CliContext, diff: LifecycleDiff): void {
  const { rules, images: changed, imageCount } = diff;
  render(ctx, diff, {
    text: () => {
      const lines: string[] = [];
      const total = rules.added.length + rules.removed.length + rules.changed.length;
      lines.push(total === 0 ? 'rules: no change' : 'rules:');
      for (const r of rules.removed) lines.push(`  - rule ${r.rulePriority}: ${describeRule(r)}`);
      for (const c of rules.changed) {
        lines.push(`  ~ rule ${c.rulePriority}: ${describeRule(c.before)}`, `      now: ${describeRule(c.after)}`);
      }
      for (const r of rules.added) lines.push(`  + rule ${r.rulePriority}: ${describeRule(r)}`);
      lines.push('');
      if (changed.length === 0) {
        lines.push(`images: no change (all ${imageCount} keep their fate)`);
      } else {
        lines.push(`images whose fate changes (${changed.length} of ${imageCount}):`);
        lines.push(
          table(
            ['DIGEST', 'TAGS', 'SIZE', 'NOW', 'WITH NEW POLICY', 'REASON'],
            changed.map((c) => [
              shortDigest(c.digest),
              c.tags.length > 0 ? c.tags.join(',') : '<untagged>',
              c.sizeBytes === undefined ? '-' : formatBytes(c.sizeBytes),
              c.before,
              c.after,
              c.reason,
            ]),
          ),
        );
      }
      return lines.join('\n');
    },
    env: () => ({
      RULES_ADDED: String(rules.added.length),
      RULES_REMOVED: String(rules.removed.length),
      RULES_CHANGED: String(rules.changed.length),
      IMAGES_CHANGED: String(changed.length),
      NEWLY_EXPIRED: String(changed.filter((c) => c.after === 'expire').length),
    }),
  });
}

function totalsLine(s: DecisionSummary): string {
  if (s.expire === 0 && s.transition === 0)
    return `nothing to do: all ${s.images} ${s.images === 1 ? 'image stays' : 'images stay'}`;
  const parts = [
    `${s.expire} of ${s.images} ${s.images === 1 ? 'image' : 'images'} would expire, freeing ${formatBytes(s.bytesFreed)}`,
  ];
  if (s.transition > 0) parts.push(`${s.transition} would move to archive (${formatBytes(s.bytesArchived)})`);
  parts.push(`${s.keep} kept`);
  return parts.join('; ');
}

function shortDigest(digest: string): string {
  const [alg, hex] = digest.split(':');
  return hex && hex.length > 12 ? `${alg}:${hex.slice(0, 12)}` : digest;
}

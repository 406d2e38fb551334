// `ecrctl inventory --markdown FILE`: the report's summary as GitHub-flavoured Markdown, for
// $GITHUB_STEP_SUMMARY or a pull-request comment (no images, no HTML: tables and text only).
import type { InventoryResult } from '../../ops/inventory.js';
import { formatBytes, formatSeverities, formatUsd } from './format.js';

/** How many repositories the Markdown table lists (the largest first). */
const TOP = 30;

/** Returns the inventory's summary as Markdown. */
export function renderInventoryMarkdown(inv: InventoryResult): string {
  const t = inv.totals;
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '## ECR inventory',
    '',
    `${t.repositories} repositories, ${t.images} images, ${formatBytes(t.bytes)} stored, about ${formatUsd(t.monthlyUsd)} per month (${inv.targets.length} account/region pairs; ${inv.generatedAt}).`,
    '',
    '| | bytes |',
    '|---|---:|',
    `| stale (idle > ${inv.staleDays} days) | ${formatBytes(t.staleBytes)} |`,
    `| untagged | ${formatBytes(t.untaggedBytes)} |`,
    `| in use (${t.inUseImages} images) | ${formatBytes(t.inUseBytes)} |`,
    `| not in use | ${formatBytes(t.bytes - t.inUseBytes)} |`,
    '',
    `Scan findings: ${formatSeverities(t.severityCounts)}.`,
    '',
    '### Days since last pull (else push)',
    '',
    '| idle | images | bytes |',
    '|---|---:|---:|',
    ...inv.idleHistogram.map((b) => `| ${b.label} | ${b.images} | ${formatBytes(b.bytes)} |`),
    '',
  ];
  const top = [...inv.repositories].sort((a, b) => b.bytes - a.bytes).slice(0, TOP);
  lines.push(
    `### Repositories${inv.repositories.length > TOP ? ` (largest ${TOP} of ${inv.repositories.length})` : ''}`,
    '',
    '| account | region | repository | images | untagged | bytes | stale | in use | per month | findings |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...top.map(
      (r) =>
        `| ${r.account} | ${r.region} | ${cell(r.name)} | ${r.images} | ${r.untagged} | ${formatBytes(r.bytes)} | ${formatBytes(r.staleBytes)} | ${r.inUseImages} | ${formatUsd(r.monthlyUsd)} | ${formatSeverities(r.severityCounts)} |`,
    ),
    '',
  );
  if (inv.inUse.unmatched.length > 0) {
    lines.push(
      `In-use references that matched no image: ${inv.inUse.unmatched.map((u) => `\`${u}\``).join(', ')}.`,
      '',
    );
  }
  return lines.join('\n');
}

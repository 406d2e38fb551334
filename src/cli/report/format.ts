// Number formats shared by the inventory's text, Markdown and HTML renderings.

export { formatBytes } from '../../text.js';

/** Returns USD with cents, or with four decimals below a cent (small repositories). */
export function formatUsd(x: number): string {
  if (x > 0 && x < 0.0001) return '< $0.0001';
  if (x !== 0 && Math.abs(x) < 0.01) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(2)}`;
}

const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'];

/** Returns severity counts as [severity, count] pairs, most severe first. */
export function bySeverity(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => rank(SEVERITY_ORDER, a) - rank(SEVERITY_ORDER, b));
}

/** Returns severity counts as `CRITICAL 2, HIGH 5`, most severe first; `none` when empty. */
export function formatSeverities(counts: Record<string, number>): string {
  const pairs = bySeverity(counts);
  return pairs.length === 0 ? 'none' : pairs.map(([k, v]) => `${k} ${v}`).join(', ');
}

function rank(order: string[], k: string): number {
  const i = order.indexOf(k);
  return i < 0 ? order.length : i;
}

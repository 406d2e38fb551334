// Renders a command's result as text, one JSON document, or KEY=value lines. Data goes to
// stdout and nothing else does; every renderer passes through the secret redactor.
import { shellAssignment } from '../ci/shell.js';
import type { CliContext } from './context.js';
import { applyQuery, jsonReplacer, queryText } from './query.js';

export interface Rendering<T> {
  /** Human text for stdout (may be several lines); omit to print nothing in text mode. */
  text?: (data: T) => string;
  /** KEY=value pairs for --output env (lists comma-separated, JSON on one line); omit to flatten the JSON. */
  env?: (data: T) => Record<string, string>;
}

/** Writes data to stdout in the format chosen by --output. */
export function render<T>(ctx: CliContext, data: T, how: Rendering<T> = {}): void {
  const out = (s: string) => ctx.stdout.write(ctx.secrets.redact(s));
  if (ctx.globals.query !== undefined) {
    writeQueried(ctx, data);
    return;
  }
  switch (ctx.globals.output) {
    case 'json':
      out(`${JSON.stringify(data, jsonReplacer, 2)}\n`);
      return;
    case 'env': {
      const pairs = how.env ? how.env(data) : flattenForEnv(data);
      for (const [k, v] of Object.entries(pairs)) out(shellAssignment(k, ctx.secrets.redact(v)));
      return;
    }
    default: {
      if (!how.text) return;
      const text = how.text(data);
      if (text) out(text.endsWith('\n') ? text : `${text}\n`);
    }
  }
}

/**
 * Writes a JSON document to stdout: the --query result when --query is given (as JSON with
 * --output json, as text otherwise), else the document itself. For commands whose JSON is
 * not a plain render() (reports with formats of their own).
 */
export function writeJson(ctx: CliContext, data: unknown): void {
  if (ctx.globals.query !== undefined) writeQueried(ctx, data);
  else ctx.stdout.write(ctx.secrets.redact(`${JSON.stringify(data, jsonReplacer, 2)}\n`));
}

function writeQueried(ctx: CliContext, data: unknown): void {
  const result = applyQuery(data, ctx.globals.query ?? '@');
  const text = ctx.globals.output === 'json' ? JSON.stringify(result ?? null, null, 2) : queryText(result);
  if (text !== '' || ctx.globals.output === 'json') ctx.stdout.write(ctx.secrets.redact(`${text}\n`));
}

/** Returns UPPER_SNAKE keys for the scalar fields of a plain object (one level). */
export function flattenForEnv(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (data === null || typeof data !== 'object') return out;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const key = k
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[^A-Za-z0-9]+/g, '_')
      .toUpperCase();
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) out[key] = v.join(',');
    else if (typeof v !== 'object') out[key] = String(v);
  }
  return out;
}

/** Returns rows laid out as aligned columns under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export { formatBytes } from '../text.js';

/** Returns a duration in ms as `1.23s` or `850ms`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

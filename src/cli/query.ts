// `--query EXPR`: a JMESPath expression applied to a command's JSON result, as the AWS CLI's
// --query is (the same language and semantics: the reference `jmespath` package the AWS CLI's
// own implementation is tested against). Loaded only when --query is given, so start-up does
// not pay for it.
import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

interface JmesPath {
  compile(expression: string): unknown;
  search(data: unknown, expression: string): unknown;
}

let jmespath: JmesPath | undefined;

function load(): JmesPath {
  jmespath ??= createRequire(import.meta.url)('jmespath') as JmesPath;
  return jmespath;
}

/** Checks a --query expression before the command runs; UsageError (exit 2) when it does not parse. */
export function checkQuery(expression: string): void {
  try {
    load().compile(expression);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new UsageError(`--query is not a valid JMESPath expression: ${detail}`, {
      value: expression,
      rule: 'JMESPath, as the AWS CLI uses (https://jmespath.org)',
      fix: "quote the expression for the shell, e.g. --query 'images[].digest'",
    });
  }
}

/** Returns the query's result on data taken as its JSON form (Dates as ISO strings). */
export function applyQuery(data: unknown, expression: string): unknown {
  const plain: unknown = JSON.parse(JSON.stringify(data, jsonReplacer) ?? 'null');
  return load().search(plain, expression);
}

/**
 * Returns a query result as text, as a shell script wants it: a string as itself, a number
 * or boolean as its literal, a list of those one per line, null as nothing, anything else as
 * JSON on one line.
 */
export function queryText(result: unknown): string {
  if (result === null || result === undefined) return '';
  if (typeof result === 'string') return result;
  if (typeof result === 'number' || typeof result === 'boolean') return String(result);
  if (Array.isArray(result) && result.every((v) => v === null || typeof v !== 'object'))
    return result.map((v) => (v === null ? '' : String(v))).join('\n');
  return JSON.stringify(result);
}

/** JSON.stringify's replacer for results: bigints as numbers, Dates as ISO strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  return value;
}

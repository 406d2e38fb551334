// The error document scripts read on stdout when they asked for --output json: one object
// with the error kind, the message, the rule, the value, the fix and the exit code.
import { ExitCode, isEcrctlError, RuleViolation } from '../errors.js';

/** What `--output json` prints for a failure (fields without a value are left out). */
export interface ErrorJson {
  error: {
    /** The error class: UsageError, RuleViolation, NotFoundError, AuthError, … or Error for a bug. */
    kind: string;
    message: string;
    rule?: string;
    value?: string;
    fix?: string;
    exitCode: number;
    /** Every problem a validator found (RuleViolation only). */
    problems?: readonly string[];
  };
}

/** Returns the JSON error document for err, which ended the run with exitCode. */
export function errorJson(err: unknown, exitCode: number): ErrorJson {
  if (!isEcrctlError(err)) {
    const interrupted = exitCode === ExitCode.interrupted;
    const message = interrupted ? 'interrupted' : err instanceof Error ? err.message : String(err);
    return { error: { kind: interrupted ? 'InterruptedError' : 'Error', message, exitCode } };
  }
  const given = (k: 'rule' | 'value' | 'fix') => (err[k] !== undefined ? { [k]: err[k] } : {});
  const problems = err instanceof RuleViolation ? { problems: err.problems } : {};
  const details = { ...given('rule'), ...given('value'), ...given('fix') };
  return { error: { kind: err.name, message: err.message, ...details, exitCode, ...problems } };
}

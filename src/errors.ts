// The small set of error kinds that every layer throws and that only src/cli/main.ts turns
// into messages and exit codes. Each carries what the user needs: the rule, the value, the fix.

/** Exit codes that scripts can rely on (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  rule: 3,
  scanThreshold: 4,
  auth: 5,
  notFound: 6,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** The rule that was broken, in the user's words ("repository names are lowercase"). */
  rule?: string;
  /** The offending value, shown as given. */
  value?: string;
  /** What to do about it. */
  fix?: string;
  cause?: unknown;
}

/** The base of every error ecrctl throws on purpose. */
export class EcrctlError extends Error {
  readonly exitCode: ExitCode = ExitCode.failure;
  readonly rule: string | undefined;
  readonly value: string | undefined;
  readonly fix: string | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.rule = details.rule;
    this.value = details.value;
    this.fix = details.fix;
  }
}

/** The command line itself is wrong: unknown option, missing argument, bad combination. */
export class UsageError extends EcrctlError {
  override readonly exitCode = ExitCode.usage;
}

/** Input breaks a rule checked locally: naming, tags, lifecycle validation, config. */
export class RuleViolation extends EcrctlError {
  override readonly exitCode = ExitCode.rule;
  /** Every problem found, when a validator reports several at once. */
  readonly problems: readonly string[];
  constructor(message: string, details: ErrorDetails & { problems?: readonly string[] } = {}) {
    super(message, details);
    this.problems = details.problems ?? [];
  }
}

/** A scan found findings at or above the threshold the user set. */
export class ScanThresholdError extends EcrctlError {
  override readonly exitCode = ExitCode.scanThreshold;
}

/** Credentials are missing, wrong or lack a permission. */
export class AuthError extends EcrctlError {
  override readonly exitCode = ExitCode.auth;
}

/** A repository, image, tag, blob, policy or file does not exist. */
export class NotFoundError extends EcrctlError {
  override readonly exitCode = ExitCode.notFound;
}

/** The service kept answering "slow down" after every retry. */
export class RateLimitedError extends EcrctlError {}

/** A registry or service answered with an HTTP status we did not expect. */
export class HttpStatusError extends EcrctlError {
  readonly status: number;
  constructor(message: string, status: number, details: ErrorDetails = {}) {
    super(message, details);
    this.status = status;
  }
}

/** Bytes did not hash to the digest they were promised under. */
export class DigestMismatchError extends EcrctlError {}

/** The user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends EcrctlError {
  override readonly exitCode = ExitCode.interrupted;
  constructor(message = 'interrupted') {
    super(message);
  }
}

/** Returns true when err is one of ours (as opposed to a bug or a Node error). */
export function isEcrctlError(err: unknown): err is EcrctlError {
  return err instanceof EcrctlError;
}

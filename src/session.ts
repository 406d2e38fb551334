// Session: what every op receives from the outside world — environment, working directory,
// cancellation, AWS settings, a place for events (progress and log lines) and a place for
// secrets. The CLI builds one from argv and the environment; a library user calls
// createSession(). Nothing here prints, reads `process` or loads the AWS SDK.
import type { CopyEvent } from './oci/copy.js';

/** How loud a log line is: `info` (default output), `warn`, `verbose` (only with --verbose). */
export type LogLevel = 'info' | 'warn' | 'verbose';

/**
 * What an op reports while it runs. The CLI renders these (progress bars, stderr lines); a
 * library user receives them through `onEvent`.
 */
export type SessionEvent =
  /** A line of explanation; secrets are already redacted. */
  | { type: 'log'; level: LogLevel; message: string }
  /** An image transfer begins: `label` says what moves where (`pushing oci:./img`). */
  | { type: 'transfer-start'; id: number; label: string; source: string; destination: string }
  /** Progress of a transfer, straight from the copy engine. */
  | { type: 'transfer'; id: number; event: CopyEvent }
  /** A transfer ended, complete or not. */
  | { type: 'transfer-end'; id: number; ok: boolean }
  /** A long step that is not a transfer (waiting for a scan, a replication): start, news, end. */
  | { type: 'step'; id: number; phase: 'start' | 'update' | 'end'; text: string; ok?: boolean };

/** Receives a session's events. */
export type EventListener = (event: SessionEvent) => void;

/** Static AWS credentials, or a function that returns them (the SDK's credential provider shape). */
export type AwsCredentialsInput =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>);

/** How the session reaches AWS. Every field is optional: the SDK's defaults fill the gaps. */
export interface AwsOptions {
  /** The default region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's). */
  region?: string;
  /** A shared-config profile (else AWS_PROFILE, else the default chain). */
  profile?: string;
  /** An ECR API endpoint, e.g. the one `startLocal()` returns. */
  endpointUrl?: string;
  /** The default registry (account id, 12 digits); else the caller's own. */
  registryId?: string;
  /** Credentials to use instead of the default chain (environment, profile, SSO, IMDS …). */
  credentials?: AwsCredentialsInput;
}

/** Collects secrets as they arrive and removes them from anything printed. */
export interface SecretSink {
  /** Registers a secret (values shorter than 8 characters are ignored). */
  add(secret: string | undefined): void;
  /** Returns text with every registered secret replaced by `***`. */
  redact(text: string): string;
}

/** Writes log lines as events: `info` for the user, `warn` for trouble, `verbose` for detail. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  verbose(message: string): void;
}

/** What every op receives (see createSession). */
export interface Session {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted to cancel: ops stop, clean up (no partial output, no tag) and throw InterruptedError. */
  readonly signal: AbortSignal;
  readonly aws: Readonly<AwsOptions>;
  /** Allow plain HTTP and unverified TLS to non-loopback registries. */
  readonly insecure: boolean;
  /** The project config file (`.ecrctl.yaml`); undefined: searched upward from cwd. */
  readonly configFile: string | undefined;
  readonly secrets: SecretSink;
  readonly log: Logger;
  /** Sends an event to whoever listens. */
  emit(event: SessionEvent): void;
}

/** Returns a fresh id for a transfer or step event (unique within the process). */
export function nextEventId(): number {
  nextId += 1;
  return nextId;
}
let nextId = 0;

/**
 * Collects secrets and redacts them. In GitHub Actions each secret can be announced
 * (`::add-mask::`) the moment it is known, before anything else could print it.
 */
export class SecretRedactor implements SecretSink {
  readonly #secrets = new Set<string>();
  readonly #announce: ((secret: string) => void) | undefined;

  constructor(announce?: (secret: string) => void) {
    this.#announce = announce;
  }

  add(secret: string | undefined): void {
    if (!secret || secret.length < 8 || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#announce?.(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }
}

/** Returns a Logger that turns each line into a redacted `log` event. */
export function eventLogger(emit: (event: SessionEvent) => void, secrets: SecretSink): Logger {
  const log = (level: LogLevel) => (message: string) => emit({ type: 'log', level, message: secrets.redact(message) });
  return { info: log('info'), warn: log('warn'), verbose: log('verbose') };
}

/** What createSession accepts; every field has a default. */
export interface SessionOptions extends AwsOptions {
  /** Environment variables the session reads (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Working directory for relative paths and `.ecrctl.yaml` (default: process.cwd()). */
  cwd?: string;
  /** Cancels every op run with this session. */
  signal?: AbortSignal;
  /** Receives progress and log events. */
  onEvent?: EventListener;
  /** Receives each secret the moment it is known (to mask it in your own logs). */
  onSecret?: (secret: string) => void;
  /** Allow plain HTTP and unverified TLS to non-loopback registries (default false). */
  insecure?: boolean;
  /** The project config file (`.ecrctl.yaml`); default: searched upward from cwd. */
  configFile?: string;
}

/**
 * Returns a Session for library use: AWS credentials from `credentials` or the SDK's default
 * chain, region from `region` or the environment, events to `onEvent`.
 *
 * @example
 * const session = createSession({ region: 'eu-west-1', onEvent: (e) => console.error(e) });
 * const result = await copy(session, { source: 'public.ecr.aws/docker/library/alpine:3', target: 'mirror/alpine:3' });
 */
export function createSession(options: SessionOptions = {}): Session {
  const secrets = new SecretRedactor(options.onSecret);
  const listener = options.onEvent;
  const emit = (event: SessionEvent) => listener?.(event);
  const aws: AwsOptions = {};
  if (options.region) aws.region = options.region;
  if (options.profile) aws.profile = options.profile;
  if (options.endpointUrl) aws.endpointUrl = options.endpointUrl;
  if (options.registryId) aws.registryId = options.registryId;
  if (options.credentials) aws.credentials = options.credentials;
  return {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
    aws,
    insecure: options.insecure === true,
    configFile: options.configFile,
    secrets,
    log: eventLogger(emit, secrets),
    emit,
  };
}

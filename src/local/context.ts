// What every handler of the local endpoint shares: the store, the clock, the default
// account, the token lifetime, upload sessions and the way to reach a registry's data plane.
import type { Hash } from 'node:crypto';
import type { ImageRecord, RegistryRecord, RepositoryRecord, Store } from './store.js';

/** An open blob upload (data-plane session or InitiateLayerUpload). */
export interface UploadSession {
  id: string;
  registry: RegistryRecord;
  repository: string;
  /** Bytes received so far. */
  size: number;
  hash: Hash;
  /** Size of the last UploadLayerPart part (ECR's minimum applies to all parts but the last). */
  lastPartSize?: number;
  /** A data-plane request is writing to the file right now. */
  busy?: boolean;
  startedAt: number;
}

export interface LocalContext {
  readonly store: Store;
  /** The account used when a request names no registryId. */
  readonly account: string;
  readonly tokenTtlMs: number;
  /** Lifetime of blob redirect and GetDownloadUrlForLayer URLs (default 10 minutes). */
  readonly blobUrlTtlMs?: number;
  /**
   * The blob host's base URL (the emulator's S3), started on first use; absent when blob
   * GETs are served directly instead of redirected (LocalServerOptions.redirectBlobs false).
   */
  blobHostEndpoint?(): Promise<string>;
  /** The scanner's advisory file (JSON, see scanner.ts); absent = scans find nothing. */
  readonly advisoriesFile?: string;
  readonly uploads: Map<string, UploadSession>;
  /** Operations called, in order (`ecr:PutImage`, `ecr-public:CreateRepository`, …). */
  readonly calls: string[];
  /** The same calls with their time and who made them (tests count rates and callers). */
  readonly requests: LocalRequestRecord[];
  /** Test-only faults: throttle or delay named operations (see LocalFault). */
  readonly faults: LocalFault[];
  /**
   * Multiplies ECR's request rates (throttle.ts; 1: ECR's own), or `off`: no throttling
   * beyond injected faults. The server sets it (LocalServerOptions.throttleScale, default 1);
   * a context without it does not throttle.
   */
  readonly throttleScale?: number | 'off';
  /**
   * Multiplies how long scans, lifecycle previews, replication, backfills and restores take
   * before their outcome shows (state-delays.ts; 1: ECR-like, 0: at once). The server sets it
   * (LocalServerOptions.stateDelayScale, default 1); absent = 1.
   */
  readonly stateDelayScale?: number;
  /** Test-only images-per-repository quota (ECR's default is 10,000; absent = no limit). */
  readonly imagesPerRepositoryLimit?: number;
  now(): number;
  /** Moves now() forward (test faults that expire tokens). */
  advanceClock(ms: number): void;
  log(line: string): void;
  /** Returns the data-plane URL (http://127.0.0.1:PORT) of a registry, starting it on first use. */
  registryEndpoint(registry: RegistryRecord): Promise<string>;
  /**
   * What happens after a client's push: putManifest (images.ts) awaits each hook in order
   * once the manifest and its tag are stored and persisted. The server installs replication
   * then managed signing (see push-hooks.ts); images.ts knows none of them.
   */
  readonly afterPush: readonly AfterPushHook[];
}

/** A push that has landed: the manifest is stored, the tag set, the state persisted. */
export interface PushEvent {
  registry: RegistryRecord;
  repository: string;
  /** The stored image (the existing record when the same manifest was pushed again). */
  image: ImageRecord;
  /** The tag the push set, if any. */
  tag: string | undefined;
  /** False when the manifest was already in the repository. */
  created: boolean;
}

/**
 * Runs after a client's push (never after a write ECR makes itself, such as a replica).
 * The push has succeeded whatever a hook does: hooks report failures through ctx.log and
 * the state they record, and must not throw.
 */
export type AfterPushHook = (ctx: LocalContext, event: PushEvent) => Promise<void>;

/** One recorded request: the call label (as in `calls`), when it arrived, and its details. */
export interface LocalRequestRecord {
  call: string;
  /** Epoch milliseconds when the request was received. */
  at: number;
  /** The access key id of the SigV4 signature (API calls). */
  accessKeyId?: string;
  /** The registryId the API call named, if any (GetAuthorizationToken: registryIds). */
  registryIds?: string[];
  /** The repository of a data-plane request. */
  repository?: string;
}

/**
 * A fault injected for tests: the next `times` calls of `operation` (a `calls` label such as
 * `ecr:PutImage` or `registry:PUT manifests`) are throttled the way ECR throttles
 * (ThrottlingException on the API, 429 `toomanyrequests: Rate exceeded` on the data plane),
 * or delayed by `delayMs` and then served.
 */
export interface LocalFault {
  operation: string;
  /** `expire-tokens`: the endpoint's clock jumps past the token lifetime, so every token issued so far has expired. */
  /**
   * `drop` (blob host only, `s3:GET blob`): the next download of a blob larger than
   * `afterBytes` is cut off after that many bytes, and the clock jumps past the lifetime of
   * every blob URL issued so far — a connection that stayed down until its URL expired.
   */
  kind: 'throttle' | 'delay' | 'expire-tokens' | 'drop';
  /** How many calls it applies to (default: every call). */
  times?: number;
  delayMs?: number;
  /** `drop`: bytes sent before the connection is cut. */
  afterBytes?: number;
}

/** Returns the fault that applies to the call now (counting it down), or undefined. */
export function takeFault(ctx: LocalContext, call: string): LocalFault | undefined {
  const fault = ctx.faults.find((f) => f.operation === call && (f.times === undefined || f.times > 0));
  if (fault && fault.times !== undefined) fault.times--;
  return fault;
}

/** Returns the repository, or undefined. */
export function findRepository(registry: RegistryRecord, name: string): RepositoryRecord | undefined {
  return Object.hasOwn(registry.repositories, name) ? registry.repositories[name] : undefined;
}

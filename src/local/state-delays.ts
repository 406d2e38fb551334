// How long ECR's asynchronous work takes before its outcome shows, on the endpoint's clock
// (LocalContext.now()): a scan, a lifecycle policy preview, replicating an image, a
// replication backfill, a restore from the archive storage class. States advance with time,
// never with the number of reads, so a client that polls too eagerly or gives up too soon
// fails here as it would on ECR. LocalServerOptions.stateDelayScale multiplies them all
// (0: every outcome shows on the first read — a leniency for tests).
import type { LocalContext } from './context.js';

/** ECR-like durations in milliseconds at scale 1. */
export const STATE_DELAYS_MS = {
  /** A basic scan of a small image: seconds on ECR. */
  scan: 5_000,
  /** StartLifecyclePolicyPreview until GetLifecyclePolicyPreview reports COMPLETE. */
  lifecyclePreview: 5_000,
  /** A push until DescribeImageReplicationStatus reports the replica's outcome. */
  replication: 10_000,
  /** A replication backfill: PREPARING, then IN_PROGRESS, then its outcome. */
  backfill: 30_000,
  /** A restore from ARCHIVE: ACTIVATING for up to about 20 minutes on ECR; the upper bound here. */
  restore: 20 * 60_000,
} as const;

/** One of the timed states. */
export type TimedState = keyof typeof STATE_DELAYS_MS;

/** Archived images are billed for at least this long (ECR's 90-day minimum storage duration). */
export const ARCHIVE_MINIMUM_MS = 90 * 24 * 3600 * 1000;

/** Returns true for a usable scale: a finite number ≥ 0. */
export function isStateDelayScale(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Returns the duration of a timed state on this endpoint (the ECR-like one times the scale). */
export function stateDelayMs(ctx: Pick<LocalContext, 'stateDelayScale'>, state: TimedState): number {
  const scale = ctx.stateDelayScale ?? 1;
  return Math.round(STATE_DELAYS_MS[state] * scale);
}

/** Returns when a state begun at `since` (epoch ms) ends on this endpoint. */
export function stateEndsAt(ctx: Pick<LocalContext, 'stateDelayScale'>, state: TimedState, since: number): number {
  return since + stateDelayMs(ctx, state);
}

/** Returns true once a state begun at `since` has lasted its duration by the endpoint's clock. */
export function stateElapsed(ctx: LocalContext, state: TimedState, since: number): boolean {
  return ctx.now() >= stateEndsAt(ctx, state, since);
}

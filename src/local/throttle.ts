// ECR's request rates, as token buckets. ECR throttles each API per account and region (the
// service quotas page lists the rates; PutImage is counted per repository, which is what a
// CI fleet pushing to one repository meets) and answers ThrottlingException on the API and
// `429 TOOMANYREQUESTS` on the data plane. The server turns the buckets on by default so that
// pacing is tested against the real limits; LocalContext.throttleScale multiplies every rate
// (a test that hammers the endpoint can raise them) or turns the buckets off.
import type { LocalContext } from './context.js';

/** Requests per second ECR allows, by API operation (ECR service quotas, "API rates"). */
export const ECR_RATES: Readonly<Record<string, number>> = {
  BatchCheckLayerAvailability: 1000,
  BatchGetImage: 2000,
  CompleteLayerUpload: 100,
  GetAuthorizationToken: 500,
  GetDownloadUrlForLayer: 3000,
  InitiateLayerUpload: 100,
  PutImage: 10,
  UploadLayerPart: 500,
};

/** Operations whose bucket is per repository rather than per account and region. */
const PER_REPOSITORY = new Set(['PutImage']);

/** The API operation a data-plane request counts against (ECR meters both the same way). */
export const DATA_PLANE_OPERATIONS: Readonly<Record<string, string>> = {
  'GET manifests': 'BatchGetImage',
  'HEAD manifests': 'BatchGetImage',
  'PUT manifests': 'PutImage',
  'HEAD blobs': 'BatchCheckLayerAvailability',
  'GET blobs': 'GetDownloadUrlForLayer',
  'POST uploads': 'InitiateLayerUpload',
  'PATCH uploads': 'UploadLayerPart',
  'PUT uploads': 'CompleteLayerUpload',
};

interface Bucket {
  tokens: number;
  at: number;
}

const buckets = new WeakMap<LocalContext, Map<string, Bucket>>();

/** Parses a --throttle-scale value: a positive number, or `off`. */
export function parseThrottleScale(text: string): number | 'off' {
  if (text === 'off') return 'off';
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--throttle-scale must be a positive number or off, not '${text}'`);
  }
  return n;
}

/**
 * Takes one token for a request of operation (an ECR API name) in a registry and repository;
 * returns false when the bucket is empty, i.e. ECR would throttle the request. Operations
 * without a published rate are never throttled. Each bucket holds one second of requests
 * and refills continuously with the context's clock.
 */
export function takeToken(
  ctx: LocalContext,
  operation: string,
  where: { account: string; region: string; repository?: string | undefined },
): boolean {
  const scale = ctx.throttleScale;
  const rate = ECR_RATES[operation];
  if (scale === undefined || scale === 'off' || rate === undefined) return true;
  const perSecond = rate * scale;
  // A bucket holds one second of requests, but at least one request, so that a scale below
  // 1/rate slows the operation down instead of refusing it for ever.
  const capacity = Math.max(1, perSecond);
  const key = [
    operation,
    where.account,
    where.region,
    PER_REPOSITORY.has(operation) ? (where.repository ?? '') : '',
  ].join('|');
  let table = buckets.get(ctx);
  if (!table) {
    table = new Map();
    buckets.set(ctx, table);
  }
  const now = ctx.now();
  const bucket = table.get(key) ?? { tokens: capacity, at: now };
  bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
  bucket.at = now;
  table.set(key, bucket);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/**
 * Returns false when ECR would throttle a data-plane request (`kind` as in
 * `registry:<METHOD> <kind>` labels, e.g. `PUT manifests`): the data plane then answers
 * 429 TOOMANYREQUESTS, as ECR does.
 */
export function takeDataPlaneToken(
  ctx: LocalContext,
  kind: string,
  where: { account: string; region: string; repository?: string | undefined },
): boolean {
  const operation = DATA_PLANE_OPERATIONS[kind];
  return operation === undefined ? true : takeToken(ctx, operation, where);
}

/**
 * Returns the whole seconds a client throttled on a data-plane request of `kind` should wait
 * before a token is back (the `Retry-After` of the 429): one token's refill time, at least 1.
 */
export function dataPlaneRetryAfterSeconds(ctx: LocalContext, kind: string): number {
  const operation = DATA_PLANE_OPERATIONS[kind];
  const rate = operation === undefined ? undefined : ECR_RATES[operation];
  const scale = ctx.throttleScale;
  if (rate === undefined || typeof scale !== 'number') return 1;
  return Math.max(1, Math.ceil(1 / (rate * scale)));
}

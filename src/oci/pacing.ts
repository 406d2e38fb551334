// Paces manifest PUTs to ECR. Each manifest PUT is a PutImage call, and ECR allows about 10
// per second per repository: `copy --all-tags` or a tag-push with many tags hits that first,
// and the throttled PUTs then fail after their retries. A small token bucket per
// (registry host, repository) keeps the run under the limit instead.
import type { ImageTarget } from '../oci/store.js';

/** ECR's documented PutImage rate (per second), with headroom so clock jitter never crosses it. */
export const ECR_PUT_IMAGE_RATE = { perSecond: 10, headroom: 0.95 };

/** A token bucket: take() resolves when a token is free; tokens refill at ratePerSecond up to burst. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: {
    ratePerSecond: number;
    burst?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  }) {
    if (!(opts.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
    this.#rate = opts.ratePerSecond;
    this.#burst = Math.max(1, opts.burst ?? 1);
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Resolves once a token has been taken; callers are served in the order they asked. */
  take(): Promise<void> {
    const turn = this.#queue.then(async () => {
      this.#refill();
      if (this.#tokens < 1) {
        await this.#sleep(Math.ceil(((1 - this.#tokens) * 1000) / this.#rate));
        this.#refill();
        // A sleep may end a little early on a coarse clock: never hand out more than earned.
        this.#tokens = Math.max(this.#tokens, 1);
      }
      this.#tokens -= 1;
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
  }
}

const buckets = new WeakMap<object, Map<string, TokenBucket>>();

/** Returns the PutImage bucket of one repository for a run (owner: the command's context). */
export function putImageBucket(owner: object, host: string, repository: string): TokenBucket {
  let byRepo = buckets.get(owner);
  if (!byRepo) {
    byRepo = new Map();
    buckets.set(owner, byRepo);
  }
  const key = `${host}/${repository}`;
  let bucket = byRepo.get(key);
  if (!bucket) {
    bucket = new TokenBucket({ ratePerSecond: ECR_PUT_IMAGE_RATE.perSecond * ECR_PUT_IMAGE_RATE.headroom });
    byRepo.set(key, bucket);
  }
  return bucket;
}

/** Makes every putManifest of target wait for a token of bucket first (changes target in place). */
export function paceManifestPuts(target: ImageTarget, bucket: TokenBucket): void {
  const put = target.putManifest.bind(target);
  target.putManifest = async (...args: Parameters<ImageTarget['putManifest']>) => {
    await bucket.take();
    return put(...args);
  };
}

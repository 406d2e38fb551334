// Pacing of manifest writes. Each manifest PUT to ECR is a PutImage call, and ECR allows about
// 10 per second per repository: `copy --all-tags` or a tag-push with many tags hits that first,
// and the throttled PUTs then fail after their retries. A token bucket per (registry host,
// repository), wrapped around the target (pacedTarget), keeps the run under the limit instead.
import type { ImageTarget } from './store.js';
import { sleep } from './transport/retry.js';

/** ECR's documented PutImage rate (per second), with headroom so clock jitter never crosses it. */
export const ECR_PUT_IMAGE_RATE = { perSecond: 10, headroom: 0.95 };

/**
 * ECR's rate for starting layer uploads (InitiateLayerUpload, and CompleteLayerUpload once
 * per upload; per account and region), with headroom. A cross-repository mount is an upload
 * start too.
 */
export const ECR_LAYER_UPLOAD_RATE = { perSecond: 100, headroom: 0.9 };

/**
 * A token bucket: take() resolves when a token is free; tokens refill at ratePerSecond up to
 * burst. Adaptive: throttled() halves the rate (down to minRatePerSecond) when the server
 * throttles anyway (another client shares the quota), succeeded() wins it back step by step.
 */
export class TokenBucket {
  readonly #base: number;
  readonly #min: number;
  #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: {
    ratePerSecond: number;
    /** The lowest rate throttled() slows down to (default a tenth of ratePerSecond). */
    minRatePerSecond?: number;
    burst?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  }) {
    if (!(opts.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
    this.#base = opts.ratePerSecond;
    this.#rate = opts.ratePerSecond;
    this.#min = Math.min(opts.ratePerSecond, opts.minRatePerSecond ?? opts.ratePerSecond / 10);
    this.#burst = Math.max(1, opts.burst ?? 1);
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => sleep(ms));
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

  /** The rate tokens refill at now (per second). */
  get rate(): number {
    return this.#rate;
  }

  /** Halves the rate (not below the minimum): the server throttled a request that had a token. */
  throttled(): void {
    this.#refill();
    this.#rate = Math.max(this.#min, this.#rate / 2);
  }

  /** Raises the rate by a twentieth of the configured one (not above it) after a request went through. */
  succeeded(): void {
    if (this.#rate >= this.#base) return;
    this.#refill();
    this.#rate = Math.min(this.#base, this.#rate + this.#base / 20);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#rate) / 1000);
    this.#last = now;
  }
}

/**
 * Returns target with every putManifest waiting for a token of bucket first: a registry that
 * limits manifest writes per second (ECR's PutImage) is then never pushed past its rate. The
 * other methods are target's own; target itself is not changed.
 */
export function pacedTarget<T extends ImageTarget>(target: T, bucket: TokenBucket): T {
  return new Proxy(target, {
    get(t, key) {
      if (key === 'putManifest') {
        return async (...args: Parameters<ImageTarget['putManifest']>) => {
          await bucket.take();
          return t.putManifest(...args);
        };
      }
      const value = Reflect.get(t, key);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

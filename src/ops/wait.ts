// Waiting for something ECR does in the background (a scan, a lifecycle preview, a
// replication, a backfill): the one poll loop every op uses, and the step events that tell
// the user what is being waited for. Sleeps end at once when the session is cancelled.
import { InterruptedError } from '../errors.js';
import { sleep } from '../oci/transport/retry.js';
import { nextEventId, type Session } from '../session.js';

/**
 * How the timeout bounds the waits between reads:
 * - `shorten`: the last wait is cut short to end at the deadline; the poll fails once the
 *   deadline is reached (a last read happens at the deadline).
 * - `refuse`: the poll fails instead of starting a wait that would end after the deadline.
 * - `allow`: a wait may end after the deadline; the poll fails at the next check once the
 *   deadline has passed.
 */
export type DeadlineRule = 'shorten' | 'refuse' | 'allow';

/** What pollUntil needs: how to read, when to stop, how long to wait. */
export interface PollOptions<T> {
  /** Reads the current state (one API call or a few). */
  read: () => Promise<T>;
  /** Returns true when the state is final and the wait is over. */
  done: (value: T) => boolean;
  /** The state already read by the caller; without it, read() is called first. */
  first?: T;
  /** The wait between two reads: a fixed time, or one per wait already done (0, 1, …) for a backoff. */
  intervalMs: number | ((attempt: number) => number);
  /** The longest time to wait, counted from `startedAt`. */
  timeoutMs: number;
  /** When the timeout began (Date.now() ms; default: the call), so that several polls can share one deadline. */
  startedAt?: number;
  /** How the timeout bounds the waits (default `shorten`). */
  deadline?: DeadlineRule;
  /** Called before each wait, with the state that is not final yet and the ms since `startedAt`. */
  onWait?: (value: T, elapsedMs: number) => void;
  /**
   * Returns the error to throw when the timeout passes, given the last state read. Without
   * it, pollUntil resolves with that state instead (done() tells the caller it is not final).
   */
  onTimeout?: (last: T) => Error;
}

/**
 * Reads until done() says the state is final and returns it; throws onTimeout()'s error when
 * the timeout passes first, and InterruptedError as soon as the session is cancelled.
 */
export async function pollUntil<T>(session: Pick<Session, 'signal'>, opts: PollOptions<T>): Promise<T> {
  const startedAt = opts.startedAt ?? Date.now();
  const rule = opts.deadline ?? 'shorten';
  let value = 'first' in opts ? (opts.first as T) : await opts.read();
  for (let attempt = 0; !opts.done(value); attempt++) {
    if (session.signal.aborted) throw new InterruptedError();
    const elapsed = Date.now() - startedAt;
    let wait = typeof opts.intervalMs === 'number' ? opts.intervalMs : opts.intervalMs(attempt);
    const late =
      rule === 'shorten'
        ? elapsed >= opts.timeoutMs
        : rule === 'refuse'
          ? elapsed + wait > opts.timeoutMs
          : elapsed > opts.timeoutMs;
    if (late) {
      if (opts.onTimeout) throw opts.onTimeout(value);
      return value;
    }
    if (rule === 'shorten') wait = Math.min(wait, opts.timeoutMs - elapsed);
    opts.onWait?.(value, elapsed);
    await sleep(wait, session.signal);
    value = await opts.read();
  }
  return value;
}

/** Returns intervals that start at firstMs and grow by factor after each wait, up to maxMs. */
export function backoff(firstMs: number, factor: number, maxMs: number): (attempt: number) => number {
  return (attempt) => Math.min(firstMs * factor ** attempt, maxMs);
}

/** A long step reported as `step` events: started once, updated, ended once. */
export interface Step {
  /** Replaces what the step says (a spinner's text; plain logs do not show updates). */
  update(text: string): void;
  /** Ends the step with a last line, as a success or a failure. */
  end(ok: boolean, text: string): void;
}

/** Starts a step: emits its `start` event and returns the handle that updates and ends it. */
export function startStep(session: Pick<Session, 'emit'>, text: string): Step {
  const id = nextEventId();
  session.emit({ type: 'step', id, phase: 'start', text });
  return {
    update: (t) => session.emit({ type: 'step', id, phase: 'update', text: t }),
    end: (ok, t) => session.emit({ type: 'step', id, phase: 'end', text: t, ok }),
  };
}

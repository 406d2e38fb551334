import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../../src/errors.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  sleep,
} from '../../../src/oci/transport/retry.js';

const NOW = Date.parse('2025-01-02T03:04:05Z');

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['7', 7000],
    [' 120 ', 120_000],
    ['Thu, 02 Jan 2025 03:04:15 GMT', 10_000],
    ['Thursday, 02-Jan-25 03:04:10 GMT', 5000],
    ['Thu Jan  2 03:04:08 2025', 3000],
    ['Wed, 01 Jan 2025 00:00:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2025-01-02', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s → %s ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('returns a non-negative number or undefined for any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const v = parseRetryAfter(s, NOW);
        expect(v === undefined || (Number.isFinite(v) && v >= 0)).toBe(true);
      }),
    );
  });
});

describe('backoffDelay', () => {
  it('stays between 0 and min(max, base·2^n) (full jitter)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (n, r) => {
        const d = backoffDelay(n, DEFAULT_RETRY, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(DEFAULT_RETRY.maxDelayMs, DEFAULT_RETRY.baseDelayMs * 2 ** n));
      }),
    );
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0.5)).toBe(800);
    expect(backoffDelay(30, DEFAULT_RETRY, () => 0.5)).toBe(15_000);
  });
});

describe('what is retried', () => {
  it.each([
    [408, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
    [501, false],
    [505, false],
    [400, false],
    [401, false],
    [404, false],
  ])('status %i → %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });

  it('recognises dropped connections, also as a cause', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(isRetryableNetworkError(reset)).toBe(true);
    expect(isRetryableNetworkError(new Error('wrapped', { cause: reset }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRetryableNetworkError(new Error('plain'))).toBe(false);
  });

  it('sleep stops with InterruptedError when the signal aborts', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(InterruptedError);
  });
});

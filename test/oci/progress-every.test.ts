import { describe, expect, it } from 'vitest';
import { progressEvery } from '../../src/oci/copy.js';

describe('progressEvery', () => {
  it('passes on one count per step of bytes, and a count that falls back at once', () => {
    const seen: number[] = [];
    // An hour between reports: only the byte step (and a restart) lets a count through.
    const report = progressEvery(100, 3_600_000, (n) => seen.push(n));
    for (let n = 10; n <= 350; n += 10) report(n);
    report(20); // a dropped download restarted lower
    report(30);
    expect(seen).toEqual([10, 110, 210, 310, 20]);
  });
});

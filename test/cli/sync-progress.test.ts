// The one refreshing line `ecrctl sync apply` shows on a terminal (formatSyncProgress in
// src/cli/commands/sync.ts): repositories, tags, bytes, rate and ETA.
import { describe, expect, it } from 'vitest';
import { formatSyncProgress } from '../../src/cli/commands/sync.js';

describe('sync progress line', () => {
  it('shows repositories, tags, bytes, the byte rate and an ETA from the tag rate', () => {
    expect(
      formatSyncProgress({
        repositories: { done: 3, total: 30 },
        tags: { done: 15, failed: 0, total: 150 },
        bytes: 12_300_000,
        elapsedMs: 10_000,
      }),
    ).toBe('sync: 3/30 repositories · 15/150 tags · 12.3 MB · 1.23 MB/s · ETA 1m30s');
  });

  it('counts failed tags as done and says how many failed; no ETA before the first tag or after the last', () => {
    expect(
      formatSyncProgress({
        repositories: { done: 0, total: 2 },
        tags: { done: 0, failed: 0, total: 4 },
        bytes: 0,
        elapsedMs: 0,
      }),
    ).toBe('sync: 0/2 repositories · 0/4 tags · 0 B · 0 B/s');
    expect(
      formatSyncProgress({
        repositories: { done: 2, total: 2 },
        tags: { done: 4, failed: 1, total: 4 },
        bytes: 999,
        elapsedMs: 7_200_000,
      }),
    ).toBe('sync: 2/2 repositories · 4/4 tags (1 failed) · 999 B · 0 B/s');
  });

  it('writes hours as 2h07m', () => {
    expect(
      formatSyncProgress({
        repositories: { done: 1, total: 100 },
        tags: { done: 10, failed: 0, total: 1010 },
        bytes: 5_000_000_000,
        elapsedMs: 76_200,
      }),
    ).toContain('ETA 2h07m');
  });
});

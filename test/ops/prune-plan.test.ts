// The prune planner (src/policy/prune/): age rules through the lifecycle simulator (its
// reasons), tag-level expiry, and the guards — protect list, in use, keep-newest, referrers,
// indexes that stay.
import { describe, expect, it } from 'vitest';
import { expireTags, type PruneImage, planPrune } from '../../src/policy/prune/index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const ago = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const dg = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const img = (
  n: number,
  tags: string[],
  pushed: number,
  pulled?: number,
  extra: Partial<PruneImage> = {},
): PruneImage => ({
  digest: dg(n),
  tags,
  pushedAt: ago(pushed),
  ...(pulled !== undefined ? { lastPulledAt: ago(pulled) } : {}),
  sizeBytes: 100 * n,
  ...extra,
});

describe('planPrune', () => {
  it('selects by last pull, falling back to push time, with the simulator reasons', () => {
    const d = planPrune(
      [img(1, ['a'], 200, 100), img(2, ['b'], 200), img(3, ['c'], 200, 10), img(4, [], 50)],
      { notPulledSinceDays: 90 },
      NOW,
    );
    expect(d.map((x) => x.action)).toEqual(['delete', 'delete', 'keep', 'keep']);
    expect(d[0]?.reasons).toEqual(['not pulled since 90d: last pulled 100 days ago > 90']);
    expect(d[1]?.reasons).toEqual(['not pulled since 90d: never pulled; pushed 200 days ago > 90']);
    expect(d[2]?.reasons).toEqual([]);
  });

  it('selects untagged images by push age, and lists every rule that selected an image', () => {
    const d = planPrune(
      [img(1, [], 20), img(2, [], 5), img(3, ['t'], 20)],
      { untaggedOlderThanDays: 14, notPulledSinceDays: 10 },
      NOW,
    );
    expect(d.map((x) => x.action)).toEqual(['delete', 'keep', 'delete']);
    expect(d[0]?.reasons).toEqual([
      'not pulled since 10d: never pulled; pushed 20 days ago > 10',
      'untagged older than 14d: pushed 20 days ago > 14',
    ]);
  });

  it('keeps the newest N, protected images, images in use and referrers, saying why', () => {
    const d = planPrune(
      [
        img(1, ['new'], 100),
        img(2, ['prod-1'], 150),
        img(3, ['x'], 160, undefined, { inUseBy: [{ usedBy: 'lambda f', byTag: true }] }),
        img(4, [], 170, undefined, { subjectDigest: dg(9) }),
        img(5, ['old'], 180),
      ],
      { notPulledSinceDays: 90, keepNewest: 1, protect: ['prod-*'] },
      NOW,
    );
    expect(d.map((x) => [x.action, x.keptBecause])).toEqual([
      ['keep', 'keep-newest: the newest image'],
      ['keep', 'protected by prod-*'],
      ['keep', 'in use by lambda f (by tag)'],
      ['keep', `a referrer of ${dg(9)}: it goes with its subject`],
      ['delete', undefined],
    ]);
  });

  it('tag-level expiry: untags matching tags, deletes an image only when no tag is left', () => {
    const d = planPrune(
      [img(1, ['pr-1', 'v1'], 30), img(2, ['pr-2'], 30), img(3, ['v2'], 30), img(4, ['pr-3'], 1)],
      { tagsMatching: 'pr-*' },
      NOW,
    );
    expect(d.map((x) => x.action)).toEqual(['untag', 'delete', 'keep', 'delete']);
    expect(d[0]?.untag).toEqual(['pr-1']);
    expect(d[0]?.reasons).toEqual(['tags matching pr-*: pr-1', 'keeps v1: the image stays']);
    expect(d[1]?.reasons).toEqual(['tags matching pr-*: pr-2', 'no tag left: the image goes']);
    // With an age rule, only stale images lose their matching tags.
    const aged = planPrune(
      [img(1, ['pr-1'], 30), img(2, ['pr-2'], 1)],
      { tagsMatching: 'pr-*', notPulledSinceDays: 14 },
      NOW,
    );
    expect(aged.map((x) => x.action)).toEqual(['delete', 'keep']);
  });

  it('never deletes an image an index that stays references', () => {
    const d = planPrune(
      [
        img(1, ['multi'], 10, undefined, { isIndex: true }),
        img(2, [], 200, undefined, { referencedBy: [dg(1)] }),
        img(3, [], 200, undefined, { referencedBy: [dg(4)] }),
        img(4, [], 200, undefined, { isIndex: true }),
      ],
      { notPulledSinceDays: 90 },
      NOW,
    );
    expect(d.map((x) => [x.action, x.keptBecause])).toEqual([
      ['keep', undefined],
      ['keep', `referenced by index ${dg(1)}, which stays`],
      ['delete', undefined],
      ['delete', undefined],
    ]);
  });
});

describe('expireTags', () => {
  it('splits tags into removed and remaining', () => {
    expect(expireTags(['a', 'pr-1', 'b'], (t) => t.startsWith('pr-'))).toEqual({
      removed: ['pr-1'],
      remaining: ['a', 'b'],
    });
  });
});

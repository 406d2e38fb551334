import { describe, expect, it } from 'vitest';
import {
  type LifecycleDecision,
  type LifecycleImage,
  type LifecyclePolicy,
  type LifecycleRule,
  simulateLifecycle,
} from '../../src/policy/lifecycle/index.js';
import { tagPatternMatcher } from '../../src/policy/lifecycle/simulate.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const img = (
  name: string,
  tags: string[],
  pushedDaysAgo: number,
  extra: Partial<LifecycleImage> = {},
): LifecycleImage => ({
  digest: `sha256:${name}`,
  tags,
  pushedAt: daysAgo(pushedDaysAgo),
  ...extra,
});
const countRule = (rulePriority: number, patterns: string[], countNumber: number): LifecycleRule => ({
  rulePriority,
  selection: { tagStatus: 'tagged', tagPatternList: patterns, countType: 'imageCountMoreThan', countNumber },
  action: { type: 'expire' },
});
const ageRule = (
  rulePriority: number,
  selection: Partial<LifecycleRule['selection']>,
  countNumber: number,
): LifecycleRule => ({
  rulePriority,
  selection: {
    tagStatus: 'tagged',
    countType: 'sinceImagePushed',
    countUnit: 'days',
    countNumber,
    ...selection,
  } as LifecycleRule['selection'],
  action: { type: 'expire' },
});
const run = (rules: LifecycleRule[], images: LifecycleImage[]) => simulateLifecycle({ rules }, images, NOW);
const byName = (ds: LifecycleDecision[]) => Object.fromEntries(ds.map((d) => [d.digest.slice('sha256:'.length), d]));
const actions = (ds: LifecycleDecision[]) =>
  Object.fromEntries(ds.map((d) => [d.digest.slice('sha256:'.length), d.action]));

describe('simulateLifecycle: the user guide scenarios', () => {
  // "Filtering on multiple rules", example A: rule 2 would take A and B, but A is already
  // expired by rule 1 and B matches rule 1's selection, so only A goes.
  it('multiple rules, example A: only A expires', () => {
    const images = [img('A', ['beta-1', 'prod-1'], 10), img('B', ['beta-2', 'prod-2'], 9), img('C', ['beta-3'], 8)];
    const ds = run([countRule(1, ['prod*'], 1), countRule(2, ['beta*'], 1)], images);
    expect(actions(ds)).toEqual({ A: 'expire', B: 'keep', C: 'keep' });
    const d = byName(ds);
    expect(d.A!.reason).toBe('rule 1: more than 1 image tagged prod*; this is #2 by push time');
    expect(d.B!.reason).toBe(
      'rule 1: the newest image tagged prod* (rule 2 would expire it, but rule 1 selects it first)',
    );
    expect(d.C!.reason).toBe('rule 2: the newest image tagged beta*');
  });

  it('multiple rules, example B: A and B expire; C is protected by rule 1; D is the newest beta', () => {
    const images = [
      img('A', ['beta-1', 'prod-1'], 10),
      img('B', ['beta-2', 'prod-2'], 9),
      img('C', ['beta-3', 'prod-3'], 8),
      img('D', ['beta-4'], 7),
    ];
    const ds = run([countRule(1, ['prod*'], 1), countRule(2, ['beta*'], 1)], images);
    expect(actions(ds)).toEqual({ A: 'expire', B: 'expire', C: 'keep', D: 'keep' });
  });

  it('several patterns in one rule, by age: every image with both alpha* and beta* tags goes', () => {
    const images = [
      img('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
      img('B', ['alpha-2', 'beta-2'], 9),
      img('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
    ];
    const ds = run([ageRule(1, { tagPatternList: ['alpha*', 'beta*'] }, 5)], images);
    expect(actions(ds)).toEqual({ A: 'expire', B: 'expire', C: 'expire' });
    expect(byName(ds).C!.reason).toBe('rule 1: pushed 8 days ago > 5');
  });

  it('several patterns in one rule, by count: D (alpha only) is not selected', () => {
    const images = [
      img('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
      img('B', ['alpha-2', 'beta-2'], 9),
      img('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
      img('D', ['alpha-4'], 7),
    ];
    const ds = run([countRule(1, ['alpha*', 'beta*'], 1)], images);
    expect(actions(ds)).toEqual({ A: 'expire', B: 'expire', C: 'keep', D: 'keep' });
    expect(byName(ds).D!.reason).toBe('no rule selects it');
    expect(byName(ds).B!.reason).toBe('rule 1: more than 1 image tagged alpha* and beta*; this is #2 by push time');
  });
});

describe('simulateLifecycle: semantics', () => {
  it('applies rules by priority number, not by their order in the document', () => {
    const images = [img('A', ['prod-1'], 3), img('B', ['prod-2'], 2), img('C', ['prod-3'], 1)];
    const keepAll = countRule(1, ['prod*'], 10);
    const keepOne = countRule(2, ['prod*'], 1);
    expect(actions(run([keepOne, keepAll], images))).toEqual({ A: 'keep', B: 'keep', C: 'keep' });
  });

  it('imageCountMoreThan keeps the newest N by push time, whatever the input order', () => {
    const images = [3, 9, 1, 7, 5, 2, 8].map((age) => img(`d${age}`, [`prod-${age}`], age));
    const ds = run([countRule(1, ['prod*'], 5)], images);
    expect(ds.filter((d) => d.action === 'expire').map((d) => d.digest)).toEqual(['sha256:d9', 'sha256:d8']);
    expect(byName(ds).d9!.reason).toBe('rule 1: more than 5 images tagged prod*; this is #7 by push time');
    expect(byName(ds).d1!.reason).toBe('rule 1: #1 of the newest 5 images tagged prod*');
  });

  it('returns one decision per image, in input order, with sizes', () => {
    const images = [img('x', [], 1, { sizeBytes: 10 }), img('y', ['a'], 2)];
    const ds = run([countRule(1, ['a'], 1)], images);
    expect(ds.map((d) => [d.digest, d.sizeBytes])).toEqual([
      ['sha256:x', 10],
      ['sha256:y', undefined],
    ]);
  });

  it('sinceImagePushed: strictly older than N days, with the age in the reason', () => {
    const images = [
      img('old', ['x'], 40),
      img('edge', ['x'], 30),
      img('young', ['x'], 3),
      img('justover', ['x'], 30.5),
    ];
    const d = byName(run([ageRule(1, { tagPatternList: ['*'] }, 30)], images));
    expect(d.old).toMatchObject({ action: 'expire', rulePriority: 1, reason: 'rule 1: pushed 40 days ago > 30' });
    expect(d.edge).toMatchObject({ action: 'keep', reason: 'rule 1: pushed 30 days ago, not more than 30' });
    expect(d.young!.action).toBe('keep');
    expect(d.justover).toMatchObject({ action: 'expire', reason: 'rule 1: pushed 30.5 days ago > 30' });
  });

  it('tagPatternList: * matches zero or more characters; no * means the whole tag', () => {
    const cases: [string, string, boolean][] = [
      ['prod*', 'prod', true],
      ['prod*', 'production', true],
      ['prod*', 'preprod', false],
      ['*prod', 'preprod', true],
      ['*-rc*', '-rc', true],
      ['*-rc*', '1.0-rc.1', true],
      ['v1.*', 'v10.0', false],
      ['v1.*', 'v1x2', false],
      ['latest', 'latest', true],
      ['latest', 'latest-2', false],
      ['a*b*c', 'abc', true],
      ['a*b*c', 'aXbYc', true],
      ['a*b*c', 'acb', false],
      ['*', 'anything', true],
    ];
    for (const [pattern, tag, want] of cases)
      expect(tagPatternMatcher(pattern)(tag), `${pattern} vs ${tag}`).toBe(want);
  });

  it('tagPrefixList entries select like a trailing wildcard, every entry must match some tag', () => {
    const rule: LifecycleRule = {
      rulePriority: 1,
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['prod', 'v'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 1,
      },
      action: { type: 'expire' },
    };
    const ds = run([rule], [img('both', ['prod', 'v1'], 5), img('one', ['prod-2'], 5), img('none', [], 5)]);
    expect(actions(ds)).toEqual({ both: 'expire', one: 'keep', none: 'keep' });
  });

  it('an "any" rule counts images that higher rules selected but acts only on the rest', () => {
    const images = [
      img('p1', ['prod-1'], 1),
      img('p2', ['prod-2'], 2),
      img('u', [], 3),
      img('t', ['test'], 4),
      img('p3', ['prod-3'], 5),
    ];
    const rules: LifecycleRule[] = [
      countRule(1, ['prod*'], 10),
      {
        rulePriority: 2,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
        action: { type: 'expire' },
      },
    ];
    const ds = byName(run(rules, images));
    // Newest two overall are p1 and p2; u (#3) and t (#4) go; p3 (#5) is rule 1's.
    expect(ds.u).toMatchObject({ action: 'expire', reason: 'rule 2: more than 2 images; this is #3 by push time' });
    expect(ds.t).toMatchObject({ action: 'expire', reason: 'rule 2: more than 2 images; this is #4 by push time' });
    expect(ds.p3).toMatchObject({ action: 'keep', rulePriority: 1 });
    expect(ds.p3!.reason).toContain('rule 2 would expire it, but rule 1 selects it first');
  });

  it('untagged rules see only untagged images', () => {
    const rule: LifecycleRule = {
      rulePriority: 1,
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
      action: { type: 'expire' },
    };
    const ds = run([rule], [img('u1', [], 1), img('u2', [], 2), img('t', ['x'], 9)]);
    expect(actions(ds)).toEqual({ u1: 'keep', u2: 'expire', t: 'keep' });
    expect(byName(ds).u2!.reason).toBe('rule 1: more than 1 untagged image; this is #2 by push time');
  });

  it('sinceImagePulled transitions to archive, falling back to the push time for images never pulled', () => {
    const rule: LifecycleRule = {
      rulePriority: 1,
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    };
    const images = [
      img('stale', ['a'], 300, { lastPulledAt: daysAgo(100) }),
      img('fresh', ['b'], 300, { lastPulledAt: daysAgo(10) }),
      img('never', ['c'], 120),
      img('archived', ['d'], 400, { storageClass: 'archive', lastArchivedAt: daysAgo(200) }),
    ];
    const d = byName(run([rule], images));
    expect(d.stale).toMatchObject({ action: 'transition', reason: 'rule 1: last pulled 100 days ago > 90' });
    expect(d.fresh).toMatchObject({ action: 'keep', reason: 'rule 1: last pulled 10 days ago, not more than 90' });
    expect(d.never).toMatchObject({ action: 'transition', reason: 'rule 1: never pulled; pushed 120 days ago > 90' });
    expect(d.archived).toMatchObject({ action: 'keep', reason: 'no rule selects it' });
  });

  it('sinceImageTransitioned expires archived images by the time they were archived', () => {
    const rules: LifecycleRule[] = [
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
        action: { type: 'transition', targetStorageClass: 'archive' },
      },
      {
        rulePriority: 2,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 365,
        },
        action: { type: 'expire' },
      },
    ];
    const images = [
      img('long', ['a'], 900, { storageClass: 'archive', lastArchivedAt: daysAgo(400) }),
      img('recent', ['b'], 900, { storageClass: 'archive', lastArchivedAt: daysAgo(30) }),
      img('unknown', ['c'], 900, { storageClass: 'archive' }),
    ];
    const d = byName(run(rules, images));
    expect(d.long).toMatchObject({ action: 'expire', rulePriority: 2, reason: 'rule 2: archived 400 days ago > 365' });
    expect(d.recent!.action).toBe('keep');
    expect(d.unknown).toMatchObject({
      action: 'keep',
      reason: 'rule 2: archived, but the time it was archived is unknown',
    });
  });
});

describe('simulateLifecycle: images referenced by an index', () => {
  const allOld = ageRule(1, { tagStatus: 'any' }, 30);

  it('keeps a platform image while its (kept) index exists, and says so', () => {
    const images = [img('index', ['v1'], 5), img('amd64', [], 40, { referencedBy: ['sha256:index'] })];
    const d = byName(run([allOld], images));
    expect(d.index!.action).toBe('keep');
    expect(d.amd64).toMatchObject({ action: 'keep', rulePriority: 1 });
    expect(d.amd64!.reason).toBe(
      'kept: referenced by index sha256:index (rule 1 would expire it: pushed 40 days ago > 30)',
    );
  });

  it('expires the platform images together with their index', () => {
    const images = [
      img('index', ['v1'], 45),
      img('amd64', [], 45, { referencedBy: ['sha256:index'] }),
      img('arm64', [], 45, { referencedBy: ['sha256:index'] }),
    ];
    expect(actions(run([allOld], images))).toEqual({ index: 'expire', amd64: 'expire', arm64: 'expire' });
  });

  it('keeps an image any surviving index needs, through nested indexes', () => {
    const images = [
      img('top', ['v1'], 1),
      img('mid', [], 50, { referencedBy: ['sha256:top'] }),
      img('leaf', [], 50, { referencedBy: ['sha256:gone', 'sha256:mid'] }),
      img('gone', [], 50),
    ];
    const d = byName(run([allOld], images));
    expect(actions(Object.values(d))).toEqual({ top: 'keep', mid: 'keep', leaf: 'keep', gone: 'expire' });
    expect(d.leaf!.reason).toContain('kept: referenced by index sha256:mid');
  });

  it('treats an index missing from the list as present', () => {
    const d = byName(run([allOld], [img('child', [], 50, { referencedBy: ['sha256:elsewhere'] })]));
    expect(d.child!.action).toBe('keep');
  });
});

describe('simulateLifecycle: input is not modified', () => {
  it('leaves images and policy untouched', () => {
    const policy: LifecyclePolicy = { rules: [countRule(2, ['a*'], 1), countRule(1, ['b*'], 1)] };
    const images = [img('x', ['a1'], 1), img('y', ['a2', 'b1'], 2)];
    const before = JSON.stringify({ policy, images });
    simulateLifecycle(policy, images, NOW);
    expect(JSON.stringify({ policy, images })).toBe(before);
  });
});

// Property tests: the simulator's guarantees hold for any valid policy and any repository.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LifecycleImage,
  type LifecyclePolicy,
  type LifecycleRule,
  parseLifecyclePolicy,
  simulateLifecycle,
} from '../../src/policy/lifecycle/index.js';
import { compileRule, selects, tagPatternMatcher } from '../../src/policy/lifecycle/simulate.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const DAY = 86_400_000;

// A small tag alphabet so that rules and images actually overlap.
const tagArb = fc.constantFrom(
  'prod-1',
  'prod-2',
  'prod',
  'beta-1',
  'beta-2',
  'v1.0',
  'v1.2',
  'v2.0',
  'latest',
  'main-abc',
  'x',
);
const patternArb = fc.constantFrom('prod*', 'beta*', 'v1.*', 'v*', '*', 'latest', '*-1', 'main-*', 'p*d*');

const imageArb = (i: number) =>
  fc
    .record({
      tags: fc.uniqueArray(tagArb, { maxLength: 3 }),
      pushedDaysAgo: fc.integer({ min: 0, max: 400 }),
      pulledDaysAgo: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
      archived: fc.boolean(),
      size: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map(
      (r): LifecycleImage => ({
        digest: `sha256:${String(i).padStart(4, '0')}`,
        tags: r.tags,
        pushedAt: new Date(NOW.getTime() - r.pushedDaysAgo * DAY),
        ...(r.pulledDaysAgo === undefined ? {} : { lastPulledAt: new Date(NOW.getTime() - r.pulledDaysAgo * DAY) }),
        ...(r.archived
          ? { storageClass: 'archive' as const, lastArchivedAt: new Date(NOW.getTime() - (r.pushedDaysAgo * DAY) / 2) }
          : {}),
        sizeBytes: r.size,
      }),
    );

const imagesArb = fc
  .integer({ min: 0, max: 40 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => imageArb(i))));

const ruleBodyArb = fc.oneof(
  fc.record({
    tagStatus: fc.constant('tagged' as const),
    tagPatternList: fc.uniqueArray(patternArb, { minLength: 1, maxLength: 2 }),
    countType: fc.constant('imageCountMoreThan' as const),
    countNumber: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    tagStatus: fc.constant('tagged' as const),
    tagPrefixList: fc.uniqueArray(fc.constantFrom('prod', 'beta', 'v1', 'v'), { minLength: 1, maxLength: 2 }),
    countType: fc.constant('sinceImagePushed' as const),
    countUnit: fc.constant('days' as const),
    countNumber: fc.integer({ min: 1, max: 300 }),
  }),
  fc.record({
    tagStatus: fc.constant('untagged' as const),
    countType: fc.constant('imageCountMoreThan' as const),
    countNumber: fc.integer({ min: 1, max: 5 }),
  }),
);

// Tagged/untagged rules, an optional transition rule, and an optional final "any" rule:
// then drop the policies the validator rejects (e.g. two untagged rules).
const policyArb = fc
  .record({
    body: fc.array(ruleBodyArb, { minLength: 1, maxLength: 6 }),
    transition: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
    anyCount: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    priorities: fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 8, maxLength: 8 }),
  })
  .map(({ body, transition, anyCount, priorities }): LifecyclePolicy => {
    const sorted = [...priorities].sort((a, b) => a - b);
    const rules: LifecycleRule[] = body.map((selection, i) => ({
      rulePriority: sorted[i]!,
      selection,
      action: { type: 'expire' },
    }));
    if (transition !== undefined) {
      rules.push({
        rulePriority: sorted[6]!,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          countType: 'sinceImagePulled',
          countUnit: 'days',
          countNumber: transition,
        },
        action: { type: 'transition', targetStorageClass: 'archive' },
      });
    }
    if (anyCount !== undefined) {
      rules.push({
        rulePriority: sorted[7]!,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: anyCount },
        action: { type: 'expire' },
      });
    }
    // Shuffle-free but not sorted by priority: reverse, so order in the document never helps.
    return { rules: rules.reverse() };
  })
  .filter((p) => parseLifecyclePolicy(JSON.stringify(p, null, 2)).problems.length === 0);

const byPriority = (p: LifecyclePolicy) => [...p.rules].sort((a, b) => a.rulePriority - b.rulePriority);

describe('simulateLifecycle properties', () => {
  it('gives every image exactly one decision, acted on by at most one rule', () => {
    fc.assert(
      fc.property(policyArb, imagesArb, (policy, images) => {
        const ds = simulateLifecycle(policy, images, NOW);
        expect(ds.map((d) => d.digest)).toEqual(images.map((im) => im.digest));
        for (const d of ds) {
          if (d.action !== 'keep') {
            expect(d.rulePriority).toBeDefined();
            const rule = policy.rules.find((r) => r.rulePriority === d.rulePriority)!;
            expect(rule.action.type).toBe(d.action);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never lets a rule act on an image that a higher-priority rule selects', () => {
    fc.assert(
      fc.property(policyArb, imagesArb, (policy, images) => {
        const rules = byPriority(policy).map(compileRule);
        simulateLifecycle(policy, images, NOW).forEach((d, i) => {
          if (d.action === 'keep') return;
          const first = rules.find((c) => selects(c, images[i]!));
          expect(first?.rule.rulePriority).toBe(d.rulePriority);
        });
      }),
      { numRuns: 300 },
    );
  });

  // A higher-priority rule may still expire images of a count rule's selection (by age, say):
  // the guarantee is that the count rule itself never takes its selection below N, and that a
  // count rule with the lowest priority number leaves N, full stop.
  it('leaves at least N images of an imageCountMoreThan N selection (apart from what higher rules expire)', () => {
    fc.assert(
      fc.property(policyArb, imagesArb, (policy, images) => {
        const ds = simulateLifecycle(policy, images, NOW);
        const first = byPriority(policy)[0]!;
        for (const rule of policy.rules) {
          if (rule.selection.countType !== 'imageCountMoreThan') continue;
          const c = compileRule(rule);
          const selected = images.map((_, i) => i).filter((i) => selects(c, images[i]!));
          const survivors = selected.filter((i) => ds[i]!.action !== 'expire').length;
          const byHigher = selected.filter(
            (i) => ds[i]!.action === 'expire' && ds[i]!.rulePriority! < rule.rulePriority,
          ).length;
          const want = Math.min(rule.selection.countNumber, selected.length);
          expect(survivors + byHigher).toBeGreaterThanOrEqual(want);
          if (rule === first) expect(survivors).toBeGreaterThanOrEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('expires only images older than every image it keeps within one count rule', () => {
    fc.assert(
      fc.property(policyArb, imagesArb, (policy, images) => {
        const ds = simulateLifecycle(policy, images, NOW);
        for (const rule of policy.rules) {
          if (rule.selection.countType !== 'imageCountMoreThan') continue;
          const governed = ds
            .map((d, i) => [d, images[i]!] as const)
            .filter(([d]) => d.rulePriority === rule.rulePriority && !d.reason.startsWith('kept: referenced'));
          const expired = governed.filter(([d]) => d.action === 'expire').map(([, im]) => im.pushedAt.getTime());
          const kept = governed.filter(([d]) => d.action === 'keep').map(([, im]) => im.pushedAt.getTime());
          if (expired.length > 0 && kept.length > 0)
            expect(Math.max(...expired)).toBeLessThanOrEqual(Math.min(...kept));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the images', () => {
    fc.assert(
      fc.property(policyArb, imagesArb, (policy, images) => {
        const forward = simulateLifecycle(policy, images, NOW);
        const backward = simulateLifecycle(policy, [...images].reverse(), NOW).reverse();
        expect(backward).toEqual(forward);
      }),
      { numRuns: 200 },
    );
  });
});

describe('tagPatternMatcher', () => {
  // The reference: the pattern as an anchored regular expression.
  const reference = (pattern: string, tag: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    ).test(tag);
  const text = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', '-', '.'), maxLength: max });

  it('agrees with the regular expression reading of the pattern', () => {
    fc.assert(
      fc.property(fc.array(text(3), { minLength: 1, maxLength: 5 }), text(10), (pieces, tag) => {
        const pattern = pieces.join('*');
        expect(tagPatternMatcher(pattern)(tag)).toBe(reference(pattern, tag));
      }),
      { numRuns: 2000 },
    );
  });
});

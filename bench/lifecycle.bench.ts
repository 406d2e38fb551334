// Benchmark: simulate a 50-rule lifecycle policy over 10,000 images (ECR's default image quota
// per repository and its rule limit). Run: npx tsx bench/lifecycle.bench.ts
// Prints the median over several rounds for simulateLifecycle and for a naive baseline written
// here (re-sorts each rule's selection and re-tests every higher rule per image), and checks
// that both decide the same.
import { performance } from 'node:perf_hooks';
import {
  type LifecycleImage,
  type LifecyclePolicy,
  type LifecycleRule,
  parseLifecyclePolicy,
  simulateLifecycle,
} from '../src/policy/lifecycle/index.js';
import { compileRule, selects } from '../src/policy/lifecycle/simulate.js';

const IMAGES = 10_000;
const RULES = 50;
const ROUNDS = 9;
const NOW = new Date('2025-06-01T00:00:00Z');
const DAY = 86_400_000;

// A fixed-seed generator, so every run measures the same repository.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeImages(): LifecycleImage[] {
  const rand = prng(42);
  const branches = ['main', 'dev', 'release', 'feature-a', 'feature-b', 'hotfix', 'prod', 'staging', 'qa', 'perf'];
  return Array.from({ length: IMAGES }, (_, i) => {
    const tags: string[] = [];
    const r = rand();
    if (r > 0.15) tags.push(`${branches[Math.floor(rand() * branches.length)]}-${i.toString(16)}`);
    if (r > 0.6) tags.push(`v${Math.floor(rand() * 12)}.${Math.floor(rand() * 20)}.${Math.floor(rand() * 50)}`);
    if (r > 0.95) tags.push('latest-candidate');
    const pushedAt = new Date(NOW.getTime() - Math.floor(rand() * 700 * DAY));
    const image: LifecycleImage = {
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      tags,
      pushedAt,
      sizeBytes: Math.floor(rand() * 500_000_000),
    };
    if (rand() > 0.5)
      image.lastPulledAt = new Date(pushedAt.getTime() + Math.floor(rand() * (NOW.getTime() - pushedAt.getTime())));
    return image;
  });
}

function makePolicy(): LifecyclePolicy {
  // Release candidates nobody pulls any more go to archive first.
  const rules: LifecycleRule[] = [
    {
      rulePriority: 1,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['latest-candidate'],
        countType: 'sinceImagePulled',
        countUnit: 'days',
        countNumber: 120,
      },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
  ];
  const branches = ['main', 'dev', 'release', 'feature-a', 'feature-b', 'hotfix', 'prod', 'staging', 'qa', 'perf'];
  for (let m = 0; m < 12; m++) {
    rules.push({
      rulePriority: rules.length + 1,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: [`v${m}.*.*`],
        countType: 'imageCountMoreThan',
        countNumber: 5 + m,
      },
      action: { type: 'expire' },
    });
  }
  for (const b of branches) {
    rules.push({
      rulePriority: rules.length + 1,
      selection: { tagStatus: 'tagged', tagPatternList: [`${b}-*`], countType: 'imageCountMoreThan', countNumber: 50 },
      action: { type: 'expire' },
    });
    rules.push({
      rulePriority: rules.length + 1,
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: [b, 'v'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 180,
      },
      action: { type: 'expire' },
    });
  }
  while (rules.length < RULES - 2) {
    const k = rules.length;
    rules.push({
      rulePriority: k + 1,
      selection: {
        tagStatus: 'tagged',
        tagPatternList: [`*-${(k % 16).toString(16)}*`, '*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 300 + k,
      },
      action: { type: 'expire' },
    });
  }
  rules.push({
    rulePriority: RULES - 1,
    selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
    action: { type: 'expire' },
  });
  rules.push({
    rulePriority: RULES,
    selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2000 },
    action: { type: 'expire' },
  });
  return { rules };
}

/** The worst case for the simulator: only count rules, so every rule must rank its whole selection. */
function makeCountOnlyPolicy(): LifecyclePolicy {
  const rules: LifecycleRule[] = Array.from({ length: RULES - 1 }, (_, k) => ({
    rulePriority: k + 1,
    selection: {
      tagStatus: 'tagged' as const,
      tagPatternList: k % 2 === 0 ? [`*-${(k % 16).toString(16)}*`] : [`v${k % 12}.*.*`],
      countType: 'imageCountMoreThan' as const,
      countNumber: 10 + k,
    },
    action: { type: 'expire' as const },
  }));
  rules.push({
    rulePriority: RULES,
    selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1000 },
    action: { type: 'expire' },
  });
  return { rules };
}

/** The obvious implementation: per rule, filter and sort its selection; per candidate, re-test all higher rules. */
function naiveSimulate(policy: LifecyclePolicy, images: readonly LifecycleImage[], now: Date): Map<string, string> {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const out = new Map<string, string>(images.map((im) => [im.digest, 'keep']));
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r]!;
    const c = compileRule(rule);
    const selection = images
      .filter((im) => selects(c, im))
      .sort((a, b) => b.pushedAt.getTime() - a.pushedAt.getTime() || (a.digest < b.digest ? -1 : 1));
    const s = rule.selection;
    selection.forEach((im, rank) => {
      if (rules.slice(0, r).some((h) => selects(compileRule(h), im))) return;
      let act: boolean;
      if (s.countType === 'imageCountMoreThan') act = rank >= s.countNumber;
      else if (s.countType === 'sinceImagePushed') act = (now.getTime() - im.pushedAt.getTime()) / DAY > s.countNumber;
      else if (s.countType === 'sinceImagePulled')
        act = (now.getTime() - (im.lastPulledAt ?? im.pushedAt).getTime()) / DAY > s.countNumber;
      else act = im.lastArchivedAt !== undefined && (now.getTime() - im.lastArchivedAt.getTime()) / DAY > s.countNumber;
      if (act) out.set(im.digest, rule.action.type);
    });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Wall time and this process's CPU time: on a shared machine the wall time also counts the
// time other processes held the CPU, the CPU time does not. The contenders run in alternation,
// round by round, so that a burst of load elsewhere hits both alike.
type Timing = { wall: number; cpu: number };
function timeAlternating(fns: (() => void)[]): Timing[] {
  const wall: number[][] = fns.map(() => []);
  const cpu: number[][] = fns.map(() => []);
  for (const fn of fns) fn(); // warm-up (JIT)
  for (let round = 0; round < ROUNDS; round++) {
    fns.forEach((fn, k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      wall[k]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k]!.push((c.user + c.system) / 1000);
    });
  }
  return fns.map((_, k) => ({ wall: median(wall[k]!), cpu: median(cpu[k]!) }));
}

const images = makeImages();
const scenarios: [string, LifecyclePolicy][] = [
  ['mixed policy (versions, branches, ages, archive, untagged, any)', makePolicy()],
  ['worst case: 49 count rules + any', makeCountOnlyPolicy()],
];
const ms = (x: number) => `${x.toFixed(1)} ms`.padStart(10);
const row = (name: string, t: Timing) => `  ${name.padEnd(40)}${ms(t.wall)} wall ${ms(t.cpu)} cpu`;
console.log(
  `lifecycle benchmark: ${IMAGES} images x ${RULES} rules, median of ${ROUNDS} rounds (node ${process.version})`,
);

for (const [title, policy] of scenarios) {
  const text = JSON.stringify(policy, null, 2);
  const { problems } = parseLifecyclePolicy(text);
  if (problems.length > 0) throw new Error(`benchmark policy is invalid: ${JSON.stringify(problems[0])}`);
  if (policy.rules.length !== RULES) throw new Error(`expected ${RULES} rules, built ${policy.rules.length}`);

  // Same answers first: a fast wrong simulator is no use.
  const fast = simulateLifecycle(policy, images, NOW);
  const slow = naiveSimulate(policy, images, NOW);
  let differences = 0;
  for (const d of fast) {
    // The baseline has no manifest-list protection; the generated images reference no index.
    if (slow.get(d.digest) !== d.action) differences++;
  }
  if (differences > 0) throw new Error(`simulateLifecycle and the naive baseline disagree on ${differences} images`);

  const [validateRuns, fastRuns, naiveRuns] = timeAlternating([
    () => parseLifecyclePolicy(text),
    () => simulateLifecycle(policy, images, NOW),
    () => naiveSimulate(policy, images, NOW),
  ]) as [Timing, Timing, Timing];
  const counts = { expire: 0, transition: 0, keep: 0 };
  for (const d of fast) counts[d.action]++;

  console.log(`\n${title}`);
  console.log(
    `  decisions: ${counts.expire} expire, ${counts.transition} transition, ${counts.keep} keep (baseline agrees on all)`,
  );
  console.log(row(`parseLifecyclePolicy (${text.length} chars)`, validateRuns));
  console.log(`${row('simulateLifecycle', fastRuns)}   target < 1000 ms: ${fastRuns.wall < 1000 ? 'met' : 'MISSED'}`);
  console.log(row('naive baseline (sort per rule, re-test)', naiveRuns));
  console.log(
    `  baseline / simulateLifecycle: ${(naiveRuns.wall / fastRuns.wall).toFixed(1)}x wall, ${(naiveRuns.cpu / fastRuns.cpu).toFixed(1)}x cpu`,
  );
}

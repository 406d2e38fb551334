import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  listPresets,
  parseLifecyclePolicy,
  renderPreset,
  simulateLifecycle,
} from '../../src/policy/lifecycle/index.js';
import {
  findProtectedExpirations,
  parseImageList,
  parseProtectList,
  summarizeDecisions,
} from '../../src/policy/lifecycle/report.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

describe('presets', () => {
  it('lists at least the four documented presets with their parameters', () => {
    const byName = Object.fromEntries(listPresets().map((p) => [p.name, p.params]));
    expect(byName).toMatchObject({
      'keep-last-n-tagged': ['prefix', 'count=10'],
      'expire-untagged': ['days=14'],
      'archive-not-pulled': ['days=90'],
      'keep-last-n-per-major': ['majors', 'count=5', 'prefix=v'],
    });
  });

  const RENDERS: { name: string; params: Record<string, string> }[] = [
    { name: 'keep-last-n-tagged', params: { prefix: 'main-', count: '20' } },
    { name: 'keep-last-n-tagged', params: { prefix: '' } },
    { name: 'expire-untagged', params: {} },
    { name: 'expire-untagged', params: { days: '1' } },
    { name: 'archive-not-pulled', params: { days: '180' } },
    { name: 'keep-last-n-per-major', params: { majors: '1,2,3', count: '3' } },
    {
      name: 'keep-last-n-per-major',
      params: { majors: Array.from({ length: 50 }, (_, i) => String(i)).join(','), prefix: '' },
    },
  ];
  it.each(RENDERS)('$name $params renders a policy that validates', ({ name, params }) => {
    const { policy, problems } = parseLifecyclePolicy(renderPreset(name, params));
    expect(problems).toEqual([]);
    expect(policy!.rules.length).toBeGreaterThan(0);
  });

  it('keep-last-n-tagged keeps the newest COUNT images with the prefix', () => {
    const text = renderPreset('keep-last-n-tagged', { prefix: 'main-', count: '2' });
    expect(JSON.parse(text)).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: 'Keep the newest 2 images tagged main-*',
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['main-*'],
            countType: 'imageCountMoreThan',
            countNumber: 2,
          },
          action: { type: 'expire' },
        },
      ],
    });
  });

  it('keep-last-n-per-major keeps COUNT images of each major and leaves v10 alone', () => {
    const { policy } = parseLifecyclePolicy(renderPreset('keep-last-n-per-major', { majors: '1,2', count: '2' }));
    expect(policy!.rules.map((r) => r.selection.tagPatternList)).toEqual([['v1.*'], ['v2.*']]);
    const tags = [
      'v1.0.0',
      'v1.1.0',
      'v1.2.0',
      'v2.0.0',
      'v2.1.0',
      'v2.2.0',
      'v2.3.0',
      'v10.0.0',
      'v10.1.0',
      'v10.2.0',
    ];
    const images = tags.map((t, i) => ({ digest: `sha256:${t}`, tags: [t], pushedAt: daysAgo(100 - i) }));
    const expired = simulateLifecycle(policy!, images, NOW)
      .filter((d) => d.action === 'expire')
      .map((d) => d.tags[0]);
    expect(expired).toEqual(['v1.0.0', 'v2.0.0', 'v2.1.0']);
  });

  const BAD: { name: string; params: Record<string, string>; message: RegExp }[] = [
    { name: 'nope', params: {}, message: /unknown lifecycle preset "nope"/ },
    { name: 'keep-last-n-tagged', params: { count: '3' }, message: /needs the parameter "prefix"/ },
    { name: 'keep-last-n-tagged', params: { prefix: 'x', colour: 'red' }, message: /has no parameter "colour"/ },
    {
      name: 'keep-last-n-tagged',
      params: { prefix: 'x', count: '0' },
      message: /count must be a whole number from 1 up/,
    },
    { name: 'keep-last-n-tagged', params: { prefix: 'prod*' }, message: /prefix may hold only/ },
    { name: 'expire-untagged', params: { days: 'ten' }, message: /days must be a whole number/ },
    { name: 'keep-last-n-per-major', params: { majors: '1,x' }, message: /majors must list major version numbers/ },
    { name: 'keep-last-n-per-major', params: { majors: '1,1' }, message: /twice/ },
    {
      name: 'keep-last-n-per-major',
      params: { majors: Array.from({ length: 51 }, (_, i) => String(i)).join(',') },
      message: /51 rules; ECR allows at most 50/,
    },
  ];
  it.each(BAD)('rejects $name $params', ({ name, params, message }) => {
    expect(() => renderPreset(name, params)).toThrow(UsageError);
    expect(() => renderPreset(name, params)).toThrow(message);
  });
});

describe('report helpers', () => {
  const decisions = simulateLifecycle(
    JSON.parse(renderPreset('keep-last-n-tagged', { prefix: 'prod-', count: '1' })),
    [
      { digest: 'sha256:aaa', tags: ['prod-1', 'stable'], pushedAt: daysAgo(3), sizeBytes: 1_000 },
      { digest: 'sha256:bbb', tags: ['prod-2'], pushedAt: daysAgo(2), sizeBytes: 2_000 },
      { digest: 'sha256:ccc', tags: ['prod-3'], pushedAt: daysAgo(1), sizeBytes: 4_000 },
      { digest: 'sha256:ddd', tags: [], pushedAt: daysAgo(9) },
    ],
    NOW,
  );

  it('summarizes counts and bytes freed', () => {
    expect(summarizeDecisions(decisions)).toEqual({
      images: 4,
      expire: 2,
      transition: 0,
      keep: 2,
      bytesFreed: 3_000,
      bytesArchived: 0,
    });
  });

  it('finds protected images by digest, tag and tag pattern, and entries that match nothing', () => {
    const r = findProtectedExpirations(decisions, ['stable', 'sha256:bbb', 'prod-3', 'release-*']);
    expect(r.violations.map((v) => [v.entry, v.decision.digest])).toEqual([
      ['stable', 'sha256:aaa'],
      ['sha256:bbb', 'sha256:bbb'],
    ]);
    expect(r.unmatched).toEqual(['release-*']);
  });

  it('reads protect lists as lines with comments or as a JSON array', () => {
    expect(parseProtectList('# keep these\nstable\n\n  sha256:abc  # the release\n')).toEqual(['stable', 'sha256:abc']);
    expect(parseProtectList('["a", " b "]')).toEqual(['a', 'b']);
    expect(() => parseProtectList('[1]')).toThrow(/array of strings/);
  });

  it('reads our image list and describe-images output alike', () => {
    const ours = parseImageList(
      JSON.stringify([
        { digest: 'sha256:a', tags: ['x'], pushedAt: '2025-01-01T00:00:00Z', sizeBytes: 5, referencedBy: ['sha256:i'] },
      ]),
    );
    const aws = parseImageList(
      JSON.stringify({
        imageDetails: [
          {
            imageDigest: 'sha256:a',
            imageTags: ['x'],
            imagePushedAt: '2025-01-01T00:00:00.000000+00:00',
            imageSizeInBytes: 5,
            lastRecordedPullTime: 1735732800,
            imageStatus: 'ARCHIVED',
          },
          { imageDigest: 'sha256:b', imagePushedAt: 1735689600 },
        ],
      }),
    );
    expect(ours).toEqual({
      images: [
        {
          digest: 'sha256:a',
          tags: ['x'],
          pushedAt: new Date('2025-01-01T00:00:00Z'),
          sizeBytes: 5,
          referencedBy: ['sha256:i'],
        },
      ],
      problems: [],
    });
    expect(aws.problems).toEqual([]);
    expect(aws.images).toEqual([
      {
        digest: 'sha256:a',
        tags: ['x'],
        pushedAt: new Date('2025-01-01T00:00:00Z'),
        lastPulledAt: new Date('2025-01-01T12:00:00Z'),
        sizeBytes: 5,
        storageClass: 'archive',
      },
      { digest: 'sha256:b', tags: [], pushedAt: new Date('2025-01-01T00:00:00Z') },
    ]);
  });

  it('reports every unusable image entry', () => {
    const r = parseImageList(
      JSON.stringify([
        { tags: [] },
        { digest: 'sha256:x', tags: 'a', pushedAt: '2025-01-01' },
        { digest: 'sha256:y', pushedAt: 'yesterday' },
      ]),
    );
    expect(r.problems).toEqual([
      '[0]: "digest" (or "imageDigest") is missing',
      '[1] (sha256:x): "tags" must be an array of strings',
      '[2] (sha256:y): "pushedAt" is not a date: "yesterday" (use ISO 8601, e.g. 2024-05-01T12:00:00Z)',
    ]);
  });
});

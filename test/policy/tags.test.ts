// Tag strategies and tag rules, by tables: each CI source, branch names made into tags,
// semver and its aliases, the messages for missing facts, and every rule's verdict.
import { describe, expect, it } from 'vitest';
import {
  type BuildFacts,
  checkTagRules,
  deriveTags,
  factsFromEnv,
  mergeFacts,
  parseSemver,
  parseTagStrategy,
  planTagStates,
  sanitizeTagPart,
  tagIsImmutable,
} from '../../src/policy/tags.js';
import { OCI_TAG } from '../../src/policy/naming.js';

const SHA = 'abc1234def5678901234567890abcdef12345678';
const SHA2 = '0123456789abcdef0123456789abcdef01234567';

describe('factsFromEnv', () => {
  const cases: { name: string; env: Record<string, string>; want: BuildFacts }[] = [
    {
      name: 'CodeBuild webhook push',
      env: {
        CODEBUILD_BUILD_ID: 'app:1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
        CODEBUILD_WEBHOOK_HEAD_REF: 'refs/heads/main',
        CODEBUILD_SOURCE_VERSION: SHA,
      },
      want: {
        commit: { value: SHA, from: 'CODEBUILD_RESOLVED_SOURCE_VERSION' },
        branch: { value: 'main', from: 'CODEBUILD_WEBHOOK_HEAD_REF' },
      },
    },
    {
      name: 'CodeBuild started on a branch name',
      env: {
        CODEBUILD_BUILD_ID: 'app:1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
        CODEBUILD_SOURCE_VERSION: 'release/2.x',
      },
      want: {
        commit: { value: SHA, from: 'CODEBUILD_RESOLVED_SOURCE_VERSION' },
        branch: { value: 'release/2.x', from: 'CODEBUILD_SOURCE_VERSION' },
      },
    },
    {
      name: 'CodeBuild webhook tag push',
      env: {
        CODEBUILD_BUILD_ID: 'app:1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
        CODEBUILD_WEBHOOK_HEAD_REF: 'refs/tags/v1.2.3',
      },
      want: {
        commit: { value: SHA, from: 'CODEBUILD_RESOLVED_SOURCE_VERSION' },
        versionTag: { value: 'v1.2.3', from: 'CODEBUILD_WEBHOOK_HEAD_REF' },
      },
    },
    {
      name: 'CodeBuild source version is the commit',
      env: { CODEBUILD_BUILD_ID: 'app:1', CODEBUILD_SOURCE_VERSION: SHA2 },
      want: { commit: { value: SHA2, from: 'CODEBUILD_SOURCE_VERSION' } },
    },
    {
      name: 'CodeBuild pull request',
      env: { CODEBUILD_BUILD_ID: 'app:1', CODEBUILD_RESOLVED_SOURCE_VERSION: SHA, CODEBUILD_SOURCE_VERSION: 'pr/42' },
      want: {
        commit: { value: SHA, from: 'CODEBUILD_RESOLVED_SOURCE_VERSION' },
        branch: { value: 'pr/42', from: 'CODEBUILD_SOURCE_VERSION' },
      },
    },
    {
      name: 'GitHub branch push',
      env: { GITHUB_SHA: SHA, GITHUB_REF_NAME: 'main', GITHUB_REF_TYPE: 'branch' },
      want: { commit: { value: SHA, from: 'GITHUB_SHA' }, branch: { value: 'main', from: 'GITHUB_REF_NAME' } },
    },
    {
      name: 'GitHub pull request (head ref wins over 42/merge)',
      env: {
        GITHUB_SHA: SHA,
        GITHUB_REF_NAME: '42/merge',
        GITHUB_REF_TYPE: 'branch',
        GITHUB_HEAD_REF: 'feature/Foo_bar',
      },
      want: {
        commit: { value: SHA, from: 'GITHUB_SHA' },
        branch: { value: 'feature/Foo_bar', from: 'GITHUB_HEAD_REF' },
      },
    },
    {
      name: 'GitHub tag push',
      env: { GITHUB_SHA: SHA, GITHUB_REF_NAME: 'v2.0.1', GITHUB_REF_TYPE: 'tag' },
      want: { commit: { value: SHA, from: 'GITHUB_SHA' }, versionTag: { value: 'v2.0.1', from: 'GITHUB_REF_NAME' } },
    },
    {
      name: 'CodeBuild before GitHub when both are set',
      env: {
        CODEBUILD_BUILD_ID: 'app:1',
        CODEBUILD_RESOLVED_SOURCE_VERSION: SHA,
        GITHUB_SHA: SHA2,
        GITHUB_REF_NAME: 'dev',
        GITHUB_REF_TYPE: 'branch',
      },
      want: {
        commit: { value: SHA, from: 'CODEBUILD_RESOLVED_SOURCE_VERSION' },
        branch: { value: 'dev', from: 'GITHUB_REF_NAME' },
      },
    },
    { name: 'nothing set', env: {}, want: {} },
    {
      name: 'a CODEBUILD_SOURCE_VERSION outside CodeBuild is ignored',
      env: { CODEBUILD_SOURCE_VERSION: 'main' },
      want: {},
    },
  ];
  it.each(cases)('$name', ({ env, want }) => {
    expect(factsFromEnv(env)).toEqual(want);
  });

  it('fills gaps from git, never overriding CI variables', () => {
    const merged = mergeFacts(
      { commit: { value: SHA, from: 'GITHUB_SHA' } },
      { commit: { value: SHA2, from: 'git rev-parse HEAD' }, branch: { value: 'main', from: 'git symbolic-ref HEAD' } },
    );
    expect(merged).toEqual({
      commit: { value: SHA, from: 'GITHUB_SHA' },
      branch: { value: 'main', from: 'git symbolic-ref HEAD' },
    });
  });
});

describe('sanitizeTagPart', () => {
  const cases: [string, string][] = [
    ['main', 'main'],
    ['feature/Foo_bar', 'feature-foo_bar'],
    ['feature//x', 'feature-x'],
    ['-leading.dot', 'leading.dot'],
    ['trailing_', 'trailing'],
    ['dependabot/npm_and_yarn/@types/node-20.1', 'dependabot-npm_and_yarn-types-node-20.1'],
    ['Ünïcödé branch', 'unicode-branch'],
    ['pr/42', 'pr-42'],
    ['///', ''],
  ];
  it.each(cases)('%s → %s', (input, want) => {
    expect(sanitizeTagPart(input)).toBe(want);
  });
  it('cuts to the length asked for and stays a valid tag start', () => {
    const s = sanitizeTagPart(`${'a'.repeat(119)}-b`, 120);
    expect(s).toBe('a'.repeat(119));
    expect(OCI_TAG.test(`${sanitizeTagPart('x'.repeat(300), 120)}-abc1234`)).toBe(true);
  });
});

describe('deriveTags', () => {
  const facts: BuildFacts = {
    commit: { value: SHA, from: 'GITHUB_SHA' },
    branch: { value: 'feature/Foo_bar', from: 'GITHUB_HEAD_REF' },
    versionTag: { value: 'v1.2.3', from: 'GITHUB_REF_NAME' },
  };
  const cases: { strategies: string[]; aliases?: boolean; want: string[]; facts?: BuildFacts }[] = [
    { strategies: ['branch-sha'], want: ['feature-foo_bar-abc1234'] },
    { strategies: ['sha'], want: ['abc1234'] },
    { strategies: ['latest'], want: ['latest'] },
    { strategies: ['env:staging', 'env:production'], want: ['staging', 'production'] },
    { strategies: ['semver'], want: ['v1.2.3'] },
    { strategies: ['semver'], aliases: true, want: ['v1.2.3', 'v1.2', 'v1'] },
    {
      strategies: ['semver'],
      aliases: true,
      facts: { versionTag: { value: '2.0.0', from: 'git' } },
      want: ['2.0.0', '2.0', '2'],
    },
    {
      strategies: ['semver'],
      aliases: true,
      facts: { versionTag: { value: 'v1.5.0-rc.1', from: 'git' } },
      want: ['v1.5.0-rc.1'],
    },
    {
      strategies: ['semver'],
      facts: { versionTag: { value: 'v1.0.0+build.7', from: 'git' } },
      want: ['v1.0.0-build.7'],
    },
    { strategies: ['sha', 'sha', 'branch-sha'], want: ['abc1234', 'feature-foo_bar-abc1234'] },
  ];
  it.each(cases)('$strategies (aliases $aliases) → $want', ({ strategies, aliases, want, facts: f }) => {
    const tags = deriveTags(strategies.map(parseTagStrategy), f ?? facts, { semverAliases: aliases ?? false });
    expect(tags.map((t) => t.tag)).toEqual(want);
    for (const t of tags) expect(OCI_TAG.test(t.tag)).toBe(true);
  });

  it('records where each tag came from', () => {
    expect(deriveTags([parseTagStrategy('branch-sha')], facts)).toEqual([
      { tag: 'feature-foo_bar-abc1234', strategy: 'branch-sha', from: ['GITHUB_HEAD_REF', 'GITHUB_SHA'] },
    ]);
  });

  const missing: {
    strategy: string;
    facts: BuildFacts;
    notes?: Record<string, string>;
    message: RegExp;
    rule: RegExp;
  }[] = [
    {
      strategy: 'sha',
      facts: {},
      message: /sha needs the commit id/,
      rule: /CODEBUILD_RESOLVED_SOURCE_VERSION.*GITHUB_SHA/,
    },
    {
      strategy: 'branch-sha',
      facts: { commit: { value: SHA, from: 'GITHUB_SHA' } },
      notes: { branch: 'HEAD is detached (no branch checked out)' },
      message: /branch-sha needs the branch name/,
      rule: /CODEBUILD_WEBHOOK_HEAD_REF.*GITHUB_HEAD_REF.*git: HEAD is detached/,
    },
    {
      strategy: 'branch-sha',
      facts: { branch: { value: 'main', from: 'x' } },
      message: /needs the commit id/,
      rule: /GITHUB_SHA/,
    },
    {
      strategy: 'semver',
      facts: {},
      notes: { versionTag: 'no version tag (v1.2.3) points at HEAD' },
      message: /semver needs a version tag/,
      rule: /GITHUB_REF_TYPE=tag.*no version tag/,
    },
    {
      strategy: 'semver',
      facts: { versionTag: { value: 'release-7', from: 'GITHUB_REF_NAME' } },
      message: /GITHUB_REF_NAME is "release-7"/,
      rule: /MAJOR\.MINOR\.PATCH/,
    },
  ];
  it.each(missing)(
    '$strategy without its facts says what is missing ($message)',
    ({ strategy, facts: f, notes, message, rule }) => {
      let err: { message: string; rule?: string; exitCode?: number } | undefined;
      try {
        deriveTags([parseTagStrategy(strategy)], f, notes ? { gitNotes: notes } : {});
      } catch (e) {
        err = e as typeof err;
      }
      expect(err?.message).toMatch(message);
      expect(err?.rule).toMatch(rule);
      expect(err?.exitCode).toBe(2);
    },
  );

  it.each(['', 'branch', 'env:', 'env:bad/tag', 'semver2'])('refuses the strategy %j', (s) => {
    expect(() => parseTagStrategy(s)).toThrow(/tag strategy/);
  });
});

describe('parseSemver', () => {
  it.each([
    ['v1.2.3', { prefix: 'v', major: 1, minor: 2, patch: 3 }],
    ['0.10.0-alpha.1', { prefix: '', major: 0, minor: 10, patch: 0, prerelease: 'alpha.1' }],
    ['v01.2.3', undefined],
    ['v1.2', undefined],
    ['release-1', undefined],
  ])('%s', (text, want) => {
    expect(parseSemver(text)).toEqual(want);
  });
});

describe('checkTagRules', () => {
  const at = '.ecrctl.yaml:3';
  const status = (checks: ReturnType<typeof checkTagRules>) =>
    Object.fromEntries(checks.map((c) => [c.rule, c.status]));
  const cases: { name: string; input: Parameters<typeof checkTagRules>[0]; want: Record<string, string> }[] = [
    { name: 'no config, plain tags', input: { repository: 'team/app', tags: ['v1'] }, want: { 'oci-tag': 'ok' } },
    { name: 'invalid tag', input: { repository: 'app', tags: ['-bad'] }, want: { 'oci-tag': 'error' } },
    {
      name: 'allowed tags met',
      input: {
        repository: 'app',
        tags: ['main-abc1234'],
        rules: { pattern: '*', at, allowedTags: [{ pattern: 'main-[0-9a-f]{7}', at }] },
      },
      want: { 'oci-tag': 'ok', allowedTags: 'ok' },
    },
    {
      name: 'allowed tags broken (full match only)',
      input: {
        repository: 'app',
        tags: ['xmain-abc1234'],
        rules: { pattern: '*', at, allowedTags: [{ pattern: 'main-[0-9a-f]{7}', at }] },
      },
      want: { 'oci-tag': 'ok', allowedTags: 'error' },
    },
    {
      name: 'forbidden latest',
      input: {
        repository: 'app',
        tags: ['v1', 'latest'],
        rules: { pattern: '*', at, forbid: [{ tag: 'latest', at }] },
      },
      want: { 'oci-tag': 'ok', forbid: 'error' },
    },
    {
      name: 'forbid with a wildcard',
      input: { repository: 'app', tags: ['dev-1'], rules: { pattern: '*', at, forbid: [{ tag: 'dev-*', at }] } },
      want: { 'oci-tag': 'ok', forbid: 'error' },
    },
    {
      name: 'latest to a prod-named repository warns',
      input: { repository: 'payments/prod-api', tags: ['latest'] },
      want: { 'oci-tag': 'ok', 'production-latest': 'warning' },
    },
    {
      name: 'production: false silences the name',
      input: {
        repository: 'prod-api',
        tags: ['latest'],
        rules: { pattern: '*', at, production: { value: false, at } },
      },
      want: { 'oci-tag': 'ok' },
    },
    {
      name: 'mutable production repository warns',
      input: {
        repository: 'app',
        tags: ['v1'],
        rules: { pattern: '*', at, production: { value: true, at } },
        mutability: { setting: 'MUTABLE', exclusions: [] },
      },
      want: { 'oci-tag': 'ok', 'production-immutable': 'warning' },
    },
    {
      name: 'requireImmutable on a mutable repository',
      input: {
        repository: 'app',
        tags: ['v1'],
        rules: { pattern: '*', at, requireImmutable: { value: true, at } },
        mutability: { setting: 'MUTABLE', exclusions: [] },
      },
      want: { 'oci-tag': 'ok', requireImmutable: 'error' },
    },
    {
      name: 'requireImmutable met with exclusions that do not cover the tag',
      input: {
        repository: 'app',
        tags: ['v1'],
        rules: { pattern: '*', at, requireImmutable: { value: true, at } },
        mutability: { setting: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['dev-*'] },
      },
      want: { 'oci-tag': 'ok', requireImmutable: 'ok' },
    },
    {
      name: 'requireImmutable where the registry does not say',
      input: { repository: 'app', tags: ['v1'], rules: { pattern: '*', at, requireImmutable: { value: true, at } } },
      want: { 'oci-tag': 'ok', requireImmutable: 'unknown' },
    },
  ];
  it.each(cases)('$name', ({ input, want }) => {
    expect(status(checkTagRules(input))).toEqual(want);
  });

  it('names the config line of the rule broken', () => {
    const checks = checkTagRules({
      repository: 'app',
      tags: ['latest'],
      rules: { pattern: 'app', at: 'x.yaml:2', forbid: [{ tag: 'latest', at: '.ecrctl.yaml:7' }] },
    });
    expect(checks.find((c) => c.rule === 'forbid')?.message).toBe(
      "tag 'latest' is forbidden by forbid: latest (.ecrctl.yaml:7)",
    );
  });
});

describe('tag mutability and existing tags', () => {
  it.each([
    ['MUTABLE', [], 'v1', false],
    ['IMMUTABLE', [], 'v1', true],
    ['IMMUTABLE_WITH_EXCLUSION', ['dev-*'], 'dev-7', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['dev-*'], 'v1', true],
    ['MUTABLE_WITH_EXCLUSION', ['v*'], 'v1', true],
    ['MUTABLE_WITH_EXCLUSION', ['v*'], 'latest', false],
  ] as const)('%s %j: %s immutable = %s', (setting, exclusions, tag, want) => {
    expect(tagIsImmutable(setting, exclusions, tag)).toBe(want);
  });

  it('plans new, unchanged, moved and conflicting tags', () => {
    const present = new Map<string, string | undefined>([
      ['a', undefined],
      ['b', 'sha256:same'],
      ['c', 'sha256:other'],
    ]);
    expect(
      planTagStates('sha256:same', present, { setting: 'IMMUTABLE', exclusions: [] }).map((s) => s.action),
    ).toEqual(['new', 'unchanged', 'conflict']);
    expect(planTagStates('sha256:same', present, { setting: 'MUTABLE', exclusions: [] }).map((s) => s.action)).toEqual([
      'new',
      'unchanged',
      'moves',
    ]);
    expect(planTagStates('sha256:same', present).map((s) => s.action)).toEqual(['new', 'unchanged', 'moves']);
  });
});

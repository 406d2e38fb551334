// The pull request head of a GitHub event and `--no-tag-strategy` (the strategy `none`):
// pure rules, pinned by tables.
import { describe, expect, it } from 'vitest';
import {
  chooseStrategies,
  deriveTags,
  factsFromEnv,
  isPullRequestEvent,
  parseTagStrategy,
  pullRequestHead,
} from '../../src/policy/tags.js';

const HEAD = '0123456789ABCDEF0123456789abcdef01234567';
const MERGE = 'fedcba9876543210fedcba9876543210fedcba98';

describe('isPullRequestEvent', () => {
  it.each([
    ['pull_request', true],
    ['pull_request_target', true],
    ['pull_request_review', true],
    ['pull_request_review_comment', true],
    ['push', false],
    ['workflow_dispatch', false],
    [undefined, false],
  ])('%s → %s', (name, expected) => {
    expect(isPullRequestEvent(name)).toBe(expected);
  });
});

describe('pullRequestHead', () => {
  it('reads head.sha (lowercased) and head.ref', () => {
    expect(pullRequestHead({ pull_request: { head: { sha: HEAD, ref: 'feature/x' } } })).toEqual({
      sha: HEAD.toLowerCase(),
      ref: 'feature/x',
    });
  });
  it.each([
    [null],
    [{}],
    [{ pull_request: {} }],
    [{ pull_request: { head: { sha: 'not-a-sha', ref: '' } } }],
    [{ pull_request: { head: 'x' } }],
  ])('gives nothing for %j', (payload) => {
    expect(pullRequestHead(payload)).toBeUndefined();
  });
});

describe('factsFromEnv on a pull request', () => {
  const env = {
    GITHUB_SHA: MERGE,
    GITHUB_HEAD_REF: 'feature/x',
    GITHUB_REF_NAME: '7/merge',
    GITHUB_REF_TYPE: 'branch',
  };

  it('takes the head commit before GITHUB_SHA, and keeps GITHUB_HEAD_REF for the branch', () => {
    const facts = factsFromEnv(env, { pullRequest: { sha: HEAD.toLowerCase(), ref: 'feature/x' } });
    expect(facts.commit).toEqual({ value: HEAD.toLowerCase(), from: 'pull_request.head.sha (GITHUB_EVENT_PATH)' });
    expect(facts.branch).toEqual({ value: 'feature/x', from: 'GITHUB_HEAD_REF' });
    expect(deriveTags([parseTagStrategy('branch-sha')], facts).map((d) => d.tag)).toEqual(['feature-x-0123456']);
  });

  it('takes the head branch from the payload when GITHUB_HEAD_REF is missing', () => {
    const { GITHUB_HEAD_REF: _h, ...rest } = env;
    const facts = factsFromEnv({ ...rest, GITHUB_REF_TYPE: 'tag' }, { pullRequest: { ref: 'fix/y' } });
    expect(facts.branch).toEqual({ value: 'fix/y', from: 'pull_request.head.ref (GITHUB_EVENT_PATH)' });
    expect(facts.commit?.from).toBe('GITHUB_SHA');
  });

  it('lets CodeBuild facts come first, as before', () => {
    const facts = factsFromEnv(
      { ...env, CODEBUILD_RESOLVED_SOURCE_VERSION: MERGE.replace('f', 'a') },
      { pullRequest: { sha: HEAD.toLowerCase() } },
    );
    expect(facts.commit?.from).toBe('CODEBUILD_RESOLVED_SOURCE_VERSION');
  });
});

describe('chooseStrategies', () => {
  const defaults = [parseTagStrategy('sha')];
  it.each([
    [[], ['sha']],
    [['semver'], ['semver']],
    [['none'], []],
    [['none', 'none'], []],
  ])('%j with config [sha] → %j', (given, expected) => {
    expect(chooseStrategies(given, defaults).map((s) => s.kind)).toEqual(expected);
  });

  it('refuses none with another strategy', () => {
    expect(() => chooseStrategies(['none', 'latest'], defaults)).toThrow(
      'the tag strategy none turns strategies off, so it cannot come with latest',
    );
  });
});

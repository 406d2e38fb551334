// errorJson: the error document `--output json` prints on failure, one per error kind.
import { describe, expect, it } from 'vitest';
import { errorJson } from '../../src/ci/error-json.js';
import { AuthError, InterruptedError, NotFoundError, RuleViolation, UsageError } from '../../src/errors.js';

describe('errorJson', () => {
  it.each([
    [
      new UsageError('--concurrency must be a whole number from 1 to 64', { value: '0' }),
      2,
      { kind: 'UsageError', message: '--concurrency must be a whole number from 1 to 64', value: '0', exitCode: 2 },
    ],
    [
      new RuleViolation('bad name', { rule: 'lowercase', value: 'A', fix: 'use a', problems: ['A is upper case'] }),
      3,
      {
        kind: 'RuleViolation',
        message: 'bad name',
        rule: 'lowercase',
        value: 'A',
        fix: 'use a',
        exitCode: 3,
        problems: ['A is upper case'],
      },
    ],
    [
      new AuthError('no credentials', { fix: 'set AWS_PROFILE' }),
      5,
      { kind: 'AuthError', message: 'no credentials', fix: 'set AWS_PROFILE', exitCode: 5 },
    ],
    [new NotFoundError('no repository x'), 6, { kind: 'NotFoundError', message: 'no repository x', exitCode: 6 }],
    [new InterruptedError(), 130, { kind: 'InterruptedError', message: expect.any(String), exitCode: 130 }],
    [new TypeError('boom'), 1, { kind: 'Error', message: 'boom', exitCode: 1 }],
    [new Error('aborted'), 130, { kind: 'InterruptedError', message: 'interrupted', exitCode: 130 }],
  ])('%s', (err, code, expected) => {
    const doc = errorJson(err, code);
    expect(doc).toEqual({ error: expected });
    // what is printed: one document that parses back to the same thing
    expect(JSON.parse(JSON.stringify(doc))).toEqual({ error: expected });
  });
});

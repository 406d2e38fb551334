import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleViolation } from '../../src/errors.js';
import {
  assertImageTag,
  assertRepositoryName,
  houseRuleWarnings,
  PRIVATE_REPOSITORY_NAME,
  PUBLIC_REPOSITORY_NAME,
  suggestRepositoryName,
  validateImageTag,
  validateMutabilityExclusionFilter,
  validateMutabilityExclusionFilters,
  validatePublicAlias,
  validateRegistryId,
  validateRepositoryName,
  validateResourceTags,
} from '../../src/policy/naming.js';

const messages = (problems: { message: string }[]) => problems.map((p) => p.message);

describe('validateRepositoryName (private)', () => {
  it.each([
    'ab',
    'a1',
    '12',
    'a.b',
    'a_b',
    'a__b',
    'a-b',
    'a--b',
    'a---------b',
    'a/b',
    'a/b/c',
    'team/payment-api',
    'team.x/sub_y/z--w',
    'x'.repeat(256),
    `${'a/'.repeat(127)}ab`,
  ])('accepts %j', (name) => {
    expect(validateRepositoryName(name)).toEqual([]);
  });

  it.each([
    ['a', ['name is 1 character long: repository names have 2–256 characters']],
    ['', ['name is 0 characters long: repository names have 2–256 characters']],
    ['x'.repeat(257), ['name is 257 characters long: repository names have 2–256 characters']],
    [
      'A',
      [
        'name is 1 character long: repository names have 2–256 characters',
        "character 'A' at position 1 is not allowed: repository names are lowercase",
      ],
    ],
    [
      'Payment_API',
      [
        "character 'P' at position 1 is not allowed: repository names are lowercase",
        "character 'A' at position 9 is not allowed: repository names are lowercase",
        "character 'P' at position 10 is not allowed: repository names are lowercase",
        "character 'I' at position 11 is not allowed: repository names are lowercase",
      ],
    ],
    ['a___b', ["'___' at position 2 is not allowed: between letters and digits use '.', '_', '__' or one or more '-'"]],
    ['a..b', ["'..' at position 2 is not allowed: between letters and digits use '.', '_', '__' or one or more '-'"]],
    ['a-_b', ["'-_' at position 2 is not allowed: between letters and digits use '.', '_', '__' or one or more '-'"]],
    ['-a', ["character '-' at position 1 is not allowed: repository names start with a letter or digit"]],
    ['a-', ["character '-' at position 2 is not allowed: repository names end with a letter or digit"]],
    ['/a', ["character '/' at position 1 is not allowed: repository names cannot start with '/'"]],
    ['a/', ["character '/' at position 2 is not allowed: repository names cannot end with '/'"]],
    ['a//b', ["'//' at position 2 is not allowed: namespaces are separated by a single '/'"]],
    [
      'team/-x',
      ["character '-' at position 6 is not allowed: after '/', repository names continue with a letter or digit"],
    ],
    ['team_/x', ["character '_' at position 5 is not allowed: before '/', repository names have a letter or digit"]],
    [
      'my app',
      [
        "character ' ' (space) at position 3 is not allowed: repository names use only lowercase letters, digits, '.', '_', '-' and '/'",
      ],
    ],
    [
      'tab\there',
      [
        "character U+0009 at position 4 is not allowed: repository names use only lowercase letters, digits, '.', '_', '-' and '/'",
      ],
    ],
    [
      'app:v1',
      [
        "character ':' at position 4 is not allowed: repository names use only lowercase letters, digits, '.', '_', '-' and '/'",
      ],
    ],
  ])('rejects %j', (name, expected) => {
    expect(messages(validateRepositoryName(name))).toEqual(expected);
  });

  it('reports the offending character and its position in the fields too', () => {
    expect(validateRepositoryName('Payment')[0]).toEqual({
      rule: 'lowercase',
      message: "character 'P' at position 1 is not allowed: repository names are lowercase",
      position: 1,
      character: 'P',
    });
  });

  it('caps the character problems of a long bad name', () => {
    const problems = messages(validateRepositoryName('ABCDEFGHIJKLMN'));
    expect(problems).toHaveLength(9);
    expect(problems.at(-1)).toBe('and 6 more characters that are not allowed');
  });
});

describe('validateRepositoryName (public)', () => {
  const pub = { public: true };
  it.each(['ab', 'a.b', 'a_b', 'a-b', 'a/b/c', 'team/payment-api', 'a'.repeat(205)])('accepts %j', (name) => {
    expect(validateRepositoryName(name, pub)).toEqual([]);
  });

  it.each([
    ['a__b', ["'__' at position 2 is not allowed: between letters and digits use a single '.', '_' or '-'"]],
    ['a--b', ["'--' at position 2 is not allowed: between letters and digits use a single '.', '_' or '-'"]],
    ['1app', ["character '1' at position 1 is not allowed: public repository names start with a letter"]],
    ['-a', ["character '-' at position 1 is not allowed: public repository names start with a letter"]],
    ['/a', ["character '/' at position 1 is not allowed: public repository names start with a letter"]],
    ['a'.repeat(206), ['name is 206 characters long: public repository names have 2–205 characters']],
  ])('rejects %j', (name, expected) => {
    expect(messages(validateRepositoryName(name, pub))).toEqual(expected);
  });

  it.each(['a__b', 'a--b', '1app', 'x'.repeat(206)])('%j differs between private and public', (name) => {
    expect(validateRepositoryName(name)).toEqual([]);
    expect(validateRepositoryName(name, pub)).not.toEqual([]);
  });
});

// Names built mostly from the characters that matter, so that both valid and invalid names
// turn up often.
const nameish = fc.string({
  unit: fc.constantFrom('a', 'b', 'z', '0', '9', '.', '_', '-', '/', 'A', ' ', 'é', ':'),
  maxLength: 24,
});

describe('validateRepositoryName agrees with the ECR patterns', () => {
  it('private: no problems exactly when the pattern and length allow the name', () => {
    fc.assert(
      fc.property(nameish, (name) => {
        const valid = PRIVATE_REPOSITORY_NAME.test(name) && name.length >= 2 && name.length <= 256;
        expect(validateRepositoryName(name).length === 0).toBe(valid);
      }),
      { numRuns: 3000 },
    );
  });

  it('public: no problems exactly when the pattern, the length and the first letter allow the name', () => {
    fc.assert(
      fc.property(nameish, (name) => {
        const valid =
          PUBLIC_REPOSITORY_NAME.test(name) && /^[a-z]/.test(name) && name.length >= 2 && name.length <= 205;
        expect(validateRepositoryName(name, { public: true }).length === 0).toBe(valid);
      }),
      { numRuns: 3000 },
    );
  });

  it('every problem gives a position or a length', () => {
    fc.assert(
      fc.property(nameish, fc.boolean(), (name, isPublic) => {
        for (const p of validateRepositoryName(name, { public: isPublic })) {
          expect(p.message).toMatch(/at position \d+|characters? long|more characters?/);
        }
      }),
    );
  });
});

describe('suggestRepositoryName', () => {
  it.each([
    ['Payment_API', {}, 'payment-api'],
    ['Payment_API', { public: true }, 'payment-api'],
    ['  My  App!! ', {}, 'my-app'],
    ['a___b', {}, 'a-b'],
    ['a..b', {}, 'a-b'],
    ['/team//app/', {}, 'team/app'],
    ['-a', {}, 'a-repo'],
    ['a', {}, 'a-repo'],
    ['Café', {}, 'cafe'],
    ['1app', { public: true }, 'repo-1app'],
    ['a__b', { public: true }, 'a-b'],
    ['team/payment-api', {}, 'team/payment-api'],
    ['a__b', {}, 'a__b'],
    ['日本', {}, undefined],
    ['!!!', {}, undefined],
  ])('%j %j → %j', (name, opts, expected) => {
    expect(suggestRepositoryName(name, opts)).toBe(expected);
  });

  it('cuts to the length limit without leaving a separator at the end', () => {
    const name = `${'a'.repeat(255)}_b`;
    expect(suggestRepositoryName(name)).toBe(name.replace('_', '-').slice(0, 256).replace(/-$/, ''));
    expect(suggestRepositoryName(name)).toBe('a'.repeat(255));
    expect(suggestRepositoryName('B'.repeat(300), { public: true })).toBe('b'.repeat(205));
  });

  const withAlnum = fc
    .tuple(fc.string({ maxLength: 300 }), fc.constantFrom(...'abcxyzABCXYZ0189'), fc.string({ maxLength: 300 }))
    .map(([a, c, b]) => a + c + b);

  it.each([
    ['private', false],
    ['public', true],
  ])('%s: the suggestion for any string with a letter or digit is valid', (_kind, isPublic) => {
    fc.assert(
      fc.property(
        fc.oneof(
          withAlnum,
          nameish.map((s) => `${s}x`),
        ),
        (name) => {
          const opts = { public: isPublic };
          const suggestion = suggestRepositoryName(name, opts);
          expect(suggestion).toBeDefined();
          expect(validateRepositoryName(suggestion ?? '', opts)).toEqual([]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves valid names alone', () => {
    fc.assert(
      fc.property(nameish, (name) => {
        if (validateRepositoryName(name).length === 0) expect(suggestRepositoryName(name)).toBe(name);
      }),
    );
  });
});

describe('assertRepositoryName', () => {
  it('passes a valid name', () => {
    expect(() => assertRepositoryName('team/payment-api')).not.toThrow();
  });

  it('throws RuleViolation with the rule, the value, every problem and the suggestion', () => {
    let caught: unknown;
    try {
      assertRepositoryName('Payment_API');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RuleViolation);
    const err = caught as RuleViolation;
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe("'Payment_API' is not a valid repository name");
    expect(err.value).toBe('Payment_API');
    expect(err.fix).toBe("use 'payment-api'");
    expect(err.rule).toMatch(/2–256 characters/);
    expect(err.problems).toHaveLength(4);
    expect(err.problems[0]).toBe("character 'P' at position 1 is not allowed: repository names are lowercase");
  });

  it('uses the public rules when asked', () => {
    expect(() => assertRepositoryName('a__b')).not.toThrow();
    expect(() => assertRepositoryName('a__b', { public: true })).toThrow(/not a valid public repository name/);
  });

  it('gives a generic fix when nothing can be suggested', () => {
    try {
      assertRepositoryName('!!');
      expect.unreachable();
    } catch (err) {
      expect((err as RuleViolation).fix).toMatch(/lowercase letters and digits/);
    }
  });
});

describe('houseRuleWarnings', () => {
  it.each([
    ['payment-api', {}, []],
    ['team/payment-api', {}, []],
    [
      'payment_api',
      {},
      [
        "'payment_api' uses '_' at position 8: house rule: repository names use lowercase letters, digits and hyphens only",
      ],
    ],
    [
      'my.app_x',
      {},
      [
        "'my.app_x' uses '.' at position 3, '_' at position 7: house rule: repository names use lowercase letters, digits and hyphens only",
      ],
    ],
    ['payment-api', { CODEBUILD_BUILD_ID: 'payment-api:6f1c7a2e-1111-2222-3333-444455556666' }, []],
    [
      'payment',
      { CODEBUILD_BUILD_ID: 'payment-api:6f1c7a2e' },
      [
        "'payment' differs from the CodeBuild project name 'payment-api' (from CODEBUILD_BUILD_ID): house rule: name the repository after the CodeBuild project so pipelines stay matched",
      ],
    ],
    ['payment', { CODEBUILD_BUILD_ID: '' }, []],
  ])('%j %j', (name, env, expected) => {
    expect(messages(houseRuleWarnings(name, env))).toEqual(expected);
  });

  it('suggests a house-style name and the CodeBuild project name', () => {
    const warnings = houseRuleWarnings('Payment_Api', { CODEBUILD_BUILD_ID: 'Payments_Svc:1' });
    expect(warnings.map((w) => [w.rule, w.suggestion])).toEqual([
      ['house-characters', 'payment-api'],
      ['codebuild-project', 'payments-svc'],
    ]);
  });
});

describe('validateImageTag', () => {
  it.each(['v1.0.0', 'latest', 'main-abc1234', '_x', 'A', 'a'.repeat(128), 'Release_2024.01-rc1'])(
    'accepts %j',
    (tag) => {
      expect(validateImageTag(tag)).toEqual([]);
    },
  );

  it.each([
    ['', ['tag is empty: tags have 1–128 characters']],
    ['a'.repeat(129), ['tag is 129 characters long: tags have 1–128 characters']],
    ['.hidden', ["character '.' at position 1 is not allowed: tags start with a letter, digit or '_'"]],
    ['-x', ["character '-' at position 1 is not allowed: tags start with a letter, digit or '_'"]],
    [
      'app:v1',
      [
        "character ':' at position 4 is not allowed: tags use only letters, digits, '_', '.' and '-' (give the tag alone, not repository:tag or a digest)",
      ],
    ],
    ['v1+build', ["character '+' at position 3 is not allowed: tags use only letters, digits, '_', '.' and '-'"]],
  ])('rejects %j', (tag, expected) => {
    expect(messages(validateImageTag(tag))).toEqual(expected);
  });

  it('agrees with the OCI pattern', () => {
    const tagish = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '_', '.', '-', ':', '+'), maxLength: 140 });
    fc.assert(
      fc.property(tagish, (tag) => {
        expect(validateImageTag(tag).length === 0).toBe(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(tag));
      }),
      { numRuns: 2000 },
    );
  });

  it('assertImageTag throws RuleViolation', () => {
    expect(() => assertImageTag('v1')).not.toThrow();
    expect(() => assertImageTag('-v1')).toThrow(RuleViolation);
  });
});

describe('validateRegistryId', () => {
  it.each([
    ['123456789012', []],
    ['12345678901', ['registry id is 11 characters long: registry ids have exactly 12 characters']],
    ['12345678901a', ["character 'a' at position 12 is not allowed: registry ids are 12 digits"]],
  ])('%j', (id, expected) => {
    expect(messages(validateRegistryId(id))).toEqual(expected);
  });
});

describe('validatePublicAlias', () => {
  it.each(['ab', 'myteam', 'my-team', 'ab.c_d-e', 'a1', 'a'.repeat(50)])('accepts %j', (alias) => {
    expect(validatePublicAlias(alias)).toEqual([]);
  });

  it.each([
    ['a', ['alias is 1 character long: public registry aliases have 2–50 characters']],
    ['a'.repeat(51), ['alias is 51 characters long: public registry aliases have 2–50 characters']],
    ['1ab', ["character '1' at position 1 is not allowed: public registry aliases start with a letter"]],
    [
      'a-b',
      [
        "character '-' at position 2 is not allowed: public registry aliases start with at least 2 letters or digits before the first separator",
      ],
    ],
    ['ab--c', ["'--' at position 3 is not allowed: between letters and digits use a single '.', '_' or '-'"]],
    [
      'my/team',
      [
        "character '/' at position 3 is not allowed: public registry aliases use only lowercase letters, digits, '.', '_' and '-'",
      ],
    ],
  ])('rejects %j', (alias, expected) => {
    expect(messages(validatePublicAlias(alias))).toEqual(expected);
  });

  it('agrees with the alias pattern', () => {
    fc.assert(
      fc.property(nameish, (alias) => {
        const valid = /^[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(alias) && alias.length <= 50;
        expect(validatePublicAlias(alias).length === 0).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('tag mutability exclusion filters', () => {
  it.each([
    ['release-*', []],
    ['*', []],
    ['v1.*_RC', []],
    ['', ['filter is 0 characters long: exclusion filters have 1–128 characters']],
    ['x'.repeat(129), ['filter is 129 characters long: exclusion filters have 1–128 characters']],
    [
      'feat/*',
      [
        "character '/' at position 5 is not allowed: exclusion filters use only letters, digits, '.', '_', '-' and the wildcard '*'",
      ],
    ],
  ])('%j', (filter, expected) => {
    expect(messages(validateMutabilityExclusionFilter(filter))).toEqual(expected);
  });

  it('takes 1 to 5 filters and names the bad one', () => {
    expect(validateMutabilityExclusionFilters(['a*'])).toEqual([]);
    expect(messages(validateMutabilityExclusionFilters([]))).toEqual([
      '0 exclusion filters given: tag mutability takes 1–5',
    ]);
    expect(messages(validateMutabilityExclusionFilters(['a', 'b', 'c', 'd', 'e', 'f']))).toEqual([
      '6 exclusion filters given: tag mutability takes 1–5',
    ]);
    expect(messages(validateMutabilityExclusionFilters(['ok', 'a b']))).toEqual([
      "filter 2 ('a b'): character ' ' (space) at position 2 is not allowed: exclusion filters use only letters, digits, '.', '_', '-' and the wildcard '*'",
    ]);
  });
});

describe('validateResourceTags', () => {
  it('accepts the limits exactly', () => {
    const tags = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`.padEnd(128, 'x'), value: 'v'.repeat(256) }));
    expect(validateResourceTags(tags)).toEqual([]);
    expect(validateResourceTags({ team: 'payments', env: '' })).toEqual([]);
  });

  it('reports each limit', () => {
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: '' }));
    expect(messages(validateResourceTags(tooMany))).toEqual(['51 tags given: a repository has at most 50 tags']);
    expect(messages(validateResourceTags([{ key: 'k'.repeat(129), value: 'v' }]))).toEqual([
      `tag key '${'k'.repeat(40)}…' is 129 characters long: keys have at most 128 characters`,
    ]);
    expect(messages(validateResourceTags({ owner: 'x'.repeat(257) }))).toEqual([
      "value of tag 'owner' is 257 characters long: values have at most 256 characters",
    ]);
    expect(messages(validateResourceTags({ '': 'x' }))).toEqual(['tag key is empty: keys have 1–128 characters']);
    expect(messages(validateResourceTags({ 'aws:owner': 'x' }))).toEqual([
      "tag key 'aws:owner' starts with 'aws:', which AWS reserves",
    ]);
    expect(
      messages(
        validateResourceTags([
          { key: 'team', value: 'a' },
          { key: 'team', value: 'b' },
        ]),
      ),
    ).toEqual(["tag key 'team' is given more than once"]);
  });
});

// The project config: a full file parses into rules with their lines; every kind of mistake
// is reported as file:line with what is wrong, all at once; the file is found upward.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectConfig, parseProjectConfig, repositoryPattern, rulesFor } from '../../src/config/project-config.js';
import { RuleViolation } from '../../src/errors.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FULL = `# team rules
naming:
  houseRulesAsErrors: true
repositories:
  - pattern: team/*-api
    production: true
    strategies: [branch-sha, semver]
    semverAliases: true
    allowedTags:
      - 'main-[0-9a-f]{7}'
      - 'v[0-9]+(\\.[0-9]+){0,2}'
    forbid: [latest]
    requireImmutable: true
    create:
      tagMutability: IMMUTABLE_WITH_EXCLUSION
      mutabilityExclusions: ['dev-*']
      scanOnPush: true
  - pattern: '**'
    strategies: [sha]
`;

describe('parseProjectConfig', () => {
  it('reads every key with the line it is on', () => {
    const c = parseProjectConfig(FULL, '.ecrctl.yaml');
    expect(c.houseRulesAsErrors).toEqual({ value: true, at: '.ecrctl.yaml:3' });
    expect(c.repositories).toHaveLength(2);
    const r = c.repositories[0]!;
    expect(r.pattern).toBe('team/*-api');
    expect(r.at).toBe('.ecrctl.yaml:5');
    expect(r.strategies?.value).toEqual([{ kind: 'branch-sha' }, { kind: 'semver' }]);
    expect(r.allowedTags).toEqual([
      { pattern: 'main-[0-9a-f]{7}', at: '.ecrctl.yaml:10' },
      { pattern: 'v[0-9]+(\\.[0-9]+){0,2}', at: '.ecrctl.yaml:11' },
    ]);
    expect(r.forbid).toEqual([{ tag: 'latest', at: '.ecrctl.yaml:12' }]);
    expect(r.requireImmutable).toEqual({ value: true, at: '.ecrctl.yaml:13' });
    expect(r.create).toEqual({
      tagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      mutabilityExclusions: ['dev-*'],
      scanOnPush: true,
      at: '.ecrctl.yaml:14',
    });
    expect(rulesFor(c, 'team/pay-api')?.pattern).toBe('team/*-api');
    expect(rulesFor(c, 'other/deep/thing')?.pattern).toBe('**');
  });

  it('accepts an empty file', () => {
    expect(parseProjectConfig('', 'x.yaml').repositories).toEqual([]);
  });

  const bad: { name: string; text: string; problems: string[] }[] = [
    {
      name: 'unknown top key with a suggestion',
      text: 'repositorys: []\n',
      problems: [
        "x.yaml:1: unknown key 'repositorys' (did you mean 'repositories'?); known keys: version, naming, repositories, registries",
      ],
    },
    {
      name: 'unknown repository key',
      text: 'repositories:\n  - pattern: app\n    forbidd: [latest]\n',
      problems: [
        "x.yaml:3: unknown key 'repositories[0].forbidd' (did you mean 'repositories[0].forbid'?); known keys: pattern, production, strategies, semverAliases, allowedTags, forbid, requireImmutable, create",
      ],
    },
    {
      name: 'not a boolean',
      text: 'repositories:\n  - pattern: app\n    requireImmutable: yes please\n',
      problems: ['x.yaml:3: repositories[0].requireImmutable is true or false, not "yes please"'],
    },
    {
      name: 'bad strategy',
      text: 'repositories:\n  - pattern: app\n    strategies:\n      - sha\n      - branch\n',
      problems: [
        'x.yaml:5: repositories[0].strategies: unknown tag strategy "branch" (tag strategies are branch-sha, semver, sha, env:NAME, latest)',
      ],
    },
    {
      name: 'bad regex',
      text: "repositories:\n  - pattern: app\n    allowedTags: ['v[0-9']\n",
      problems: [
        expect.stringMatching(
          /^x\.yaml:3: repositories\[0\]\.allowedTags: "v\[0-9" is not a regular expression/,
        ) as unknown as string,
      ],
    },
    {
      name: 'missing pattern',
      text: 'repositories:\n  - forbid: [latest]\n',
      problems: ['x.yaml:2: repositories[0] has no pattern: (e.g. pattern: team/*)'],
    },
    {
      name: 'bad mutability',
      text: 'repositories:\n  - pattern: app\n    create:\n      tagMutability: FROZEN\n',
      problems: [
        'x.yaml:4: repositories[0].create.tagMutability is one of MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION, not "FROZEN"',
      ],
    },
    {
      name: 'YAML syntax',
      text: 'repositories:\n  - pattern: app\n   forbid: [latest\n',
      problems: [
        'x.yaml:3:1: Sequence item without - indicator',
        'x.yaml:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ],
    },
    {
      name: 'duplicate key',
      text: 'naming: {}\nnaming: {}\n',
      problems: [expect.stringMatching(/^x\.yaml:2:1: .*unique/i) as unknown as string],
    },
    {
      name: 'two problems at once',
      text: 'version: 2\nrepositories:\n  - pattern: App\n',
      problems: [
        'x.yaml:1: version: only version 1 exists',
        expect.stringMatching(
          /^x\.yaml:3: repositories\[0\]\.pattern is a repository name pattern/,
        ) as unknown as string,
      ],
    },
  ];
  it.each(bad)('$name → RuleViolation naming file:line', ({ text, problems }) => {
    let err: unknown;
    try {
      parseProjectConfig(text, 'x.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleViolation);
    expect((err as RuleViolation).exitCode).toBe(3);
    expect((err as RuleViolation).message).toBe('the config file x.yaml is not valid; nothing was done');
    expect((err as RuleViolation).problems).toEqual(problems);
  });
});

describe('repositoryPattern', () => {
  it.each([
    ['app', 'app', true],
    ['team/*', 'team/app', true],
    ['team/*', 'team/a/b', false],
    ['team/**', 'team/a/b', true],
    ['**/api', 'api', true],
    ['**/api', 'x/y/api', true],
    ['*-prod', 'pay-prod', true],
    ['app?', 'app1', true],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, name, want) => {
    expect(repositoryPattern(pattern).test(name)).toBe(want);
  });
});

describe('loadProjectConfig', () => {
  it('finds .ecrctl.yaml upward, names it relative to cwd, and takes --config over it', async () => {
    const deep = path.join(tmp, 'a', 'b', 'c');
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(tmp, 'a', '.ecrctl.yaml'), 'repositories:\n  - pattern: up\n');
    writeFileSync(path.join(tmp, 'other.yaml'), 'repositories:\n  - pattern: other\n');
    const found = await loadProjectConfig(deep);
    expect(found?.repositories[0]?.pattern).toBe('up');
    expect(found?.file).toBe(path.join(tmp, 'a', '.ecrctl.yaml'));
    const inside = await loadProjectConfig(path.join(tmp, 'a'));
    expect(inside?.file).toBe('.ecrctl.yaml');
    expect((await loadProjectConfig(deep, '../../../other.yaml'))?.repositories[0]?.pattern).toBe('other');
  });

  it('returns undefined without a file, and exit 6 for a --config that does not exist', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'ecrctl-noconfig-'));
    try {
      expect(await loadProjectConfig(empty)).toBeUndefined();
      await expect(loadProjectConfig(empty, 'missing.yaml')).rejects.toMatchObject({
        exitCode: 6,
        message: 'the config file missing.yaml does not exist',
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

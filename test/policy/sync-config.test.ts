// The sync config: parsing, every problem at its file:line (exit 3), tag filters, shards.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExitCode, RuleViolation, UsageError } from '../../src/errors.js';
import { compareVersions, filterTags, parseShard, parseSyncConfig, shardOf } from '../../src/policy/sync-config.js';

function problemsOf(text: string): string[] {
  try {
    parseSyncConfig(text, 'sync.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RuleViolation);
    expect((err as RuleViolation).exitCode).toBe(ExitCode.rule);
    return [...(err as RuleViolation).problems];
  }
  throw new Error('expected the config to be refused');
}

describe('parseSyncConfig', () => {
  it('reads defaults, single-repository and prefix entries, with defaults applied', () => {
    const c = parseSyncConfig(
      [
        'version: 1',
        'defaults:',
        '  platforms: all',
        '  referrers: false',
        '  existing: skip',
        '  repository: { tagMutability: IMMUTABLE_WITH_EXCLUSION, mutabilityExclusions: [latest], scanOnPush: true }',
        'sync:',
        '  - source: docker.io/library/node',
        '    target: mirror/node',
        "    tags: { allow: ['^22\\.', '^24\\.'], deny: ['-rc'], newest: 10 }",
        '  - source: 127.0.0.1:5000/acme/',
        '    target: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme/',
        "    repositories: { deny: ['^legacy/'] }",
        '    platforms: [linux/arm64]',
        '    existing: overwrite',
      ].join('\n'),
      'sync.yaml',
    );
    expect(c.entries).toHaveLength(2);
    const [node, acme] = c.entries;
    expect(node).toMatchObject({
      source: 'docker.io/library/node',
      target: 'mirror/node',
      prefix: false,
      referrers: false,
      existing: 'skip',
      platforms: 'all',
      createRepositories: true,
      tags: { allow: ['^22\\.', '^24\\.'], deny: ['-rc'], newest: 10 },
      repository: { tagMutability: 'IMMUTABLE_WITH_EXCLUSION', mutabilityExclusions: ['latest'], scanOnPush: true },
      at: 'sync.yaml:8',
    });
    expect(acme).toMatchObject({
      source: '127.0.0.1:5000/acme',
      target: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme',
      prefix: true,
      platforms: ['linux/arm64'],
      existing: 'overwrite',
      repositories: { allow: [], deny: ['^legacy/'] },
      at: 'sync.yaml:11',
    });
  });

  it('defaults to every platform, referrers, created repositories and overwriting moved tags', () => {
    const c = parseSyncConfig('sync:\n  - { source: a.example/app, target: app }\n', 'f.yaml');
    expect(c.entries[0]).toMatchObject({
      platforms: 'all',
      referrers: true,
      createRepositories: true,
      existing: 'overwrite',
      tags: { allow: [], deny: [] },
    });
  });

  it('lists every problem with its file and line, and names the fix', () => {
    const problems = problemsOf(
      [
        'defaults:',
        '  existing: keep',
        '  referers: true',
        'sync:',
        '  - source: reg.example/app:v1',
        '    target: mirror/app',
        "    tags: { allow: ['(unclosed'], semver: '>=1.4' }",
        '  - source: reg.example/acme/',
        '    target: mirror/acme',
        '  - source: reg.example/b',
        '    target: mirror/app',
        '    platforms: [linux/amd64, linux/arm64]',
        '  - target: x',
      ].join('\n'),
    );
    expect(problems).toEqual([
      'sync.yaml:2: defaults.existing: skip, overwrite or backup, not "keep"',
      "sync.yaml:3: unknown key 'defaults.referers'; known keys: platforms, referrers, createRepositories, existing, repository, tags, credentials, pullTimeExclusion",
      expect.stringMatching(/^sync\.yaml:5: sync\[0\]\.source: names a repository, without a tag or digest/),
      expect.stringMatching(/^sync\.yaml:7: sync\[0\]\.tags\.allow: "\(unclosed" is not a regular expression/),
      expect.stringMatching(/^sync\.yaml:8: sync\[1\]: source and target both end with \//),
      'sync.yaml:10: sync[2].target: "mirror/app" is already the target of sync[0]',
      'sync.yaml:12: sync[2].platforms: all, or one platform (several platforms out of one index are not supported yet)',
      'sync.yaml:13: sync[3]: an entry names both source: and target:',
    ]);
  });

  it('reads per-side credentials: defaults per side, an entry side replacing the same side only', () => {
    const c = parseSyncConfig(
      [
        'defaults:',
        '  existing: backup',
        '  credentials:',
        '    target: { profile: backup }',
        'sync:',
        '  - source: ghcr.io/acme/app',
        '    target: mirror/app',
        '    credentials:',
        '      source: { username: robot, passwordEnv: GHCR_TOKEN }',
        '  - source: 111122223333.dkr.ecr.us-east-1.amazonaws.com/',
        '    target: 444455556666.dkr.ecr.us-west-2.amazonaws.com/',
        '    credentials:',
        '      source: { roleArn: "arn:aws:iam::111122223333:role/sync-read", externalId: ext-42 }',
        '      target: { profile: dr }',
        '  - source: quay.io/acme/tool',
        '    target: mirror/tool',
        '    credentials: { source: { dockerConfig: ./ci/docker } }',
      ].join('\n'),
      'sync.yaml',
    );
    expect(c.defaults.existing).toBe('backup');
    expect(c.entries.map((e) => e.credentials)).toEqual([
      {
        source: { at: 'sync.yaml:9', username: 'robot', passwordEnv: 'GHCR_TOKEN' },
        target: { at: 'sync.yaml:4', profile: 'backup' },
      },
      {
        source: { at: 'sync.yaml:13', roleArn: 'arn:aws:iam::111122223333:role/sync-read', externalId: 'ext-42' },
        target: { at: 'sync.yaml:14', profile: 'dr' },
      },
      { source: { at: 'sync.yaml:17', dockerConfig: './ci/docker' }, target: { at: 'sync.yaml:4', profile: 'backup' } },
    ]);
  });

  it('refuses credentials that are not one way of signing in, each at its line', () => {
    expect(
      problemsOf(
        [
          'sync:',
          '  - source: ghcr.io/acme/app',
          '    target: mirror/app',
          '    credentials:',
          '      source: { username: robot, password: hunter2hunter2 }',
          '      target: { profile: prod, username: x, passwordEnv: X }',
          '  - source: ghcr.io/acme/b',
          '    target: mirror/b',
          '    credentials:',
          '      source: { passwordEnv: "not a name", username: u }',
          '      target: { roleArn: "arn:aws:iam::1:role/x" }',
          '  - source: ghcr.io/acme/c',
          '    target: mirror/c',
          '    credentials:',
          '      source: { externalId: abc }',
          '      mirror: { profile: p }',
          '  - source: ghcr.io/acme/d',
          '    target: mirror/d',
          '    credentials: { source: {} }',
        ].join('\n'),
      ),
    ).toEqual([
      'sync.yaml:5: sync[0].credentials.source.password: a password is never written in the sync config; put it in an environment variable and name that variable with passwordEnv',
      'sync.yaml:5: sync[0].credentials.source: username and passwordEnv go together (passwordEnv names the variable with the password)',
      'sync.yaml:6: sync[0].credentials.target: profile/roleArn are for ECR registries, dockerConfig/username/passwordEnv for others; a side uses one kind',
      'sync.yaml:10: sync[1].credentials.source.passwordEnv: the NAME of an environment variable (letters, digits, _), e.g. SOURCE_PASSWORD, not "not a name"',
      'sync.yaml:11: sync[1].credentials.target.roleArn: an IAM role ARN, e.g. arn:aws:iam::111122223333:role/sync, not "arn:aws:iam::1:role/x"',
      'sync.yaml:15: sync[2].credentials.source.externalId: goes with roleArn (the role that asks for it)',
      "sync.yaml:16: unknown key 'sync[2].credentials.mirror'; known keys: source, target",
      'sync.yaml:19: sync[3].credentials.source: names no credentials: give profile, roleArn, dockerConfig, or username + passwordEnv',
    ]);
  });

  it('reads tags.since as a window (h, d, w) and refuses other text at its line', () => {
    const c = parseSyncConfig('sync:\n  - source: a.example/x\n    target: y\n    tags: { since: 30d }\n', 'sync.yaml');
    expect(c.entries[0]!.tags.since).toEqual({ text: '30d', ms: 30 * 24 * 3_600_000 });
    expect(problemsOf('sync:\n  - source: a.example/x\n    target: y\n    tags:\n      since: 1 month\n')).toEqual([
      'sync.yaml:5: sync[0].tags.since: a window such as 30d, 12h or 2w (pushed since then), not "1 month"',
    ]);
  });

  it('accepts examples/sync/credentials.yaml as written', () => {
    const file = 'examples/sync/credentials.yaml';
    const c = parseSyncConfig(readFileSync(file, 'utf8'), file);
    expect(
      c.entries.map((e) => [
        e.existing,
        e.credentials.source?.username ?? e.credentials.source?.roleArn ?? e.credentials.source?.dockerConfig,
        e.credentials.target?.profile,
      ]),
    ).toEqual([
      ['backup', 'sync-robot', 'mirror-writer'],
      ['backup', 'arn:aws:iam::111122223333:role/ecr-sync-read', 'mirror-writer'],
      ['backup', './docker-quay', 'mirror-writer'],
    ]);
    expect(c.entries[1]!.tags.since?.text).toBe('30d');
  });

  it('accepts examples/sync/sync.yaml as written', () => {
    const c = parseSyncConfig(readFileSync('examples/sync/sync.yaml', 'utf8'), 'examples/sync/sync.yaml');
    expect(c.entries.map((e) => [e.source, e.target, e.prefix])).toEqual([
      ['docker.io/library/node', 'mirror/node', false],
      ['registry.internal.example:5000/acme', '111122223333.dkr.ecr.eu-west-1.amazonaws.com/acme', true],
    ]);
    expect(filterTags(['22.1.0', '22.2.0-rc1', '24.0.0-alpine3.18', '24.0.0', '20.0.0'], c.entries[0]!.tags)).toEqual([
      '22.1.0',
      '24.0.0',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const problems = problemsOf('sync:\n  - source: a\n   target: [b\n');
    expect(problems[0]).toMatch(/^sync\.yaml:\d+:\d+: /);
  });

  it('refuses a config without entries', () => {
    expect(problemsOf('defaults: {}\n')).toEqual([
      'sync.yaml:1: sync: is a list of entries, each starting with - source: … and target: …',
    ]);
  });
});

describe('filterTags', () => {
  const tags = ['22.1.0', '22.10.0', '22.2.0', '22.9.0-rc1', '24.0.0', '20.0.0', 'latest'];

  it('keeps allowed tags, drops denied ones, in version order', () => {
    expect(filterTags(tags, { allow: ['^22\\.', '^24\\.'], deny: ['-rc'] })).toEqual([
      '22.1.0',
      '22.2.0',
      '22.10.0',
      '24.0.0',
    ]);
  });

  it('keeps the newest N in version order (1.10 after 1.9)', () => {
    expect(filterTags(tags, { allow: ['^\\d'], deny: ['-rc'], newest: 2 })).toEqual(['22.10.0', '24.0.0']);
  });

  it('keeps the tags that read as versions within a semver range (prereleases only when named)', () => {
    const all = ['1.3.9', 'v1.4', '1.4.2', '1.10', '1.4.3-rc.1', '2.0.0', '1', 'latest', '1.5-alpine', 'v1.12.0'];
    expect(filterTags(all, { allow: [], deny: [], semver: '>=1.4 <2' })).toEqual(['v1.4', '1.4.2', '1.10', 'v1.12.0']);
    expect(filterTags(all, { allow: [], deny: [], semver: '^1.4.3-rc.0' })).toEqual(['1.4.3-rc.1', '1.10', 'v1.12.0']);
    expect(filterTags(all, { allow: [], deny: [], semver: '1.x', newest: 2 })).toEqual(['1.10', 'v1.12.0']);
  });

  it('refuses a range that does not parse, at its line', () => {
    const text = 'sync:\n  - source: a.example/x\n    target: y\n    tags: { semver: "bananas" }\n';
    expect(() => parseSyncConfig(text, 'sync.yaml')).toThrow(/./);
    try {
      parseSyncConfig(text, 'sync.yaml');
    } catch (err) {
      expect((err as { problems: string[] }).problems).toEqual([
        'sync.yaml:4: sync[0].tags.semver: an npm semver range such as ">=1.4 <2", "^1.4" or "1.x", not "bananas"',
      ]);
    }
  });

  it('keeps every tag without allow and deny', () => {
    expect(filterTags(tags, { allow: [], deny: [] })).toHaveLength(tags.length);
  });

  it('orders versions as numbers, and totally', () => {
    expect(compareVersions('1.9', '1.10')).toBeLessThan(0);
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        (a, b) => Math.sign(compareVersions(a, b)) === -Math.sign(compareVersions(b, a)),
      ),
    );
  });
});

describe('shards', () => {
  it('parses I/N and refuses the rest', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1-3']) expect(() => parseShard(bad)).toThrow(UsageError);
  });

  it('puts each repository in exactly one stable shard, spread over all of them', () => {
    const names = Array.from({ length: 300 }, (_, i) => `team-${i}/service`);
    const counts = [0, 0, 0];
    for (const n of names) {
      const s = shardOf(n, 3);
      expect(s).toBe(shardOf(n, 3));
      counts[s - 1]! += 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(60);
    expect(shardOf('anything', 1)).toBe(1);
  });
});

describe('repository.lifecycle and pullTimeExclusion', () => {
  it('renders a preset at parse time and keeps a file relative to the sync file', () => {
    const c = parseSyncConfig(
      `defaults:
  repository: { lifecycle: "preset:expire-untagged,days=7" }
  pullTimeExclusion: arn:aws:iam::111122223333:role/sync
sync:
  - source: a.example/x
    target: mirror/x
  - source: a.example/y
    target: mirror/y
    repository: { tagMutability: IMMUTABLE, lifecycle: policies/keep.json }
`,
      'conf/sync.yaml',
    );
    expect(c.defaults.pullTimeExclusion).toBe('arn:aws:iam::111122223333:role/sync');
    const preset = c.entries[0]!.repository.lifecycle!;
    expect(preset).toMatchObject({
      source: 'preset:expire-untagged,days=7',
      at: 'conf/sync.yaml:2',
      key: 'defaults.repository.lifecycle',
    });
    expect(JSON.parse(preset.text!).rules[0].selection).toEqual({
      tagStatus: 'untagged',
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 7,
    });
    expect(c.entries[1]!.repository.lifecycle).toEqual({
      source: 'policies/keep.json',
      at: 'conf/sync.yaml:9',
      key: 'sync[1].repository.lifecycle',
      file: 'conf/policies/keep.json',
    });
  });

  it('names a bad preset, parameter or principal at its line', () => {
    expect(
      problemsOf(`defaults:
  pullTimeExclusion: arn:aws:iam::111122223333:group/sync
sync:
  - source: a.example/x
    target: mirror/x
    repository: { lifecycle: "preset:keep-everything" }
  - source: a.example/y
    target: mirror/y
    repository:
      lifecycle: "preset:keep-last-n-tagged,count=5"
  - source: a.example/z
    target: mirror/z
    repository: { lifecycle: "preset:expire-untagged,weeks=2" }
`),
    ).toEqual([
      expect.stringMatching(/^sync\.yaml:2: defaults\.pullTimeExclusion: the ARN of the IAM user or role/),
      expect.stringMatching(
        /^sync\.yaml:6: sync\[0\]\.repository\.lifecycle: unknown lifecycle preset "keep-everything"/,
      ),
      expect.stringMatching(
        /^sync\.yaml:10: sync\[1\]\.repository\.lifecycle: preset keep-last-n-tagged needs the parameter "prefix"/,
      ),
      expect.stringMatching(
        /^sync\.yaml:13: sync\[2\]\.repository\.lifecycle: preset expire-untagged has no parameter "weeks"/,
      ),
    ]);
  });
});

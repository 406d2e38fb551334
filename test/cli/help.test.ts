import { describe, expect, it } from 'vitest';
import { HELP_TOPICS, nearest } from '../../src/help/topics.js';
import { parseProjectConfig } from '../../src/config/project-config.js';
import { ExitCode } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';

describe('ecrctl help', () => {
  it.each([
    {
      topic: 'references',
      says: [
        'oci:DIR[:TAG]',
        'docker-archive:FILE[:REF]',
        'docker-daemon:IMAGE',
        '.dkr.ecr.',
        'loopback',
        '--insecure',
      ],
    },
    {
      topic: 'tag-strategies',
      says: ['branch-sha', 'semver', 'env:NAME', 'latest', 'CODEBUILD_RESOLVED_SOURCE_VERSION', 'GITHUB_SHA', 'git'],
    },
    { topic: 'exit-codes', says: ['130'] },
    {
      topic: 'config',
      says: ['.ecrctl.yaml', '--config', 'requireImmutable', 'forbid', 'allowedTags', 'houseRulesAsErrors', 'create:'],
    },
  ])('prints the $topic topic on stdout and exits 0', async ({ topic, says }) => {
    const r = await runCli(['help', topic]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(HELP_TOPICS.find((t) => t.name === topic)?.text);
    for (const s of says) expect(r.stdout).toContain(s);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('shows a config example that ecrctl itself accepts', () => {
    const text = HELP_TOPICS.find((t) => t.name === 'config')!.text;
    const yaml = text.slice(text.indexOf('  # .ecrctl.yaml'), text.indexOf('\n\n', text.indexOf('  # .ecrctl.yaml')));
    const config = parseProjectConfig(yaml.replace(/^ {2}/gm, ''), '.ecrctl.yaml');
    expect(config.houseRulesAsErrors?.value).toBe(true);
    expect(config.repositories.map((r) => r.pattern)).toEqual(['team/*-api']);
  });

  it('lists every exit code ecrctl uses in the exit-codes topic', async () => {
    const r = await runCli(['help', 'exit-codes']);
    for (const [name, code] of Object.entries(ExitCode)) {
      expect(r.stdout, name).toMatch(new RegExp(`^ *${code}  \\S`, 'm'));
    }
  });

  it.each([
    { help: ['help', 'tag-push'], same: ['tag-push', '--help'] },
    { help: ['help', 'lifecycle'], same: ['lifecycle', '--help'] },
    { help: ['help', 'lifecycle', 'simulate'], same: ['lifecycle', 'simulate', '--help'] },
    { help: ['help'], same: ['--help'] },
    { help: ['help', 'help'], same: ['help', '--help'] },
  ])('`ecrctl $help` prints what `ecrctl $same` prints', async ({ help, same }) => {
    const [a, b] = await Promise.all([runCli(help), runCli(same)]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^Usage: ecrctl/);
  });

  it('lists the topics in the root --help', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toContain('\nHelp topics:\n');
    for (const t of HELP_TOPICS)
      expect(r.stdout).toMatch(
        new RegExp(`\\n {2}\\$ ecrctl help ${t.name} +${t.summary.replace(/[.()]/g, '\\$&')}\\n`),
      );
  });

  it.each([
    { args: ['help', 'exit-code'], fix: 'did you mean `ecrctl help exit-codes`?' },
    { args: ['help', 'refrences'], fix: 'did you mean `ecrctl help references`?' },
    { args: ['help', 'tag-psuh'], fix: 'did you mean `ecrctl help tag-push`?' },
    { args: ['help', 'lifecycle', 'simlate'], fix: 'did you mean `ecrctl help lifecycle simulate`?' },
  ])('exits 2 for `ecrctl $args` and suggests the nearest name', async ({ args, fix }) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`named '${args.at(-1)}'`);
    expect(r.stderr).toContain(fix);
  });

  it('lists the topics when nothing is close', async () => {
    const r = await runCli(['help', 'kubernetes']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('did you mean');
    expect(r.stderr).toContain('topics: references, tag-strategies, exit-codes, config');
  });
});

describe('nearest', () => {
  const names = ['references', 'tag-strategies', 'exit-codes', 'config', 'tag-push', 'tags', 'pull', 'copy', 'cost'];
  it.each([
    ['tag-psuh', 'tag-push'],
    ['tgas', 'tags'],
    ['exit', 'exit-codes'],
    ['confg', 'config'],
    ['cots', 'cost'],
    ['xyzzy', undefined],
    ['kubernetes', undefined],
  ])('%s → %s', (word, want) => {
    expect(nearest(word, names)).toBe(want);
  });
});

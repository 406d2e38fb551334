// Every --help, of every command and subcommand, fits 80 columns — options, their
// descriptions and the examples included — as a terminal of that width shows it.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** The subcommand names listed in a help text's Commands: section. */
function subcommands(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string).filter((n) => n !== 'help');
}

async function everyHelp(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const queue: string[][] = [[]];
  while (queue.length > 0) {
    const path = queue.shift() as string[];
    const r = await runCli([...path, '--help']);
    expect(r.code, path.join(' ')).toBe(0);
    out.set(path.join(' ') || 'ecrctl', r.stdout);
    for (const sub of subcommands(r.stdout)) queue.push([...path, sub]);
  }
  return out;
}

describe('--help at 80 columns', () => {
  it('every line of every command and subcommand fits, examples included', async () => {
    const helps = await everyHelp();
    expect(helps.size).toBeGreaterThan(40);
    const over: string[] = [];
    for (const [name, text] of helps) {
      for (const line of text.split('\n')) if ([...line].length > 80) over.push(`${name}: ${line}`);
    }
    expect(over).toEqual([]);
  });

  it('puts a long option on its own line and wraps its description under the column', async () => {
    const r = await runCli(['create-repo', '--help']);
    expect(r.stdout).toMatch(/\n {2}--mutability-exclusion <pattern>\n {34}a tag wildcard excluded/);
  });

  it('prints defaults and choices as values, not JSON strings', async () => {
    const r = await runCli(['pull', '--help']);
    expect(r.stdout).toMatch(/\(default: 4\)/);
    expect(r.stdout).not.toMatch(/default: "/);
    const create = await runCli(['create-repo', '--help']);
    expect(create.stdout).toContain('(choices: AES256, KMS)');
  });

  it('breaks a long example between shell words with a continuation', async () => {
    const r = await runCli(['create-repo', '--help']);
    expect(r.stdout).toContain(
      '  $ ecrctl create-repo app --if-not-exists --apply --tag-mutability \\\n      IMMUTABLE_WITH_EXCLUSION --mutability-exclusion "dev-*"',
    );
  });
});

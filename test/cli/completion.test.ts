import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Command, Help } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandSpec, completionScript, describeCommand, SHELLS } from '../../src/cli/completion.js';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../..');
const committed: Record<string, string> = { bash: 'ecrctl.bash', zsh: '_ecrctl', fish: 'ecrctl.fish' };

function program(): Command {
  return buildProgram({
    context() {
      throw new Error('no command runs in these tests');
    },
    write: { out: () => {}, err: () => {} },
    env: {},
  });
}

function find(spec: CommandSpec, ...names: string[]): CommandSpec {
  let at = spec;
  for (const n of names) {
    const next = at.commands.find((c) => c.path.at(-1) === n);
    if (!next) throw new Error(`no command ${names.join(' ')}`);
    at = next;
  }
  return at;
}

describe('completion scripts in completions/', () => {
  it.each(SHELLS)('completions/%s matches what `ecrctl completion` prints', async (shell) => {
    const r = await runCli(['completion', shell]);
    expect(r.code).toBe(0);
    const file = `completions/${committed[shell]}`;
    const onDisk = readFileSync(path.join(root, file), 'utf8');
    expect(
      onDisk === r.stdout,
      `${file} is out of date with the command tree; regenerate it with:\n` +
        `  npm run build && node bin/ecrctl.js completion ${shell} > ${file}`,
    ).toBe(true);
  });

  it('exits 2 for a shell it has no script for', async () => {
    const r = await runCli(['completion', 'powershell']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Allowed choices are bash, zsh, fish');
    expect(r.stdout).toBe('');
  });
});

describe('the command tree the scripts are made from', () => {
  const spec = describeCommand(program());

  it('has every command and subcommand of the live program', () => {
    const walk = (cmd: Command, s: CommandSpec): void => {
      // Hidden commands stay out of the scripts, as they stay out of --help.
      const visible = new Help().visibleCommands(cmd);
      const declared = cmd.commands.filter((c) => visible.includes(c)).map((c) => c.name());
      expect(s.commands.map((c) => c.path.at(-1))).toEqual(declared);
      for (const c of cmd.commands) walk(c, find(s, c.name()));
    };
    walk(program(), spec);
    expect(find(spec, 'lifecycle').commands.map((c) => c.path.at(-1))).toEqual(
      expect.arrayContaining(['validate', 'simulate', 'presets']),
    );
  });

  it('takes enum values from Option.choices() and inherits global options', () => {
    const output = find(spec, 'pull').options.find((o) => o.long === '--output');
    expect(output?.value).toEqual({ kind: 'words', words: ['text', 'json', 'env'] });
    expect(find(spec, 'pull').options.find((o) => o.long === '--platform')?.value).toEqual({ kind: 'none' });
    expect(find(spec, 'pull').options.find((o) => o.long === '--no-color')?.value).toBeUndefined();
    expect(find(spec, 'lifecycle', 'simulate').options.find((o) => o.long === '--images')?.value).toEqual({
      kind: 'files',
    });
  });

  it('offers the shells for `completion` and topics plus commands for `help`', () => {
    expect(find(spec, 'completion').args[0]?.value).toEqual({ kind: 'words', words: ['bash', 'zsh', 'fish'] });
    const help = find(spec, 'help').args[0]?.value;
    expect(help?.kind).toBe('words');
    const words = help?.kind === 'words' ? help.words : [];
    expect(words).toEqual(
      expect.arrayContaining(['references', 'tag-strategies', 'exit-codes', 'config', 'tag-push', 'lifecycle']),
    );
    expect(words).not.toContain('help');
  });

  it('names every command in every script', () => {
    const all = (s: CommandSpec): string[] => s.commands.flatMap((c) => [c.path.at(-1)!, ...all(c)]);
    for (const shell of SHELLS) {
      const script = completionScript(shell, program());
      for (const name of all(spec)) expect(script, `${shell}: ${name}`).toContain(name);
    }
  });
});

describe('the bash script in a real bash', () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-completion-'));
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    script = path.join(dir, 'ecrctl.bash');
    writeFileSync(script, r.stdout);
    mkdirSync(path.join(dir, 'work', 'out'), { recursive: true });
    writeFileSync(path.join(dir, 'work', 'policy.json'), '{}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Returns the sorted candidates the completion function offers for the words (the last is being typed). */
  function complete(words: string[]): string[] {
    const r = spawnSync(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash syntax, not a JS template
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ecrctl; printf "%s\\n" "${COMPREPLY[@]}"',
        'bash',
        script,
        ...words,
      ],
      { cwd: path.join(dir, 'work'), encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .sort();
  }

  // Words as bash splits them: COMP_WORDBREAKS makes `oci:./o` three words and `--output=j` three.
  it.each([
    { line: ['ecrctl', 'ta'], want: ['tag-push', 'tags'] },
    { line: ['ecrctl', 'pull', '--pl'], want: ['--platform'] },
    { line: ['ecrctl', '--output', ''], want: ['env', 'json', 'text'] },
    { line: ['ecrctl', '-o', 'j'], want: ['json'] },
    { line: ['ecrctl', '--output', '=', 'j'], want: ['json'] },
    { line: ['ecrctl', 'lifecycle', 'si'], want: ['simulate'] },
    { line: ['ecrctl', 'lifecycle', 'presets', ''], want: ['show'] },
    { line: ['ecrctl', '--region', 'us-east-1', 'lifecycle', 'v'], want: ['validate'] },
    { line: ['ecrctl', 'lifecycle', 'simulate', '--al'], want: ['--all'] },
    { line: ['ecrctl', 'lifecycle', 'simulate', '--images', 'p'], want: ['policy.json'] },
    { line: ['ecrctl', 'pull', 'app:v1', 'oci', ':', './o'], want: ['./out'] },
    { line: ['ecrctl', 'completion', ''], want: ['bash', 'fish', 'zsh'] },
    { line: ['ecrctl', 'completion', 'bash', ''], want: [] },
    { line: ['ecrctl', 'help', 'ex'], want: ['exit-codes'] },
    { line: ['ecrctl', 'help', 'tag'], want: ['tag-push', 'tag-strategies', 'tags'] },
    { line: ['ecrctl', 'pull', '--platform', ''], want: [] },
    { line: ['ecrctl', 'pull', 'a', 'b', ''], want: [] },
  ])('$line.1 … $line', ({ line, want }) => {
    expect(complete(line)).toEqual(want);
  });

  it('offers a subcommand of every command that has some', () => {
    const spec = describeCommand(program());
    const withSubs = (s: CommandSpec): CommandSpec[] => [
      ...(s.commands.length > 0 ? [s] : []),
      ...s.commands.flatMap(withSubs),
    ];
    for (const cmd of withSubs(spec)) {
      expect(complete(['ecrctl', ...cmd.path, '']), cmd.path.join(' ')).toEqual(
        cmd.commands.map((c) => c.path.at(-1)).sort(),
      );
    }
  });
});

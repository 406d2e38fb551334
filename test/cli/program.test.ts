import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('ecrctl program', () => {
  it('prints the version and exits 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('lists every command with a summary in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const verb of ['tag-push', 'pull', 'copy', 'inspect', 'tags'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${verb}\\b`));
    expect(r.stdout).toContain('--output <format>');
    expect(r.stdout).toContain('Examples:');
  });

  it('gives each command a summary, a description and an example', async () => {
    const top = await runCli(['--help']);
    const verbs = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]+)\b/gm)].map((m) => m[1]!).filter((v) => v !== 'help');
    expect(verbs.length).toBeGreaterThanOrEqual(5);
    for (const verb of verbs) {
      const r = await runCli([verb, '--help']);
      expect(r.code, verb).toBe(0);
      expect(r.stdout, verb).toMatch(/Examples:\n {2}\$ ecrctl /);
      expect(r.stdout.split('\n').length, verb).toBeGreaterThan(6);
    }
  });

  it('wraps each description to 80 columns as whole lines, not 80 columns plus a stub', async () => {
    const top = await runCli(['--help']);
    const verbs = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]+)\b/gm)].map((m) => m[1]!);
    for (const args of [[], ...verbs.map((v) => [v])]) {
      const r = await runCli([...args, '--help']);
      const description = r.stdout.split('\n\n')[1]!.split('\n');
      for (const [i, line] of description.entries()) {
        expect(line.length, `${args[0] ?? 'ecrctl'}: ${line}`).toBeLessThanOrEqual(80);
        // Only a paragraph's last line, or one before a label or list line, may be short.
        const next = description[i + 1];
        if (next !== undefined && /^[a-z(`"]/.test(next))
          expect(line.length, `${args[0] ?? 'ecrctl'}: ${line}`).toBeGreaterThan(50);
      }
    }
  });

  it('exits 2 with a suggestion for a mistyped command', async () => {
    const r = await runCli(['tag-psh', 'a', 'b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'tag-psh'");
    expect(r.stderr).toContain('Did you mean tag-push?');
  });

  it('exits 2 with a suggestion for a mistyped option', async () => {
    const r = await runCli(['pull', '--platfrom', 'linux/amd64', 'a', 'oci:x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--platfrom'");
    expect(r.stderr).toContain('--platform');
  });

  it('exits 2 for an output format that does not exist', async () => {
    const r = await runCli(['--output', 'yaml', 'tags', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are text, json, env/);
  });

  it('exits 2 for a bad reference, naming the rule and the fix', async () => {
    const r = await runCli(['tags', '127.0.0.1:5000/Team/App']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid image reference "127.0.0.1:5000/Team/App"');
    expect(r.stderr).toContain('rule:');
    expect(r.stderr).toContain('fix:');
  });

  it('exits 2 for a --registry-id that is not 12 digits', async () => {
    const r = await runCli(['--registry-id', '1234', 'tags', '127.0.0.1:5000/a']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--registry-id must be a 12-digit AWS account id');
  });

  it('prints no colour codes when stderr is not a terminal', async () => {
    const r = await runCli(['tags', '127.0.0.1:5000/Team/App'], { env: { NO_COLOR: '' } });
    expect(r.stderr).not.toMatch(/\u001b\[/);
  });
});

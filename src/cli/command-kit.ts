// What each commands/<verb>.ts needs to declare itself, kept apart from program.ts so that
// command files do not import the module that imports them.
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { wrapExample } from './help-format.js';

/** What each commands/<verb>.ts receives to declare itself. */
export interface CommandHost {
  /** Returns the context for the command being run (global options merged in). */
  context(cmd: Command): CliContext;
}

/** A verb's declaration: adds one top-level command (with its subcommands) to program. */
export type DefineCommand = (program: Command, host: CommandHost) => void;

/**
 * Returns an example block for --help: `Examples:` then one indented line each (a command
 * longer than 80 columns continues on the next line after ` \`).
 */
export function examples(...lines: string[]): string {
  const block = lines.flatMap((l) => wrapExample(`  $ ${l}`, 80, '      '));
  return `\nExamples:\n${block.join('\n')}\n`;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Adds the transfer options every image-moving verb shares, declared once: --platform,
 * --concurrency and (unless `referrers` is false) --no-referrers, each with the verb's own help.
 */
export function transferOptions(cmd: Command, help: { platform: string; referrers?: string | false }): Command {
  cmd
    .option('--platform <os/arch[/variant]>', help.platform)
    .option('--concurrency <n>', 'blobs transferred at once', '4');
  if (help.referrers !== false) {
    cmd.option(
      '--no-referrers',
      help.referrers ?? "do not carry the image's referrers (signatures, SBOMs, attestations) along",
    );
  }
  return cmd;
}

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

/** The tag options tagOptions declares, as commander parses them. */
export interface TagCliOptions {
  tag?: string[];
  /** false after --no-tag-strategy (the later of the two wins). */
  tagStrategy?: string[] | false;
  semverAliases?: boolean;
}

/** Collects --tag-strategy values; one after --no-tag-strategy starts a new list (the later wins). */
export function strategyList(value: string, previous: string[] | false | undefined): string[] {
  return collect(value, previous === false ? undefined : previous);
}

/**
 * Adds the tag options every image-writing verb shares, declared once and in this order:
 * -t/--tag, -s/--tag-strategy, --no-tag-strategy and --semver-aliases, each with the verb's
 * own help where it differs.
 */
export function tagOptions(
  cmd: Command,
  help: { tag?: string; tagStrategy?: string; noTagStrategy?: string } = {},
): Command {
  cmd
    .option('-t, --tag <tag>', help.tag ?? 'another tag (repeatable)', collect)
    .option(
      '-s, --tag-strategy <name>',
      help.tagStrategy ?? 'derive tags: branch-sha, semver, sha, env:NAME, latest',
      strategyList,
    );
  cmd.option('--no-tag-strategy', help.noTagStrategy ?? "no tag strategy (not the config's either)");
  return cmd.option('--semver-aliases', 'semver also tags vMAJOR.MINOR and vMAJOR');
}

/** Returns the --tag-strategy values for an op: `none` after --no-tag-strategy (the config's defaults off too). */
export function strategiesOf(opts: Pick<TagCliOptions, 'tagStrategy'>): string[] {
  return opts.tagStrategy === false ? ['none'] : (opts.tagStrategy ?? []);
}

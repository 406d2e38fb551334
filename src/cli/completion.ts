// The commander tree as plain data for the completion scripts (src/shell/completion.ts):
// commands, options, enum values, and which values are file names.
import type { Argument, Command, Option } from 'commander';
import { Help } from 'commander';
import {
  type ArgumentSpec,
  type CommandSpec,
  completionScriptFor,
  type OptionSpec,
  type Shell,
} from '../shell/completion.js';

export { type CommandSpec, SHELLS, type Shell } from '../shell/completion.js';

// Values an argument completes to without commander validating them: `help` takes topics
// and command names, but an unknown one must get ecrctl's own error, not commander's.
const argumentValues = new WeakMap<Argument, () => readonly string[]>();

/** Makes the completion scripts offer values() for arg (computed when a script is generated). */
export function completeArgumentWith(arg: Argument, values: () => readonly string[]): void {
  argumentValues.set(arg, values);
}

/** Returns the visible command tree below cmd as plain data. */
export function describeCommand(cmd: Command, path: string[] = [], inherited: OptionSpec[] = []): CommandSpec {
  const help = new Help();
  const own = help.visibleOptions(cmd).map(describeOption);
  const taken = new Set(own.flatMap((o) => [o.long, o.short]).filter((f) => f !== undefined));
  const options = [
    ...own,
    ...inherited.filter((o) => !(o.long && taken.has(o.long)) && !(o.short && taken.has(o.short))),
  ];
  // visibleCommands adds commander's implicit `help` command; only declared commands count.
  const visible = new Set(help.visibleCommands(cmd));
  const commands = cmd.commands.filter((c) => visible.has(c));
  return {
    path,
    summary: firstLine(cmd.summary() || cmd.description()),
    options,
    ownOptions: own,
    args: cmd.registeredArguments.map(describeArgument),
    commands: commands.map((c) => describeCommand(c, [...path, c.name()], options)),
  };
}

function describeOption(opt: Option): OptionSpec {
  const spec: OptionSpec = { description: firstLine(opt.description) };
  if (opt.long) spec.long = opt.long;
  if (opt.short) spec.short = opt.short;
  // A required value (`<x>`) makes the next word the option's; an optional one (`[x]`) only
  // when it names a file (the global `--config [file]`, which `inspect --config` shares).
  if (opt.required) {
    if (opt.argChoices) spec.value = { kind: 'words', words: [...opt.argChoices] };
    else spec.value = namesFiles(/<([^>]*)>/.exec(opt.flags)?.[1] ?? '') ? { kind: 'files' } : { kind: 'none' };
  } else if (opt.optional && namesFiles(/\[([^\]]*)\]/.exec(opt.flags)?.[1] ?? '')) {
    spec.value = { kind: 'files' };
  }
  return spec;
}

function describeArgument(arg: Argument): ArgumentSpec {
  const registered = argumentValues.get(arg)?.();
  const values = registered ?? arg.argChoices;
  return {
    name: arg.name(),
    // Registered values are for the first word only (`help lifecycle simulate` walks a path).
    variadic: arg.variadic && registered === undefined,
    // Most positional arguments are image locations or files (oci:DIR, docker-archive:FILE,
    // policy.json); names of things in a registry are not, and file names there only mislead.
    value: values
      ? { kind: 'words', words: [...values] }
      : NOT_FILES.test(arg.name())
        ? { kind: 'none' }
        : { kind: 'files' },
  };
}

const NOT_FILES = /^(repo|repository|repositories|name|names|tag|tags|registry|registries|id|ids|account|url)$/;

// The value name says whether an option takes a path: <file>, <dir>, <file|preset:NAME>.
function namesFiles(valueName: string): boolean {
  return /\b(file|dir|directory|path)\b/i.test(valueName);
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}

/** Returns the completion script for shell, generated from the program's command tree. */
export function completionScript(shell: Shell, program: Command): string {
  return completionScriptFor(shell, program.name(), describeCommand(program));
}

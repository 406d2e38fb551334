// Shell completion scripts generated from the live commander tree. The scripts carry the
// whole tree as data (commands, options, enum values), so completing never starts node;
// file arguments fall back to the shell's own file completion.
import type { Argument, Command, Option } from 'commander';
import { Help } from 'commander';

/** The shells `ecrctl completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a shell offers for a value: fixed words, file names, or nothing (free text). */
export type ValueCompletion = { kind: 'words'; words: string[] } | { kind: 'files' } | { kind: 'none' };

export interface OptionSpec {
  long?: string;
  short?: string;
  description: string;
  /** How to complete the option's value; undefined for a flag that takes none. */
  value?: ValueCompletion;
}

export interface ArgumentSpec {
  name: string;
  variadic: boolean;
  value: ValueCompletion;
}

export interface CommandSpec {
  /** The words from the root to this command; [] for the root. */
  path: string[];
  summary: string;
  /** The command's own options and those of its ancestors that it does not shadow. */
  options: OptionSpec[];
  /** The options declared on this command itself (fish declares inherited ones once). */
  ownOptions: OptionSpec[];
  args: ArgumentSpec[];
  commands: CommandSpec[];
}

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
  // Only a required value (`<x>`) makes the next word the option's; `[x]` may be absent.
  if (opt.required) {
    if (opt.argChoices) spec.value = { kind: 'words', words: [...opt.argChoices] };
    else spec.value = namesFiles(/<([^>]*)>/.exec(opt.flags)?.[1] ?? '') ? { kind: 'files' } : { kind: 'none' };
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

/** Returns every command of the tree, the root first. */
function flatten(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(flatten)];
}

function flags(o: OptionSpec): string[] {
  return [o.short, o.long].filter((f) => f !== undefined);
}

/** Returns the completion script for shell, generated from the program's command tree. */
export function completionScript(shell: Shell, program: Command): string {
  const spec = describeCommand(program);
  const name = program.name();
  switch (shell) {
    case 'bash':
      return bashScript(name, spec);
    case 'zsh':
      return zshScript(name, spec);
    case 'fish':
      return fishScript(name, spec);
  }
}

// ---------------------------------------------------------------------------------------
// bash: case statements instead of associative arrays, so the bash 3.2 of macOS runs it.

/** Quotes s for bash and zsh as one single-quoted word. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function bashValue(v: ValueCompletion): string {
  return v.kind === 'words' ? `_ecrctl_kind=words _ecrctl_words=${sq(v.words.join(' '))}` : `_ecrctl_kind=${v.kind}`;
}

function bashScript(name: string, root: CommandSpec): string {
  const all = flatten(root);
  const cmdCases = all.map((c) => {
    const subs = c.commands.map((s) => s.path.at(-1)).join(' ');
    const opts = c.options.flatMap(flags).join(' ');
    const variadic = c.args.at(-1)?.variadic ? 1 : 0;
    return `    ${sq(c.path.join(' '))}) _ecrctl_subs=${sq(subs)} _ecrctl_flags=${sq(opts)} _ecrctl_nargs=${c.args.length} _ecrctl_variadic=${variadic} ;;`;
  });
  const optCases = all.flatMap((c) =>
    c.options
      .filter((o) => o.value)
      .map(
        (o) =>
          `    ${flags(o)
            .map((f) => sq(`${c.path.join(' ')}|${f}`))
            .join('|')}) ${bashValue(o.value!)} ;;`,
      ),
  );
  const argCases = all.flatMap((c) =>
    c.args.map((a, i) => `    ${sq(`${c.path.join(' ')}|${i}`)}) ${bashValue(a.value)} ;;`),
  );
  return `# bash completion for ${name}. Generated by \`${name} completion bash\`: do not edit.
# Load it in ~/.bashrc with: source <(${name} completion bash)
# or install it: ${name} completion bash > ~/.local/share/bash-completion/completions/${name}

# Sets _ecrctl_subs, _ecrctl_flags, _ecrctl_nargs and _ecrctl_variadic for the command path $1.
_ecrctl_cmd() {
  case $1 in
${cmdCases.join('\n')}
    *) _ecrctl_subs='' _ecrctl_flags='' _ecrctl_nargs=0 _ecrctl_variadic=0 ;;
  esac
}

# Sets _ecrctl_kind (words, files, none; empty: takes no value) and _ecrctl_words for "path|flag".
_ecrctl_opt() {
  case $1 in
${optCases.join('\n')}
    *) _ecrctl_kind='' ;;
  esac
}

# Sets _ecrctl_kind and _ecrctl_words for positional argument "path|index".
_ecrctl_arg() {
  case $1 in
${argCases.join('\n')}
    *) _ecrctl_kind=none ;;
  esac
}

_ecrctl_reply() {
  local IFS=$'\\n'
  case $_ecrctl_kind in
    words) IFS=$' \\t\\n'; COMPREPLY=($(compgen -W "$_ecrctl_words" -- "$1")) ;;
    files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$1")) ;;
    *) COMPREPLY=() ;;
  esac
}

_ecrctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cpath='' w i npos=0 expect='' dashdash='' glued=''
  local _ecrctl_subs _ecrctl_flags _ecrctl_nargs _ecrctl_variadic _ecrctl_kind _ecrctl_words
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    # bash splits oci:DIR and --opt=value at : and = (COMP_WORDBREAKS); glue the pieces back.
    if [[ $w == [:=] ]]; then glued=1; continue; fi
    if [[ -n $glued ]]; then glued=''; expect=''; continue; fi
    if [[ -n $expect ]]; then expect=''; continue; fi
    if [[ -z $dashdash ]]; then
      case $w in
        --) dashdash=1; continue ;;
        --*=*) continue ;;
        -?*) _ecrctl_opt "$cpath|$w"; [[ -n $_ecrctl_kind ]] && expect=$w; continue ;;
      esac
    fi
    _ecrctl_cmd "$cpath"
    if ((npos == 0)) && [[ " $_ecrctl_subs " == *" $w "* ]]; then
      cpath=\${cpath:+$cpath }$w
    else
      ((npos++))
    fi
  done
  if [[ $cur == [:=] ]]; then cur=''; glued=1; fi
  if [[ -n $expect ]]; then
    _ecrctl_opt "$cpath|$expect"
    _ecrctl_reply "$cur"
    return
  fi
  # The word after a : is the rest of the argument before it, not a new one.
  if [[ -n $glued ]] && ((npos > 0)); then ((npos--)); fi
  _ecrctl_cmd "$cpath"
  if [[ -z $dashdash && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$_ecrctl_flags" -- "$cur"))
    return
  fi
  if ((npos == 0)) && [[ -n $_ecrctl_subs ]]; then
    COMPREPLY=($(compgen -W "$_ecrctl_subs" -- "$cur"))
    return
  fi
  if ((npos >= _ecrctl_nargs)); then
    ((_ecrctl_variadic)) || return 0
    npos=$((_ecrctl_nargs - 1))
  fi
  _ecrctl_arg "$cpath|$npos"
  _ecrctl_reply "$cur"
}

complete -F _ecrctl ${name}
`;
}

// ---------------------------------------------------------------------------------------
// zsh: the same walk over the words, with descriptions for commands and options.

/** Escapes a name for zsh's _describe, where a colon ends the name. */
function zname(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

function zshValue(v: ValueCompletion): string {
  return v.kind === 'words' ? `kind=words vals=(${v.words.map(sq).join(' ')})` : `kind=${v.kind}`;
}

function zshScript(name: string, root: CommandSpec): string {
  const all = flatten(root);
  const cmdCases = all.map((c) => {
    const subs = c.commands.map((s) => sq(`${zname(s.path.at(-1)!)}:${s.summary}`)).join(' ');
    const opts = c.options.flatMap((o) => flags(o).map((f) => sq(`${zname(f)}:${o.description}`))).join(' ');
    const variadic = c.args.at(-1)?.variadic ? 1 : 0;
    return `    ${sq(c.path.join(' '))}) subs=(${subs}) flags=(${opts}) nargs=${c.args.length} variadic=${variadic} ;;`;
  });
  const optCases = all.flatMap((c) =>
    c.options
      .filter((o) => o.value)
      .map(
        (o) =>
          `    ${flags(o)
            .map((f) => sq(`${c.path.join(' ')}|${f}`))
            .join('|')}) ${zshValue(o.value!)} ;;`,
      ),
  );
  const argCases = all.flatMap((c) =>
    c.args.map((a, i) => `    ${sq(`${c.path.join(' ')}|${i}`)}) ${zshValue(a.value)} ;;`),
  );
  return `#compdef ${name}
# zsh completion for ${name}. Generated by \`${name} completion zsh\`: do not edit.
# Load it in ~/.zshrc (after compinit) with: source <(${name} completion zsh)
# or install it as _${name} in a directory of $fpath.

# Sets subs, flags, nargs and variadic for the command path $1.
_ecrctl_cmd() {
  case $1 in
${cmdCases.join('\n')}
    *) subs=() flags=() nargs=0 variadic=0 ;;
  esac
}

# Sets kind (words, files, none; empty: takes no value) and vals for "path|flag".
_ecrctl_opt() {
  case $1 in
${optCases.join('\n')}
    *) kind='' ;;
  esac
}

# Sets kind and vals for positional argument "path|index".
_ecrctl_arg() {
  case $1 in
${argCases.join('\n')}
    *) kind=none ;;
  esac
}

_ecrctl_reply() {
  case $kind in
    words) compadd -a vals ;;
    files) compset -P '(oci|docker-archive):'; _files ;;
    *) return 1 ;;
  esac
}

_ecrctl() {
  local cpath='' w cur=\${words[CURRENT]} kind expect='' dashdash=''
  local -a subs flags vals
  integer i npos=0 nargs variadic
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    if [[ -n $expect ]]; then expect=''; continue; fi
    if [[ -z $dashdash ]]; then
      case $w in
        --) dashdash=1; continue ;;
        --*=*) continue ;;
        -?*) _ecrctl_opt "$cpath|$w"; [[ -n $kind ]] && expect=$w; continue ;;
      esac
    fi
    _ecrctl_cmd "$cpath"
    if ((npos == 0)) && ((\${subs[(I)\${(b)w}:*]})); then
      cpath=\${cpath:+$cpath }$w
    else
      ((npos++))
    fi
  done
  if [[ -n $expect ]]; then
    _ecrctl_opt "$cpath|$expect"
    _ecrctl_reply
    return
  fi
  if [[ -z $dashdash && $cur == --*=* ]]; then
    _ecrctl_opt "$cpath|\${cur%%=*}"
    compset -P '*='
    _ecrctl_reply
    return
  fi
  _ecrctl_cmd "$cpath"
  if [[ -z $dashdash && $cur == -* ]]; then
    _describe -t options option flags
    return
  fi
  if ((npos == 0 && \${#subs} > 0)); then
    _describe -t commands command subs
    return
  fi
  if ((npos >= nargs)); then
    ((variadic)) || return 1
    npos=$((nargs - 1))
  fi
  _ecrctl_arg "$cpath|$npos"
  _ecrctl_reply
}

if [[ $funcstack[1] == _ecrctl ]]; then
  _ecrctl "$@"
else
  compdef _ecrctl ${name}
fi
`;
}

// ---------------------------------------------------------------------------------------
// fish: declarative `complete` lines; one helper walks the command line to the command path.

/** Quotes s for fish as one single-quoted word. */
function fq(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fishOption(name: string, o: OptionSpec, condition: string): string {
  const parts = [`complete -c ${name}`];
  if (condition) parts.push(`-n ${fq(condition)}`);
  if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
  if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
  if (o.value?.kind === 'words') parts.push(`-x -a ${fq(o.value.words.join(' '))}`);
  else if (o.value?.kind === 'files') parts.push('-r -F');
  else if (o.value) parts.push('-x');
  if (o.description) parts.push(`-d ${fq(o.description)}`);
  return parts.join(' ');
}

function fishScript(name: string, root: CommandSpec): string {
  const all = flatten(root);
  const subCases = all
    .filter((c) => c.commands.length > 0)
    .map(
      (c) =>
        `        case ${fq(c.path.join(' '))}\n            printf '%s\\n' ${c.commands.map((s) => fq(s.path.at(-1)!)).join(' ')}`,
    );
  const valueFlags = all.map((c) => {
    const f = c.options.filter((o) => o.value).flatMap(flags);
    return `        case ${fq(c.path.join(' '))}\n            printf '%s\\n' ${f.length > 0 ? f.map(fq).join(' ') : "''"}`;
  });
  const lines: string[] = [];
  for (const c of all) {
    const at = c.path.join(' ');
    for (const s of c.commands) {
      lines.push(
        `complete -c ${name} -n ${fq(`__ecrctl_at ${sq(at)} 0`)} -a ${fq(s.path.at(-1)!)} -d ${fq(s.summary)}`,
      );
    }
    // An option applies to its command and every command below it; the root's apply always.
    const under = c.path.length === 0 ? '' : `__ecrctl_under ${sq(at)}`;
    for (const o of c.ownOptions) lines.push(fishOption(name, o, under));
    c.args.forEach((a, i) => {
      const pos = a.variadic ? `${i}+` : `${i}`;
      const cond = fq(`__ecrctl_at ${sq(at)} ${pos}`);
      if (a.value.kind === 'words') lines.push(`complete -c ${name} -n ${cond} -a ${fq(a.value.words.join(' '))}`);
      else if (a.value.kind === 'files') lines.push(`complete -c ${name} -n ${cond} -a '(__ecrctl_files)'`);
    });
  }
  return `# fish completion for ${name}. Generated by \`${name} completion fish\`: do not edit.
# Load it with: ${name} completion fish | source
# or install it: ${name} completion fish > ~/.config/fish/completions/${name}.fish

function __ecrctl_subs --description 'the subcommands of a command path'
    switch $argv[1]
${subCases.join('\n')}
    end
end

function __ecrctl_value_flags --description 'the options of a command path that take a value'
    switch $argv[1]
${valueFlags.join('\n')}
    end
end

# Prints the command path, the number of positional arguments so far, and 1 when the
# word being completed is the value of an option.
function __ecrctl_state
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cpath ''
    set -l npos 0
    set -l expect 0
    set -l dashdash 0
    for w in $tokens
        if test $expect = 1
            set expect 0
            continue
        end
        if test $dashdash = 0
            switch $w
                case '--'
                    set dashdash 1
                    continue
                case '--*=*'
                    continue
                case '-?*'
                    if contains -- $w (__ecrctl_value_flags $cpath)
                        set expect 1
                    end
                    continue
            end
        end
        if test $npos = 0; and contains -- $w (__ecrctl_subs $cpath)
            set cpath (string trim -- "$cpath $w")
        else
            set npos (math $npos + 1)
        end
    end
    echo "=$cpath"
    echo $npos
    echo $expect
end

# True when completing a new word of the command at path $argv[1] after $argv[2]
# positional arguments (N+ means N or more).
function __ecrctl_at
    set -l s (__ecrctl_state)
    test "$s[1]" = "=$argv[1]"; and test "$s[3]" = 0; or return 1
    switch $argv[2]
        case '*+'
            test $s[2] -ge (string replace '+' '' -- $argv[2])
        case '*'
            test $s[2] = $argv[2]
    end
end

# True inside the command at path $argv[1] or one below it.
function __ecrctl_under
    set -l s (__ecrctl_state)
    test "$s[1]" = "=$argv[1]"; or string match -q -- "=$argv[1] *" $s[1]
end

# Files, also after an oci: or docker-archive: prefix.
function __ecrctl_files
    set -l token (commandline -ct)
    set -l m (string match -r '^(oci:|docker-archive:)(.*)$' -- $token)
    if set -q m[1]
        __fish_complete_path $m[3] | string replace -r '^' $m[2]
    else
        __fish_complete_path $token
    end
end

complete -c ${name} -f
${lines.join('\n')}
`;
}

import { Argument, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CommandHost } from '../command-kit.js';
import { examples } from '../command-kit.js';
import { completeArgumentWith } from '../completion.js';
import { findTopic, HELP_TOPICS, nearest, topicListText } from '../../help/topics.js';

/**
 * Declares `ecrctl help [topic-or-command...]` in place of commander's own help command:
 * commands get commander's help, unchanged; topics get their text.
 */
export function defineHelp(program: Command, _host: CommandHost): void {
  program.helpCommand(false);
  const target = new Argument('[topic-or-command...]', 'a topic below, or a command (with its subcommands)');
  completeArgumentWith(target, () => [...HELP_TOPICS.map((t) => t.name), ...commandNames(program)]);
  program
    .command('help')
    .summary('show help for a command, or a topic such as exit-codes')
    .description(
      'Shows the help of a command, as `ecrctl COMMAND --help` does, or a topic that\n' +
        'concerns many commands. Without an argument, shows the overview of all commands.',
    )
    .addArgument(target)
    .addHelpText('after', `\n${topicListText()}${examples('ecrctl help exit-codes', 'ecrctl help lifecycle simulate')}`)
    .action((words: string[], _opts: unknown, cmd: Command) => {
      const topic = words.length === 1 ? findTopic(words[0]!) : undefined;
      if (topic) {
        // Help text goes where commander writes help, so `help TOPIC` and `--help` agree.
        cmd.configureOutput().writeOut?.(topic.text);
        return;
      }
      let command = program;
      for (const word of words) {
        const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
        if (!sub) throw unknownTarget(command, word);
        command = sub;
      }
      // help() prints and ends with commander's "help displayed" exit, which main maps to 0.
      command.help();
    });
  program.addHelpText('after', topicListText());
}

function commandNames(cmd: Command): string[] {
  return cmd.commands.filter((c) => c.name() !== 'help').map((c) => c.name());
}

function unknownTarget(parent: Command, word: string): UsageError {
  const atRoot = parent.parent === null;
  const candidates = [...(atRoot ? HELP_TOPICS.map((t) => t.name) : []), ...commandNames(parent)];
  const guess = nearest(word, candidates);
  const path = [];
  for (let c: Command | null = parent; c?.parent; c = c.parent) path.unshift(c.name());
  const where = path.length > 0 ? `command of \`ecrctl ${path.join(' ')}\`` : 'topic or command';
  const list = atRoot
    ? `topics: ${HELP_TOPICS.map((t) => t.name).join(', ')}; commands: see \`ecrctl --help\``
    : `commands: ${commandNames(parent).join(', ')}`;
  return new UsageError(`there is no help ${where} named '${word}'`, {
    value: word,
    fix: guess ? `did you mean \`ecrctl help ${[...path, guess].join(' ')}\`? (${list})` : list,
  });
}

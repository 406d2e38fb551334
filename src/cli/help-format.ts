// How --help is laid out: every line fits the terminal (80 columns when it is not one).
// Commander aligns every description at the widest option and stops wrapping when that
// leaves under 40 columns (create-repo's choices ran to 170). Here the description column
// is capped: a longer option gets a line of its own with its description below, wrapped.
// Defaults and choices print as values (`default: 4`), not as JSON strings (`"4"`).
import { type Command, Help, type HelpConfiguration, type Option } from 'commander';

const MAX_TERM = 30;

/** Commander help settings for the whole program (subcommands inherit them). */
export const helpConfiguration: HelpConfiguration = {
  padWidth(cmd: Command, helper: Help): number {
    return Math.min(Help.prototype.padWidth.call(helper, cmd, helper), MAX_TERM);
  },
  formatItem(term: string, termWidth: number, description: string, helper: Help): string {
    if (!description || helper.displayWidth(term) <= termWidth) {
      return Help.prototype.formatItem.call(helper, term, termWidth, description, helper);
    }
    const indent = ' '.repeat(2 + termWidth + 2);
    const width = (helper.helpWidth ?? 80) - indent.length;
    const wrapped = helper.boxWrap(description, Math.max(width, 20));
    return `  ${term}\n${indent}${wrapped.replace(/\n/g, `\n${indent}`)}`;
  },
  optionDescription(option: Option): string {
    return Help.prototype.optionDescription
      .call(new Help(), option)
      .replace(/\((choices|default|preset): ([^)]*)\)|, (default|preset): ([^,)]*)/g, (m) =>
        m.replace(/"([^"\s]*)"/g, '$1'),
      );
  },
};

/**
 * Returns an example command for --help as lines of at most `width` columns: a command that
 * is too long is broken between shell words with ` \` continuations (quoted words stay whole).
 */
export function wrapExample(line: string, width: number, indent = '    '): string[] {
  if (line.length <= width) return [line];
  const lead = /^\s*/.exec(line)?.[0] ?? '';
  const words = line.match(/(?:[^\s'"]+|'[^']*'|"(?:\\.|[^"\\])*")+/g) ?? [line];
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    const prefix = lines.length === 0 ? lead : indent;
    const next = current === '' ? `${prefix}${word}` : `${current} ${word}`;
    if (current !== '' && next.length + 2 > width) {
      lines.push(`${current} \\`);
      current = `${indent}${word}`;
    } else current = next;
  }
  lines.push(current);
  return lines;
}

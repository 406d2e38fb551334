// Words for counts in messages: "1 layer", "2 layers", never "1 layers". Imports nothing,
// so any layer can use it.

const IRREGULAR: Record<string, string> = { repository: 'repositories', policy: 'policies', entry: 'entries' };

/** Returns `n word` with the word in the plural unless n is 1 (`plural(1, 'day')` → `1 day`). */
export function plural(n: number, word: string, many?: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : (many ?? IRREGULAR[word] ?? `${word}s`)}`;
}

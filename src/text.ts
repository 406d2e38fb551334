// Words for counts in messages: "1 layer", "2 layers", never "1 layers". Imports nothing,
// so any layer can use it.

const IRREGULAR: Record<string, string> = { repository: 'repositories', policy: 'policies', entry: 'entries' };

/** Returns `n word` with the word in the plural unless n is 1 (`plural(1, 'day')` → `1 day`). */
export function plural(n: number, word: string, many?: string): string {
  return `${grouped(n)} ${n === 1 ? word : (many ?? IRREGULAR[word] ?? `${word}s`)}`;
}

/**
 * Returns n with thousands separators (`12,345`), as `toLocaleString('en-US')` writes it — whose
 * first call sets up ICU's number formatting, ~40 ms of CPU in a command that prints one count.
 */
function grouped(n: number): string {
  const [whole = '', fraction] = String(Math.abs(n)).split('.');
  const sign = n < 0 ? '-' : '';
  return `${sign}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction ? `.${fraction.slice(0, 3)}` : ''}`;
}

/**
 * Returns bytes in decimal units (B, kB, MB, GB, TB — as ECR bills them) with three significant
 * digits: `950 B`, `1.23 MB`, `12.3 MB`, `123 MB`.
 */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

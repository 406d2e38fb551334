// `.dockerignore`-style exclusion: one pattern a line, `#` comments, `!` re-includes, `*` `?`
// `[…]` within one path component, `**` across components; a pattern that matches a directory
// excludes everything under it. The last matching pattern decides.

interface Rule {
  negate: boolean;
  re: RegExp;
}

/** A compiled ignore file: which relative paths are excluded. */
export interface IgnoreMatcher {
  /** Returns true when the path (relative, `/`-separated) is excluded. */
  excludes(relPath: string): boolean;
  /** True when some pattern re-includes (`!`): an excluded directory must still be walked. */
  readonly hasNegations: boolean;
  /** The patterns as read (for messages). */
  readonly patterns: readonly string[];
}

function compile(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` everything below.
        if (pattern[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
      } else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Normalizes a pattern the way Docker does: no leading `/` or `./`, no trailing `/`. */
function clean(pattern: string): string {
  let p = pattern.trim();
  while (p.startsWith('/')) p = p.slice(1);
  while (p.startsWith('./')) p = p.slice(2);
  while (p.endsWith('/') && p.length > 1) p = p.slice(0, -1);
  return p;
}

/** Returns the matcher for the text of an ignore file. */
export function parseIgnore(text: string): IgnoreMatcher {
  const rules: Rule[] = [];
  const patterns: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const p = clean(negate ? line.slice(1) : line);
    if (p === '' || p === '.') continue;
    patterns.push(line);
    rules.push({ negate, re: compile(p) });
  }
  const matches = (re: RegExp, rel: string): boolean => {
    if (re.test(rel)) return true;
    // A pattern that names a directory covers what is inside it.
    for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) if (re.test(rel.slice(0, i))) return true;
    return false;
  };
  return {
    patterns,
    hasNegations: rules.some((r) => r.negate),
    excludes(relPath: string): boolean {
      let excluded = false;
      for (const r of rules) if (matches(r.re, relPath)) excluded = !r.negate;
      return excluded;
    },
  };
}

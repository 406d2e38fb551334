// A parser for the WWW-Authenticate header (RFC 9110 §11.6.1): one header may carry several
// challenges, each a scheme followed by either a token68 or comma-separated auth-params
// whose values are tokens or quoted strings with backslash escapes. Pure: no I/O.
import { EcrctlError } from '../../errors.js';

/** One challenge: `Bearer realm="…",service="…",scope="…"`. */
export interface AuthChallenge {
  /** The scheme in lower case: `basic`, `bearer`, … */
  scheme: string;
  /** Parameters with lower-case names; values as sent (unquoted, unescaped). */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge used it. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipSpaceAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  fail(what: string): never {
    throw new EcrctlError(`malformed WWW-Authenticate header: ${what} at position ${this.pos}`, {
      value: this.text.length > 200 ? `${this.text.slice(0, 200)}…` : this.text,
    });
  }
  quoted(): string {
    // Called on the opening quote.
    this.pos++;
    let value = '';
    for (;;) {
      if (this.done) this.fail('unterminated quoted string');
      const c = this.peek();
      this.pos++;
      if (c === '"') return value;
      if (c === '\\') {
        if (this.done) this.fail('unterminated quoted string');
        value += this.peek();
        this.pos++;
      } else value += c;
    }
  }
  /** Returns the token68 starting here if the rest of this list element is one, else undefined. */
  token68(): string | undefined {
    let i = this.pos;
    while (i < this.text.length && TOKEN68_CHAR.test(this.text[i] ?? '')) i++;
    if (i === this.pos) return undefined;
    while (this.text[i] === '=') i++;
    let j = i;
    while (this.text[j] === ' ' || this.text[j] === '\t') j++;
    if (j < this.text.length && this.text[j] !== ',') return undefined;
    const value = this.text.slice(this.pos, i);
    this.pos = j;
    return value;
  }
  /** True when the next list element is `name = …` (an auth-param), not a new challenge. */
  atParam(): boolean {
    const save = this.pos;
    this.skipSpaceAndCommas();
    const name = this.token();
    this.skipSpace();
    let isParam = name !== '' && this.peek() === '=';
    if (isParam) {
      // `abc==` or `abc=` at the end of an element is a token68, not a parameter.
      this.pos++;
      this.skipSpace();
      isParam = !this.done && this.peek() !== '=' && this.peek() !== ',';
    }
    this.pos = save;
    return isParam;
  }
}

/**
 * Returns the challenges of a WWW-Authenticate header value (several headers may be joined
 * with commas); throws EcrctlError naming the position when the value is malformed.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const s = new Scanner(header);
  const challenges: AuthChallenge[] = [];
  for (;;) {
    s.skipSpaceAndCommas();
    if (s.done) return challenges;
    const scheme = s.token();
    if (scheme === '') s.fail(`unexpected ${JSON.stringify(s.peek())}`);
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    const afterScheme = s.pos;
    s.skipSpace();
    if (s.done || s.peek() === ',') continue;
    if (s.pos === afterScheme) s.fail('expected a space after the scheme');
    if (!s.atParam()) {
      const t68 = s.token68();
      if (t68 === undefined) s.fail('expected auth-params or a token68');
      challenge.token68 = t68;
      continue;
    }
    // auth-params until the next element is a new challenge or the end.
    while (s.atParam()) {
      s.skipSpaceAndCommas();
      const name = s.token().toLowerCase();
      s.skipSpace();
      s.pos++; // '='
      s.skipSpace();
      let value: string;
      if (s.peek() === '"') value = s.quoted();
      else {
        value = s.token();
        if (value === '') s.fail(`parameter ${name} has no value`);
      }
      if (Object.hasOwn(challenge.params, name)) s.fail(`parameter ${name} given twice`);
      challenge.params[name] = value;
      s.skipSpace();
      if (!s.done && s.peek() !== ',') s.fail(`unexpected ${JSON.stringify(s.peek())} after parameter ${name}`);
    }
  }
}

/** Returns value as an RFC 9110 quoted-string (for building headers in tests and servers). */
export function quoteHeaderValue(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

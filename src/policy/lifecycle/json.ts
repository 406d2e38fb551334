// A small JSON parser that keeps where each value starts, so that a policy problem can point
// at a line and column. JSON.parse in Node 20 often names no position at all ("Unexpected
// token '}', ... is not valid JSON"), and never says where a valid-but-wrong field sits.

export type JsonNode =
  | { kind: 'object'; offset: number; entries: JsonEntry[] }
  | { kind: 'array'; offset: number; items: JsonNode[] }
  | { kind: 'string'; offset: number; value: string }
  | { kind: 'number'; offset: number; value: number; raw: string }
  | { kind: 'boolean'; offset: number; value: boolean }
  | { kind: 'null'; offset: number };

export interface JsonEntry {
  key: string;
  keyOffset: number;
  value: JsonNode;
}

/** A JSON syntax error at a character offset. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
  }
}

/** Returns the tree of text, or throws JsonSyntaxError at the first syntax error. */
export function parseJsonWithPositions(text: string): JsonNode {
  const p = new Parser(text);
  p.skipWhitespace();
  const node = p.value();
  p.skipWhitespace();
  if (p.pos < text.length)
    throw new JsonSyntaxError(`unexpected ${p.describeHere()} after the end of the document`, p.pos);
  return node;
}

/** Returns a function that turns a character offset into a 1-based line and column. */
export function lineColumnOf(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    // Binary search for the last line start at or before offset.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (starts[lo] ?? 0) + 1 };
  };
}

/** Returns the plain JavaScript value of a node (objects keep the last of duplicate keys, like JSON.parse). */
export function toPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
    case 'array':
      return node.items.map(toPlain);
    case 'null':
      return null;
    default:
      return node.value;
  }
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  describeHere(): string {
    if (this.pos >= this.text.length) return 'end of text';
    return JSON.stringify(this.text[this.pos]);
  }

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  value(): JsonNode {
    const c = this.text[this.pos];
    const offset = this.pos;
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return { kind: 'string', offset, value: this.string() };
      case 't':
        this.literal('true');
        return { kind: 'boolean', offset, value: true };
      case 'f':
        this.literal('false');
        return { kind: 'boolean', offset, value: false };
      case 'n':
        this.literal('null');
        return { kind: 'null', offset };
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        throw new JsonSyntaxError(`expected a value but found ${this.describeHere()}`, this.pos);
    }
  }

  literal(word: string): void {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return;
    }
    throw new JsonSyntaxError(`expected a value but found ${this.describeHere()}`, this.pos);
  }

  object(): JsonNode {
    const offset = this.pos;
    this.pos++; // {
    const entries: JsonEntry[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', offset, entries };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') {
        const hint = this.text[this.pos] === '}' ? ' (a trailing comma is not allowed in JSON)' : '';
        throw new JsonSyntaxError(
          `expected a property name in double quotes but found ${this.describeHere()}${hint}`,
          this.pos,
        );
      }
      const keyOffset = this.pos;
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') {
        throw new JsonSyntaxError(
          `expected ":" after property name "${key}" but found ${this.describeHere()}`,
          this.pos,
        );
      }
      this.pos++;
      this.skipWhitespace();
      entries.push({ key, keyOffset, value: this.value() });
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return { kind: 'object', offset, entries };
      }
      throw new JsonSyntaxError(
        `expected "," or "}" after a property value but found ${this.describeHere()}`,
        this.pos,
      );
    }
  }

  array(): JsonNode {
    const offset = this.pos;
    this.pos++; // [
    const items: JsonNode[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', offset, items };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] === ']') {
        throw new JsonSyntaxError('expected a value but found "]" (a trailing comma is not allowed in JSON)', this.pos);
      }
      items.push(this.value());
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return { kind: 'array', offset, items };
      }
      throw new JsonSyntaxError(
        `expected "," or "]" after an array element but found ${this.describeHere()}`,
        this.pos,
      );
    }
  }

  string(): string {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let run = this.pos;
    for (;;) {
      if (this.pos >= t.length) throw new JsonSyntaxError('unterminated string', start);
      const c = t.charCodeAt(this.pos);
      if (c === 34) {
        out += t.slice(run, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) throw new JsonSyntaxError('control character in a string (escape it, e.g. \\n)', this.pos);
      if (c === 92) {
        out += t.slice(run, this.pos);
        const e = t[this.pos + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.pos += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) {
          out += String.fromCharCode(Number.parseInt(t.slice(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          throw new JsonSyntaxError('invalid escape sequence in a string', this.pos);
        }
        run = this.pos;
        continue;
      }
      this.pos++;
    }
  }

  number(): JsonNode {
    const offset = this.pos;
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) throw new JsonSyntaxError(`invalid number starting with ${this.describeHere()}`, this.pos);
    this.pos += m[0].length;
    return { kind: 'number', offset, value: Number(m[0]), raw: m[0] };
  }
}

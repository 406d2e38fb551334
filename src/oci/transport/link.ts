// A parser for the Link header (RFC 8288), which registries use to page tag lists and
// referrers: `</v2/app/tags/list?last=b&n=2>; rel="next"`. Pure: no I/O.
import { EcrctlError } from '../../errors.js';

/** One link: its target as written between `<` and `>`, and its parameters. */
export interface LinkValue {
  target: string;
  /** Parameters with lower-case names; `rel` may hold several space-separated types. */
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function fail(header: string, what: string, pos: number): never {
  throw new EcrctlError(`malformed Link header: ${what} at position ${pos}`, {
    value: header.length > 200 ? `${header.slice(0, 200)}…` : header,
  });
}

/** Returns every link of a Link header value; throws EcrctlError when it is malformed. */
export function parseLinkHeader(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  let i = 0;
  const space = () => {
    while (header[i] === ' ' || header[i] === '\t') i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && TCHAR.test(header[i] ?? '')) i++;
    return header.slice(start, i);
  };
  for (;;) {
    while (header[i] === ' ' || header[i] === '\t' || header[i] === ',') i++;
    if (i >= header.length) return links;
    if (header[i] !== '<') fail(header, 'expected "<"', i);
    const close = header.indexOf('>', i + 1);
    if (close < 0) fail(header, 'unterminated "<"', i);
    const link: LinkValue = { target: header.slice(i + 1, close).trim(), params: {} };
    links.push(link);
    i = close + 1;
    for (;;) {
      space();
      if (i >= header.length || header[i] === ',') break;
      if (header[i] !== ';') fail(header, 'expected ";" or ","', i);
      i++;
      space();
      const name = token().toLowerCase();
      if (name === '') fail(header, 'expected a parameter name', i);
      space();
      let value = '';
      if (header[i] === '=') {
        i++;
        space();
        if (header[i] === '"') {
          i++;
          for (;;) {
            if (i >= header.length) fail(header, 'unterminated quoted string', i);
            const c = header[i++];
            if (c === '"') break;
            if (c === '\\') {
              if (i >= header.length) fail(header, 'unterminated quoted string', i);
              value += header[i++];
            } else value += c;
          }
        } else {
          value = token();
          if (value === '') fail(header, `parameter ${name} has no value`, i);
        }
      }
      // RFC 8288: the first occurrence of a parameter wins.
      if (!Object.hasOwn(link.params, name)) link.params[name] = value;
    }
  }
}

/**
 * Returns the absolute URL of the `rel="next"` link in header, resolved against the URL of
 * the response that carried it, or undefined when there is no next page.
 */
export function nextLinkUrl(header: string | undefined, base: URL | string): URL | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  for (const link of parseLinkHeader(header)) {
    const rels = (link.params.rel ?? '').toLowerCase().split(/[ \t]+/);
    if (rels.includes('next')) {
      try {
        return new URL(link.target, base);
      } catch (cause) {
        throw new EcrctlError(`malformed Link header: ${JSON.stringify(link.target)} is not a URL`, { cause });
      }
    }
  }
  return undefined;
}

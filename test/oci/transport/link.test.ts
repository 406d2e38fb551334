import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEcrctlError } from '../../../src/errors.js';
import { nextLinkUrl, parseLinkHeader } from '../../../src/oci/transport/link.js';

describe('parseLinkHeader', () => {
  it.each([
    [
      '</v2/app/tags/list?last=b&n=2>; rel="next"',
      [{ target: '/v2/app/tags/list?last=b&n=2', params: { rel: 'next' } }],
    ],
    [
      '<https://x/a,b;c>; rel=next; title="a, \\"b\\"", </prev>;rel="prev"',
      [
        { target: 'https://x/a,b;c', params: { rel: 'next', title: 'a, "b"' } },
        { target: '/prev', params: { rel: 'prev' } },
      ],
    ],
    ['</x>; rel="next"; rel="prev"', [{ target: '/x', params: { rel: 'next' } }]],
    ['</x>; crossorigin', [{ target: '/x', params: { crossorigin: '' } }]],
    ['', []],
  ])('parses %s', (header, expected) => {
    expect(parseLinkHeader(header)).toEqual(expected);
  });

  it.each([['/x; rel=next'], ['</x; rel=next'], ['</x> rel=next'], ['</x>; rel="next'], ['</x>; =next']])(
    'rejects %s with a typed error',
    (header) => {
      expect(() => parseLinkHeader(header)).toThrow(/malformed Link header/);
    },
  );

  it('finds the next page and resolves it against the response URL', () => {
    const base = 'http://127.0.0.1:5000/v2/team/app/tags/list?n=2';
    expect(nextLinkUrl('</v2/team/app/tags/list?last=b&n=2>; rel="next"', base)?.href).toBe(
      'http://127.0.0.1:5000/v2/team/app/tags/list?last=b&n=2',
    );
    expect(nextLinkUrl('</a>; rel="prev", </b>; rel="first next"', base)?.pathname).toBe('/b');
    expect(nextLinkUrl('</a>; rel="prev"', base)).toBeUndefined();
    expect(nextLinkUrl(undefined, base)).toBeUndefined();
  });

  it('never throws anything but EcrctlError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        try {
          parseLinkHeader(s);
          nextLinkUrl(s, 'http://127.0.0.1/');
        } catch (err) {
          if (!isEcrctlError(err)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips links it serialises', () => {
    const target = fc.stringMatching(/^[^<>]{0,30}$/).map((s) => s.trim());
    const value = fc.string({ maxLength: 15 });
    fc.assert(
      fc.property(fc.array(fc.tuple(target, value), { maxLength: 4 }), (links) => {
        const header = links.map(([t, v]) => `<${t}>; rel="${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(', ');
        expect(parseLinkHeader(header)).toEqual(links.map(([t, v]) => ({ target: t, params: { rel: v } })));
      }),
      { numRuns: 500 },
    );
  });
});

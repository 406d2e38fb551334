import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEcrctlError } from '../../../src/errors.js';
import { parseWwwAuthenticate, quoteHeaderValue } from '../../../src/oci/transport/www-authenticate.js';

describe('parseWwwAuthenticate', () => {
  it.each([
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    ],
    // ECR's challenge, unquoted token values and odd spacing.
    [
      'Basic realm="https://123.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
      [
        {
          scheme: 'basic',
          params: { realm: 'https://123.dkr.ecr.us-east-1.amazonaws.com/', service: 'ecr.amazonaws.com' },
        },
      ],
    ],
    ['BEARER Realm = token , Service=svc', [{ scheme: 'bearer', params: { realm: 'token', service: 'svc' } }]],
    // Several challenges in one header, the second with a token68.
    [
      'Bearer realm="r", error="invalid_token", Negotiate abc==, Basic realm="b"',
      [
        { scheme: 'bearer', params: { realm: 'r', error: 'invalid_token' } },
        { scheme: 'negotiate', params: {}, token68: 'abc==' },
        { scheme: 'basic', params: { realm: 'b' } },
      ],
    ],
    // Quoted strings keep commas and unescape backslashes.
    [
      'Bearer realm="a,b \\"c\\" \\\\d",scope="x y"',
      [{ scheme: 'bearer', params: { realm: 'a,b "c" \\d', scope: 'x y' } }],
    ],
    ['Basic', [{ scheme: 'basic', params: {} }]],
    [', Basic realm="x",, ', [{ scheme: 'basic', params: { realm: 'x' } }]],
    ['', []],
  ])('parses %s', (header, expected) => {
    expect(parseWwwAuthenticate(header)).toEqual(expected);
  });

  it.each([
    ['Bearer realm="unterminated'],
    ['Bearer realm=,service=x'],
    ['Bearer realm="a" junk'],
    ['="x"'],
    ['Basic realm="a", realm="b"'],
  ])('rejects %s with a typed error', (header) => {
    let caught: unknown;
    try {
      parseWwwAuthenticate(header);
    } catch (err) {
      caught = err;
    }
    expect(isEcrctlError(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/malformed WWW-Authenticate header/);
  });

  it('never throws anything but EcrctlError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        try {
          const out = parseWwwAuthenticate(s);
          expect(Array.isArray(out)).toBe(true);
        } catch (err) {
          if (!isEcrctlError(err)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips challenges it serialises itself', () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,10}$/);
    const challenge = fc.record({
      scheme: token,
      params: fc.uniqueArray(fc.tuple(token, fc.string({ maxLength: 20 })), {
        selector: ([k]) => k.toLowerCase(),
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (challenges) => {
        const header = challenges
          .map(
            (c) =>
              `${c.scheme}${c.params.length ? ' ' : ''}${c.params.map(([k, v]) => `${k}=${quoteHeaderValue(v)}`).join(', ')}`,
          )
          .join(', ');
        const parsed = parseWwwAuthenticate(header);
        expect(parsed).toEqual(
          challenges.map((c) => ({
            scheme: c.scheme.toLowerCase(),
            params: Object.fromEntries(c.params.map(([k, v]) => [k.toLowerCase(), v])),
          })),
        );
      }),
      { numRuns: 500 },
    );
  });
});

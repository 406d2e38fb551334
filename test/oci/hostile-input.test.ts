// Property tests for the parsers of user input not covered elsewhere: digests and platform
// strings. Whatever the input, they throw nothing but UsageError, and what they accept
// prints back exactly as given.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { formatPlatform, parsePlatform } from '../../src/oci/copy.js';
import { isDigest, parseDigest } from '../../src/oci/digest.js';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));

/** Strings near the digest grammar: right and wrong algorithms, lengths, cases, separators. */
const digestLike = fc.oneof(
  fc.string({ maxLength: 140 }),
  fc
    .tuple(
      fc.constantFrom('sha256', 'sha512', 'SHA256', 'md5', 'sha384', '', 'sha256 ', '__proto__', 'constructor'),
      fc.constantFrom(':', '::', '-', ''),
      fc.oneof(hex(64), hex(128), hex(63), hex(65), fc.string({ maxLength: 130 })),
    )
    .map(([a, sep, h]) => `${a}${sep}${h}`),
);

/** Strings near the platform grammar. */
const platformLike = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .array(fc.oneof(fc.stringMatching(/^[a-z0-9._-]{0,8}$/), fc.string({ maxLength: 6 })), {
      minLength: 0,
      maxLength: 5,
    })
    .map((parts) => parts.join('/')),
);

describe('parseDigest on hostile input', () => {
  it('never throws anything but UsageError, and what parses prints back the same', () => {
    fc.assert(
      fc.property(digestLike, (text) => {
        let parsed: ReturnType<typeof parseDigest>;
        try {
          parsed = parseDigest(text);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          expect((e as UsageError).rule).toBeTruthy();
          expect(isDigest(text)).toBe(false);
          return;
        }
        expect(`${parsed.algorithm}:${parsed.hex}`).toBe(text);
        expect(isDigest(text)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every well-formed sha256 and sha512 digest', () => {
    const lower = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(
        fc.oneof(
          lower(64).map((h) => `sha256:${h}`),
          lower(128).map((h) => `sha512:${h}`),
        ),
        (d) => {
          expect(`${parseDigest(d).algorithm}:${parseDigest(d).hex}`).toBe(d);
        },
      ),
    );
  });

  it.each([
    ['sha256:' + 'A'.repeat(64), 'uppercase hex'],
    ['sha256:' + 'a'.repeat(63), 'one character short'],
    ['sha256:../../etc/passwd', 'a path'],
    ['sha512:' + 'a'.repeat(64), 'a sha256 length under sha512'],
    [':' + 'a'.repeat(64), 'no algorithm'],
  ])('refuses %s (%s) naming the rule', (text) => {
    expect(() => parseDigest(text)).toThrow(UsageError);
  });
});

describe('parsePlatform on hostile input', () => {
  it('never throws anything but UsageError, and what parses prints back the same', () => {
    fc.assert(
      fc.property(platformLike, (text) => {
        let parsed: ReturnType<typeof parsePlatform>;
        try {
          parsed = parsePlatform(text);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          expect((e as UsageError).fix).toContain('--platform');
          return;
        }
        expect(formatPlatform(parsed)).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips generated valid platforms', () => {
    const part = fc.stringMatching(/^[a-z0-9._-]{1,10}$/);
    fc.assert(
      fc.property(part, part, fc.option(part, { nil: undefined }), (os, arch, variant) => {
        const text = [os, arch, variant].filter((x) => x !== undefined).join('/');
        const p = parsePlatform(text);
        expect(p).toEqual(variant === undefined ? { os, architecture: arch } : { os, architecture: arch, variant });
        expect(formatPlatform(p)).toBe(text);
      }),
    );
  });

  it.each(['linux', 'linux/', '/amd64', 'linux/amd64/', 'linux/amd64/v8/x', 'Linux/AMD64', 'linux amd64', ''])(
    'refuses %j',
    (text) => {
      expect(() => parsePlatform(text)).toThrow(UsageError);
    },
  );
});

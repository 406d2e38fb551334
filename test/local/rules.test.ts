// The emulator's own rules: tag mutability with exclusions, wildcard filters, manifest reading.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/local/manifest.js';
import { REPOSITORY_NAME, tagIsImmutable, wildcardMatch } from '../../src/local/rules.js';

describe('tagIsImmutable', () => {
  const filters = [{ filter: 'latest' }, { filter: 'dev-*' }];
  it.each([
    ['MUTABLE', 'v1', false],
    ['IMMUTABLE', 'latest', true],
    ['IMMUTABLE_WITH_EXCLUSION', 'v1', true],
    ['IMMUTABLE_WITH_EXCLUSION', 'latest', false],
    ['IMMUTABLE_WITH_EXCLUSION', 'dev-42', false],
    ['MUTABLE_WITH_EXCLUSION', 'v1', false],
    ['MUTABLE_WITH_EXCLUSION', 'dev-42', true],
    ['MUTABLE_WITH_EXCLUSION', 'xdev-42', false],
  ])('%s: tag %s immutable = %s', (mutability, tag, expected) => {
    expect(tagIsImmutable(mutability, filters, tag)).toBe(expected);
  });
});

describe('wildcardMatch', () => {
  it('treats every character but * literally', () => {
    expect(wildcardMatch('v1.*', 'v1.2')).toBe(true);
    expect(wildcardMatch('v1.*', 'v1x2')).toBe(false);
    expect(wildcardMatch('*-rc', 'v2-rc')).toBe(true);
  });
  it('matches any value built as prefix + anything + suffix', () => {
    const part = fc.stringMatching(/^[0-9a-zA-Z._-]{0,10}$/);
    fc.assert(fc.property(part, part, part, (pre, mid, suf) => wildcardMatch(`${pre}*${suf}`, `${pre}${mid}${suf}`)));
  });
});

describe('repository names', () => {
  it.each(['ab', 'team/payment-api', 'a__b', 'a.b_c-d/e--f'])('accepts %s', (name) =>
    expect(REPOSITORY_NAME.test(name)).toBe(true),
  );
  it.each(['Ab', 'a/', '/a', 'a..b', 'a b', 'a_-b'])('refuses %s', (name) =>
    expect(REPOSITORY_NAME.test(name)).toBe(false),
  );
});

describe('parseManifest', () => {
  const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 };
  it('infers an OCI manifest without mediaType from its shape', () => {
    const m = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [] })), undefined);
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });
  it('refuses a Content-Type that contradicts the document', () => {
    const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [] };
    expect(() =>
      parseManifest(Buffer.from(JSON.stringify(doc)), 'application/vnd.docker.distribution.manifest.v2+json'),
    ).toThrow(/does not match/);
  });
  it('refuses schema 1 and unknown types', () => {
    expect(() =>
      parseManifest(
        Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x' })),
        'application/vnd.docker.distribution.manifest.v1+prettyjws',
      ),
    ).toThrow();
  });
});

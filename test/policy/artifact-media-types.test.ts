// ECR's artifact media-type rules as pure functions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  artifactTypeProblems,
  descriptorMediaTypeProblems,
  isBareMediaType,
  MEDIA_TYPE_RULES,
  manifestMediaTypeProblems,
} from '../../src/policy/artifact-media-types.js';

describe('artifact media types', () => {
  it('accepts bare types and refuses parameters in artifactType', () => {
    expect(artifactTypeProblems('application/spdx+json')).toEqual([]);
    expect(artifactTypeProblems('application/vnd.cncf.notary.signature')).toEqual([]);
    expect(artifactTypeProblems('application/vnd.example+json; charset=utf-8')).toEqual([
      {
        field: 'artifactType',
        value: 'application/vnd.example+json; charset=utf-8',
        rule: MEDIA_TYPE_RULES.noParameters,
      },
    ]);
    for (const bad of ['', 'json', 'application/', '/json', 'application/a b', 'a/b/c'])
      expect(artifactTypeProblems(bad)[0]?.rule, bad).toBe(MEDIA_TYPE_RULES.shape);
    expect(artifactTypeProblems(`a/${'b'.repeat(300)}`)[0]?.rule).toBeDefined();
  });

  it('allows parameters on layer media types but not malformed ones', () => {
    expect(descriptorMediaTypeProblems('text/plain; charset=utf-8', 'layers[0].mediaType')).toEqual([]);
    expect(descriptorMediaTypeProblems('text/plain;', 'layers[0].mediaType')).toHaveLength(1);
    expect(descriptorMediaTypeProblems('not a type', 'config.mediaType')[0]?.field).toBe('config.mediaType');
  });

  it('checks a whole manifest: artifactType, config, layers, index entries', () => {
    const problems = manifestMediaTypeProblems({
      artifactType: 'x/y;a=b',
      config: { mediaType: 'bad' },
      layers: [{ mediaType: 'ok/type' }, { mediaType: 'bad' }],
      manifests: [{ artifactType: 'a/b; c=d' }],
    });
    expect(problems.map((p) => p.field)).toEqual([
      'artifactType',
      'config.mediaType',
      'layers[1].mediaType',
      'manifests[0].artifactType',
    ]);
    expect(manifestMediaTypeProblems({ schemaVersion: 2 })).toEqual([]);
  });

  it('property: any type containing ; is refused as artifactType; bare ones pass', () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,20}$/);
    fc.assert(
      fc.property(name, name, fc.string(), (t, s, rest) => {
        expect(isBareMediaType(`${t}/${s}`)).toBe(true);
        expect(artifactTypeProblems(`${t}/${s}`)).toEqual([]);
        expect(artifactTypeProblems(`${t}/${s};${rest}`)[0]?.rule).toBe(MEDIA_TYPE_RULES.noParameters);
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  formatLocation,
  formatReference,
  isLoopbackHost,
  parseLocation,
  parseReference,
} from '../../src/oci/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['app:v1', { registry: '', repository: 'app', tag: 'v1' }],
    ['team/app', { registry: '', repository: 'team/app' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/library/alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['127.0.0.1:5000/team/app:v1', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['[::1]:5000/app:x', { registry: '[::1]:5000', repository: 'app', tag: 'x' }],
    [`ghcr.io/o/app@${D}`, { registry: 'ghcr.io', repository: 'o/app', digest: D }],
    [`a/b:t@${D}`, { registry: '', repository: 'a/b', tag: 't', digest: D }],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/payment-api:main-abc1234',
      { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'team/payment-api', tag: 'main-abc1234' },
    ],
    ['docker://quay.io/a/b__c:1', { registry: 'quay.io', repository: 'a/b__c', tag: '1' }],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it.each([
    ['', 'names at least a repository'],
    ['App:v1', 'lowercase'],
    ['app:-bad', 'a tag is 1-128'],
    [`app:${'x'.repeat(129)}`, 'a tag is 1-128'],
    ['app@sha256:abc', 'sha256:<64'],
    ['host.example.com:99999/app', 'port is a number'],
    ['a//b', 'lowercase letters and digits'],
    ['a_/b', 'lowercase letters and digits'],
    ['reg.io/', 'names a repository'],
  ])('rejects %j naming the rule', (text, rule) => {
    let err: unknown;
    try {
      parseReference(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const u = err as UsageError;
    expect(`${u.message} ${u.rule}`).toContain(rule);
    expect(u.fix).toBeTruthy();
  });

  it('never throws anything but UsageError, and what parses prints back the same', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          const ref = parseReference(text);
          expect(parseReference(formatReference(ref))).toEqual(ref);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips generated valid references', () => {
    const comp = fc.stringMatching(/^[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,5})?$/);
    const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
    const host = fc.constantFrom('', '127.0.0.1:5000', 'registry.example.com', 'localhost:443');
    fc.assert(
      fc.property(host, fc.array(comp, { minLength: 1, maxLength: 3 }), fc.option(tag), (h, comps, t) => {
        const text = `${h ? `${h}/` : ''}${comps.join('/')}${t ? `:${t}` : ''}`;
        expect(formatReference(parseReference(text))).toBe(text);
      }),
    );
  });
});

describe('parseLocation', () => {
  it.each([
    ['oci:./build/image:latest', { transport: 'oci', path: './build/image', tag: 'latest' }],
    ['oci:/tmp/x', { transport: 'oci', path: '/tmp/x' }],
    ['docker-archive:img.tar', { transport: 'docker-archive', path: 'img.tar' }],
    ['docker-archive:img.tar:team/app:v1', { transport: 'docker-archive', path: 'img.tar', ref: 'team/app:v1' }],
    ['docker-daemon:app:v1', { transport: 'docker-daemon', image: 'app:v1' }],
  ])('%s', (text, expected) => {
    expect(parseLocation(text)).toEqual(expected);
    expect(formatLocation(parseLocation(text))).toBe(text);
  });

  it('treats anything else as a registry reference', () => {
    expect(parseLocation('127.0.0.1:5000/a:b')).toEqual({
      transport: 'registry',
      reference: { registry: '127.0.0.1:5000', repository: 'a', tag: 'b' },
    });
  });

  it('rejects an oci: location with a bad tag', () => {
    expect(() => parseLocation('oci:./x:-bad')).toThrow(/invalid tag/);
  });
});

describe('wrong locations name the part that is wrong', () => {
  const error = (text: string): UsageError => {
    try {
      parseLocation(text);
    } catch (err) {
      return err as UsageError;
    }
    throw new Error(`${text} parsed`);
  };

  it.each([
    ['dev/web:v1:extra', 'a reference has one :TAG after the repository', 'write dev/web:v1 (more tags: --tag)'],
    ['./x', 'an image location is oci:DIR[:TAG]', 'write oci:./x for an OCI image layout directory'],
    ['/abs/dir', 'an image location is oci:DIR[:TAG]', 'docker-archive:/abs/dir for a tar file'],
    ['dir:./x', 'an image location is oci:DIR[:TAG]', 'write oci:./x for an OCI image layout directory'],
    ['containers-storage:app', 'docker-daemon:IMAGE, or a registry reference', 'export the image'],
  ])('%s', (text, rule, fix) => {
    const err = error(text);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.rule).toContain(rule);
    expect(err.fix).toContain(fix);
    expect(err.value).toBe(text);
  });

  it('still reads repo:tag, host:port/repo and localhost references', () => {
    expect(parseLocation('web:v1')).toEqual({
      transport: 'registry',
      reference: { registry: '', repository: 'web', tag: 'v1' },
    });
    expect(parseLocation('localhost:5000/a:b')).toMatchObject({ reference: { registry: 'localhost:5000', tag: 'b' } });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['::1', true],
    ['128.0.0.1', false],
    ['registry.example.com', false],
    ['127.0.0.1.example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

// Notary signature verification in-process: envelope parsing (JWS and COSE, malformed
// input), each check with envelopes signed here by test CAs (chains with an intermediate,
// alg substitution, unknown critical headers, expiry), the trust policy's levels, scopes
// and identities.
import { X509Certificate } from 'node:crypto';
import { encode, Tag } from 'cbor2';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../src/oci/notary/envelope.js';
import { type JwsSignInput, signJws } from '../../src/oci/notary/jws.js';
import { type TrustAnchor, verifyEnvelope } from '../../src/oci/notary/verify.js';
import {
  defaultTrustPolicy,
  matchIdentity,
  parseTrustPolicy,
  selectStatement,
  type TrustPolicyStatement,
} from '../../src/policy/trust-policy.js';
import { coseEnvelope, issueLeaf, makeCa, type TestCa, type TestLeaf } from './notary-fixtures.js';

const DAY = 24 * 3600 * 1000;
const SUBJECT = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'a'.repeat(64)}`,
  size: 1234,
};
const JWS = 'application/jose+json';
const strict = defaultTrustPolicy().trustPolicies[0] as TrustPolicyStatement;

let root: TestCa;
let intermediate: TestCa;
let leaf: TestLeaf;
let anchors: TrustAnchor[];

const anchorOf = (ca: TestCa): TrustAnchor => ({ certificate: ca.cert, file: 'test' });
const jws = (over: Partial<JwsSignInput> = {}) =>
  signJws({
    payload: { targetArtifact: SUBJECT },
    alg: 'ES256',
    key: leaf.key,
    certificates: [leaf.der, intermediate.der, root.der],
    signingScheme: 'notary.x509',
    signingTime: new Date(),
    ...over,
  });
const check = (bytes: Buffer, statement = strict, mediaType = JWS, extra: { signingProfile?: string } = {}) =>
  verifyEnvelope(mediaType, bytes, { subject: SUBJECT, statement, anchors, ...extra });
const statusOf = (r: ReturnType<typeof check>) => Object.fromEntries(r.checks.map((c) => [c.check, c.status]));

beforeAll(async () => {
  root = await makeCa('unit root');
  intermediate = await makeCa('unit intermediate', {}, root);
  leaf = await issueLeaf(intermediate, 'unit signer');
  anchors = [anchorOf(root)];
});

describe('envelopes', () => {
  it('verifies a JWS through an intermediate to the root in the trust store', () => {
    const r = check(jws());
    expect(r.failed).toBeUndefined();
    expect(r.verified).toBe(true);
    expect(r.signer?.chain).toEqual([
      'CN=unit signer, O=ecrctl tests, ST=WA, C=US',
      'CN=unit intermediate, O=ecrctl tests, ST=WA, C=US',
      'CN=unit root, O=ecrctl tests, ST=WA, C=US',
    ]);
    // A chain that stops at the intermediate, issued by the root of the trust store, also verifies.
    expect(check(jws({ certificates: [leaf.der, intermediate.der] })).verified).toBe(true);
    // Trusting only the intermediate is enough too.
    expect(
      verifyEnvelope(JWS, jws(), { subject: SUBJECT, statement: strict, anchors: [anchorOf(intermediate)] }).verified,
    ).toBe(true);
  });

  it('refuses an alg that does not match the leaf key (algorithm substitution)', () => {
    const r = check(jws({ alg: 'ES384' }));
    expect(r.failed).toMatchObject({
      check: 'signature',
      message: "alg ES384 does not match the signing certificate's key (ES256)",
    });
  });

  it('refuses a chain that skips a link, and a leaf that is a CA', () => {
    expect(check(jws({ certificates: [leaf.der, root.der] })).failed).toMatchObject({
      check: 'certificate-chain',
      message: expect.stringContaining(
        'CN=unit signer, O=ecrctl tests, ST=WA, C=US is not issued by the next certificate',
      ),
    });
  });

  it.each([
    [
      'an unknown critical header',
      { critical: ['org.example.unknown'], extended: { 'org.example.unknown': 'x' } },
      "critical header 'org.example.unknown' is not understood",
    ],
    ['no certificates', { certificates: [] }, 'the envelope carries no certificate chain'],
  ])('fails the envelope check for %s', (_what, over, message) => {
    expect(check(jws(over as Partial<JwsSignInput>)).failed).toEqual({ check: 'envelope', status: 'failed', message });
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'the JWS envelope is not JSON'],
    [
      'a bad base64url signature',
      Buffer.from('{"payload":"e30","protected":"e30","signature":"%%"}'),
      'JWS signature is not base64url',
    ],
  ])('fails the envelope check for %s', (_what, bytes, message) => {
    expect(check(bytes).failed).toMatchObject({ check: 'envelope', message });
  });

  it('fails expiry under strict and only logs it under permissive', () => {
    const expired = jws({ expiry: new Date(Date.now() - DAY / 24), signingTime: new Date(Date.now() - DAY / 2) });
    expect(check(expired).failed).toMatchObject({
      check: 'expiry',
      message: expect.stringMatching(/^the signature expired /),
    });
    const permissive = { ...strict, level: 'permissive' as const };
    const r = check(expired, permissive);
    expect(r.verified).toBe(true);
    expect(statusOf(r).expiry).toBe('logged');
  });

  it('audit logs an untrusted chain; skip checks nothing', () => {
    const other = { ...strict, level: 'audit' as const };
    const r = verifyEnvelope(JWS, jws(), { subject: SUBJECT, statement: other, anchors: [] });
    expect(r.verified).toBe(true);
    expect(statusOf(r)['certificate-chain']).toBe('logged');
    // Integrity stays enforced at audit.
    const bad = Buffer.from(jws());
    const doc = JSON.parse(bad.toString());
    doc.signature = `${doc.signature.slice(0, -4)}AAAA`;
    expect(
      verifyEnvelope(JWS, Buffer.from(JSON.stringify(doc)), { subject: SUBJECT, statement: other, anchors: [] }).failed
        ?.check,
    ).toBe('signature');
    const skip = { ...strict, level: 'skip' as const, trustStores: [], trustedIdentities: [] };
    expect(statusOf(check(Buffer.from('garbage'), skip))).toMatchObject({ envelope: 'skipped', signature: 'skipped' });
  });

  it('parses COSE (tag 18, x5chain, tag-1 times) and refuses other CBOR', () => {
    const cose = coseEnvelope(SUBJECT, leaf, intermediate);
    const env = parseEnvelope('application/cose', cose);
    expect(env).toMatchObject({ format: 'cose', alg: 'ES256', signingScheme: 'notary.x509' });
    expect(env.certificates.map((c) => new X509Certificate(c).subject.split('\n')[0])).toEqual([
      'CN=unit signer',
      'CN=unit intermediate',
    ]);
    expect(check(cose, strict, 'application/cose').verified).toBe(true);
    expect(check(Buffer.from(encode([1, 2, 3, 4])), strict, 'application/cose').failed?.message).toBe(
      'the COSE envelope is not a COSE_Sign1_Tagged (tag 18) object',
    );
    expect(
      check(
        Buffer.from(encode(new Tag(18, [new Uint8Array(0), new Map(), null, new Uint8Array(0)]))),
        strict,
        'application/cose',
      ).failed?.message,
    ).toMatch(/protected header is not valid CBOR|detached COSE payloads/);
  });

  it('names an unsupported envelope media type', () => {
    expect(check(jws(), strict, 'application/x-pgp').failed?.message).toBe(
      "unsupported signature envelope media type 'application/x-pgp'",
    );
  });
});

describe('trust policy', () => {
  const doc = (statements: unknown[]) => JSON.stringify({ version: '1.0', trustPolicies: statements });
  const st = (name: string, scopes: string[], extra: Record<string, unknown> = {}) => ({
    name,
    registryScopes: scopes,
    signatureVerification: { level: 'strict' },
    trustStores: ['ca:acme'],
    trustedIdentities: ['*'],
    ...extra,
  });

  it('prefers an exact registry scope over "*"', () => {
    const p = parseTrustPolicy(doc([st('all', ['*']), st('app', ['registry.example/team/app'])]), 'p.json');
    expect(selectStatement(p, 'registry.example/team/app')?.name).toBe('app');
    expect(selectStatement(p, 'registry.example/team/other')?.name).toBe('all');
    expect(selectStatement(p, undefined)?.name).toBe('all');
    const onlyApp = parseTrustPolicy(doc([st('app', ['registry.example/team/app'])]), 'p.json');
    expect(selectStatement(onlyApp, 'registry.example/team/other')).toBeUndefined();
  });

  it.each([
    [
      'a scope in two statements',
      [st('a', ['r.io/x']), st('b', ['r.io/x'])],
      "registry scope 'r.io/x' is in more than one statement",
    ],
    ['a scope with a tag', [st('a', ['r.io/x:v1'])], 'must be HOST/REPOSITORY'],
    ['"*" with other scopes', [st('a', ['*', 'r.io/x'])], '"*" must be the only registry scope'],
    ['no trust stores at strict', [st('a', ['*'], { trustStores: [] })], 'must not be empty'],
    ['a bad trust store', [st('a', ['*'], { trustStores: ['acme'] })], 'must be ca:NAME'],
    ['a bad identity', [st('a', ['*'], { trustedIdentities: ['CN=x'] })], 'must be "*", x509.subject: DN'],
    ['an unknown level', [st('a', ['*'], { signatureVerification: { level: 'lax' } })], 'level must be one of'],
    [
      'overriding integrity',
      [st('a', ['*'], { signatureVerification: { level: 'strict', override: { integrity: 'log' } } })],
      'integrity cannot be overridden',
    ],
  ])('refuses %s (exit 2)', (_what, statements, message) => {
    let err: { exitCode?: number; message?: string } | undefined;
    try {
      parseTrustPolicy(doc(statements), 'p.json');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toContain(message);
  });

  it('matches identities: "*", a DN subset of the leaf subject, a signing profile ARN', () => {
    const subject = 'CN=signer\nO=Acme\nST=WA\nC=US';
    expect(matchIdentity(['*'], { subject })).toBe('*');
    expect(matchIdentity(['x509.subject: C=US, ST=WA, O=Acme'], { subject })).toBe('x509.subject: C=US, ST=WA, O=Acme');
    expect(matchIdentity(['x509.subject: C=US, ST=WA, O=Other'], { subject })).toBeUndefined();
    const arn = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/release';
    expect(matchIdentity([arn], { subject, signingProfile: arn })).toBe(arn);
    expect(matchIdentity([`${arn}/abc123XYZ0`], { subject, signingProfile: arn })).toBe(`${arn}/abc123XYZ0`);
    expect(matchIdentity([arn], { subject })).toBeUndefined();
  });
});

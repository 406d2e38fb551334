// Test certificate authorities and Notary envelopes built independently of the code under
// test: CAs and leaves issued with @peculiar/x509 (any validity window, EC or RSA keys),
// COSE_Sign1 envelopes encoded here with cbor2, and a data-plane helper that attaches an
// envelope to an image as a Notary signature referrer.
import { createPrivateKey, generateKeyPairSync, type KeyObject, sign, webcrypto, X509Certificate } from 'node:crypto';
import { encode, Tag } from 'cbor2';
import 'reflect-metadata';
import { digestOf } from '../local/helpers.js';

const x509 = await import('@peculiar/x509');
type X509Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type X509Key = X509Keys['privateKey'];
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const DAY = 24 * 3600 * 1000;
const EC384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;

/** A test CA: its certificate and key. */
export interface TestCa {
  pem: string;
  der: Buffer;
  cert: X509Certificate;
  key: KeyObject;
  subject: string;
}

/** A leaf signing certificate and its key. */
export interface TestLeaf {
  der: Buffer;
  cert: X509Certificate;
  key: KeyObject;
}

async function webKey(key: KeyObject, alg: object, usage: 'sign' | 'verify'): Promise<X509Key> {
  const der =
    usage === 'sign' ? key.export({ type: 'pkcs8', format: 'der' }) : key.export({ type: 'spki', format: 'der' });
  return (await webcrypto.subtle.importKey(
    usage === 'sign' ? 'pkcs8' : 'spki',
    der,
    alg as webcrypto.EcKeyImportParams,
    true,
    [usage],
  )) as unknown as X509Key;
}

/**
 * Creates a CA (ECDSA P-384) valid from notBefore to notAfter (default: a day ago to ten
 * years on): self-signed, or an intermediate issued by parent.
 */
export async function makeCa(
  cn: string,
  window: { notBefore?: Date; notAfter?: Date } = {},
  parent?: TestCa,
): Promise<TestCa> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const keys = {
    privateKey: await webKey(pair.privateKey, EC384, 'sign'),
    publicKey: await webKey(pair.publicKey, EC384, 'verify'),
  } as X509Keys;
  const subject = `CN=${cn}, O=ecrctl tests, ST=WA, C=US`;
  const common = {
    signingAlgorithm: EC384,
    notBefore: window.notBefore ?? new Date(Date.now() - DAY),
    notAfter: window.notAfter ?? new Date(Date.now() + 3650 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  };
  const cert = parent
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject,
        issuer: parent.subject,
        publicKey: keys.publicKey,
        signingKey: await webKey(parent.key, EC384, 'sign'),
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: subject, keys });
  const pem = cert.toString('pem');
  return { pem, der: Buffer.from(cert.rawData), cert: new X509Certificate(pem), key: pair.privateKey, subject };
}

/** Issues a code-signing leaf from ca with a key of the given kind, valid in the given window. */
export async function issueLeaf(
  ca: TestCa,
  cn: string,
  opts: { key?: 'P-256' | 'P-384' | 'RSA-2048'; notBefore?: Date; notAfter?: Date } = {},
): Promise<TestLeaf> {
  const kind = opts.key ?? 'P-256';
  const pair =
    kind === 'RSA-2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: kind });
  const publicAlg =
    kind === 'RSA-2048' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: kind };
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${cn}, O=ecrctl tests, ST=WA, C=US`,
    issuer: ca.subject,
    publicKey: await webKey(pair.publicKey, publicAlg, 'verify'),
    signingKey: await webKey(ca.key, EC384, 'sign'),
    signingAlgorithm: EC384,
    notBefore: opts.notBefore ?? new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + 365 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
    ],
  });
  const der = Buffer.from(cert.rawData);
  return {
    der,
    cert: new X509Certificate(der),
    key: createPrivateKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
}

/** A descriptor of what is signed. */
export interface Subject {
  mediaType: string;
  digest: string;
  size: number;
}

/**
 * Builds a COSE_Sign1_Tagged Notary envelope (scheme notary.x509) by hand: protected header
 * map (alg, crit, cty, scheme, signing time as tag 1), x5chain unprotected, and the
 * signature over the Sig_structure — ES256 (P-256 leaf) or PS256 (RSA-2048 leaf).
 */
export function coseEnvelope(subject: Subject, leaf: TestLeaf, ca: TestCa, signingTime = new Date()): Buffer {
  const rsa = leaf.key.asymmetricKeyType === 'rsa';
  const headers = new Map<number | string, unknown>([
    [1, rsa ? -37 : -7],
    [2, ['io.cncf.notary.signingScheme']],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    ['io.cncf.notary.signingScheme', 'notary.x509'],
    ['io.cncf.notary.signingTime', new Tag(1, Math.floor(signingTime.getTime() / 1000))],
  ]);
  const protectedBytes = encode(headers);
  const payload = Buffer.from(JSON.stringify({ targetArtifact: subject }));
  const toBeSigned = encode(['Signature1', protectedBytes, new Uint8Array(0), new Uint8Array(payload)]);
  const signature = rsa
    ? sign('sha256', toBeSigned, { key: leaf.key, padding: 6, saltLength: 32 })
    : sign('sha256', toBeSigned, { key: leaf.key, dsaEncoding: 'ieee-p1363' });
  const unprotected = new Map<number | string, unknown>([
    [33, [new Uint8Array(leaf.der), new Uint8Array(ca.der)]],
    ['io.cncf.notary.signingAgent', 'ecrctl-tests'],
  ]);
  return Buffer.from(
    encode(new Tag(18, [protectedBytes, unprotected, new Uint8Array(payload), new Uint8Array(signature)])),
  );
}

/** Uploads a blob through the data plane (monolithic POST ?digest=). */
export async function uploadBlob(endpoint: string, auth: string, repo: string, bytes: Buffer): Promise<string> {
  const digest = digestOf(bytes);
  const res = await fetch(`${endpoint}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${await res.text()}`);
  return digest;
}

/** Attaches an envelope to subject as a Notary signature referrer; returns the signature manifest's digest. */
export async function attachSignature(
  endpoint: string,
  auth: string,
  repo: string,
  subject: Subject,
  envelope: Buffer,
  envelopeMediaType: string,
): Promise<string> {
  const config = await uploadBlob(endpoint, auth, repo, Buffer.from('{}'));
  const layer = await uploadBlob(endpoint, auth, repo, envelope);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.cncf.notary.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config, size: 2 },
      layers: [{ mediaType: envelopeMediaType, digest: layer, size: envelope.length }],
      subject,
    }),
  );
  const digest = digestOf(manifest);
  const res = await fetch(`${endpoint}/v2/${repo}/manifests/${digest}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`signature manifest push failed: ${res.status} ${await res.text()}`);
  return digest;
}

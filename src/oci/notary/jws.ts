// The Notary Project JWS envelope (JSON serialization, `application/jose+json`): the
// protected header and payload are base64url JSON, the signature covers the ASCII string
// `protected.payload`, and the certificate chain travels unsigned as `header.x5c` (standard
// base64 DER, leaf first). Parsing refuses anything malformed; trust is decided in verify.ts.
import type { KeyObject } from 'node:crypto';
import {
  checkProtected,
  EnvelopeError,
  NOTARY_PAYLOAD_TYPE,
  type SignatureAlgorithm,
  type SignatureEnvelope,
  type SigningScheme,
} from './model.js';
import { isAlgorithm, signBytes } from './algorithms.js';

const B64URL = /^[A-Za-z0-9_-]*$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Protected header names with a meaning of their own (the rest are extended attributes). */
const KNOWN = new Set([
  'alg',
  'cty',
  'crit',
  'io.cncf.notary.signingScheme',
  'io.cncf.notary.signingTime',
  'io.cncf.notary.authenticSigningTime',
  'io.cncf.notary.expiry',
]);

function b64url(field: string, value: unknown): Buffer {
  if (typeof value !== 'string' || !B64URL.test(value)) throw new EnvelopeError(`JWS ${field} is not base64url`);
  return Buffer.from(value, 'base64url');
}

function time(name: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  // RFC 3339 date-time, as the JWS envelope spec requires.
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(value)) {
    throw new EnvelopeError(`${name} is not an RFC 3339 time: ${JSON.stringify(value)}`);
  }
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new EnvelopeError(`${name} is not a valid time: ${value}`);
  return t;
}

/** Parses a JWS envelope; throws EnvelopeError when the bytes are not one. */
export function parseJws(bytes: Buffer): SignatureEnvelope {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EnvelopeError('the JWS envelope is not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new EnvelopeError('the JWS envelope is not an object');
  const jws = doc as Record<string, unknown>;
  const protectedB64 = jws.protected;
  const payloadB64 = jws.payload;
  const payload = b64url('payload', payloadB64);
  const signature = b64url('signature', jws.signature);
  let headers: Record<string, unknown>;
  try {
    headers = JSON.parse(b64url('protected', protectedB64).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError('the JWS protected header is not JSON');
  }
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new EnvelopeError('the JWS protected header is not an object');
  }
  if (!isAlgorithm(headers.alg)) throw new EnvelopeError(`JWS alg ${JSON.stringify(headers.alg)} is not allowed`);
  const crit = headers.crit;
  if (!Array.isArray(crit) || !crit.every((c) => typeof c === 'string')) {
    throw new EnvelopeError('JWS crit is not a list of header names');
  }
  const unprotected = (jws.header ?? {}) as Record<string, unknown>;
  if (typeof unprotected !== 'object' || Array.isArray(unprotected)) {
    throw new EnvelopeError('the JWS unprotected header is not an object');
  }
  const x5c = unprotected.x5c;
  if (!Array.isArray(x5c) || !x5c.every((c) => typeof c === 'string' && B64.test(c) && c.length > 0)) {
    throw new EnvelopeError('JWS header.x5c is not a list of base64 certificates');
  }
  const extended: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) if (!KNOWN.has(k)) extended[k] = v;
  const signingTime = time('io.cncf.notary.signingTime', headers['io.cncf.notary.signingTime']);
  const authenticSigningTime = time(
    'io.cncf.notary.authenticSigningTime',
    headers['io.cncf.notary.authenticSigningTime'],
  );
  const expiry = time('io.cncf.notary.expiry', headers['io.cncf.notary.expiry']);
  const agent = unprotected['io.cncf.notary.signingAgent'];
  const envelope: SignatureEnvelope = {
    format: 'jws',
    alg: headers.alg,
    signedBytes: Buffer.from(`${protectedB64 as string}.${payloadB64 as string}`, 'ascii'),
    signature,
    payload,
    contentType: typeof headers.cty === 'string' ? headers.cty : '',
    critical: crit as string[],
    signingScheme: String(headers['io.cncf.notary.signingScheme'] ?? ''),
    ...(signingTime ? { signingTime } : {}),
    ...(authenticSigningTime ? { authenticSigningTime } : {}),
    ...(expiry ? { expiry } : {}),
    extended,
    certificates: x5c.map((c) => Buffer.from(c as string, 'base64')),
    ...(typeof agent === 'string' ? { signingAgent: agent } : {}),
  };
  checkProtected(envelope);
  return envelope;
}

/** What a JWS envelope is made of when signing. */
export interface JwsSignInput {
  /** The signed payload document (`{ targetArtifact: … }`). */
  payload: unknown;
  alg: SignatureAlgorithm;
  /** The private key matching the leaf certificate. */
  key: KeyObject;
  /** DER certificates, leaf first. */
  certificates: readonly Buffer[];
  signingScheme: SigningScheme;
  /** signingTime (notary.x509) or authenticSigningTime (signingAuthority). */
  signingTime: Date;
  expiry?: Date;
  /** Extended signed attributes; critical ones are listed in crit. */
  extended?: Record<string, string>;
  critical?: readonly string[];
  signingAgent?: string;
}

/** RFC 3339 without fractional seconds, as the Notary specs recommend. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Returns a Notary JWS envelope (bytes of `application/jose+json`) signed with input.key. */
export function signJws(input: JwsSignInput): Buffer {
  const authority = input.signingScheme === 'notary.x509.signingAuthority';
  const timeHeader = authority ? 'io.cncf.notary.authenticSigningTime' : 'io.cncf.notary.signingTime';
  const crit = ['io.cncf.notary.signingScheme'];
  if (authority) crit.push(timeHeader);
  if (input.expiry) crit.push('io.cncf.notary.expiry');
  crit.push(...(input.critical ?? []));
  const headers: Record<string, unknown> = {
    alg: input.alg,
    cty: NOTARY_PAYLOAD_TYPE,
    crit,
    'io.cncf.notary.signingScheme': input.signingScheme,
    [timeHeader]: rfc3339(input.signingTime),
    ...(input.expiry ? { 'io.cncf.notary.expiry': rfc3339(input.expiry) } : {}),
    ...input.extended,
  };
  const protectedB64 = Buffer.from(JSON.stringify(headers)).toString('base64url');
  const payloadB64 = Buffer.from(JSON.stringify(input.payload)).toString('base64url');
  const signature = signBytes(input.alg, input.key, Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'));
  return Buffer.from(
    JSON.stringify({
      payload: payloadB64,
      protected: protectedB64,
      header: {
        x5c: input.certificates.map((c) => c.toString('base64')),
        ...(input.signingAgent ? { 'io.cncf.notary.signingAgent': input.signingAgent } : {}),
      },
      signature: signature.toString('base64url'),
    }),
  );
}

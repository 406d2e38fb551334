// The Notary Project COSE envelope (`application/cose`): a COSE_Sign1_Tagged (CBOR tag 18)
// array [protected header bstr, unprotected header map, payload bstr, signature bstr]. The
// signature covers the CBOR encoding of the Sig_structure ['Signature1', protected bytes as
// received, empty external_aad, payload]; the chain is header 33 (x5chain), leaf first.
// CBOR is decoded with cbor2: duplicate map keys are refused, nesting is bounded.
import { decode, encode, Tag } from 'cbor2';
import { COSE_ALGORITHMS } from './algorithms.js';
import { checkProtected, EnvelopeError, type SignatureEnvelope } from './model.js';

const COSE_SIGN1_TAG = 18;
const ALG = 1;
const CRIT = 2;
const CONTENT_TYPE = 3;
const X5CHAIN = 33;
const DECODE = { rejectDuplicateKeys: true, preferMap: true, maxDepth: 16 } as const;
/** Protected header names with a meaning of their own (the rest are extended attributes). */
const KNOWN = new Set([
  'io.cncf.notary.signingScheme',
  'io.cncf.notary.signingTime',
  'io.cncf.notary.authenticSigningTime',
  'io.cncf.notary.expiry',
]);

function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, DECODE);
  } catch (err) {
    throw new EnvelopeError(`${what} is not valid CBOR: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function asMap(v: unknown, what: string): Map<unknown, unknown> {
  if (v instanceof Map) return v;
  throw new EnvelopeError(`${what} is not a CBOR map`);
}

function bstr(v: unknown, what: string): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new EnvelopeError(`${what} is not a byte string`);
}

/** Reads an epoch date/time (tag 1, decoded by cbor2 as a Date). */
function time(name: string, v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v;
  if (v instanceof Tag && v.tag === 1 && typeof v.contents === 'number') return new Date(v.contents * 1000);
  throw new EnvelopeError(`${name} is not an epoch date/time (CBOR tag 1)`);
}

/** Parses a COSE_Sign1_Tagged envelope; throws EnvelopeError when the bytes are not one. */
export function parseCose(bytes: Buffer): SignatureEnvelope {
  const top = cbor(bytes, 'the COSE envelope');
  if (!(top instanceof Tag) || top.tag !== COSE_SIGN1_TAG) {
    throw new EnvelopeError('the COSE envelope is not a COSE_Sign1_Tagged (tag 18) object');
  }
  const parts = top.contents;
  if (!Array.isArray(parts) || parts.length !== 4) throw new EnvelopeError('COSE_Sign1 is not a 4-element array');
  const protectedBytes = bstr(parts[0], 'the COSE protected header');
  const headers = asMap(cbor(protectedBytes, 'the COSE protected header'), 'the COSE protected header');
  const unprotected = asMap(parts[1], 'the COSE unprotected header');
  if (parts[2] === null) throw new EnvelopeError('detached COSE payloads are not supported');
  const payload = bstr(parts[2], 'the COSE payload');
  const signature = bstr(parts[3], 'the COSE signature');

  const algLabel = headers.get(ALG);
  const alg = typeof algLabel === 'number' ? COSE_ALGORITHMS[algLabel] : undefined;
  if (!alg) throw new EnvelopeError(`COSE alg ${String(algLabel)} is not allowed`);
  const crit = headers.get(CRIT);
  if (!Array.isArray(crit) || !crit.every((c) => typeof c === 'string' || typeof c === 'number')) {
    throw new EnvelopeError('COSE crit is not a list of header labels');
  }
  const cty = headers.get(CONTENT_TYPE);
  // x5chain is unprotected per the Notary spec, but may be protected; one certificate may be a bare bstr.
  const chain = headers.get(X5CHAIN) ?? unprotected.get(X5CHAIN);
  const certs = chain instanceof Uint8Array ? [chain] : chain;
  if (!Array.isArray(certs) || certs.length === 0) throw new EnvelopeError('COSE x5chain (label 33) is missing');
  const extended: Record<string, unknown> = {};
  for (const [k, v] of headers) {
    if (typeof k === 'string' && !KNOWN.has(k)) extended[k] = v;
  }
  const signingTime = time('io.cncf.notary.signingTime', headers.get('io.cncf.notary.signingTime'));
  const authenticSigningTime = time(
    'io.cncf.notary.authenticSigningTime',
    headers.get('io.cncf.notary.authenticSigningTime'),
  );
  const expiry = time('io.cncf.notary.expiry', headers.get('io.cncf.notary.expiry'));
  const agent = unprotected.get('io.cncf.notary.signingAgent');
  const scheme = headers.get('io.cncf.notary.signingScheme');
  const envelope: SignatureEnvelope = {
    format: 'cose',
    alg,
    signedBytes: Buffer.from(
      encode(['Signature1', new Uint8Array(protectedBytes), new Uint8Array(0), new Uint8Array(payload)]),
    ),
    signature,
    payload,
    contentType: typeof cty === 'string' ? cty : '',
    critical: crit.map(String),
    signingScheme: typeof scheme === 'string' ? scheme : '',
    ...(signingTime ? { signingTime } : {}),
    ...(authenticSigningTime ? { authenticSigningTime } : {}),
    ...(expiry ? { expiry } : {}),
    extended,
    certificates: certs.map((c, i) => bstr(c, `x5chain certificate ${i + 1}`)),
    ...(typeof agent === 'string' ? { signingAgent: agent } : {}),
  };
  checkProtected(envelope);
  return envelope;
}

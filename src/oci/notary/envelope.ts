// The Notary Project signature envelope, format-neutral: parseEnvelope picks the JWS or
// COSE parser (jws.ts, cose.ts) by the layer's media type, so that verification (verify.ts)
// checks one shape. Parsing never decides trust: it only refuses bytes that are not an envelope.
import { parseCose } from './cose.js';
import { parseJws } from './jws.js';
import {
  AWS_PROFILE_VERSION_ATTRIBUTE,
  COSE_ENVELOPE_TYPE,
  EnvelopeError,
  JWS_ENVELOPE_TYPE,
  type SignatureEnvelope,
  type TargetArtifact,
} from './model.js';

/** Parses an envelope blob by its layer media type (JWS or COSE). */
export function parseEnvelope(mediaType: string, bytes: Buffer): SignatureEnvelope {
  if (mediaType === JWS_ENVELOPE_TYPE) return parseJws(bytes);
  if (mediaType === COSE_ENVELOPE_TYPE) return parseCose(bytes);
  throw new EnvelopeError(`unsupported signature envelope media type '${mediaType}'`);
}

/** Returns the payload's targetArtifact, refusing a payload that is not a Notary descriptor. */
export function targetArtifactOf(envelope: SignatureEnvelope): TargetArtifact {
  let doc: unknown;
  try {
    doc = JSON.parse(envelope.payload.toString('utf8'));
  } catch {
    throw new EnvelopeError('the signed payload is not JSON');
  }
  const t = (doc as { targetArtifact?: unknown } | null)?.targetArtifact as Record<string, unknown> | undefined;
  if (
    !t ||
    typeof t !== 'object' ||
    typeof t.mediaType !== 'string' ||
    typeof t.digest !== 'string' ||
    typeof t.size !== 'number'
  ) {
    throw new EnvelopeError('the signed payload has no targetArtifact descriptor (mediaType, digest, size)');
  }
  return {
    mediaType: t.mediaType,
    digest: t.digest,
    size: t.size,
    ...(t.annotations && typeof t.annotations === 'object'
      ? { annotations: t.annotations as Record<string, string> }
      : {}),
  };
}

/** Returns the signing profile ARN an envelope's signed AWS Signer attribute names (version suffix dropped). */
export function signedProfileOf(envelope: SignatureEnvelope): string | undefined {
  const v = envelope.extended[AWS_PROFILE_VERSION_ATTRIBUTE];
  if (typeof v !== 'string') return undefined;
  // arn:…:/signing-profiles/NAME/VERSION → arn:…:/signing-profiles/NAME
  const m = /^(arn:[^/]+\/signing-profiles\/[^/]+)(?:\/[^/]+)?$/.exec(v);
  return m ? m[1] : v;
}

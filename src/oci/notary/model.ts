// The Notary Project signature model shared by the envelope parsers (jws.ts, cose.ts) and
// verification (verify.ts): media types, header names, the parsed envelope's shape, and the
// checks every protected header set must pass whatever its encoding.
/** The artifactType (and legacy config media type) of a Notary Project signature manifest. */
export const NOTARY_SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
/** The media type of a JWS envelope layer (JSON serialization). */
export const JWS_ENVELOPE_TYPE = 'application/jose+json';
/** The media type of a COSE_Sign1 envelope layer. */
export const COSE_ENVELOPE_TYPE = 'application/cose';
/** The content type a Notary payload declares (`cty`). */
export const NOTARY_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
/** The signing schemes of the Notary Project signing-scheme spec. */
export const SIGNING_SCHEMES = ['notary.x509', 'notary.x509.signingAuthority'] as const;
/** A Notary signing scheme. */
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

/** The AWS Signer attribute that names the signing profile version that signed. */
export const AWS_PROFILE_VERSION_ATTRIBUTE = 'com.amazonaws.signer.signingProfileVersion';
/** The AWS Signer attribute that names the signing job. */
export const AWS_SIGNING_JOB_ATTRIBUTE = 'com.amazonaws.signer.signingJob';

/** Header names a verifier must understand when they are listed as critical. */
export const UNDERSTOOD_CRITICAL = new Set([
  'io.cncf.notary.signingScheme',
  'io.cncf.notary.authenticSigningTime',
  'io.cncf.notary.expiry',
  AWS_PROFILE_VERSION_ATTRIBUTE,
  AWS_SIGNING_JOB_ATTRIBUTE,
  // AWS Signer names its Notation plugin; the checks it stands for are done here, offline,
  // except revocation (documented: the plugin asks AWS Signer's GetRevocationStatus online).
  'io.cncf.notary.verificationPlugin',
  'io.cncf.notary.verificationPluginMinVersion',
]);

/** The Notary signature algorithms (JWS names; COSE maps its integer labels onto them). */
export type SignatureAlgorithm = 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** The signed payload: the descriptor of what was signed. */
export interface TargetArtifact {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** An envelope parsed into what verification needs; nothing in it is trusted yet. */
export interface SignatureEnvelope {
  format: 'jws' | 'cose';
  alg: SignatureAlgorithm;
  /** The exact bytes the signature covers (JWS signing input; COSE Sig_structure). */
  signedBytes: Buffer;
  /** The signature value (ECDSA as r||s). */
  signature: Buffer;
  /** The payload bytes as signed. */
  payload: Buffer;
  /** The payload's content type from the protected header. */
  contentType: string;
  /** Protected (signed) header names listed as critical. */
  critical: string[];
  signingScheme: string;
  /** io.cncf.notary.signingTime (self-asserted; notary.x509). */
  signingTime?: Date;
  /** io.cncf.notary.authenticSigningTime (notary.x509.signingAuthority). */
  authenticSigningTime?: Date;
  /** io.cncf.notary.expiry. */
  expiry?: Date;
  /** Other protected headers (extended attributes such as AWS Signer's), as signed. */
  extended: Record<string, unknown>;
  /** The certificate chain, leaf first, DER. */
  certificates: Buffer[];
  /** io.cncf.notary.signingAgent (unsigned). */
  signingAgent?: string;
}

/** Thrown for bytes that are not a well-formed envelope (the check "envelope" fails). */
export class EnvelopeError extends Error {}

/** Common validation of the protected headers both formats carry; throws EnvelopeError. */
export function checkProtected(e: SignatureEnvelope): void {
  if (e.contentType !== NOTARY_PAYLOAD_TYPE) {
    throw new EnvelopeError(`content type '${e.contentType}' is not ${NOTARY_PAYLOAD_TYPE}`);
  }
  if (!(SIGNING_SCHEMES as readonly string[]).includes(e.signingScheme)) {
    throw new EnvelopeError(`signing scheme '${e.signingScheme}' is not one of ${SIGNING_SCHEMES.join(', ')}`);
  }
  if (!e.critical.includes('io.cncf.notary.signingScheme')) {
    throw new EnvelopeError('crit does not list io.cncf.notary.signingScheme');
  }
  for (const c of e.critical) {
    if (!UNDERSTOOD_CRITICAL.has(c)) throw new EnvelopeError(`critical header '${c}' is not understood`);
  }
  if (e.signingScheme === 'notary.x509' && !e.signingTime) {
    throw new EnvelopeError('scheme notary.x509 needs io.cncf.notary.signingTime');
  }
  if (e.signingScheme === 'notary.x509.signingAuthority') {
    if (!e.authenticSigningTime) {
      throw new EnvelopeError('scheme notary.x509.signingAuthority needs io.cncf.notary.authenticSigningTime');
    }
    if (!e.critical.includes('io.cncf.notary.authenticSigningTime')) {
      throw new EnvelopeError('crit does not list io.cncf.notary.authenticSigningTime');
    }
  }
  if (e.expiry && !e.critical.includes('io.cncf.notary.expiry')) {
    throw new EnvelopeError('crit does not list io.cncf.notary.expiry');
  }
  if (e.certificates.length === 0) throw new EnvelopeError('the envelope carries no certificate chain');
}

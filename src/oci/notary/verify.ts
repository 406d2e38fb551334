// Verifies one Notary Project signature envelope offline, in the order notation does and
// with its validations: integrity (the envelope parses, `alg` matches the leaf key and the
// signature covers the protected header and payload), the signed descriptor equals the
// subject, authenticity (the x5chain links up to a certificate of the trust store, the
// signer is a trusted identity, and --signing-profile matches), the authentic timestamp
// (signing time inside every certificate's validity; for the self-asserted notary.x509
// time also now) and expiry. Revocation needs the network (OCSP, CRL, AWS Signer's
// GetRevocationStatus) and is reported as not checked. Each check is recorded; the level
// of the trust policy statement says which failures fail the signature.
import { X509Certificate } from 'node:crypto';
import {
  actionsOf,
  matchIdentity,
  type TrustPolicyStatement,
  type TrustStoreRef,
  type Validation,
  type ValidationAction,
} from '../../policy/trust-policy.js';
import { algorithmForKey, verifyBytes } from './algorithms.js';
import { parseEnvelope, signedProfileOf, targetArtifactOf } from './envelope.js';
import type { SignatureEnvelope, TargetArtifact } from './model.js';

/** The extended key usage a Notary signing certificate must allow when it lists any. */
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

/** A certificate of the trust store, and which named store (`ca:NAME`…) it came from. */
export interface TrustAnchor {
  certificate: X509Certificate;
  /** The store's type and name; undefined for a flat store (a file or plain directory) that serves every name. */
  store?: TrustStoreRef;
  /** Where it was read from, for messages. */
  file: string;
}

/** The checks, in the order they run. */
export const CHECKS = [
  'envelope',
  'signature',
  'target-artifact',
  'certificate-chain',
  'trusted-identity',
  'signing-profile',
  'signing-time',
  'expiry',
  'revocation',
] as const;
/** One check's name. */
export type CheckName = (typeof CHECKS)[number];

/** The validation of the trust policy each check belongs to (target-artifact and signing-profile are always enforced). */
const VALIDATION_OF: Record<CheckName, Validation | undefined> = {
  envelope: 'integrity',
  signature: 'integrity',
  'target-artifact': undefined,
  'certificate-chain': 'authenticity',
  'trusted-identity': 'authenticity',
  'signing-profile': undefined,
  'signing-time': 'authenticTimestamp',
  expiry: 'expiry',
  revocation: 'revocation',
};

/** The outcome of one check. */
export interface CheckResult {
  check: CheckName;
  /** passed; failed (and enforced); logged (failed, but the level only logs it); skipped (not run). */
  status: 'passed' | 'failed' | 'logged' | 'skipped';
  message: string;
}

/** What is known about the signer once the envelope parses. */
export interface SignerInfo {
  subject: string;
  issuer: string;
  /** SHA-256 fingerprint of the leaf certificate (hex, lowercase, no colons). */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
  /** Subjects of the chain, leaf first. */
  chain: string[];
}

/** The verification of one envelope. */
export interface EnvelopeVerification {
  verified: boolean;
  format?: 'jws' | 'cose';
  alg?: string;
  signingScheme?: string;
  signingTime?: string;
  expiry?: string;
  /** The signing profile from the signed attributes (AWS Signer's signingProfileVersion). */
  signingProfile?: string;
  signer?: SignerInfo;
  targetArtifact?: TargetArtifact;
  checks: CheckResult[];
  /** The first check that failed verification. */
  failed?: CheckResult;
}

/** What verifyEnvelope checks against. */
export interface EnvelopeCheckOptions {
  /** The subject as the registry has it (digest and size of the manifest bytes, media type). */
  subject: { mediaType: string; digest: string; size: number };
  statement: TrustPolicyStatement;
  anchors: readonly TrustAnchor[];
  /** The signing profile ARN the signature must carry (signed), when given. */
  signingProfile?: string;
  /** The verification time (default now). */
  now?: Date;
}

const oneLine = (dn: string) => dn.split('\n').join(', ');
const fingerprint = (c: X509Certificate) => c.fingerprint256.replace(/:/g, '').toLowerCase();

function validity(c: X509Certificate): { from: Date; to: Date } {
  return { from: new Date(c.validFrom), to: new Date(c.validTo) };
}

/** Verifies envelope bytes (a JWS or COSE layer) against a subject, a trust policy statement and trust anchors. */
export function verifyEnvelope(mediaType: string, bytes: Buffer, opts: EnvelopeCheckOptions): EnvelopeVerification {
  const actions = actionsOf(opts.statement);
  const now = opts.now ?? new Date();
  const checks: CheckResult[] = [];
  const result: EnvelopeVerification = { verified: false, checks };
  const record = (check: CheckName, ok: boolean, message: string) => {
    const validation = VALIDATION_OF[check];
    const action: ValidationAction = validation ? actions[validation] : 'enforce';
    const status = ok ? 'passed' : action === 'enforce' ? 'failed' : 'logged';
    const r: CheckResult = { check, status, message };
    checks.push(r);
    if (status === 'failed' && !result.failed) result.failed = r;
    return ok;
  };
  const skip = (check: CheckName, message: string) => checks.push({ check, status: 'skipped', message });

  if (opts.statement.level === 'skip') {
    for (const c of CHECKS) skip(c, `trust policy statement '${opts.statement.name}' has level skip`);
    result.verified = true;
    return result;
  }

  // Integrity: the envelope and its signature.
  let env: SignatureEnvelope;
  let certs: X509Certificate[];
  try {
    env = parseEnvelope(mediaType, bytes);
    certs = env.certificates.map((der, i) => {
      try {
        return new X509Certificate(der);
      } catch {
        throw new Error(`certificate ${i + 1} of the chain is not an X.509 certificate`);
      }
    });
  } catch (err) {
    record('envelope', false, err instanceof Error ? err.message : String(err));
    for (const c of CHECKS.slice(1)) skip(c, 'the envelope could not be read');
    return result;
  }
  const leaf = certs[0] as X509Certificate;
  const time = env.authenticSigningTime ?? env.signingTime;
  Object.assign(result, {
    format: env.format,
    alg: env.alg,
    signingScheme: env.signingScheme,
    ...(time ? { signingTime: time.toISOString() } : {}),
    ...(env.expiry ? { expiry: env.expiry.toISOString() } : {}),
  });
  const profile = signedProfileOf(env);
  if (profile) result.signingProfile = profile;
  result.signer = {
    subject: oneLine(leaf.subject),
    issuer: oneLine(leaf.issuer),
    fingerprint: fingerprint(leaf),
    notBefore: validity(leaf).from.toISOString(),
    notAfter: validity(leaf).to.toISOString(),
    chain: certs.map((c) => oneLine(c.subject)),
  };
  record('envelope', true, `${env.format === 'jws' ? 'JWS' : 'COSE'} envelope, ${env.alg}, ${env.signingScheme}`);

  const keyAlg = algorithmForKey(leaf.publicKey);
  if (keyAlg !== env.alg) {
    record(
      'signature',
      false,
      `alg ${env.alg} does not match the signing certificate's key (${keyAlg ?? `unsupported ${leaf.publicKey.asymmetricKeyType} key`})`,
    );
  } else if (!verifyBytes(env.alg, leaf.publicKey, env.signedBytes, env.signature)) {
    record('signature', false, `the ${env.alg} signature does not match the signed header and payload`);
  } else {
    record('signature', true, `${env.alg} signature by ${oneLine(leaf.subject)} is valid`);
  }

  // The signed descriptor must be the subject: a valid signature of another image proves nothing here.
  try {
    const t = targetArtifactOf(env);
    result.targetArtifact = t;
    const s = opts.subject;
    const diffs: string[] = [];
    if (t.digest !== s.digest) diffs.push(`digest ${t.digest} (subject ${s.digest})`);
    if (t.size !== s.size) diffs.push(`size ${t.size} (subject ${s.size})`);
    if (t.mediaType !== s.mediaType) diffs.push(`media type ${t.mediaType} (subject ${s.mediaType})`);
    record(
      'target-artifact',
      diffs.length === 0,
      diffs.length === 0
        ? `signed descriptor is ${s.digest}`
        : `the signature is for another artifact: ${diffs.join(', ')}`,
    );
  } catch (err) {
    record('target-artifact', false, err instanceof Error ? err.message : String(err));
  }

  // Authenticity: the chain to a trust anchor the statement names, then the identity.
  const anchors = anchorsFor(opts.anchors, opts.statement, env.signingScheme);
  const chain = checkChain(certs, anchors);
  record('certificate-chain', chain.ok, chain.message);
  const identity = matchIdentity(opts.statement.trustedIdentities, {
    subject: leaf.subject,
    ...(profile ? { signingProfile: profile } : {}),
  });
  record(
    'trusted-identity',
    identity !== undefined,
    identity !== undefined
      ? `signer matches trusted identity '${identity}'`
      : `signer ${oneLine(leaf.subject)}${profile ? ` (profile ${profile})` : ''} is not among the trusted identities of statement '${opts.statement.name}': ${opts.statement.trustedIdentities.join('; ')}`,
  );
  if (opts.signingProfile === undefined) skip('signing-profile', 'no --signing-profile given');
  else {
    const want = opts.signingProfile;
    const ok = profile !== undefined && (profile === want || want.startsWith(`${profile}/`));
    record(
      'signing-profile',
      ok,
      ok
        ? `signed by signing profile ${profile}`
        : profile
          ? `signed by signing profile ${profile}, not ${want}`
          : `the signature names no signing profile in its signed attributes (want ${want})`,
    );
  }

  // Authentic timestamp: every certificate valid at signing time (and now, when the time is only self-asserted).
  const at = time as Date;
  const selfAsserted = env.signingScheme === 'notary.x509';
  const late = chain.used.flatMap((c) => {
    const v = validity(c);
    const problems: string[] = [];
    if (at < v.from || at > v.to) {
      problems.push(
        `${oneLine(c.subject)} is valid ${v.from.toISOString()} to ${v.to.toISOString()}, signing time ${at.toISOString()}`,
      );
    } else if (selfAsserted && (now < v.from || now > v.to)) {
      problems.push(
        `${oneLine(c.subject)} is valid ${v.from.toISOString()} to ${v.to.toISOString()}, ${now > v.to ? 'expired' : 'not yet valid'} now (${now.toISOString()}; notary.x509 signing time is not authenticated)`,
      );
    }
    return problems;
  });
  record(
    'signing-time',
    late.length === 0,
    late.length === 0 ? `signing time ${at.toISOString()} is within every certificate's validity` : late.join('; '),
  );
  if (env.expiry) {
    record(
      'expiry',
      now <= env.expiry,
      now <= env.expiry
        ? `the signature expires ${env.expiry.toISOString()}`
        : `the signature expired ${env.expiry.toISOString()}`,
    );
  } else skip('expiry', 'the signature has no expiry');
  skip('revocation', 'revocation (OCSP, CRL, AWS Signer) is not checked offline');

  result.verified = result.failed === undefined;
  return result;
}

/** Returns the trust anchors a statement's trust stores name for a signing scheme. */
function anchorsFor(all: readonly TrustAnchor[], statement: TrustPolicyStatement, scheme: string): TrustAnchor[] {
  const wantType = scheme === 'notary.x509.signingAuthority' ? 'signingAuthority' : 'ca';
  return all.filter((a) => {
    if (!a.store) return true;
    return statement.trustStores.some(
      (s) => s.type === a.store?.type && (s.name === a.store.name || s.name === '*') && s.type === wantType,
    );
  });
}

/**
 * Checks that each certificate is issued (and signed) by the next, that CA certificates
 * are marked CA and the leaf may sign code, and that the chain reaches a trust anchor:
 * a certificate of the chain is in the trust store, or its last one is issued by one.
 */
function checkChain(
  certs: X509Certificate[],
  anchors: TrustAnchor[],
): { ok: boolean; message: string; used: X509Certificate[] } {
  const leaf = certs[0] as X509Certificate;
  const fail = (message: string) => ({ ok: false, message, used: certs });
  if (leaf.ca) return fail(`the signing certificate ${oneLine(leaf.subject)} is a CA certificate`);
  const eku = leaf.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(CODE_SIGNING)) {
    return fail(`the signing certificate ${oneLine(leaf.subject)} does not allow code signing (extended key usage)`);
  }
  if (anchors.length === 0) return fail('the trust store has no certificate for this trust policy statement');
  const inStore = (c: X509Certificate) => anchors.find((a) => a.certificate.raw.equals(c.raw));
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i] as X509Certificate;
    const anchor = inStore(c);
    if (anchor) {
      return {
        ok: true,
        message: `chain of ${i + 1} certificate(s) ends at ${oneLine(c.subject)} from the trust store (${anchor.file})`,
        used: certs.slice(0, i + 1),
      };
    }
    const next = certs[i + 1];
    if (!next) break;
    if (!next.ca) return fail(`${oneLine(next.subject)} issues ${oneLine(c.subject)} but is not a CA certificate`);
    if (!c.checkIssued(next) || !c.verify(next.publicKey)) {
      return fail(`${oneLine(c.subject)} is not issued by the next certificate of the chain, ${oneLine(next.subject)}`);
    }
  }
  const last = certs[certs.length - 1] as X509Certificate;
  const issuer = anchors.find(
    (a) => a.certificate.ca && last.checkIssued(a.certificate) && last.verify(a.certificate.publicKey),
  );
  if (issuer) {
    return {
      ok: true,
      message: `chain of ${certs.length} certificate(s) is issued by ${oneLine(issuer.certificate.subject)} from the trust store (${issuer.file})`,
      used: [...certs, issuer.certificate],
    };
  }
  return fail(
    `the chain (${certs.map((c) => oneLine(c.subject)).join(' <- ')}) does not lead to a certificate of the trust store (${anchors.length} certificate(s): ${[...new Set(anchors.map((a) => oneLine(a.certificate.subject)))].join('; ')})`,
  );
}

// verify: checks an image's Notary Project signatures offline. The subject's signatures are
// found through the referrers API (or the `sha256-<hex>` tag schema where a registry has no
// API), each envelope (JWS or COSE) is read and checked against the trust store and the
// trust policy (src/oci/notary/verify.ts). The image verifies when one signature passes
// every enforced check. `requireSigned` is the gate promote, pull and tag-push call before
// anything moves.
import { createHash, X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { EcrctlError, HttpStatusError, InterruptedError, NotFoundError, RuleViolation, UsageError } from '../errors.js';
import { COSE_ENVELOPE_TYPE, JWS_ENVELOPE_TYPE, NOTARY_SIGNATURE_TYPE } from '../oci/notary/model.js';
import { type EnvelopeVerification, type TrustAnchor, verifyEnvelope } from '../oci/notary/verify.js';
import { formatReference, parseLocation } from '../oci/reference.js';
import { referrersTag } from '../oci/referrers.js';
import type { ImageSource } from '../oci/store.js';
import type { Descriptor } from '../oci/types.js';
import {
  defaultTrustPolicy,
  parseTrustPolicy,
  selectStatement,
  type TrustPolicy,
  type TrustStoreRef,
} from '../policy/trust-policy.js';
import type { Session } from '../session.js';
import { openLocation, resolveLocation } from './locations.js';

/** The largest signature envelope read (a chain of a few certificates is a few KiB). */
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
/** The most signatures examined for one image (a hostile registry could list thousands). */
const MAX_SIGNATURES = 64;
/** Statuses with which a registry says it has no referrers API. */
const NO_API = new Set([400, 404, 405, 501]);
const ENVELOPE_TYPES = new Set([JWS_ENVELOPE_TYPE, COSE_ENVELOPE_TYPE]);

/** The trust options verify, promote, pull and tag-push share. */
export interface TrustOptions {
  /** A PEM/DER certificate file, a directory of them, or a notation trust store (`x509/ca/NAME/…`). */
  trustStore: string;
  /** A Notary Project trust policy (JSON); default: every scope, strict, any identity of the trust store. */
  trustPolicy?: string;
  /** The signing profile ARN the signature must carry in its signed attributes. */
  signingProfile?: string;
}

/** What verify accepts. */
export interface VerifyOptions extends TrustOptions {
  /** The image: `REPO:TAG`, `REPO@DIGEST`, `HOST/REPO…`, or `oci:DIR[:TAG]`. */
  image: string;
}

/** The verification of one signature manifest. */
export interface SignatureVerification extends EnvelopeVerification {
  /** The signature manifest's digest. */
  digest: string;
  /** The envelope layer's media type (application/jose+json or application/cose). */
  envelopeMediaType?: string;
  /** The signing profile the manifest's (unsigned) ECR annotation names. */
  annotatedProfile?: string;
}

/** The verification report. */
export interface VerifyResult {
  /** The image as given, resolved (`host/repo:tag`, `oci:DIR`). */
  reference: string;
  subject: { mediaType: string; digest: string; size: number };
  /** `host/repository` the trust policy's registryScopes are matched against (none outside a registry). */
  scope?: string;
  trustPolicy: { source: string; statement?: string; level?: string };
  trustStore: { path: string; certificates: number };
  /** How the signatures were found. */
  referrersVia: 'referrers-api' | 'tag-schema' | 'layout';
  signatures: SignatureVerification[];
  verified: boolean;
  /** The digest of the signature that verified. */
  verifiedBy?: string;
  /** Why it did not verify when no signature was checked (no statement applies, no signature). */
  reason?: string;
}

/** Verifies the Notary signatures of an image; returns the report (check it with checkVerified). */
export async function verifyImage(session: Session, opts: VerifyOptions): Promise<VerifyResult> {
  const anchors = await loadTrustStore(session, opts.trustStore);
  const policy = opts.trustPolicy ? await loadTrustPolicy(session, opts.trustPolicy) : defaultTrustPolicy();
  const loc = await resolveLocation(session, parseLocation(opts.image));
  const opened = await openLocation(session, loc, 'source');
  const source = opened.source as ImageSource;
  try {
    const scope = loc.transport === 'registry' ? `${loc.reference.registry}/${loc.reference.repository}` : undefined;
    const reference = loc.transport === 'registry' ? formatReference(loc.reference) : opts.image;
    const m = await source.getManifest(opened.reference, { signal: session.signal });
    const subject = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    const statement = selectStatement(policy, scope);
    const result: VerifyResult = {
      reference,
      subject,
      ...(scope ? { scope } : {}),
      trustPolicy: {
        source: policy.source,
        ...(statement ? { statement: statement.name, level: statement.level } : {}),
      },
      trustStore: { path: path.resolve(session.cwd, opts.trustStore), certificates: anchors.length },
      referrersVia: loc.transport === 'registry' ? 'referrers-api' : 'layout',
      signatures: [],
      verified: false,
    };
    if (!statement) {
      result.reason = `no statement of trust policy ${policy.source} covers ${scope ?? `${reference} (outside a registry only "*" applies)`}`;
      return result;
    }
    const { descriptors, via } = await signatureDescriptors(session, source, subject.digest);
    if (loc.transport === 'registry') result.referrersVia = via;
    const notary = descriptors.slice(0, MAX_SIGNATURES);
    if (descriptors.length > MAX_SIGNATURES) {
      session.log.warn(`${descriptors.length} signatures on ${subject.digest}; checking the first ${MAX_SIGNATURES}`);
    }
    for (const d of notary) {
      const one = await verifySignatureManifest(session, source, d, {
        subject,
        statement,
        anchors,
        ...(opts.signingProfile ? { signingProfile: opts.signingProfile } : {}),
      });
      if (!one) continue;
      result.signatures.push(one);
      if (one.verified && !result.verifiedBy) result.verifiedBy = one.digest;
    }
    result.verified = result.verifiedBy !== undefined;
    if (result.signatures.length === 0) result.reason = `${reference} (${subject.digest}) has no Notary signature`;
    return result;
  } finally {
    await source.close?.();
  }
}

/** Throws RuleViolation (exit 3) naming each signature's failed check when the image did not verify. */
export function checkVerified(result: VerifyResult): void {
  if (result.verified) return;
  const problems = result.signatures.map((s) => {
    const f = s.failed ?? s.checks.find((c) => c.status === 'failed');
    return `signature ${s.digest}: ${f ? `${f.check}: ${f.message}` : 'not verified'}`;
  });
  const what = `${result.reference} (${result.subject.digest})`;
  throw new RuleViolation(
    result.reason
      ? `signature verification failed: ${result.reason}`
      : `signature verification failed: none of the ${result.signatures.length} signature(s) of ${what} verifies`,
    {
      rule: 'an image must carry a Notary Project signature that verifies against the trust store and trust policy',
      value: result.subject.digest,
      fix:
        result.signatures.length === 0 && !result.reason?.startsWith('no statement')
          ? 'sign the image (ECR managed signing: ecrctl signing put …, then push again), or choose a signed image'
          : "check --trust-store (the signer's root certificate), --trust-policy and --signing-profile, or sign the image again",
      problems,
    },
  );
}

/**
 * Verifies image and throws RuleViolation (exit 3) unless a signature verifies: the gate
 * run before promote, pull and tag-push move anything. Logs which signature verified.
 */
export async function requireSigned(session: Session, image: string, trust: TrustOptions): Promise<VerifyResult> {
  const result = await verifyImage(session, { image, ...trust });
  checkVerified(result);
  const s = result.signatures.find((x) => x.digest === result.verifiedBy);
  session.log.info(
    `signature verified: ${result.reference} (${result.subject.digest}) signed by ${s?.signer?.subject ?? 'a trusted signer'}${s?.signingProfile ? ` (${s.signingProfile})` : ''}`,
  );
  return result;
}

/**
 * Returns image pinned to the digest that verified (`REPO:TAG@DIGEST`) when it is a registry
 * reference without a digest, so that a transfer after the gate moves exactly the image that
 * verified even if the tag moves meanwhile; other locations come back unchanged.
 */
export function pinToVerified(image: string, result: VerifyResult): string {
  const loc = parseLocation(image);
  if (loc.transport !== 'registry' || loc.reference.digest) return image;
  return `${image}@${result.subject.digest}`;
}

/** Returns the signature manifests listed for digest: the referrers API, else the tag schema. */
async function signatureDescriptors(
  session: Session,
  source: ImageSource,
  digest: string,
): Promise<{ descriptors: Descriptor[]; via: 'referrers-api' | 'tag-schema' }> {
  let listed: Descriptor[] | undefined;
  let via: 'referrers-api' | 'tag-schema' = 'referrers-api';
  if (source.listReferrers) {
    try {
      listed = await source.listReferrers(digest, { signal: session.signal });
    } catch (err) {
      if (err instanceof InterruptedError || session.signal?.aborted) throw err;
      if (!(err instanceof HttpStatusError && NO_API.has(err.status))) throw err;
      session.log.verbose(
        `${source.displayName} answered ${err.status} to the referrers API; reading the tag ${referrersTag(digest)}`,
      );
    }
  }
  if (listed === undefined) {
    via = 'tag-schema';
    try {
      const index = await source.getManifest(referrersTag(digest), { signal: session.signal });
      const doc = JSON.parse(index.bytes.toString('utf8')) as { manifests?: unknown };
      listed = Array.isArray(doc.manifests) ? (doc.manifests as Descriptor[]) : [];
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      listed = [];
    }
  }
  const descriptors = listed.filter(
    (d) =>
      d && typeof d.digest === 'string' && (d.artifactType === undefined || d.artifactType === NOTARY_SIGNATURE_TYPE),
  );
  return { descriptors, via };
}

/** Reads one signature manifest and its envelope, and verifies it; undefined when it is not a Notary signature. */
async function verifySignatureManifest(
  session: Session,
  source: ImageSource,
  d: Descriptor,
  check: Parameters<typeof verifyEnvelope>[2],
): Promise<SignatureVerification | undefined> {
  const notRead = (message: string): SignatureVerification => {
    const failed = { check: 'envelope' as const, status: 'failed' as const, message };
    return { digest: d.digest, verified: false, checks: [failed], failed };
  };
  const m = await source.getManifest(d.digest, { signal: session.signal });
  let doc: {
    artifactType?: string;
    config?: { mediaType?: string };
    layers?: Descriptor[];
    annotations?: Record<string, string>;
  };
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
  } catch {
    return notRead('the signature manifest is not JSON');
  }
  const type = doc.artifactType ?? doc.config?.mediaType;
  // Listed without an artifactType (tag schema of an old registry) and not a signature after all.
  if (type !== NOTARY_SIGNATURE_TYPE) return undefined;
  const layers = (doc.layers ?? []).filter((l) => ENVELOPE_TYPES.has(l.mediaType));
  const annotatedProfile = doc.annotations?.['com.amazonaws.ecr.signing-profile-arn'];
  const extra = annotatedProfile ? { annotatedProfile } : {};
  if (layers.length !== 1) {
    return { ...notRead(`the signature manifest has ${layers.length} envelope layers (want 1)`), ...extra };
  }
  const layer = layers[0] as Descriptor;
  if (layer.size > MAX_ENVELOPE_BYTES) {
    return { ...notRead(`the envelope is ${layer.size} bytes, more than ${MAX_ENVELOPE_BYTES}`), ...extra };
  }
  const bytes = await readBlob(session, source, layer);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (bytes.length !== layer.size || digest !== layer.digest) {
    return {
      ...notRead(
        `the envelope blob is ${digest} (${bytes.length} bytes), the manifest says ${layer.digest} (${layer.size})`,
      ),
      ...extra,
    };
  }
  return {
    digest: d.digest,
    envelopeMediaType: layer.mediaType,
    ...extra,
    ...verifyEnvelope(layer.mediaType, bytes, check),
  };
}

async function readBlob(session: Session, source: ImageSource, d: Descriptor): Promise<Buffer> {
  const stream = await source.openBlob(d, { signal: session.signal });
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += b.length;
    if (total > MAX_ENVELOPE_BYTES) {
      stream.destroy();
      throw new EcrctlError(`the signature envelope ${d.digest} is larger than ${MAX_ENVELOPE_BYTES} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Reads a trust policy file. */
async function loadTrustPolicy(session: Session, file: string): Promise<TrustPolicy> {
  const full = path.resolve(session.cwd, file);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the trust policy ${file}: ${(err as Error).message}`, {
      value: file,
      fix: 'pass a Notary Project trust policy JSON file to --trust-policy',
    });
  }
  return parseTrustPolicy(text, file);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Returns the certificates of one file: PEM (any number) or a single DER certificate. */
async function certificatesIn(file: string, display: string): Promise<X509Certificate[]> {
  const bytes = await readFile(file);
  const text = bytes.toString('latin1');
  const blocks = text.match(PEM_CERT);
  try {
    if (blocks) return blocks.map((b) => new X509Certificate(b));
    if (/\.(der|cer|crt)$/i.test(file)) return [new X509Certificate(bytes)];
  } catch (err) {
    throw new UsageError(`${display} holds a certificate that cannot be read: ${(err as Error).message}`, {
      value: display,
      fix: 'a trust store holds PEM or DER X.509 certificates',
    });
  }
  return [];
}

/**
 * Loads a trust store: a certificate file, a directory of certificate files, or a notation
 * trust store directory (`x509/{ca,signingAuthority,tsa}/NAME/*`), whose certificates keep
 * their store type and name so that a trust policy's trustStores select among them.
 */
export async function loadTrustStore(session: Session, where: string): Promise<TrustAnchor[]> {
  const full = path.resolve(session.cwd, where);
  const info = await stat(full).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`the trust store ${where} cannot be read: ${err.code ?? err.message}`, {
      value: where,
      fix: 'pass a certificate file (PEM) or a directory of them to --trust-store, e.g. <data>/signing/root.pem of ecrctl local',
    });
  });
  const anchors: TrustAnchor[] = [];
  const add = async (file: string, store?: TrustStoreRef) => {
    const display = path.relative(session.cwd, file) || file;
    for (const certificate of await certificatesIn(file, display)) {
      anchors.push({ certificate, file: display, ...(store ? { store } : {}) });
    }
  };
  if (info.isFile()) await add(full);
  else if (info.isDirectory()) {
    const x509Dir = path.join(full, 'x509');
    if (
      await stat(x509Dir).then(
        (s) => s.isDirectory(),
        () => false,
      )
    ) {
      for (const type of ['ca', 'signingAuthority', 'tsa'] as const) {
        const typeDir = path.join(x509Dir, type);
        const names = await readdir(typeDir, { withFileTypes: true }).catch(() => []);
        for (const n of names) {
          if (!n.isDirectory()) continue;
          for (const f of (await readdir(path.join(typeDir, n.name), { withFileTypes: true })).sort((a, b) =>
            a.name.localeCompare(b.name),
          )) {
            if (f.isFile()) await add(path.join(typeDir, n.name, f.name), { type, name: n.name });
          }
        }
      }
    } else {
      const files = (await readdir(full, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const f of files) if (f.isFile()) await add(path.join(full, f.name));
    }
  }
  if (anchors.length === 0) {
    throw new UsageError(`the trust store ${where} holds no certificate`, {
      value: where,
      fix: 'put the signing root certificate (PEM) there, e.g. <data>/signing/root.pem of ecrctl local',
    });
  }
  return anchors;
}

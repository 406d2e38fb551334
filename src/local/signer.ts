// The local endpoint's stand-in for AWS Signer: a signing root CA and a leaf signing
// certificate per data directory, kept in `<data>/signing/` (root.pem + root-key.pem,
// leaf.pem + leaf-key.pem; keys 0600). The signing key is made when the emulator opens the
// directory, the certificates when managed signing is first configured or used (loading
// @peculiar/x509 is not free). Users and tests build a trust store from root.pem. The signature is the Notary Project JWS envelope ECR attaches to a
// signed image (`application/jose+json`), shaped as AWS Signer's: scheme
// notary.x509.signingAuthority with an authentic signing time, an expiry, the signed
// attribute com.amazonaws.signer.signingProfileVersion, and the x5c chain leaf → root.
// ECDSA P-384 with SHA-384 (ES384), the algorithm of AWS Signer's Notation-OCI-SHA384-ECDSA
// platform. Node's crypto cannot issue certificates: @peculiar/x509 (WebCrypto) does.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { signJws } from '../oci/notary/jws.js';
import { AWS_PROFILE_VERSION_ATTRIBUTE, AWS_SIGNING_JOB_ATTRIBUTE } from '../oci/notary/model.js';

/** The artifactType of a Notary Project signature manifest. */
export const NOTARY_SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
/** The media type of the JWS envelope layer. */
export const JWS_MEDIA_TYPE = 'application/jose+json';
/** The payload content type the Notary Project JWS profile names. */
export const NOTARY_PAYLOAD_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
/** The annotation that names the signing profile that produced a signature. */
export const SIGNING_PROFILE_ANNOTATION = 'com.amazonaws.ecr.signing-profile-arn';
/** The OCI empty config: `{}`. */
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

/** The folder under the data directory that holds the signing certificates and keys. */
export const SIGNING_DIR = 'signing';
const ROOT_CERT = 'root.pem';
const ROOT_KEY = 'root-key.pem';
const LEAF_CERT = 'leaf.pem';
const LEAF_KEY = 'leaf-key.pem';
const DAY_MS = 24 * 3600 * 1000;
/** AWS Signer's default signature validity: 135 months. */
const SIGNATURE_VALIDITY_MS = Math.round((135 / 12) * 365.25 * DAY_MS);
const ROOT_VALIDITY_MS = 30 * 365 * DAY_MS;
/** Backdated so that a clock a little behind still sees the certificates as valid. */
const BACKDATE_MS = 24 * 3600 * 1000;
const SUBJECT_BASE = 'O=ecrctl local, ST=Local, C=US';
const EC = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;

/** The signing certificates and key of one data directory. */
export interface LocalSigner {
  /** The path of the root CA certificate, `<data>/signing/root.pem` (there once ensureCertificates ran). */
  readonly rootFile: string;
  /** The leaf signing key's public key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** Creates the root CA and the leaf certificate when missing; returns root.pem and the chain (DER, leaf first). */
  ensureCertificates(): Promise<{ rootPem: string; chain: Buffer[] }>;
  /** Returns the JWS envelope (bytes of `application/jose+json`) over the subject descriptor. */
  envelope(
    subject: { mediaType: string; digest: string; size: number },
    signingTime: Date,
    profileArn: string,
  ): Promise<Buffer>;
}

const loaded = new Map<string, Promise<LocalSigner>>();

/**
 * Returns the signer of dataDir, creating its signing key on first use (one per directory
 * and process). The certificates are issued on first need (ensureCertificates): loading
 * @peculiar/x509 costs time every emulator start would otherwise pay.
 */
export function loadSigner(dataDir: string): Promise<LocalSigner> {
  const dir = path.resolve(dataDir);
  let signer = loaded.get(dir);
  if (!signer) {
    signer = openSigner(dir);
    loaded.set(dir, signer);
    signer.catch(() => loaded.delete(dir));
  }
  return signer;
}

/** Writes a file atomically (temporary name, synced, renamed): never a half-written key. */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

type X509Module = typeof import('@peculiar/x509');
/** The WebCrypto types as @peculiar/x509 declares them (DOM typings; this project compiles without DOM). */
type X509Keys = Parameters<X509Module['X509CertificateGenerator']['createSelfSigned']>[0]['keys'];
type X509Key = X509Keys['privateKey'];
type X509Crypto = Parameters<X509Module['cryptoProvider']['set']>[0];

async function x509Module(): Promise<X509Module> {
  // tsyringe, under @peculiar/x509, needs the Reflect metadata API: the standard polyfill,
  // loaded only when certificates are issued.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  // Node's WebCrypto is a complete implementation; the cast bridges DOM and Node typings.
  x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);
  return x509;
}

async function cryptoKeyOf(key: KeyObject): Promise<X509Key> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return (await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])) as unknown as X509Key;
}

async function newKeyPair(): Promise<{ keys: X509Keys; pem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as X509Keys;
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  return {
    keys,
    pem: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
  };
}

/** Creates the root CA (self-signed, path length 0) and its key. */
async function createRoot(x509: X509Module, dir: string): Promise<{ certPem: string; keyPem: string }> {
  const { keys, pem } = await newKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=ecrctl local signing root, ${SUBJECT_BASE}`,
    keys,
    signingAlgorithm: EC,
    serialNumber: randomSerial(),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_VALIDITY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  await writeAtomic(path.join(dir, ROOT_KEY), pem, 0o600);
  await writeAtomic(path.join(dir, ROOT_CERT), `${certPem}\n`, 0o644);
  return { certPem, keyPem: pem };
}

/** Issues a leaf code-signing certificate for publicKey from the root; returns its PEM. */
async function createLeaf(
  x509: X509Module,
  dir: string,
  rootPem: string,
  rootKeyPem: string,
  publicKey: KeyObject,
): Promise<string> {
  const root = new x509.X509Certificate(rootPem);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const leafKey = (await webcrypto.subtle.importKey('spki', spki, EC, true, ['verify'])) as unknown as X509Key;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=ecrctl local managed signing, ${SUBJECT_BASE}`,
    issuer: root.subject,
    publicKey: leafKey,
    signingKey: await cryptoKeyOf(createPrivateKey(rootKeyPem)),
    signingAlgorithm: EC,
    serialNumber: randomSerial(),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(Math.min(now + SIGNATURE_VALIDITY_MS, root.notAfter.getTime())),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.publicKey),
    ],
  });
  const pem = `${cert.toString('pem')}\n`;
  await writeAtomic(path.join(dir, LEAF_CERT), pem, 0o644);
  return pem;
}

function randomSerial(): string {
  // Positive (high bit clear), 16 bytes: RFC 5280 allows up to 20 octets.
  const b = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

async function openSigner(dataDir: string): Promise<LocalSigner> {
  const dir = path.join(dataDir, SIGNING_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let leafKeyPem = await readIfThere(path.join(dir, LEAF_KEY));
  if (!leafKeyPem) {
    leafKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    await writeAtomic(path.join(dir, LEAF_KEY), leafKeyPem, 0o600);
  }
  const key = createPrivateKey(leafKeyPem);
  const publicKey = createPublicKey(key);
  let issued: Promise<{ rootPem: string; chain: Buffer[] }> | undefined;
  const ensureCertificates = () => {
    issued ??= issueCertificates(dir, publicKey);
    issued.catch(() => {
      issued = undefined;
    });
    return issued;
  };
  return {
    rootFile: path.join(dir, ROOT_CERT),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ensureCertificates,
    async envelope(subject, signingTime, profileArn) {
      const { chain } = await ensureCertificates();
      // AWS Signer names a profile version (10 characters) and a job; both derived here.
      const version = createHash('sha256').update(profileArn).digest('hex').slice(0, 10);
      const [, partition, , region, account] = profileArn.split(':');
      const job = createHash('sha256').update(`${profileArn} ${subject.digest} ${signingTime.getTime()}`).digest('hex');
      const jobId = `${job.slice(0, 8)}-${job.slice(8, 12)}-${job.slice(12, 16)}-${job.slice(16, 20)}-${job.slice(20, 32)}`;
      return signJws({
        payload: { targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } },
        alg: 'ES384',
        key,
        certificates: chain,
        signingScheme: 'notary.x509.signingAuthority',
        signingTime,
        expiry: new Date(signingTime.getTime() + SIGNATURE_VALIDITY_MS),
        extended: {
          [AWS_PROFILE_VERSION_ATTRIBUTE]: `${profileArn}/${version}`,
          [AWS_SIGNING_JOB_ATTRIBUTE]: `arn:${partition}:signer:${region}:${account}:/signing-jobs/${jobId}`,
        },
        critical: [AWS_PROFILE_VERSION_ATTRIBUTE, AWS_SIGNING_JOB_ATTRIBUTE],
        signingAgent: 'ecrctl-local',
      });
    },
  };
}

/**
 * Returns root.pem and the chain [leaf, root], issuing what is missing: a root CA when
 * there is none, a leaf certificate when there is none, or it is not for the signing key,
 * not issued by the root, or expired.
 */
async function issueCertificates(dir: string, publicKey: KeyObject): Promise<{ rootPem: string; chain: Buffer[] }> {
  let rootPem = await readIfThere(path.join(dir, ROOT_CERT));
  const rootKeyPem = await readIfThere(path.join(dir, ROOT_KEY));
  let rootKey = rootKeyPem;
  let leafPem = await readIfThere(path.join(dir, LEAF_CERT));
  if (!rootPem || !rootKey) {
    ({ certPem: rootPem, keyPem: rootKey } = await createRoot(await x509Module(), dir));
    leafPem = undefined;
  }
  const root = new X509Certificate(rootPem);
  let leaf = leafPem ? new X509Certificate(leafPem) : undefined;
  const stale =
    leaf === undefined ||
    !leaf.publicKey.equals(publicKey) ||
    !leaf.checkIssued(root) ||
    !leaf.verify(root.publicKey) ||
    new Date(leaf.validTo).getTime() < Date.now();
  if (stale) {
    leafPem = await createLeaf(await x509Module(), dir, rootPem, rootKey, publicKey);
    leaf = new X509Certificate(leafPem);
  }
  return { rootPem, chain: [(leaf as X509Certificate).raw, root.raw] };
}

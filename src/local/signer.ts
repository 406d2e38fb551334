// The local endpoint's stand-in for AWS Signer: one ECDSA P-256 key per data directory
// (created on first use, private key stored 0600 as `signing-key.pem`), and the Notary
// Project signature envelope ECR attaches to a signed image — a JWS (JSON serialization,
// `application/jose+json`) over the subject's descriptor, ES256. ECDSA rather than Ed25519
// because the Notary Project JWS profile allows only RSA-PSS and ECDSA.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

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

const KEY_FILE = 'signing-key.pem';

/** A signing key of one data directory. */
export interface LocalSigner {
  /** The public key, SPKI PEM: what verifiers (and tests) check signatures with. */
  readonly publicKeyPem: string;
  /** Returns the JWS envelope (bytes of `application/jose+json`) over the subject descriptor. */
  envelope(subject: { mediaType: string; digest: string; size: number }, signingTime: Date, profileArn: string): Buffer;
}

const loaded = new Map<string, Promise<LocalSigner>>();

/** Returns the signer of dataDir, creating its key on first use (one per directory and process). */
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

async function openSigner(dir: string): Promise<LocalSigner> {
  const file = path.join(dir, KEY_FILE);
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    // Written 0600 to a temporary name, synced, then renamed: never a half-written key.
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(pem);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    key = pair.privateKey;
  }
  const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
  const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  return {
    publicKeyPem,
    envelope(subject, signingTime, profileArn) {
      const payload = b64(
        JSON.stringify({
          targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        }),
      );
      const header = b64(
        JSON.stringify({
          alg: 'ES256',
          cty: NOTARY_PAYLOAD_TYPE,
          crit: ['io.cncf.notary.signingScheme'],
          'io.cncf.notary.signingScheme': 'notary.x509',
          'io.cncf.notary.signingTime': signingTime.toISOString(),
        }),
      );
      // JWS wants ECDSA signatures as r||s (IEEE P1363), not DER.
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
      return Buffer.from(
        JSON.stringify({
          payload,
          protected: header,
          header: { 'io.cncf.notary.signingAgent': 'ecrctl-local', kid: profileArn },
          signature: b64(signature),
        }),
      );
    },
  };
}

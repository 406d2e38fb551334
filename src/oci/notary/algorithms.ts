// The signature algorithms the Notary Project allows (RSASSA-PSS and ECDSA with SHA-2),
// their JWS names and COSE labels, and the one each key type and size must use: a verifier
// checks that `alg` matches the leaf certificate's key, which stops algorithm substitution.
import { constants, type KeyObject, sign, verify } from 'node:crypto';
import type { SignatureAlgorithm } from './model.js';

const ALGORITHMS: readonly SignatureAlgorithm[] = ['PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** COSE `alg` labels (IANA) of the Notary algorithms. */
export const COSE_ALGORITHMS: Readonly<Record<number, SignatureAlgorithm>> = {
  [-37]: 'PS256',
  [-38]: 'PS384',
  [-39]: 'PS512',
  [-7]: 'ES256',
  [-35]: 'ES384',
  [-36]: 'ES512',
};

/** Returns true for a Notary signature algorithm name. */
export function isAlgorithm(v: unknown): v is SignatureAlgorithm {
  return typeof v === 'string' && (ALGORITHMS as readonly string[]).includes(v);
}

/** Returns the hash an algorithm uses (Node's name). */
export function hashOf(alg: SignatureAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  return alg.endsWith('256') ? 'sha256' : alg.endsWith('384') ? 'sha384' : 'sha512';
}

/** Returns the algorithm a public key must sign with (RSA by modulus size, EC by curve), or undefined for a key the Notary Project does not allow. */
export function algorithmForKey(key: KeyObject): SignatureAlgorithm | undefined {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    const bits = d.modulusLength ?? 0;
    return bits === 2048 ? 'PS256' : bits === 3072 ? 'PS384' : bits === 4096 ? 'PS512' : undefined;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = d.namedCurve;
    return curve === 'prime256v1'
      ? 'ES256'
      : curve === 'secp384r1'
        ? 'ES384'
        : curve === 'secp521r1'
          ? 'ES512'
          : undefined;
  }
  return undefined;
}

/** Signs data for alg: RSA-PSS with a salt as long as the hash, ECDSA as r||s (IEEE P1363). */
export function signBytes(alg: SignatureAlgorithm, key: KeyObject, data: Buffer): Buffer {
  const hash = hashOf(alg);
  if (alg.startsWith('PS')) {
    return sign(hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return sign(hash, data, { key, dsaEncoding: 'ieee-p1363' });
}

/** Returns true when signature is alg's signature of data by key. */
export function verifyBytes(alg: SignatureAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = hashOf(alg);
  try {
    if (alg.startsWith('PS')) {
      return verify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
        signature,
      );
    }
    return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    // A signature of the wrong length or shape is simply not a valid signature.
    return false;
  }
}

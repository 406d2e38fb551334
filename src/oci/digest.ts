// Digests: parsing, computing while bytes stream past, and verifying.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, UsageError } from '../errors.js';
import { noteBytesMoved } from './memory.js';

const ENCODED = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ } as const;
export type DigestAlgorithm = keyof typeof ENCODED;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Returns the algorithm and hex of a digest string, or throws UsageError naming the rule. */
export function parseDigest(digest: string): ParsedDigest {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  // Own keys only: `in` would also accept `constructor:` and `__proto__:`.
  if (colon < 0 || !Object.hasOwn(ENCODED, algorithm)) {
    throw new UsageError(`invalid digest: ${JSON.stringify(digest)}`, {
      rule: 'a digest is ALGORITHM:HEX with algorithm sha256 or sha512',
      value: digest,
      fix: 'use the full digest, e.g. sha256:<64 hex characters>',
    });
  }
  if (!ENCODED[algorithm as DigestAlgorithm].test(hex)) {
    throw new UsageError(`invalid digest: ${JSON.stringify(digest)}`, {
      rule: `a ${algorithm} digest has ${algorithm === 'sha256' ? 64 : 128} lowercase hex characters`,
      value: digest,
      fix: 'copy the whole digest; short digests are not accepted',
    });
  }
  return { algorithm: algorithm as DigestAlgorithm, hex };
}

/** Returns true when digest is well-formed (never throws). */
export function isDigest(digest: string): boolean {
  try {
    parseDigest(digest);
    return true;
  } catch {
    return false;
  }
}

/** Returns the sha256 digest of bytes, as `sha256:<hex>`. */
export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Returns a hash object for the algorithm of a digest. */
export function hasherFor(digest: string): Hash {
  return createHash(parseDigest(digest).algorithm);
}

/** The error for content that has passed its descriptor's size. */
export function contentTooLong(digest: string, size: number): DigestMismatchError {
  return new DigestMismatchError(`content of ${digest} is longer than its descriptor's ${size} bytes`);
}

/** The error for content that ended at another size than its descriptor's, or undefined. */
export function sizeMismatch(digest: string, bytes: number, size: number | undefined): DigestMismatchError | undefined {
  if (size === undefined || bytes === size) return undefined;
  return new DigestMismatchError(`content of ${digest} is ${bytes} bytes, its descriptor says ${size}`);
}

/** The error for content whose hash (fed every byte) does not give digest, or undefined. */
export function hashMismatch(digest: string, hash: Hash): DigestMismatchError | undefined {
  const actual = `${parseDigest(digest).algorithm}:${hash.digest('hex')}`;
  if (actual === digest) return undefined;
  return new DigestMismatchError(`content does not match its digest: expected ${digest}, got ${actual}`);
}

/**
 * A pass-through stream that counts bytes and fails with DigestMismatchError as soon as
 * they pass the expected size, or at the end when they fall short. Nothing is buffered.
 * Uploads use it alone: the registry hashes what it receives and refuses a wrong digest,
 * so hashing on our side too would only spend CPU the registry needs on a shared machine.
 */
export class CountingStream extends Transform {
  protected readonly expected: string;
  readonly #size: number | undefined;
  bytes = 0;
  /** Called with the running byte count after each chunk (progress, without another stage). */
  onBytes: ((bytes: number) => void) | undefined;

  constructor(expectedDigest: string, expectedSize?: number, startBytes = 0) {
    super();
    this.expected = expectedDigest;
    this.#size = expectedSize;
    this.bytes = startBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.#size !== undefined && this.bytes > this.#size) {
      done(contentTooLong(this.expected, this.#size));
      return;
    }
    this.observe(chunk);
    this.onBytes?.(this.bytes);
    noteBytesMoved(chunk.length);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(sizeMismatch(this.expected, this.bytes, this.#size) ?? this.check());
  }

  /** Sees each chunk (subclasses hash it). */
  protected observe(_chunk: Buffer): void {}

  /** Returns the error to end with, if any, once every byte has passed. */
  protected check(): Error | null {
    return null;
  }
}

/**
 * A CountingStream that also hashes and, at the end, fails with DigestMismatchError unless
 * the bytes match the expected digest. Downloads and local copies verify with it.
 */
export class VerifyingStream extends CountingStream {
  readonly #hash: Hash;

  constructor(expectedDigest: string, expectedSize?: number, startHash?: Hash, startBytes = 0) {
    super(expectedDigest, expectedSize, startBytes);
    this.#hash = startHash ?? hasherFor(expectedDigest);
  }

  protected override observe(chunk: Buffer): void {
    this.#hash.update(chunk);
  }

  protected override check(): Error | null {
    return hashMismatch(this.expected, this.#hash) ?? null;
  }
}

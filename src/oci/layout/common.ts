// Pieces shared by the OCI layout directory and the docker-archive tar: error wording for
// hostile or corrupt content, digest and descriptor checks, and verified blob writes.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DigestMismatchError, EcrctlError, type ErrorDetails, InterruptedError, UsageError } from '../../errors.js';
import { contentTooLong, hashMismatch, hasherFor, type ParsedDigest, parseDigest, sizeMismatch } from '../digest.js';
import { noteBytesMoved } from '../memory.js';
import { MediaType } from '../media-types.js';
import type { BlobWriteOptions } from '../store.js';
import type { Descriptor } from '../types.js';

/** The annotation that names a tag in an OCI layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** The annotation containerd and Docker use for the full image name in index.json. */
export const IMAGE_NAME = 'io.containerd.image.name';

const CORRUPT_FIX = 'the file is corrupt or was tampered with; recreate it from a trusted source';

/**
 * Flags for opening a file to read: O_NONBLOCK makes open() of a FIFO return at once
 * instead of waiting for a writer (a regular file ignores it), so a FIFO swapped in after a
 * check cannot hang a read either.
 */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Returns what kind of non-regular file info describes, in words ("a FIFO"). */
export function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

/**
 * Returns a handle on file opened for reading after checking (on the open handle, so nothing
 * can be swapped in between) that it is a regular file; throws UsageError naming what it is.
 */
export async function openRegularFile(file: string, place: string): Promise<FileHandle> {
  const fh = await open(file, READ_FLAGS);
  let info: Stats;
  try {
    info = await fh.stat();
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (info.isFile()) return fh;
  await fh.close();
  throw new UsageError(`${place}: ${file} is ${fileKind(info)}, not a regular file`, {
    rule: 'a docker-archive is a regular file',
    value: file,
    fix: 'write the archive to a regular file first (it is read by random access), e.g. `docker save -o app.tar IMAGE`',
  });
}

/**
 * Returns err as an EcrctlError naming the file, the bytes its write needs and (for ENOSPC)
 * the bytes free on its filesystem when err is a full disk (ENOSPC) or exhausted quota
 * (EDQUOT); returns any other err unchanged.
 */
export async function diskFullError(err: unknown, place: string, file: string, needed: number): Promise<unknown> {
  if (!isDiskFull(err)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const dir = path.dirname(file);
  let free = '';
  if (code === 'ENOSPC') {
    // The nearest directory that exists: a layout's blobs/ may not have been created yet.
    for (let at = dir; ; at = path.dirname(at)) {
      const info = await statfs(at).catch(() => undefined);
      if (info !== undefined) {
        free = `; ${info.bavail * info.bsize} bytes are free there`;
        break;
      }
      if (path.dirname(at) === at) break;
    }
  }
  const what = code === 'ENOSPC' ? 'no space left on the device' : 'disk quota exceeded';
  return new EcrctlError(`${place}: ${what}: writing ${file} needs ${needed} bytes${free}`, {
    value: file,
    fix: `free space on the filesystem of ${dir} or pull elsewhere`,
    cause: err,
  });
}

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Runs write and returns its result; a full disk or quota becomes diskFullError's error. */
export async function mapDiskFull<T>(place: string, file: string, needed: number, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw await diskFullError(err, place, file, needed);
  }
}

/** Returns an error that names the place (`oci:./out`), the entry inside it and the problem. */
export function layoutError(place: string, entry: string, problem: string, details: ErrorDetails = {}): EcrctlError {
  return new EcrctlError(`${place}: ${entry}: ${problem}`, { fix: CORRUPT_FIX, ...details });
}

/** Returns the parsed digest, or throws naming the entry and field that hold a bad one. */
export function checkedDigest(digest: unknown, place: string, entry: string, field: string): ParsedDigest {
  if (typeof digest !== 'string') {
    throw layoutError(place, entry, `${field} is missing or not a string`);
  }
  try {
    return parseDigest(digest);
  } catch {
    // The digest came from a file, not from the command line: say so instead of a UsageError.
    throw layoutError(place, entry, `${field} ${JSON.stringify(digest)} is not a valid digest`, {
      rule: 'a digest is sha256:<64 lowercase hex> or sha512:<128 lowercase hex>',
      value: digest,
    });
  }
}

/** Returns the value as a Descriptor after checking its digest, media type and size. */
export function checkedDescriptor(value: unknown, place: string, entry: string, field: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw layoutError(place, entry, `${field} is not a descriptor object`);
  }
  const d = value as Record<string, unknown>;
  checkedDigest(d.digest, place, entry, `${field}.digest`);
  if (typeof d.mediaType !== 'string') {
    throw layoutError(place, entry, `${field}.mediaType is missing or not a string`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw layoutError(place, entry, `${field}.size ${JSON.stringify(d.size)} is not a byte count`);
  }
  return value as Descriptor;
}

/**
 * Returns the parsed JSON of a manifest or index after checking every descriptor digest in
 * it, so that a hostile `sha256:../../x` is refused before anything builds a path from it.
 */
export function checkedManifestJson(bytes: Buffer, place: string, entry: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw layoutError(place, entry, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw layoutError(place, entry, 'is not a JSON object');
  }
  const m = json as Record<string, unknown>;
  if (m.config !== undefined) checkedDescriptor(m.config, place, entry, 'config');
  if (m.subject !== undefined) checkedDescriptor(m.subject, place, entry, 'subject');
  for (const key of ['layers', 'manifests', 'blobs'] as const) {
    const list = m[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw layoutError(place, entry, `${key} is not an array`);
    for (const [i, d] of list.entries()) checkedDescriptor(d, place, entry, `${key}[${i}]`);
  }
  return m;
}

/** Returns the media type a manifest declares, or the one its shape implies. */
export function manifestMediaType(json: Record<string, unknown>, known?: string): string {
  if (known) return known;
  if (typeof json.mediaType === 'string') return json.mediaType;
  return Array.isArray(json.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
}

/** Throws DigestMismatchError naming place and entry unless bytes hash to digest and match size. */
export function verifyBytes(
  bytes: Buffer,
  digest: string,
  size: number | undefined,
  place: string,
  entry: string,
): void {
  const actual = `${parseDigest(digest).algorithm}:${hasherFor(digest).update(bytes).digest('hex')}`;
  if (size !== undefined && bytes.length !== size) {
    throw new DigestMismatchError(`${place}: ${entry}: is ${bytes.length} bytes, its descriptor says ${size}`, {
      fix: CORRUPT_FIX,
    });
  }
  if (actual !== digest) {
    throw new DigestMismatchError(
      `${place}: ${entry}: content does not match its digest: expected ${digest}, got ${actual}`,
      { fix: CORRUPT_FIX },
    );
  }
}

/** Returns the digests a manifest or index points at through `manifests[]` (its children). */
export function childDigests(bytes: Buffer): string[] {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown };
    if (!Array.isArray(json.manifests)) return [];
    return json.manifests
      .map((d: unknown) => (d as { digest?: unknown } | null)?.digest)
      .filter((d): d is string => typeof d === 'string');
  } catch {
    return [];
  }
}

/**
 * Bytes per read when streaming a blob out of a file. Larger reads cost less CPU per byte
 * (each chunk passes every stream stage), but every chunk is a fresh buffer that lives until
 * the next garbage collection; at 1 MiB, four parallel uploads kept ~50 MB of them alive
 * and pushed peak RSS over 120 MB. 256 KiB measured the same speed with ~15 MB less.
 */
export const BLOB_READ_CHUNK = 256 * 1024;

const MAX_ATTEMPTS = 3;
/** Bytes waiting for or in a file write before the download is paused. */
const WRITE_BUFFER = 1024 * 1024;

/**
 * Writes a blob's bytes into fh at start, verifying digest and size as they pass. A source
 * that fails mid-way is reopened at the byte count already on disk (up to 3 attempts); the
 * hash is rebuilt from what is on disk, so a resumed blob is verified end to end.
 */
export async function writeVerified(
  fh: FileHandle,
  start: number,
  descriptor: Descriptor,
  open: (offset: number) => Promise<Readable>,
  opts: BlobWriteOptions = {},
): Promise<void> {
  let written = 0;
  for (let attempt = 1; ; attempt++) {
    const hash = hasherFor(descriptor.digest);
    if (written > 0) await hashRange(fh, start, written, hash);
    const writer = new VerifiedWriter(fh, start + written, descriptor, hash, written, opts.onProgress);
    try {
      await writer.drain(await open(written), opts.signal);
      return;
    } catch (err) {
      written += writer.bytesWritten;
      // Our own errors (digest mismatch), interruptions and a full disk are final; I/O hiccups retry.
      if (opts.signal?.aborted || err instanceof EcrctlError || isDiskFull(err) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

/**
 * Hashes, counts and writes a blob straight from its source's 'data' events: one handler per
 * network read instead of a pipeline of a verifying Transform and a Writable (two more stream
 * hops per 16 KiB read; with registry.ts's BlobStream, a 40 MB pull took 0.95× the CPU). Chunks that arrive while a
 * write is in flight are gathered into the next writev (about one syscall per MiB); the source
 * is paused while WRITE_BUFFER bytes wait, so a slow disk holds back the download.
 */
class VerifiedWriter {
  readonly #fh: FileHandle;
  #position: number;
  readonly #descriptor: Descriptor;
  readonly #hash: Hash;
  readonly #onProgress: ((bytes: number) => void) | undefined;
  /** Bytes hashed so far, counting those already on disk before this attempt. */
  #bytes: number;
  /** Bytes that reached the file in this attempt. */
  bytesWritten = 0;
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #writing: Promise<void> | undefined;
  #writeError: unknown;

  constructor(
    fh: FileHandle,
    position: number,
    descriptor: Descriptor,
    hash: Hash,
    startBytes: number,
    onProgress: ((bytes: number) => void) | undefined,
  ) {
    this.#fh = fh;
    this.#position = position;
    this.#descriptor = descriptor;
    this.#hash = hash;
    this.#bytes = startBytes;
    this.#onProgress = onProgress;
  }

  /** Consumes source to its end; resolves once every byte is on disk and verified. */
  async drain(source: Readable, signal: AbortSignal | undefined): Promise<void> {
    const { digest, size } = this.#descriptor;
    try {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (err: unknown) => {
          if (settled) return;
          settled = true;
          cleanup();
          source.destroy();
          reject(err);
        };
        const onAbort = () => fail(signal?.reason ?? new InterruptedError());
        const onData = (chunk: Buffer) => {
          this.#bytes += chunk.length;
          if (this.#bytes > size) {
            fail(contentTooLong(digest, size));
            return;
          }
          this.#hash.update(chunk);
          this.#onProgress?.(this.#bytes);
          noteBytesMoved(chunk.length);
          this.#queued.push(chunk);
          this.#queuedBytes += chunk.length;
          if (this.#writing === undefined) this.#flush(source, fail);
          if (this.#queuedBytes >= WRITE_BUFFER) source.pause();
        };
        const onEnd = () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve();
        };
        const onClose = () => {
          // Closed without 'end' or 'error': the source was destroyed under us.
          if (!source.readableEnded) fail(new EcrctlError(`the source of ${digest} closed before its end`));
        };
        const cleanup = () => {
          source.off('data', onData);
          source.off('end', onEnd);
          source.off('error', fail);
          source.off('close', onClose);
          signal?.removeEventListener('abort', onAbort);
        };
        if (signal?.aborted) {
          onAbort();
          return;
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        source.on('error', fail);
        source.on('end', onEnd);
        source.on('close', onClose);
        source.on('data', onData);
      });
    } finally {
      // Never leave a write running on fh: a retry writes at the offset this one ends at.
      while (this.#writing !== undefined) await this.#writing;
    }
    if (this.#writeError !== undefined) throw this.#writeError;
    const mismatch = sizeMismatch(digest, this.#bytes, size) ?? hashMismatch(digest, this.#hash);
    if (mismatch) throw mismatch;
  }

  /** Writes what is queued, then whatever arrived meanwhile, until the queue is empty. */
  #flush(source: Readable, fail: (err: unknown) => void): void {
    const buffers = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    this.#writing = this.#put(buffers).then(
      () => {
        this.#writing = undefined;
        if (this.#queued.length > 0) this.#flush(source, fail);
        else if (source.isPaused() && !source.destroyed) source.resume();
      },
      (err: unknown) => {
        this.#writing = undefined;
        this.#writeError = err;
        fail(err);
      },
    );
  }

  async #put(buffers: Buffer[]): Promise<void> {
    let rest = buffers;
    while (rest.length > 0) {
      const { bytesWritten } = await this.#fh.writev(rest, this.#position);
      this.#position += bytesWritten;
      this.bytesWritten += bytesWritten;
      // A short write (rare for files): continue after the bytes that made it.
      let skip = bytesWritten;
      while (rest.length > 0 && skip >= rest[0]!.length) {
        skip -= rest[0]!.length;
        rest = rest.slice(1);
      }
      if (skip > 0) rest = [rest[0]!.subarray(skip), ...rest.slice(1)];
    }
  }
}

async function hashRange(
  fh: FileHandle,
  start: number,
  length: number,
  hash: ReturnType<typeof hasherFor>,
): Promise<void> {
  const buf = Buffer.alloc(Math.min(length, 1024 * 1024));
  for (let pos = 0; pos < length; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), start + pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

// A new layer as a blob: the tar stream of its entries, gzipped with a fixed header, with its
// diff_id (sha256 of the tar) and digest computed in a first pass that keeps nothing on disk.
// The bytes are made again for each upload (or kept in memory when small), so a build never
// writes a layer to a temporary file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { NotFoundError } from '../../errors.js';
import { MediaType } from '../media-types.js';
import type { Descriptor } from '../types.js';
import { type LayerEntry, tarStream } from './tar.js';

/** The gzip level of built layers: fixed, since the level changes the bytes (and the XFL byte). */
export const GZIP_LEVEL = 6;
/** The OS byte of the gzip header: 255 ("unknown"), whatever zlib would write on this OS. */
export const GZIP_OS_UNKNOWN = 0xff;
/** Layers up to this size are kept in memory after the first pass instead of made again. */
const KEEP_IN_MEMORY = 32 * 1024 * 1024;

/** A layer ready to upload: its descriptor, diff_id, and how to read its bytes. */
export interface BuiltLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** What the history entry says made it (`ecrctl build --add ./app:/app`). */
  createdBy: string;
  /** Returns a fresh stream of the blob's bytes. */
  open(): Readable;
}

/**
 * Fixes the gzip header's OS byte (offset 9). zlib writes its build's OS code there (3 on
 * Linux, 19 on macOS), which would make the same layer differ by machine.
 */
class FixGzipHeader extends Transform {
  #seen = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#seen <= 9 && this.#seen + chunk.length > 9) {
      const copy = Buffer.from(chunk);
      copy[9 - this.#seen] = GZIP_OS_UNKNOWN;
      chunk = copy;
    }
    this.#seen += chunk.length;
    done(null, chunk);
  }
}

/** Returns the gzip stream of a tar stream, with a header that is the same on every machine (mtime 0, no name, fixed OS byte). */
export function deterministicGzip(tar: Readable): Readable {
  const out = new PassThrough();
  pipeline(tar, createGzip({ level: GZIP_LEVEL }), new FixGzipHeader(), out).catch((err) => out.destroy(err));
  return out;
}

/** Hashes and counts the compressed stream (and the tar under it) in one pass. */
async function measure(
  makeTar: () => Readable,
  compress: boolean,
  keep = true,
): Promise<{ diffId: string; digest: string; size: number; kept?: Buffer }> {
  const tarHash = createHash('sha256');
  const tar = makeTar();
  const tap = new Transform({
    transform(chunk: Buffer, _e, done) {
      tarHash.update(chunk);
      done(null, chunk);
    },
  });
  const blobHash = createHash('sha256');
  let size = 0;
  let chunks: Buffer[] | undefined = keep ? [] : undefined;
  const sink = new Transform({
    transform(chunk: Buffer, _e, done) {
      blobHash.update(chunk);
      size += chunk.length;
      if (chunks) {
        chunks.push(chunk);
        if (size > KEEP_IN_MEMORY) chunks = undefined;
      }
      done();
    },
  });
  const body = compress ? deterministicGzip(tar.pipe(tap)) : tar.pipe(tap);
  await pipeline(body, sink);
  const diffId = `sha256:${tarHash.digest('hex')}`;
  return {
    diffId,
    digest: `sha256:${blobHash.digest('hex')}`,
    size,
    ...(chunks ? { kept: Buffer.concat(chunks) } : {}),
  };
}

/** Builds a gzipped layer from entries (sorted) with every mtime `mtime` (seconds). */
export async function buildLayer(
  entries: readonly LayerEntry[],
  mtime: number,
  createdBy: string,
): Promise<BuiltLayer> {
  const makeTar = () => tarStream(entries, mtime);
  const m = await measure(makeTar, true);
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: m.digest, size: m.size },
    diffId: m.diffId,
    createdBy,
    open: () => (m.kept ? readableOf(m.kept) : deterministicGzip(makeTar())),
  };
}

function readableOf(bytes: Buffer): Readable {
  const s = new PassThrough();
  s.end(bytes);
  return s;
}

/**
 * Returns a prebuilt layer file (`--layer FILE.tar[.gz]`) as a layer: a gzip file is used as
 * it is (diff_id from its decompressed bytes); a plain tar is compressed like built layers.
 */
export async function prebuiltLayer(file: string, createdBy: string): Promise<BuiltLayer> {
  let head: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      head = Buffer.alloc(2);
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`--layer ${file} does not exist`, { value: file, fix: 'name a .tar or .tar.gz file' });
    }
    throw err;
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  if (gzipped) {
    // Only the diff_id comes from the decompressed bytes; the blob is the file itself.
    const m = await measure(
      () => {
        const gunzip = createGunzip();
        const raw = createReadStream(file);
        raw.on('error', (err) => gunzip.destroy(err));
        return raw.pipe(gunzip);
      },
      false,
      false,
    );
    const blob = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(file)) {
      blob.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return {
      descriptor: { mediaType: MediaType.ociLayerGzip, digest: `sha256:${blob.digest('hex')}`, size },
      diffId: m.diffId,
      createdBy,
      open: () => createReadStream(file),
    };
  }
  const m = await measure(() => createReadStream(file), true);
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: m.digest, size: m.size },
    diffId: m.diffId,
    createdBy,
    open: () => (m.kept ? readableOf(m.kept) : deterministicGzip(createReadStream(file))),
  };
}

// A small tar indexer and header writer.
//
// Why not a library: the npm tar packages (tar, tar-stream) parse a tar as one stream, front
// to back. A docker-archive is read by random access instead — find `manifest.json`, then
// stream layer N, then the config — and layers can be gigabytes, so unpacking to disk or
// re-reading the archive per blob would be wasteful. Indexing the headers once (a few reads
// of 512 bytes per entry, never the contents) and then streaming entries with
// fs.createReadStream({start, end}) needs only the header format, which is small and stable:
// ustar, GNU long names (`././@LongLink`) and PAX extended headers (`path`, `size`).
import type { FileHandle } from 'node:fs/promises';
import { EcrctlError } from '../../errors.js';
import { layoutError, openRegularFile } from './common.js';

export const BLOCK = 512;

/** One entry of a tar file: where its data starts and how long it is. */
export interface TarEntry {
  /** Normalized path: no leading `./`, no trailing `/`. */
  name: string;
  /** Type flag: '0' file, '1' hard link, '2' symlink, '5' directory, … ('\0' becomes '0'). */
  type: string;
  /** Byte offset of the entry's data in the tar file. */
  offset: number;
  size: number;
  /** Target of a link entry. */
  linkName: string;
}

/** Returns true when the entry holds file data (a regular or contiguous file). */
export function isRegularFile(entry: TarEntry): boolean {
  return entry.type === '0' || entry.type === '7';
}

const MAX_LONG_NAME = 64 * 1024;

/**
 * Returns every entry of the tar file by name (a later entry of the same name wins, as when
 * extracting). Reads only headers. Throws naming the archive and entry on a truncated file, a
 * bad header checksum, or a path that is absolute or climbs out with `..`; throws UsageError when
 * file is not a regular file (a FIFO would block every read).
 */
export async function indexTar(file: string, place: string): Promise<Map<string, TarEntry>> {
  const fh = await openRegularFile(file, place);
  try {
    const fileSize = (await fh.stat()).size;
    const entries = new Map<string, TarEntry>();
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    while (pos < fileSize) {
      if (pos + BLOCK > fileSize) {
        throw layoutError(
          place,
          `offset ${pos}`,
          `truncated archive: a tar header needs ${BLOCK} bytes, the file ends at ${fileSize}`,
        );
      }
      await readAt(fh, header, pos);
      if (header.every((b) => b === 0)) break; // end-of-archive marker
      const rawName = cString(header, 0, 100);
      if (!checksumOk(header)) {
        throw layoutError(
          place,
          `offset ${pos}`,
          `not a tar archive or a corrupt header (checksum mismatch${rawName ? ` at ${JSON.stringify(rawName)}` : ''})`,
        );
      }
      const magic = header.toString('latin1', 257, 263);
      const prefix = magic === 'ustar\0' ? cString(header, 345, 155) : '';
      const headerName = prefix ? `${prefix}/${rawName}` : rawName;
      const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]!);
      let size = parseNumber(header, 124, 12);
      if (pax.size !== undefined && type !== 'x' && type !== 'g') size = Number(pax.size);
      const name = pax.path ?? longName ?? headerName;
      const offset = pos + BLOCK;
      if (!Number.isSafeInteger(size) || size < 0) {
        throw layoutError(place, `entry ${JSON.stringify(name)}`, `invalid size field in the tar header`);
      }
      if (offset + size > fileSize) {
        throw layoutError(
          place,
          `entry ${JSON.stringify(name)}`,
          `truncated archive: the entry needs ${size} bytes at offset ${offset}, the file ends at ${fileSize}`,
        );
      }
      pos = offset + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'K' || type === 'x') {
        if (size > MAX_LONG_NAME)
          throw layoutError(place, `entry ${JSON.stringify(name)}`, `extended header of ${size} bytes is too large`);
        const data = Buffer.alloc(size);
        await readAt(fh, data, offset);
        if (type === 'L') longName = cString(data, 0, size);
        else if (type === 'K') longLink = cString(data, 0, size);
        else pax = { ...pax, ...parsePax(data, place, name) };
        continue;
      }
      if (type === 'g') continue; // global PAX headers carry nothing we use
      const linkName = pax.linkpath ?? longLink ?? cString(header, 157, 100);
      longName = undefined;
      longLink = undefined;
      pax = {};
      const normalized = normalizeEntryName(name, place);
      if (normalized === '') continue; // the archive root itself ("./")
      entries.set(normalized, { name: normalized, type, offset, size, linkName });
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/**
 * Returns a tar entry path without `./` and trailing `/`, or throws for an absolute path or
 * one that climbs out with `..` (such an archive is hostile, whatever it is used for).
 */
export function normalizeEntryName(name: string, place: string): string {
  if (name.startsWith('/')) {
    throw layoutError(place, `entry ${JSON.stringify(name)}`, 'absolute path in archive; entries must be relative');
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw layoutError(place, `entry ${JSON.stringify(name)}`, 'path leaves the archive with ".."');
  }
  return parts.join('/');
}

/** Returns a 512-byte ustar header for a regular file or directory (type '0' or '5'). */
export function tarHeader(name: string, size: number, type: '0' | '5' = '0'): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new EcrctlError(`tar entry name too long: ${name}`);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, 100, 8, type === '5' ? 0o755 : 0o644);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  if (size > 0o77777777777) {
    // Base-256 (GNU) for sizes of 8 GiB and more: the octal field holds only 11 digits.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else {
    writeOctal(h, 124, 12, size);
  }
  writeOctal(h, 136, 12, 0); // mtime: fixed, so equal inputs give equal archives
  h.write(type, 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** Returns the zero bytes that pad an entry of size bytes to the 512-byte block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

function writeOctal(h: Buffer, at: number, len: number, value: number): void {
  h.write(`${value.toString(8).padStart(len - 1, '0')}\0`, at, len, 'latin1');
}

async function readAt(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
    if (bytesRead === 0) throw new EcrctlError(`unexpected end of file at offset ${pos + done}`);
    done += bytesRead;
  }
}

function cString(buf: Buffer, at: number, len: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseNumber(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b; // some old tars summed signed bytes
  }
  return stored === unsigned || stored === signed;
}

function parseNumber(h: Buffer, at: number, len: number): number {
  if (h[at]! & 0x80) {
    let v = 0n;
    for (let i = at + 1; i < at + len; i++) v = (v << 8n) | BigInt(h[i]!);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(v);
  }
  const text = h
    .toString('latin1', at, at + len)
    .replace(/[\0 ]+$/g, '')
    .trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return Number.parseInt(text, 8);
}

/**
 * Returns true for a PAX size as GNU tar accepts it: decimal digits only (no sign, space,
 * exponent, hex or empty value), within the safe integer range. Number() took all of those.
 */
function isDecimalSize(text: string): boolean {
  return /^[0-9]+$/.test(text) && Number.isSafeInteger(Number(text));
}

/** Returns the records of a PAX extended header ("LEN key=value\n" …). */
function parsePax(data: Buffer, place: string, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const lenText = data.toString('latin1', pos, space);
    // Decimal digits only, as GNU tar reads it (parseInt would take "0x1c" or "28abc").
    const len = /^[0-9]+$/.test(lenText) ? Number(lenText) : Number.NaN;
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > data.length) {
      if (data[pos] === 0) break; // zero padding after the last record
      throw layoutError(place, `entry ${JSON.stringify(name)}`, 'malformed PAX extended header');
    }
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    if (out.size !== undefined && !isDecimalSize(out.size)) {
      throw layoutError(
        place,
        `entry ${JSON.stringify(name)}`,
        `PAX size ${JSON.stringify(out.size)} is not a decimal byte count`,
      );
    }
    pos += len;
  }
  return out;
}

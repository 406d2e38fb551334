// The deterministic layer writer: a tar stream made from a sorted list of entries, with every
// field that varies between machines fixed (mtime, owner ids, no user or group names, no
// atime/ctime, no device numbers), so the same inputs give the same bytes anywhere.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

const BLOCK = 512;

/** One entry of a layer, in image terms: a path in the image and what it is. */
export interface LayerEntry {
  /** The path in the image, relative, no leading `/`, no trailing `/` (`app/index.js`). */
  name: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (0o7777 at most). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of a file (0 for others). */
  size: number;
  /** A symlink's target, exactly as read. */
  linkname?: string;
  /** Where a file's bytes are read from on this machine. */
  source?: string;
  /** A file's bytes, when they are given rather than read (tests, generated files). */
  content?: Buffer;
}

/** Returns entries sorted by name, byte-wise (a parent sorts before its children). */
export function sortEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  return [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

function octal(buf: Buffer, value: number, offset: number, length: number): void {
  // Width length-1 digits, then NUL: the form every tar reader accepts.
  buf.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
  buf[offset + length - 1] = 0;
}

function fits(value: number, length: number): boolean {
  return value >= 0 && value < 8 ** (length - 1);
}

/** Returns a PAX record `LEN key=value\n` where LEN counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body);
  let total = len + String(len).length;
  if (String(total).length !== String(len).length) total = len + String(total).length;
  len = total;
  return `${len}${body}`;
}

/** Splits a long name into ustar prefix (≤155 bytes) and name (≤100 bytes), when possible. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  const bytes = Buffer.from(name);
  if (bytes.length <= 100) return { prefix: '', name };
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '')
      return { prefix, name: rest };
  }
  return undefined;
}

interface HeaderFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname: string;
}

function rawHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(f.name, 0, 100, 'utf8');
  octal(h, f.mode, 100, 8);
  octal(h, f.uid, 108, 8);
  octal(h, f.gid, 116, 8);
  octal(h, f.size, 124, 12);
  octal(h, f.mtime, 136, 12);
  h.fill(0x20, 148, 156);
  h.write(f.type, 156, 1, 'ascii');
  h.write(f.linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'ascii');
  // uname, gname stay empty: host user names never reach the image.
  octal(h, 0, 329, 8);
  octal(h, 0, 337, 8);
  h.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return h;
}

/** Returns the header block(s) of an entry: a PAX header first when a field does not fit ustar. */
export function entryHeader(e: LayerEntry, mtime: number): Buffer {
  const name = e.type === 'dir' ? `${e.name}/` : e.name;
  const linkname = e.linkname ?? '';
  const split = splitName(name);
  const pax: string[] = [];
  if (!split) pax.push(paxRecord('path', name));
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
  if (!fits(e.size, 12)) pax.push(paxRecord('size', String(e.size)));
  if (!fits(e.uid, 8)) pax.push(paxRecord('uid', String(e.uid)));
  if (!fits(e.gid, 8)) pax.push(paxRecord('gid', String(e.gid)));
  const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
  const main = rawHeader({
    name: split ? split.name : Buffer.from(name).subarray(0, 100).toString('utf8'),
    prefix: split ? split.prefix : '',
    mode: e.mode & 0o7777,
    uid: fits(e.uid, 8) ? e.uid : 0,
    gid: fits(e.gid, 8) ? e.gid : 0,
    size: fits(e.size, 12) ? e.size : 0,
    mtime,
    type,
    linkname: Buffer.byteLength(linkname) > 100 ? '' : linkname,
  });
  if (pax.length === 0) return main;
  const body = Buffer.from(pax.join(''));
  const paxHeader = rawHeader({
    name: 'PaxHeader',
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    type: 'x',
    linkname: '',
  });
  return Buffer.concat([paxHeader, body, padding(body.length), main]);
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/**
 * Returns the tar stream of entries (already sorted) with every mtime set to `mtime`
 * (seconds since the epoch). A file whose size changed since it was listed fails the stream.
 */
export function tarStream(entries: readonly LayerEntry[], mtime: number): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const e of entries) {
      yield entryHeader(e, mtime);
      if (e.type !== 'file') continue;
      if (e.content) {
        yield e.content;
      } else if (e.size > 0) {
        let seen = 0;
        for await (const chunk of createReadStream(e.source!, { highWaterMark: 256 * 1024 })) {
          const b = chunk as Buffer;
          seen += b.length;
          if (seen > e.size) break;
          yield b;
        }
        if (seen !== e.size) {
          throw new Error(`${e.source} changed while the layer was written (size ${e.size} when listed, now ${seen})`);
        }
      }
      yield padding(e.size);
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(generate(), { objectMode: false });
}

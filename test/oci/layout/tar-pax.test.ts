// PAX `size` records are read as GNU tar reads them: decimal digits only. `Number()` took
// `0x10`, `1e3`, ` 16` and an empty value, so ecrctl and `docker load` could read one archive
// as two different sets of files. GNU tar (on every Debian machine) is the reference here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EcrctlError } from '../../../src/errors.js';
import { indexTar, TAR_END, tarHeader, tarPadding } from '../../../src/oci/layout/tar.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-tar-pax-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Returns one PAX record, "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** Returns a tar: a PAX header with the records, then a file of 16 bytes whose ustar size is 16. */
function tarWithPax(records: string): Buffer {
  const pax = Buffer.from(records);
  const x = tarHeader('PaxHeaders/data.bin', pax.length);
  x.write('x', 156, 1, 'latin1');
  // Recompute the checksum after changing the type flag.
  x.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of x) sum += b;
  x.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const data = Buffer.alloc(16, 0x61);
  return Buffer.concat([x, pax, tarPadding(pax.length), tarHeader('data.bin', 16), data, tarPadding(16), TAR_END]);
}

function write(bytes: Buffer): string {
  const file = path.join(root, `case-${n++}.tar`);
  writeFileSync(file, bytes);
  return file;
}

/** Returns GNU tar's verdict on the archive: ok with the listed sizes, or its complaint. */
function gnuTar(file: string): { ok: boolean; stderr: string } {
  try {
    execFileSync('tar', ['-tvf', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, stderr: '' };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: Buffer }).stderr) };
  }
}

describe('PAX size records', () => {
  it.each(['0x10', '1e1', '', ' 16', '+16', '-16', '16 ', '1.6e1', 'Infinity', '99999999999999999999'])(
    'refuses size=%j, as GNU tar does',
    async (value) => {
      const file = write(tarWithPax(paxRecord('size', value)));
      expect(gnuTar(file).ok).toBe(false);
      const err = await indexTar(file, 'docker-archive:x.tar').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EcrctlError);
      expect((err as EcrctlError).message).toBe(
        `docker-archive:x.tar: entry "PaxHeaders/data.bin": PAX size ${JSON.stringify(value)} is not a decimal byte count`,
      );
    },
  );

  it.each([
    ['16', 16],
    ['016', 16],
    ['0', 0],
  ])('reads size=%s as %d bytes, as GNU tar does', async (value, size) => {
    const file = write(tarWithPax(paxRecord('size', value)));
    expect(gnuTar(file).ok).toBe(size === 16); // size 0 leaves 16 bytes GNU tar reads as a bad header
    const entries = await indexTar(file, 'docker-archive:x.tar').catch((e: unknown) => e);
    if (size === 16) expect((entries as Map<string, { size: number }>).get('data.bin')?.size).toBe(16);
    else expect(entries).toBeInstanceOf(EcrctlError);
  });
});

describe('PAX record lengths', () => {
  // Each is the true byte count of its record, written in a form Number.parseInt reads.
  it.each(['+18', '20abc', '19.0'])('refuses a record length written %j, as GNU tar does', async (len) => {
    const record = `${len} path=evil.bin\n`;
    expect(Buffer.byteLength(record)).toBe(Number.parseInt(len, 10));
    const file = write(tarWithPax(record));
    expect(gnuTar(file).ok).toBe(false);
    const err = await indexTar(file, 'docker-archive:x.tar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as EcrctlError).message).toBe(
      'docker-archive:x.tar: entry "PaxHeaders/data.bin": malformed PAX extended header',
    );
  });
});

// The local scanner against layers built to exhaust it (issue 20 #4): a small gzip whose tar
// headers claim gigabytes, too many entries, too many bytes. Each ends as a scan failure
// with the reason, never as memory growth or a crash.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CreateRepositoryCommand, DescribeImageScanFindingsCommand, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayerFiles } from '../../src/local/scanner.js';
import type { LocalServer } from '../../src/local/server.js';
import { ecrClient, start, tempDir } from './helpers.js';
import { dpkgStatus, pushImage } from './scanning-fixtures.js';

const DPKG = 'var/lib/dpkg/status';
const WANTED = new Set([DPKG]);

/** Returns a 512-byte ustar header (with a valid checksum) declaring size bytes of type. */
function tarHeader(name: string, size: number, type: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Returns a tar entry: header and data padded to 512 bytes. */
function entry(name: string, data: Buffer, type = '0'): Buffer {
  return Buffer.concat([tarHeader(name, data.length, type), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

const END = Buffer.alloc(1024);
const zeros = (n: number) => Buffer.alloc(n);

/** A gzip layer whose GNU long-name header claims 1.5 GB, followed by 4 MiB of zeros. */
function longNameBomb(): Buffer {
  return gzipSync(Buffer.concat([tarHeader('././@LongLink', 1_500_000_000, 'L'), zeros(4 << 20)]));
}

const read = (layer: Buffer, limits?: Parameters<typeof readLayerFiles>[2]) =>
  readLayerFiles(Readable.from([layer]), WANTED, limits);

describe('readLayerFiles caps', () => {
  it('refuses a GNU long name header that claims 1.5 GB without reading it', async () => {
    const bomb = longNameBomb();
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(read(bomb)).rejects.toThrow(
      'a GNU long name header of 1500000000 bytes exceeds the scanner limit of 4096 bytes',
    );
  });

  it('refuses a PAX header over 1 MiB', async () => {
    const layer = gzipSync(Buffer.concat([tarHeader('pax', 2 << 20, 'x'), zeros(2 << 20), END]));
    await expect(read(layer)).rejects.toThrow(
      'a PAX header of 2097152 bytes exceeds the scanner limit of 1048576 bytes',
    );
  });

  it('refuses a path longer than the name limit from a PAX header', async () => {
    const record = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 1;
      while (`${len}${body}`.length !== len) len++;
      return `${len}${body}`;
    };
    const layer = Buffer.concat([
      entry('pax', Buffer.from(record('path', 'a/'.repeat(3000))), 'x'),
      entry('f', zeros(1)),
      END,
    ]);
    await expect(read(layer)).rejects.toThrow(/a file name of 6000 bytes exceeds the scanner limit of 4096 bytes/);
  });

  it('refuses a package database larger than the file limit', async () => {
    const layer = Buffer.concat([entry(DPKG, zeros(3000)), END]);
    await expect(read(layer, { maxFileBytes: 2048 })).rejects.toThrow(
      `${DPKG} is 3000 bytes, over the scanner limit of 2048 bytes`,
    );
  });

  it('stops after the entry limit and the decompressed byte limit', async () => {
    const many = Buffer.concat([...Array.from({ length: 20 }, (_, i) => entry(`f${i}`, zeros(10))), END]);
    await expect(read(many, { maxEntries: 10 })).rejects.toThrow('the layer has more than 10 entries');
    const big = gzipSync(Buffer.concat([entry('big', zeros(3 << 20)), END]));
    await expect(read(big, { maxTotalBytes: 1 << 20 })).rejects.toThrow('the layer expands to more than 1048576 bytes');
  });

  it('still reads a normal layer', async () => {
    const status = Buffer.from(dpkgStatus([['bash', '5.2']]));
    const layer = gzipSync(Buffer.concat([entry('etc/x', zeros(100)), entry(`./${DPKG}`, status), END]));
    expect((await read(layer)).get(DPKG)?.equals(status)).toBe(true);
  });
});

describe('a scan of such a layer', () => {
  const tmp = tempDir();
  let server: LocalServer;
  beforeAll(async () => {
    server = await start(tmp.dir);
  });
  afterAll(async () => {
    await server.close();
    tmp.remove();
  });

  it('ends FAILED with the reason, and the endpoint keeps serving', async () => {
    const ecr = ecrClient(server);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'scan/bomb' }));
    await pushImage(ecr, 'scan/bomb', [longNameBomb()], { tag: 'v1' });
    await ecr.send(new StartImageScanCommand({ repositoryName: 'scan/bomb', imageId: { imageTag: 'v1' } }));
    let status: { status?: string; description?: string } | undefined;
    // A scan takes time on ECR (and here, on the emulator's clock): move past it.
    server.advanceClock(60_000);
    for (let i = 0; i < 50 && (!status || status.status === 'IN_PROGRESS'); i++) {
      const out = await ecr.send(
        new DescribeImageScanFindingsCommand({ repositoryName: 'scan/bomb', imageId: { imageTag: 'v1' } }),
      );
      status = out.imageScanStatus;
    }
    expect(status?.status).toBe('FAILED');
    expect(status?.description).toMatch(
      /^ScanFailed: layer sha256:[0-9a-f]{64} could not be read: a GNU long name header of 1500000000 bytes exceeds the scanner limit of 4096 bytes$/,
    );
  });
});

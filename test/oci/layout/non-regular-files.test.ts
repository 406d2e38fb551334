// A docker-archive or an OCI layout file that is a FIFO, a directory or a device is refused
// at once with a typed error: opening a FIFO for reading would otherwise block until a writer
// appears (an `ecrctl push docker-archive:FIFO` hung for minutes and ignored Ctrl-C).
import { constants, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcrctlError, UsageError } from '../../../src/errors.js';
import { DockerArchiveReader } from '../../../src/oci/layout/docker-archive.js';
import { OciLayout } from '../../../src/oci/layout/oci-dir.js';
import { writeRawLayout } from '../../helpers/layout-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-non-regular-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
const fifos: string[] = [];
beforeEach(() => {
  dir = path.join(root, `case-${n++}`);
  mkdirSync(dir);
});
// Should a reader still be blocked in open() (the bug), a non-blocking writer releases it.
afterEach(() => {
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting: nothing to release
    }
  }
});

function mkfifo(file: string): string {
  execFileSync('mkfifo', [file]);
  fifos.push(file);
  return file;
}

/** Returns what the promise settled with, or 'still waiting' after ms. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  try {
    return await Promise.race([p.catch((e: unknown) => e), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('docker-archive: a file that is not a regular file', () => {
  it.each([
    ['a FIFO', (d: string) => mkfifo(path.join(d, 'app.tar')), 'a FIFO'],
    [
      'a directory',
      (d: string) => {
        mkdirSync(path.join(d, 'app.tar'));
        return path.join(d, 'app.tar');
      },
      'a directory',
    ],
    ['a character device', () => '/dev/zero', 'a device'],
  ])('refuses %s at once, naming it', async (_name, make, kind) => {
    const file = make(dir);
    const started = Date.now();
    const err = await within(3000, DockerArchiveReader.open(file));
    expect(err).toBeInstanceOf(UsageError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((err as UsageError).message).toBe(`docker-archive:${file}: ${file} is ${kind}, not a regular file`);
    expect((err as UsageError).fix).toBe(
      'write the archive to a regular file first (it is read by random access), e.g. `docker save -o app.tar IMAGE`',
    );
  });
});

describe('OCI layout: files that are not regular files', () => {
  it.each(['index.json', 'oci-layout'])('refuses a %s that is a FIFO at once', async (name) => {
    writeRawLayout(dir, {}, { schemaVersion: 2, manifests: [] });
    rmSync(path.join(dir, name));
    mkfifo(path.join(dir, name));
    const started = Date.now();
    const err = await within(3000, OciLayout.open(dir));
    expect(err).toBeInstanceOf(EcrctlError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((err as EcrctlError).message).toBe(`oci:${dir}: ${name}: is not a regular file`);
  });

  it('refuses a blob that is a FIFO at once', async () => {
    const hex = 'a'.repeat(64);
    writeRawLayout(
      dir,
      {},
      {
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${hex}`, size: 2 }],
      },
    );
    mkfifo(path.join(dir, 'blobs', 'sha256', hex));
    writeFileSync(path.join(dir, 'unrelated'), '');
    const layout = await OciLayout.open(dir);
    const started = Date.now();
    const err = await within(3000, layout.getManifest(''));
    expect(err).toBeInstanceOf(EcrctlError);
    expect(Date.now() - started).toBeLessThan(1500);
    expect((err as EcrctlError).message).toBe(`oci:${dir}: blobs/sha256/${hex}: is not a regular file`);
  });
});

// A full disk ends a write with a message that names the file, the bytes it needs and the
// space left, exit 1 (the writers already remove their temp files). No test machine has a
// full disk to spare, and mounting a small filesystem needs privileges, so the ENOSPC here is
// a real one from /dev/full (every write fails with it), written through writeVerified, the
// code path both the OCI layout and the docker-archive writers use for blobs.
import { open } from 'node:fs/promises';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EcrctlError } from '../../../src/errors.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { diskFullError } from '../../../src/oci/layout/common.js';
import { writeVerified } from '../../../src/oci/layout/common.js';

const bytes = Buffer.alloc(3000, 7);
const descriptor = { mediaType: 'application/octet-stream', digest: sha256Digest(bytes), size: bytes.length };

let sourceOpens = 0;

async function enospc(): Promise<NodeJS.ErrnoException> {
  const fh = await open('/dev/full', 'r+');
  sourceOpens = 0;
  const source = async () => {
    sourceOpens++;
    return Readable.from([bytes]);
  };
  try {
    return await writeVerified(fh, 0, descriptor, source).then(
      () => {
        throw new Error('a write to /dev/full succeeded');
      },
      (e: NodeJS.ErrnoException) => e,
    );
  } finally {
    await fh.close();
  }
}

describe('disk full', () => {
  it('a real ENOSPC from a blob write becomes an error naming the path, the bytes needed and the space left', async () => {
    const raw = await enospc();
    expect(raw.code).toBe('ENOSPC');
    // A full disk is not a network hiccup: the source is not fetched again (once, not 3 times).
    expect(sourceOpens).toBe(1);
    const file = path.join(tmpdir(), 'out', 'blobs', 'sha256', descriptor.digest.slice(7));
    const err = await diskFullError(raw, 'oci:out', file, descriptor.size);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as EcrctlError).exitCode).toBe(1);
    const free = (await statfs(tmpdir())).bavail * (await statfs(tmpdir())).bsize;
    expect((err as EcrctlError).message).toMatch(
      new RegExp(`^oci:out: no space left on the device: writing ${file} needs 3000 bytes; \\d+ bytes are free there$`),
    );
    // The free space is that of the nearest existing directory of file (tmpdir here).
    const shown = Number(/; (\d+) bytes are free/.exec((err as EcrctlError).message)![1]);
    expect(Math.abs(shown - free)).toBeLessThan(64 * 1024 * 1024);
    expect((err as EcrctlError).fix).toBe(`free space on the filesystem of ${path.dirname(file)} or pull elsewhere`);
    expect((err as EcrctlError).cause).toBe(raw);
  });

  it('maps EDQUOT (quota exhausted) the same way, and leaves other errors alone', async () => {
    const quota = Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' });
    const err = await diskFullError(quota, 'docker-archive:app.tar', '/nowhere/app.tar', 10);
    expect((err as EcrctlError).message).toBe(
      'docker-archive:app.tar: disk quota exceeded: writing /nowhere/app.tar needs 10 bytes',
    );
    expect((err as EcrctlError).fix).toBe('free space on the filesystem of /nowhere or pull elsewhere');
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    expect(await diskFullError(denied, 'oci:out', '/x', 1)).toBe(denied);
  });
});

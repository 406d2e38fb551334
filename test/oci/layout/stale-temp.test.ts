// A pull killed with SIGKILL (or by the OOM killer, or a power cut) cannot remove its temp
// files. The next write to the same destination removes the ones it can tell are abandoned:
// an ecrctl temp name for that destination, owned by this user, and idle (no write) for an
// hour, or for 10 minutes when the PID in its name is no longer running. Anything else stays.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerArchiveWriter } from '../../../src/oci/layout/docker-archive.js';
import { OciLayout } from '../../../src/oci/layout/oci-dir.js';
import { layerTar, makeImage, writeImage } from '../../helpers/layout-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-stale-temp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
beforeEach(() => {
  dir = path.join(root, `case-${n++}`);
  mkdirSync(dir);
});

const image = makeImage([layerTar({ 'a.txt': 'a' })], 'stale');
const hex12 = (c: string) => c.repeat(12);
/** A PID that just exited (a finished child's). */
const deadPid = spawnSync('true').pid!;

/** Creates a file (or a temp layout dir with a blob inside) last modified minutes ago. */
function plant(file: string, minutesAgo: number, kind: 'file' | 'dir' = 'file'): string {
  const when = new Date(Date.now() - minutesAgo * 60_000);
  if (kind === 'dir') {
    mkdirSync(path.join(file, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(path.join(file, 'blobs', 'sha256', 'ab'), 'partial');
    for (const p of [
      path.join(file, 'blobs', 'sha256', 'ab'),
      path.join(file, 'blobs', 'sha256'),
      path.join(file, 'blobs'),
    ])
      utimesSync(p, when, when);
  } else {
    writeFileSync(file, 'partial');
  }
  utimesSync(file, when, when);
  return path.basename(file);
}

describe('stale temp files beside the destination', () => {
  it.each([
    ['oci:', 'out', 'dir' as const],
    ['docker-archive:', 'out.tar', 'file' as const],
  ])('a write to %s%s removes abandoned temp files and keeps the rest', async (transport, base, kind) => {
    const removed = [
      plant(path.join(dir, `.${base}.tmp-${hex12('a')}`), 61, kind), // old name form, idle over an hour
      plant(path.join(dir, `.${base}.tmp-${deadPid}-${hex12('b')}`), 11, kind), // its process is gone
    ];
    const kept = [
      plant(path.join(dir, `.${base}.tmp-${hex12('c')}`), 5, kind), // maybe another pull at work
      plant(path.join(dir, `.${base}.tmp-${process.pid}-${hex12('d')}`), 120, kind), // its process runs
      plant(path.join(dir, `.${base}.tmp-${deadPid}-${hex12('e')}`), 2, kind), // written to just now
      plant(path.join(dir, `.other.tmp-${hex12('f')}`), 600), // another destination
      plant(path.join(dir, `.${base}.tmp-notours`), 600), // not a name ecrctl makes
      plant(path.join(dir, `${base}.tmp-${hex12('a')}`), 600), // not hidden: not ours
    ];
    const out = path.join(dir, base);
    if (transport === 'oci:') {
      const target = await OciLayout.create(out);
      await writeImage(target, image, 'v1');
      await target.commit();
    } else {
      const writer = await DockerArchiveWriter.create(out, 'app:v1');
      await writeImage(writer, image, 'v1');
      await writer.commit();
    }
    expect(readdirSync(dir).sort()).toEqual([base, ...kept].sort());
    for (const name of removed) expect(existsSync(path.join(dir, name))).toBe(false);
  });

  it('a write into an existing layout removes abandoned blob and index.json temp files inside it', async () => {
    const out = path.join(dir, 'layout');
    const first = await OciLayout.create(out);
    await writeImage(first, image, 'v1');
    await first.commit();
    const oldBlob = plant(path.join(out, 'blobs', `.tmp-${hex12('1')}-${hex12('2')}`), 61);
    const deadBlob = plant(path.join(out, 'blobs', `.tmp-${deadPid}-${hex12('1')}-${hex12('3')}`), 11);
    const freshBlob = plant(path.join(out, 'blobs', `.tmp-${hex12('1')}-${hex12('4')}`), 1);
    const oldIndex = plant(path.join(out, `index.json.tmp-${hex12('5')}`), 61);
    const freshIndex = plant(path.join(out, `index.json.tmp-${hex12('6')}`), 1);

    const again = await OciLayout.create(out);
    await writeImage(again, image, 'v2');
    await again.commit();
    expect(readdirSync(path.join(out, 'blobs')).sort()).toEqual([freshBlob, 'sha256'].sort());
    expect(readdirSync(out).sort()).toEqual(['blobs', freshIndex, 'index.json', 'oci-layout'].sort());
    for (const name of [oldBlob, deadBlob, oldIndex]) expect(readdirSync(out).includes(name)).toBe(false);
  });

  it('names its own temp files with its PID, so the next run can tell', async () => {
    const target = await OciLayout.create(path.join(dir, 'out'));
    expect(readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`^\\.out\\.tmp-${process.pid}-[0-9a-f]{12}$`))]);
    await target.abort();
  });
});

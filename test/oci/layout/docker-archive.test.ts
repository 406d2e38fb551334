import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, NotFoundError, UsageError } from '../../../src/errors.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { DockerArchiveReader, DockerArchiveWriter } from '../../../src/oci/layout/docker-archive.js';
import { OciLayout } from '../../../src/oci/layout/oci-dir.js';
import { TAR_END, tarHeader, tarPadding } from '../../../src/oci/layout/tar.js';
import { MediaType } from '../../../src/oci/media-types.js';
import type { ImageManifest } from '../../../src/oci/types.js';
import {
  layerTar,
  makeImage,
  readAll,
  run,
  skopeo,
  type TestImage,
  writeImage,
} from '../../helpers/layout-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-docker-archive-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
beforeEach(() => {
  dir = path.join(root, `case-${n++}`);
  mkdirSync(dir);
});

const base = layerTar({ 'etc/os-release': 'ID=test\n' });
const top = layerTar({ 'app/main.sh': '#!/bin/sh\necho hi\n' });
const plain = makeImage([base, top], 'plain');
const zipped = makeImage([base, top], 'zipped', { gzip: true });
const other = makeImage([base, layerTar({ 'app/other': 'x' })], 'other');

async function layoutWith(image: TestImage, tag: string): Promise<string> {
  const out = path.join(dir, 'layout');
  const target = await OciLayout.create(out);
  await writeImage(target, image, tag);
  await target.commit();
  return out;
}

function parsed(bytes: Buffer): ImageManifest {
  return JSON.parse(bytes.toString('utf8')) as ImageManifest;
}

/** Returns a tar of the files in dir, in the order given, made by the system tar. */
function systemTar(from: string, names: string[], file: string, format = 'gnu'): void {
  run('tar', [`--format=${format}`, '-cf', file, '-C', from, ...names]);
}

describe('docker-archive reader', () => {
  it('reads the classic archive skopeo writes, with the layer digests skopeo reports', async () => {
    const layout = await layoutWith(zipped, 'v1');
    const file = path.join(dir, 'app.tar');
    skopeo('copy', `oci:${layout}:v1`, `docker-archive:${file}:team/app:v1`);
    const reported = JSON.parse(skopeo('inspect', `docker-archive:${file}`)) as { Layers: string[] };

    for (const ref of ['team/app:v1', 'docker.io/team/app:v1', '@0', undefined]) {
      const reader = await DockerArchiveReader.open(file, ref);
      const m = await reader.getManifest('');
      const manifest = parsed(m.bytes);
      expect(m.digest).toBe(sha256Digest(m.bytes));
      expect(manifest.layers.map((l) => l.digest)).toEqual(reported.Layers);
      // skopeo stores layers uncompressed: digests are the diff IDs, media type the plain tar
      expect(manifest.layers.map((l) => l.digest)).toEqual([sha256Digest(base), sha256Digest(top)]);
      expect(manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
      expect((await readAll(await reader.openBlob(manifest.config))).equals(zipped.config)).toBe(true);
      for (const l of manifest.layers) expect(sha256Digest(await readAll(await reader.openBlob(l)))).toBe(l.digest);
      expect((await reader.getManifest(m.digest)).bytes.equals(m.bytes)).toBe(true);
      expect(await reader.listTags()).toEqual(['docker.io/team/app:v1']);
    }
  });

  it('reads the OCI-in-tar form (index.json, blobs/, manifest.json) and names images by RepoTags', async () => {
    const layout = await layoutWith(zipped, 'v1');
    writeFileSync(
      path.join(layout, 'manifest.json'),
      JSON.stringify([
        {
          Config: `blobs/sha256/${zipped.descriptors[0]!.digest.slice(7)}`,
          RepoTags: ['team/app:v1'],
          Layers: zipped.descriptors.slice(1).map((d) => `blobs/sha256/${d.digest.slice(7)}`),
        },
      ]),
    );
    const file = path.join(dir, 'modern.tar');
    run('tar', ['-cf', file, '-C', layout, '.']); // entries are "./oci-layout", "./blobs/…"
    for (const ref of ['team/app:v1', 'docker.io/team/app:v1', '@0', 'v1', undefined]) {
      const reader = await DockerArchiveReader.open(file, ref);
      const m = await reader.getManifest('');
      expect(m.bytes.equals(zipped.manifest.bytes)).toBe(true);
      expect(m.mediaType).toBe(MediaType.ociManifest);
      for (const d of zipped.descriptors) expect(sha256Digest(await readAll(await reader.openBlob(d)))).toBe(d.digest);
    }
    expect(await (await DockerArchiveReader.open(file)).listTags()).toEqual(['team/app:v1', 'v1']);
  });

  it.each(['gnu', 'pax', 'ustar'])('finds entries with names over 100 bytes (%s format)', async (format) => {
    const src = path.join(dir, 'src');
    const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
    mkdirSync(path.join(src, deep), { recursive: true });
    writeFileSync(path.join(src, deep, 'layer.tar'), base);
    writeFileSync(path.join(src, deep, 'config.json'), plain.config);
    writeFileSync(
      path.join(src, 'manifest.json'),
      JSON.stringify([{ Config: `${deep}/config.json`, RepoTags: ['app:v1'], Layers: [`${deep}/layer.tar`] }]),
    );
    const file = path.join(dir, 'long.tar');
    systemTar(src, ['manifest.json', `${deep}/layer.tar`, `${deep}/config.json`], file, format);
    const reader = await DockerArchiveReader.open(file, 'app:v1');
    const manifest = parsed((await reader.getManifest('')).bytes);
    expect(manifest.config.digest).toBe(sha256Digest(plain.config));
    expect(manifest.layers).toEqual([{ mediaType: MediaType.ociLayer, digest: sha256Digest(base), size: base.length }]);
    expect((await readAll(await reader.openBlob(manifest.layers[0]!))).equals(base)).toBe(true);
  });

  it('lists the choices when an archive holds several images and none is named', async () => {
    const file = path.join(dir, 'two.tar');
    const writer = await DockerArchiveWriter.create(file);
    await writeImage(writer, plain, 'team/app:v1');
    await writeImage(writer, other, 'team/other:v2');
    await writer.commit();
    const reader = await DockerArchiveReader.open(file);
    const ambiguous = await reader.getManifest('').catch((e: unknown) => e);
    expect(ambiguous).toBeInstanceOf(UsageError);
    expect((ambiguous as Error).message).toBe(
      `docker-archive:${file}: the archive holds 2 images; choose one: team/app:v1 (@0), team/other:v2 (@1)`,
    );
    expect((await reader.getManifest('@1')).digest).toBe(other.manifest.digest);
    expect((await reader.getManifest('team/other:v2')).digest).toBe(other.manifest.digest);
    const err = await DockerArchiveReader.open(file, 'team/nope:v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(`docker-archive:${file}: no image named "team/nope:v1"`);
  });
});

describe('docker-archive reader: hostile archives', () => {
  /** Builds a classic archive from files in dir/src, manifest.json pointing at layers. */
  function classic(layers: string[], extra: (src: string) => string[] = () => []): string {
    const src = path.join(dir, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'config.json'), plain.config);
    writeFileSync(path.join(src, 'layer.tar'), base);
    writeFileSync(
      path.join(src, 'manifest.json'),
      JSON.stringify([{ Config: 'config.json', RepoTags: ['app:v1'], Layers: layers }]),
    );
    const file = path.join(dir, 'evil.tar');
    systemTar(src, ['manifest.json', 'config.json', 'layer.tar', ...extra(src)], file);
    return file;
  }

  const cases: [string, () => string, (file: string) => string][] = [
    [
      'a layer path with ..',
      () => classic(['../layer.tar']),
      (f) => `docker-archive:${f}: manifest.json: [0].Layers[0] "../layer.tar" leaves the archive with ".."`,
    ],
    [
      'an absolute layer path',
      () => classic(['/etc/passwd']),
      (f) =>
        `docker-archive:${f}: manifest.json: [0].Layers[0] "/etc/passwd" is an absolute path; paths are relative to the archive`,
    ],
    [
      'a missing layer',
      () => classic(['layer.tar', 'gone.tar']),
      (f) => `docker-archive:${f}: manifest.json: [0].Layers[1] "gone.tar" is missing from the archive`,
    ],
    [
      'a symlink as layer',
      () =>
        classic(['link.tar'], (src) => {
          symlinkSync('/etc/passwd', path.join(src, 'link.tar'));
          return ['link.tar'];
        }),
      (f) =>
        `docker-archive:${f}: manifest.json: [0].Layers[0] "link.tar" is a symbolic link (to "/etc/passwd"); it must be a regular file in the archive`,
    ],
    [
      'a truncated archive',
      () => {
        const f = classic(['layer.tar']);
        // manifest.json and config.json take a header and a data block each: layer.tar's
        // data starts at 2560; cut it 100 bytes in.
        truncateSync(f, 2660);
        return f;
      },
      (f) =>
        `docker-archive:${f}: entry "layer.tar": truncated archive: the entry needs ${base.length} bytes at offset 2560, the file ends at 2660`,
    ],
    [
      'an entry that climbs out',
      () => {
        const f = path.join(dir, 'climb.tar');
        const data = Buffer.from('x');
        writeFileSync(f, Buffer.concat([tarHeader('../evil', 1), data, tarPadding(1), TAR_END]));
        return f;
      },
      (f) => `docker-archive:${f}: entry "../evil": path leaves the archive with ".."`,
    ],
    [
      'an entry with an absolute path',
      () => {
        const f = path.join(dir, 'abs.tar');
        writeFileSync(f, Buffer.concat([tarHeader('/etc/cron.d/x', 0), TAR_END]));
        return f;
      },
      (f) => `docker-archive:${f}: entry "/etc/cron.d/x": absolute path in archive; entries must be relative`,
    ],
    [
      'a file that is not a tar',
      () => {
        const f = path.join(dir, 'noise.tar');
        writeFileSync(f, Buffer.alloc(2048, 0x41));
        return f;
      },
      (f) =>
        `docker-archive:${f}: offset 0: not a tar archive or a corrupt header (checksum mismatch at "${'A'.repeat(100)}")`,
    ],
    [
      'a tar without manifest.json or index.json',
      () => {
        const f = path.join(dir, 'plain.tar');
        writeFileSync(f, layerTar({ 'hello.txt': 'hi' }));
        return f;
      },
      (f) =>
        `docker-archive:${f}: manifest.json: is missing: not a docker-archive (neither manifest.json nor index.json found)`,
    ],
  ];

  it.each(cases)('refuses %s with a message naming archive, entry and problem', async (_name, make, message) => {
    const file = make();
    const before = readdirSync(dir).sort();
    const err = await DockerArchiveReader.open(file, 'app:v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(message(file));
    expect(readdirSync(dir).sort()).toEqual(before); // nothing written anywhere
  });

  it('fails a layer whose bytes do not match its blobs/sha256 name when verified', async () => {
    const layout = await layoutWith(plain, 'v1');
    const layer = plain.descriptors[1]!;
    writeFileSync(path.join(layout, 'blobs', 'sha256', layer.digest.slice(7)), Buffer.alloc(layer.size, 1));
    const file = path.join(dir, 'bad.tar');
    run('tar', ['-cf', file, '-C', layout, '.']);
    const reader = await DockerArchiveReader.open(file);
    const { VerifyingStream } = await import('../../../src/oci/digest.js');
    const { pipeline } = await import('node:stream/promises');
    const { Writable } = await import('node:stream');
    await expect(
      pipeline(
        await reader.openBlob(layer),
        new VerifyingStream(layer.digest, layer.size),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
    ).rejects.toThrow(
      `content does not match its digest: expected ${layer.digest}, got ${sha256Digest(Buffer.alloc(layer.size, 1))}`,
    );
  });
});

describe('docker-archive writer', () => {
  it('writes an archive skopeo reads, with matching layer digests, that is also an OCI layout', async () => {
    const file = path.join(dir, 'out.tar');
    const writer = await DockerArchiveWriter.create(file, 'team/app:v1');
    await writeImage(writer, plain, 'team/app:v1');
    await writer.putManifest(plain.manifest, 'v2'); // a bare tag joins the name
    expect(readdirSync(dir)).toHaveLength(1);
    expect(readdirSync(dir)[0]).toMatch(/^\.out\.tar\.tmp-\d+-[0-9a-f]{12}$/);
    await writer.commit();
    expect(readdirSync(dir)).toEqual(['out.tar']);

    const inspected = JSON.parse(skopeo('inspect', `docker-archive:${file}:team/app:v2`)) as {
      Layers: string[];
      RepoTags: string[];
    };
    expect(inspected.Layers).toEqual(plain.descriptors.slice(1).map((d) => d.digest));
    // dir: keeps blobs as they are: the same digests and bytes come out
    const copiedDir = path.join(dir, 'copied-dir');
    skopeo('copy', `docker-archive:${file}:team/app:v1`, `dir:${copiedDir}`);
    const dirManifest = parsed(readFileSync(path.join(copiedDir, 'manifest.json')));
    expect(dirManifest.layers.map((l) => l.digest)).toEqual(plain.descriptors.slice(1).map((d) => d.digest));
    for (const l of dirManifest.layers)
      expect(sha256Digest(readFileSync(path.join(copiedDir, l.digest.slice(7))))).toBe(l.digest);
    // oci: makes skopeo gzip the layers; the config (and its diff IDs) arrive unchanged
    const copied = path.join(dir, 'copied');
    skopeo('copy', `docker-archive:${file}:team/app:v1`, `oci:${copied}:v1`);
    const layout = await OciLayout.open(copied);
    expect(parsed((await layout.getManifest('v1')).bytes).config.digest).toBe(plain.descriptors[0]!.digest);

    const listing = run('tar', ['-tf', file]).trim().split('\n');
    expect(listing.slice(0, 3)).toEqual(['blobs/', 'blobs/sha256/', 'oci-layout']);
    expect(listing.slice(-3)).toEqual(['index.json', 'manifest.json', 'repositories']);
    const extracted = path.join(dir, 'x');
    mkdirSync(extracted);
    run('tar', ['-xf', file, '-C', extracted]);
    expect(JSON.parse(readFileSync(path.join(extracted, 'manifest.json'), 'utf8'))).toEqual([
      {
        Config: `blobs/sha256/${plain.descriptors[0]!.digest.slice(7)}`,
        RepoTags: ['team/app:v1', 'team/app:v2'],
        Layers: plain.descriptors.slice(1).map((d) => `blobs/sha256/${d.digest.slice(7)}`),
      },
    ]);
    // the archive is an OCI layout once unpacked: skopeo and our reader see the tags
    expect(skopeo('inspect', '--raw', `oci:${extracted}:v2`)).toBe(plain.manifest.bytes.toString());
    const reader = await DockerArchiveReader.open(file);
    expect((await reader.getManifest('')).bytes.equals(plain.manifest.bytes)).toBe(true);
  });

  it('writes gzip layers that skopeo reads (it reports the uncompressed diff IDs)', async () => {
    const file = path.join(dir, 'gz.tar');
    const writer = await DockerArchiveWriter.create(file, 'app');
    await writeImage(writer, zipped, 'app');
    await writer.commit();
    const inspected = JSON.parse(skopeo('inspect', `docker-archive:${file}`)) as {
      Layers: string[];
      RepoTags: string[];
    };
    expect(inspected.Layers).toEqual([sha256Digest(base), sha256Digest(top)]);
    const reader = await DockerArchiveReader.open(file, 'app:latest');
    expect((await reader.getManifest('')).digest).toBe(zipped.manifest.digest);
  });

  it('abort() leaves no output and no temp file; a failed putBlob is cut off and the archive stays valid', async () => {
    const file = path.join(dir, 'out.tar');
    let writer = await DockerArchiveWriter.create(file, 'app:v1');
    await writeImage(writer, plain, 'app:v1');
    await writer.abort();
    expect(readdirSync(dir)).toEqual([]);

    writer = await DockerArchiveWriter.create(file, 'app:v1');
    const claimed = { mediaType: MediaType.ociLayer, digest: sha256Digest('expected'), size: 8 };
    const err = await writer
      .putBlob(claimed, async () => Readable.from([Buffer.from('tampered')]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(await writer.hasBlob(claimed)).toBe(false);
    await writeImage(writer, plain, 'app:v1');
    await writer.commit();
    expect(readdirSync(dir)).toEqual(['out.tar']);
    const listing = run('tar', ['-tf', file]);
    expect(listing).not.toContain(claimed.digest.slice(7));
    expect(JSON.parse(skopeo('inspect', `docker-archive:${file}`)).Layers).toEqual(
      plain.descriptors.slice(1).map((d) => d.digest),
    );
  });

  it('refuses to name an index (docker load reads single images)', async () => {
    const file = path.join(dir, 'idx.tar');
    const writer = await DockerArchiveWriter.create(file, 'app:v1');
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }));
    await expect(
      writer.putManifest({ mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), bytes }, 'app:v1'),
    ).rejects.toThrow(`docker-archive:${file}: a docker-archive holds single-platform images, not an index`);
    await writer.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, EcrctlError, NotFoundError, UsageError } from '../../../src/errors.js';
import { sha256Digest } from '../../../src/oci/digest.js';
import { OciLayout } from '../../../src/oci/layout/oci-dir.js';
import { MediaType } from '../../../src/oci/media-types.js';
import type { ManifestBlob } from '../../../src/oci/types.js';
import {
  layerTar,
  makeImage,
  readAll,
  skopeo,
  tagged,
  writeImage,
  writeRawLayout,
} from '../../helpers/layout-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'ecrctl-oci-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
let dir: string;
beforeEach(() => {
  dir = path.join(root, `case-${n++}`);
  mkdirSync(dir);
});

const base = layerTar({ 'etc/os-release': 'ID=test\n' });
const imageA = makeImage([base, layerTar({ 'app/a.txt': 'a' })], 'a', { gzip: true });
const imageB = makeImage([base, layerTar({ 'app/b.txt': 'bb' })], 'b', { gzip: true });

function manifestOf(json: unknown): ManifestBlob {
  const bytes = Buffer.from(JSON.stringify(json));
  return { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), bytes };
}

describe('OciLayout round trip', () => {
  it('writes two tags and reads back the same bytes and digests', async () => {
    const out = path.join(dir, 'out');
    const target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    await writeImage(target, imageB, 'v2');
    expect(existsSync(out)).toBe(false); // nothing visible before commit
    await target.commit();

    const layout = await OciLayout.open(out);
    expect(await layout.listTags()).toEqual(['v1', 'v2']);
    for (const [tag, image] of [
      ['v1', imageA],
      ['v2', imageB],
    ] as const) {
      const m = await layout.getManifest(tag);
      expect(m.digest).toBe(image.manifest.digest);
      expect(m.bytes.equals(image.manifest.bytes)).toBe(true);
      expect(m.mediaType).toBe(MediaType.ociManifest);
      for (const d of image.descriptors) {
        const bytes = await readAll(await layout.openBlob(d));
        expect(sha256Digest(bytes)).toBe(d.digest);
      }
    }
    expect((await layout.getManifest(imageB.manifest.digest)).bytes.equals(imageB.manifest.bytes)).toBe(true);
    // no temp dir or temp files remain next to or inside the layout
    expect(readdirSync(dir)).toEqual(['out']);
    expect(readdirSync(path.join(out, 'blobs'))).toEqual(['sha256']);
  });

  it('is read by skopeo, and a layout skopeo writes is read back with equal digests', async () => {
    const out = path.join(dir, 'ours');
    const target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    await writeImage(target, imageB, 'v2');
    await target.commit();

    expect(skopeo('inspect', '--raw', `oci:${out}:v1`)).toBe(imageA.manifest.bytes.toString());
    const theirs = path.join(dir, 'theirs');
    skopeo('copy', `oci:${out}:v2`, `oci:${theirs}:v2`);
    const layout = await OciLayout.open(theirs);
    expect(await layout.listTags()).toEqual(['v2']);
    const m = await layout.getManifest('v2');
    expect(m.digest).toBe(imageB.manifest.digest);
    for (const d of imageB.descriptors) {
      expect(sha256Digest(await readAll(await layout.openBlob(d)))).toBe(d.digest);
    }
  });

  it('adds a tag to an existing layout, replaces a tag of the same name and keeps the others', async () => {
    const out = path.join(dir, 'layout');
    let target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    await writeImage(target, imageA, 'stable');
    await target.commit();

    target = await OciLayout.create(out);
    await writeImage(target, imageB, 'v2');
    await writeImage(target, imageB, 'stable');
    await target.commit();

    const layout = await OciLayout.open(out);
    expect(await layout.listTags()).toEqual(['v1', 'stable', 'v2']);
    expect((await layout.getManifest('stable')).digest).toBe(imageB.manifest.digest);
    expect((await layout.getManifest('v1')).digest).toBe(imageA.manifest.digest);
    // skopeo agrees about the replaced tag
    expect(skopeo('inspect', '--raw', `oci:${out}:stable`)).toBe(imageB.manifest.bytes.toString());
  });

  it('records an untagged root manifest in index.json but not the children of an index', async () => {
    const out = path.join(dir, 'out');
    const target = await OciLayout.create(out);
    await writeImage(target, imageA);
    await writeImage(target, imageB);
    const indexBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [imageA, imageB].map((i) => ({
          mediaType: i.manifest.mediaType,
          digest: i.manifest.digest,
          size: i.manifest.bytes.length,
        })),
      }),
    );
    await target.putManifest({ mediaType: MediaType.ociIndex, digest: sha256Digest(indexBytes), bytes: indexBytes });
    await target.commit();
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([
      { mediaType: MediaType.ociIndex, digest: sha256Digest(indexBytes), size: indexBytes.length },
    ]);
    // '' means "the only image"
    const layout = await OciLayout.open(out);
    expect((await layout.getManifest('')).digest).toBe(sha256Digest(indexBytes));
  });

  it('lists referrers: manifests in index.json whose subject is the digest', async () => {
    const out = path.join(dir, 'out');
    const target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    const empty = Buffer.from('{}');
    await target.putBlob({ mediaType: MediaType.ociEmpty, digest: sha256Digest(empty), size: 2 }, async () =>
      Readable.from([empty]),
    );
    const sbom = manifestOf({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/spdx+json',
      config: { mediaType: MediaType.ociEmpty, digest: sha256Digest(empty), size: 2 },
      layers: [],
      subject: { mediaType: MediaType.ociManifest, digest: imageA.manifest.digest, size: imageA.manifest.bytes.length },
    });
    await target.putManifest(sbom);
    await target.commit();
    const layout = await OciLayout.open(out);
    expect(await layout.listReferrers(imageA.manifest.digest)).toEqual([
      {
        mediaType: MediaType.ociManifest,
        digest: sbom.digest,
        size: sbom.bytes.length,
        artifactType: 'application/spdx+json',
      },
    ]);
    expect(await layout.listReferrers(imageB.manifest.digest)).toEqual([]);
  });

  it('resumes a blob whose source fails half-way, at the offset already written', async () => {
    const big = Buffer.alloc(300_000, 7);
    const desc = { mediaType: MediaType.ociLayer, digest: sha256Digest(big), size: big.length };
    const offsets: number[] = [];
    const target = await OciLayout.create(path.join(dir, 'out'));
    const result = await target.putBlob(desc, async (offset) => {
      offsets.push(offset);
      if (offsets.length === 1) {
        return Readable.from(
          (async function* () {
            yield big.subarray(0, 100_000);
            await new Promise((resolve) => setTimeout(resolve, 50)); // let the chunk reach the disk
            throw new Error('connection reset');
          })(),
        );
      }
      return Readable.from([big.subarray(offset)]);
    });
    expect(result).toBe('uploaded');
    expect(offsets).toEqual([0, 100_000]);
    expect(await target.putBlob(desc, async () => Readable.from([big]))).toBe('skipped');
    await target.commit();
    const layout = await OciLayout.open(path.join(dir, 'out'));
    expect((await readAll(await layout.openBlob(desc))).equals(big)).toBe(true);
  });
});

describe('OciLayout atomicity', () => {
  it('abort() of a new layout leaves no output and no temp dir', async () => {
    const out = path.join(dir, 'out');
    const target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    expect(readdirSync(dir)).toHaveLength(1); // the sibling temp dir
    expect(readdirSync(dir)[0]).toMatch(/^\.out\.tmp-\d+-[0-9a-f]{12}$/);
    await target.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a putBlob with mismatching bytes fails and leaves nothing behind', async () => {
    const out = path.join(dir, 'layout');
    let target = await OciLayout.create(out);
    await writeImage(target, imageA, 'v1');
    await target.commit();
    const indexBefore = readFileSync(path.join(out, 'index.json'));
    const blobsBefore = readdirSync(path.join(out, 'blobs', 'sha256')).sort();

    target = await OciLayout.create(out);
    const claimed = { mediaType: MediaType.ociLayer, digest: sha256Digest('expected'), size: 8 };
    await expect(target.putBlob(claimed, async () => Readable.from([Buffer.from('tampered')]))).rejects.toThrow(
      new DigestMismatchError(
        `content does not match its digest: expected ${claimed.digest}, got ${sha256Digest('tampered')}`,
      ),
    );
    await target.abort();
    expect(readdirSync(path.join(out, 'blobs', 'sha256')).sort()).toEqual(blobsBefore);
    expect(readdirSync(path.join(out, 'blobs'))).toEqual(['sha256']);
    expect(readFileSync(path.join(out, 'index.json')).equals(indexBefore)).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('writes into an empty directory and refuses a non-empty one that is not a layout', async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const target = await OciLayout.create(empty);
    await writeImage(target, imageA, 'v1');
    await target.commit();
    expect((await (await OciLayout.open(empty)).getManifest('v1')).digest).toBe(imageA.manifest.digest);

    const busy = path.join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    const err = await OciLayout.create(busy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toBe(`oci:${busy}: ${busy} exists and is not an OCI image layout`);
    expect(readdirSync(dir).sort()).toEqual(['busy', 'empty']);
  });
});

describe('OciLayout hostile input', () => {
  const m = imageA.manifest;

  it('refuses a digest that is a path in index.json', async () => {
    writeRawLayout(
      dir,
      {},
      { schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: 'sha256:../../x', size: 10 }] },
    );
    await expect(OciLayout.open(dir)).rejects.toThrow(
      `oci:${dir}: index.json: manifests[0].digest "sha256:../../x" is not a valid digest`,
    );
  });

  it('refuses a digest that is a path inside a manifest, and in openBlob', async () => {
    const evil = manifestOf({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: imageA.descriptors[0],
      layers: [{ mediaType: MediaType.ociLayer, digest: 'sha256:../../../etc/passwd', size: 1 }],
    });
    writeRawLayout(dir, { [evil.digest]: evil.bytes }, { schemaVersion: 2, manifests: [tagged(evil, 'v1')] });
    const layout = await OciLayout.open(dir);
    await expect(layout.getManifest('v1')).rejects.toThrow(
      `oci:${dir}: blobs/sha256/${evil.digest.slice(7)}: layers[0].digest "sha256:../../../etc/passwd" is not a valid digest`,
    );
    await expect(layout.openBlob({ mediaType: MediaType.ociLayer, digest: 'sha256:../../x', size: 1 })).rejects.toThrow(
      `oci:${dir}: blob: digest "sha256:../../x" is not a valid digest`,
    );
  });

  it('fails a manifest whose bytes do not match its name', async () => {
    const tampered = Buffer.from(m.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    writeRawLayout(
      dir,
      { [m.digest]: tampered },
      { schemaVersion: 2, manifests: [{ ...tagged(m, 'v1'), size: tampered.length }] },
    );
    const layout = await OciLayout.open(dir);
    const err = await layout.getManifest('v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as Error).message).toBe(
      `oci:${dir}: blobs/sha256/${m.digest.slice(7)}: content does not match its digest: expected ${m.digest}, got ${sha256Digest(tampered)}`,
    );
  });

  it('refuses a manifest over 4 MiB without reading it', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const digest = sha256Digest(huge);
    writeRawLayout(
      dir,
      { [digest]: huge },
      {
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest,
            size: huge.length,
            annotations: { 'org.opencontainers.image.ref.name': 'big' },
          },
        ],
      },
    );
    const layout = await OciLayout.open(dir);
    await expect(layout.getManifest('big')).rejects.toThrow(
      `oci:${dir}: blobs/sha256/${digest.slice(7)}: manifest is 4194305 bytes; the limit is 4194304 (4 MiB)`,
    );
  });

  it('refuses a blob that is a symbolic link out of the layout', async () => {
    writeRawLayout(dir, { [m.digest]: m.bytes }, { schemaVersion: 2, manifests: [tagged(m, 'v1')] });
    const outside = path.join(root, `secret-${n}`);
    writeFileSync(outside, 'secret');
    const layer = imageA.descriptors[1]!;
    symlinkSync(outside, path.join(dir, 'blobs', 'sha256', layer.digest.slice(7)));
    const layout = await OciLayout.open(dir);
    await expect(layout.openBlob(layer)).rejects.toThrow(
      `oci:${dir}: blobs/sha256/${layer.digest.slice(7)}: is a symbolic link; blobs must be regular files`,
    );
  });

  it('reads one index without following its children (no recursion)', async () => {
    // An index whose child is itself an index, whose children are missing: only one is read.
    const inner = manifestOf({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociIndex, digest: sha256Digest('missing'), size: 7 }],
    });
    const outer = manifestOf({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociIndex, digest: inner.digest, size: inner.bytes.length }],
    });
    writeRawLayout(
      dir,
      { [inner.digest]: inner.bytes, [outer.digest]: outer.bytes },
      { schemaVersion: 2, manifests: [tagged(outer, 'v1')] },
    );
    const layout = await OciLayout.open(dir);
    expect((await layout.getManifest('v1')).digest).toBe(outer.digest);
    expect((await layout.getManifest(inner.digest)).digest).toBe(inner.digest);
    await expect(layout.getManifest(sha256Digest('missing'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it.each([
    [
      'a missing directory',
      (d: string) => path.join(d, 'nope'),
      (d: string) => `oci:${path.join(d, 'nope')}: not an OCI image layout (the directory does not exist)`,
    ],
    [
      'a directory without oci-layout',
      (d: string) => {
        writeFileSync(path.join(d, 'x'), '');
        return d;
      },
      (d: string) => `oci:${d}: not an OCI image layout (no oci-layout file)`,
    ],
  ])('open() of %s is NotFoundError', async (_name, make, message) => {
    const target = make(dir);
    const err = await OciLayout.open(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(message(dir));
  });

  it('names the tags when a tag is not there, and the images when none is given', async () => {
    writeRawLayout(
      dir,
      { [m.digest]: m.bytes, [imageB.manifest.digest]: imageB.manifest.bytes },
      {
        schemaVersion: 2,
        manifests: [tagged(m, 'v1'), tagged(imageB.manifest, 'v2')],
      },
    );
    const layout = await OciLayout.open(dir);
    const err = await layout.getManifest('v3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toBe(`oci:${dir}: no image tagged "v3"`);
    expect((err as NotFoundError).fix).toBe('tags in this layout: v1, v2');
    await expect(layout.getManifest('')).rejects.toThrow(`oci:${dir}: the layout holds 2 images; name one: v1, v2`);
  });
});

describe('OciLayout writes stay inside the layout', () => {
  const m = imageA.manifest;
  const layer = imageA.descriptors[1]!;
  const layerBytes = imageA.blobs.get(layer.digest)!;

  it.each([
    ['blobs/sha256', ['blobs', 'sha256']],
    ['blobs', ['blobs']],
  ])(
    'create() refuses an existing layout whose %s is a symbolic link, and writes nothing there',
    async (shown, parts) => {
      writeRawLayout(dir, {}, { schemaVersion: 2, manifests: [] });
      const other = mkdtempSync(path.join(root, 'elsewhere-'));
      const link = path.join(dir, ...parts);
      rmSync(link, { recursive: true });
      symlinkSync(other, link);

      const err = await OciLayout.create(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EcrctlError);
      expect((err as EcrctlError).exitCode).toBe(1);
      expect((err as EcrctlError).message).toBe(
        `oci:${dir}: ${shown} is a symbolic link (to ${other}); the layout's directories must be real directories inside it`,
      );
      expect((err as EcrctlError).fix).toBe(
        `replace ${link} with a real directory (move what it points at into it), or pull into a new directory`,
      );
      expect(readdirSync(other)).toEqual([]);
    },
  );

  it('putBlob() refuses when blobs/sha256 became a symbolic link after create(), and writes nothing there', async () => {
    writeRawLayout(dir, { [m.digest]: m.bytes }, { schemaVersion: 2, manifests: [tagged(m, 'v1')] });
    const target = await OciLayout.create(dir);
    const other = mkdtempSync(path.join(root, 'elsewhere-'));
    rmSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    symlinkSync(other, path.join(dir, 'blobs', 'sha256'));

    await expect(target.putBlob(layer, async () => Readable.from([layerBytes]))).rejects.toThrow(
      `oci:${dir}: blobs/sha256 is a symbolic link (to ${other}); the layout's directories must be real directories inside it`,
    );
    await target.abort();
    expect(readdirSync(other)).toEqual([]);
    expect(readdirSync(path.join(dir, 'blobs'))).toEqual(['sha256']);
  });

  it('create() refuses a layout whose blobs is a file', async () => {
    writeRawLayout(dir, {}, { schemaVersion: 2, manifests: [] });
    rmSync(path.join(dir, 'blobs'), { recursive: true });
    writeFileSync(path.join(dir, 'blobs'), '');
    await expect(OciLayout.create(dir)).rejects.toThrow(
      `oci:${dir}: blobs is not a directory; the layout's directories must be real directories inside it`,
    );
  });
});

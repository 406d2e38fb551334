// Benchmark images: OCI image layouts of random data, the same bytes for the same seed, so
// that runs compare like with like. Each layer is a real gzip stream of a tar holding one file
// (skopeo recompresses what it does not recognise as compressed, which would measure zlib).
// The random bytes come from AES-128-CTR over zeros (1.4 GB/s here, versus 40 MB/s for zlib
// level 1 on random data); the gzip uses level 0, stored blocks, which is the same valid gzip
// format at 350 MB/s — random data would not shrink at level 1 either. Layouts are cached
// under the bench's work dir and reused while their spec is unchanged.
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tarHeader } from '../src/oci/layout/tar.js';

export interface ImageSpec {
  /** Names the cache entry and the tag. */
  name: string;
  seed: number;
  /** Uncompressed file size of each layer, in bytes. */
  layerSizes: number[];
}

export interface BenchImage {
  spec: ImageSpec;
  /** The OCI layout directory; the image is tagged `bench`. */
  dir: string;
  manifestDigest: string;
  /** Every blob (config, then layers): digest, size and file path. */
  blobs: Array<{ digest: string; size: number; file: string; mediaType: string }>;
  /** Sum of all blob sizes. */
  bytes: number;
}

const CHUNK = 1024 * 1024;

/** Yields the tar of one file of size random bytes determined by key. */
async function* tarOfRandomFile(name: string, size: number, key: Buffer): AsyncGenerator<Buffer> {
  yield tarHeader(name, size);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
  yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
}

/** A pass-through that hashes what passes and counts it. */
class Hashing extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

function writeBlob(blobsDir: string, bytes: Buffer): { digest: string; size: number; file: string } {
  const hex = createHash('sha256').update(bytes).digest('hex');
  const file = path.join(blobsDir, hex);
  writeFileSync(file, bytes);
  return { digest: `sha256:${hex}`, size: bytes.length, file };
}

/** Returns the image for spec, generating its layout under workDir unless cached. */
export async function ensureImage(workDir: string, spec: ImageSpec): Promise<BenchImage> {
  const id = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12);
  const dir = path.join(workDir, 'images', `${spec.name}-${id}`);
  const meta = path.join(dir, 'bench-image.json');
  if (existsSync(meta)) {
    return JSON.parse(readFileSync(meta, 'utf8')) as BenchImage;
  }
  rmSync(dir, { recursive: true, force: true });
  const temp = `${dir}.tmp`;
  rmSync(temp, { recursive: true, force: true });
  const blobsDir = path.join(temp, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  const layers: BenchImage['blobs'] = [];
  const diffIds: string[] = [];
  for (const [i, size] of spec.layerSizes.entries()) {
    const key = createHash('sha256').update(`ecrctl-bench:${spec.seed}:${i}`).digest().subarray(0, 16);
    const tarHash = new Hashing();
    const gzHash = new Hashing();
    const partial = path.join(blobsDir, `.partial-${i}`);
    await pipeline(
      Readable.from(tarOfRandomFile(`layer-${i}.bin`, size, key)),
      tarHash,
      createGzip({ level: 0, chunkSize: CHUNK }),
      gzHash,
      createWriteStream(partial, { highWaterMark: CHUNK }),
    );
    const hex = gzHash.hash.digest('hex');
    const file = path.join(blobsDir, hex);
    renameSync(partial, file);
    diffIds.push(`sha256:${tarHash.hash.digest('hex')}`);
    layers.push({
      digest: `sha256:${hex}`,
      size: gzHash.bytes,
      file,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    });
  }
  const configJson = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [`BENCH_SEED=${spec.seed}`] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const config = {
    ...writeBlob(blobsDir, Buffer.from(JSON.stringify(configJson))),
    mediaType: 'application/vnd.oci.image.config.v1+json',
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBlob = writeBlob(blobsDir, Buffer.from(JSON.stringify(manifest)));
  writeFileSync(path.join(temp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(temp, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifestBlob.digest,
          size: manifestBlob.size,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  renameSync(temp, dir);
  const blobs = [config, ...layers].map((b) => ({ ...b, file: b.file.replace(temp, dir) }));
  const image: BenchImage = {
    spec,
    dir,
    manifestDigest: manifestBlob.digest,
    blobs,
    bytes: blobs.reduce((n, b) => n + b.size, 0),
  };
  writeFileSync(meta, JSON.stringify(image));
  return image;
}

// Small builders for the layout and docker-archive tests: images made from bytes (real tar
// layers, real configs), raw layout directories (for hostile fixtures), and stream helpers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { ImageTarget } from '../../src/oci/store.js';
import type { Descriptor, ManifestBlob } from '../../src/oci/types.js';
import { TAR_END, tarHeader, tarPadding } from '../../src/oci/layout/tar.js';

/** Returns a tar (regular files only) holding the given files, as a layer would. */
export function layerTar(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    parts.push(tarHeader(name, data.length), data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

export interface TestImage {
  config: Buffer;
  layers: Buffer[];
  manifest: ManifestBlob;
  /** Every blob (config and layers) by digest. */
  blobs: Map<string, Buffer>;
  descriptors: Descriptor[];
}

/**
 * Returns an image whose layers are the given tars, stored uncompressed or gzipped (skopeo
 * compresses uncompressed layers when it writes an OCI layout, so cross-checks use gzip).
 */
export function makeImage(tars: Buffer[], label = 'test', opts: { gzip?: boolean } = {}): TestImage {
  const layers = opts.gzip ? tars.map((t) => gzipSync(t)) : tars;
  const layerType = opts.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { label } },
      rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256Digest(t)) },
    }),
  );
  const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length };
  const layerDescs: Descriptor[] = layers.map((l) => ({
    mediaType: layerType,
    digest: sha256Digest(l),
    size: l.length,
  }));
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: layerDescs }),
  );
  const blobs = new Map<string, Buffer>([
    [configDesc.digest, config],
    ...layers.map((l) => [sha256Digest(l), l] as [string, Buffer]),
  ]);
  return {
    config,
    layers,
    manifest: { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), bytes },
    blobs,
    descriptors: [configDesc, ...layerDescs],
  };
}

/** Writes an image's blobs and manifest to a target (under tag when given). */
export async function writeImage(target: ImageTarget, image: TestImage, tag?: string): Promise<void> {
  for (const d of image.descriptors) {
    const bytes = image.blobs.get(d.digest)!;
    await target.putBlob(d, async () => Readable.from([bytes]));
  }
  await target.putManifest(image.manifest, tag);
}

/** Returns every byte of a stream. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes a layout directory by hand, without OciLayout: blobs are stored under the names
 * given (so a test can store bytes under a wrong digest) and index.json is written as given.
 */
export function writeRawLayout(dir: string, blobs: Record<string, Buffer>, index: unknown): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const [digest, bytes] of Object.entries(blobs)) {
    writeFileSync(path.join(dir, 'blobs', ...digest.split(':')), bytes);
  }
  writeFileSync(path.join(dir, 'index.json'), typeof index === 'string' ? index : JSON.stringify(index));
}

/** Returns the descriptor of a manifest tagged for index.json. */
export function tagged(m: ManifestBlob, tag: string): Descriptor {
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': tag },
  };
}

/** Runs a program and returns its stdout (throws with stderr on failure). */
export function run(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs skopeo with --insecure-policy (no signature policy file on test machines). */
export function skopeo(...args: string[]): string {
  return run('/usr/bin/skopeo', ['--insecure-policy', ...args]);
}

// Small, deterministic OCI images built by code from a seed: gzip layers holding one random
// file each, a config, a manifest (OCI or Docker v2), optional index; and a writer for an
// OCI image layout directory so that skopeo can push them. Test-only: the real layout code
// lives in src/oci/layout/.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MediaType } from '../../src/oci/media-types.js';
import type { RegistryRepository } from '../../src/oci/registry.js';
import type { Descriptor, ImageIndex, ImageManifest, ManifestBlob, Platform } from '../../src/oci/types.js';

export interface FixtureBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface FixtureImage {
  manifest: ManifestBlob;
  config: FixtureBlob;
  layers: FixtureBlob[];
  /** Every blob (config and layers) by digest. */
  blobs: Map<string, Buffer>;
  /** The manifest's descriptor (with the platform, for building an index). */
  descriptor: Descriptor;
}

export interface BuildImageOptions {
  /** Number of layers (default 2). */
  layers?: number;
  /** Bytes of random file content per layer before gzip (default 4096). */
  layerSize?: number;
  /** 'oci' (default) or 'docker' (v2 schema 2 media types). */
  format?: 'oci' | 'docker';
  platform?: Platform;
  annotations?: Record<string, string>;
  /** Makes the manifest an OCI 1.1 referrer of subject. */
  subject?: Descriptor;
  artifactType?: string;
}

/** Returns `sha256:<hex>` of bytes. */
export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Returns n pseudo-random bytes determined by seed (mulberry32). */
export function seededBytes(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/** Returns a ustar archive holding one regular file (enough for a layer any tool accepts). */
export function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  field(0, 100, name);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, `${content.length.toString(8).padStart(11, '0')}\0`);
  field(136, 12, '00000000000\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

function blob(mediaType: string, bytes: Buffer): FixtureBlob {
  return { descriptor: { mediaType, digest: sha256(bytes), size: bytes.length }, bytes };
}

/** Builds an image whose every byte is determined by seed and opts. */
export function buildImage(seed: number, opts: BuildImageOptions = {}): FixtureImage {
  const docker = opts.format === 'docker';
  const platform = opts.platform ?? { architecture: 'amd64', os: 'linux' };
  const layers: FixtureBlob[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    const tar = tarOneFile(`file-${seed}-${i}.bin`, seededBytes(seed * 1000 + i, opts.layerSize ?? 4096));
    diffIds.push(sha256(tar));
    layers.push(blob(docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, gzipSync(tar, { level: 6 })));
  }
  const configJson = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [`SEED=${seed}`] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const config = blob(docker ? MediaType.dockerConfig : MediaType.ociConfig, Buffer.from(JSON.stringify(configJson)));
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifestJson: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...(opts.subject ? { subject: opts.subject } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifestJson));
  const digest = sha256(bytes);
  const blobs = new Map<string, Buffer>([[config.descriptor.digest, config.bytes]]);
  for (const l of layers) blobs.set(l.descriptor.digest, l.bytes);
  return {
    manifest: { mediaType, digest, bytes },
    config,
    layers,
    blobs,
    descriptor: {
      mediaType,
      digest,
      size: bytes.length,
      platform,
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    },
  };
}

/** Builds an index (OCI) or manifest list (docker) over images. */
export function buildIndex(images: FixtureImage[], format: 'oci' | 'docker' = 'oci'): ManifestBlob {
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: images.map((i) => i.descriptor) };
  const bytes = Buffer.from(JSON.stringify(index));
  return { mediaType, digest: sha256(bytes), bytes };
}

/**
 * Writes an OCI image layout at dir holding images (each tagged via the
 * `org.opencontainers.image.ref.name` annotation) and any extra manifests (e.g. an index).
 */
export function writeOciLayout(
  dir: string,
  entries: Array<{ image?: FixtureImage; manifest?: ManifestBlob; tag?: string; extraImages?: FixtureImage[] }>,
): void {
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobsDir, { recursive: true });
  const put = (digest: string, bytes: Buffer) =>
    writeFileSync(path.join(blobsDir, digest.slice('sha256:'.length)), bytes);
  const manifests: Descriptor[] = [];
  for (const e of entries) {
    for (const img of [...(e.image ? [e.image] : []), ...(e.extraImages ?? [])]) {
      for (const [d, b] of img.blobs) put(d, b);
      put(img.manifest.digest, img.manifest.bytes);
    }
    const top = e.manifest ?? e.image?.manifest;
    if (!top) continue;
    put(top.digest, top.bytes);
    manifests.push({
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.bytes.length,
      ...(e.tag ? { annotations: { 'org.opencontainers.image.ref.name': e.tag } } : {}),
    });
  }
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }),
  );
}

/**
 * Pushes fixture images into a registry repository under tag: blobs, then (for several, or
 * with `index`) each manifest and an OCI index of them; returns the top manifest's digest.
 */
export async function pushFixture(
  repo: Pick<RegistryRepository, 'putBlob' | 'putManifest'>,
  image: FixtureImage | FixtureImage[],
  tag?: string,
  index = Array.isArray(image) && image.length > 1,
): Promise<string> {
  const images = Array.isArray(image) ? image : [image];
  for (const img of images) {
    for (const [digest, bytes] of img.blobs) {
      await repo.putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
        Readable.from([bytes]),
      );
    }
    if (index) await repo.putManifest(img.manifest);
  }
  const top = index ? buildIndex(images) : images[0]!.manifest;
  await repo.putManifest(top, tag);
  return top.digest;
}

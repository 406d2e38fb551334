// Shared by the scanning tests: package databases (dpkg status, apk installed), images whose
// layers hold them, pushed through the ECR layer API and PutImage, indexes of such images,
// and advisory files.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { type ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { sha256, uploadBlob } from '../cli/repos-fixtures.js';
import { layerTar } from '../helpers/layout-fixtures.js';

export { sha256 };

/** Returns a dpkg status file listing the packages as installed. */
export function dpkgStatus(packages: [string, string][], arch = 'amd64'): string {
  return packages
    .map(
      ([name, version]) =>
        `Package: ${name}\nStatus: install ok installed\nPriority: optional\nArchitecture: ${arch}\nVersion: ${version}\nDescription: ${name}\n`,
    )
    .join('\n');
}

/** Returns an apk installed database listing the packages. */
export function apkInstalled(packages: [string, string][], arch = 'x86_64'): string {
  return packages.map(([name, version]) => `C:Q1abc=\nP:${name}\nV:${version}\nA:${arch}\nS:100\n`).join('\n');
}

/** One advisory as the advisory file holds it. */
export interface AdvisoryEntry {
  id: string;
  package: string;
  ecosystem: 'deb' | 'apk';
  fixedIn?: string;
  affectedBelow?: string;
  severity: string;
  score?: number;
  description?: string;
  uri?: string;
}

/** Writes an advisory file. */
export function writeAdvisories(file: string, advisories: AdvisoryEntry[]): void {
  writeFileSync(file, JSON.stringify(advisories, null, 2));
}

/** A pushed image: its digest and the manifest size (for an index descriptor). */
export interface PushedImage {
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * Pushes an image whose layers hold the given files (each layer a tar, gzipped unless
 * gzip is false; a Buffer layer is used as is) and returns its digest.
 */
export async function pushImage(
  ecr: ECRClient,
  repo: string,
  layers: (Record<string, string> | Buffer)[],
  opts: { tag?: string; gzip?: boolean; arch?: string; label?: string } = {},
): Promise<PushedImage> {
  const gzip = opts.gzip ?? true;
  const blobs = layers.map((l) => (Buffer.isBuffer(l) ? l : gzip ? gzipSync(layerTar(l)) : layerTar(l)));
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.arch ?? 'amd64',
      os: 'linux',
      config: { Labels: { l: opts.label ?? '' } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const configDigest = await uploadBlob(ecr, repo, config);
  const layerDescs = [];
  for (const b of blobs) {
    layerDescs.push({
      mediaType: gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      digest: await uploadBlob(ecr, repo, b),
      size: b.length,
    });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layerDescs,
  });
  await ecr.send(
    new PutImageCommand({ repositoryName: repo, imageManifest: manifest, ...(opts.tag ? { imageTag: opts.tag } : {}) }),
  );
  return {
    digest: sha256(manifest),
    size: Buffer.byteLength(manifest),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
  };
}

/** Pushes an OCI index of already pushed images, with their platforms. */
export async function pushIndex(
  ecr: ECRClient,
  repo: string,
  children: { image: PushedImage; platform: { os: string; architecture: string; variant?: string } }[],
  tag: string,
): Promise<string> {
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((c) => ({
      mediaType: c.image.mediaType,
      digest: c.image.digest,
      size: c.image.size,
      platform: c.platform,
    })),
  });
  await ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: index, imageTag: tag }));
  return sha256(index);
}

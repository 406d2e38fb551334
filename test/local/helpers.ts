// Shared by the local endpoint's tests: a server in its own temp dir, SDK clients aimed at it,
// and tiny images built in memory.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { type LocalServer, type LocalServerOptions, startLocalServer } from '../../src/local/server.js';

export const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' };

/** Returns a fresh temp dir and a function that removes it. */
export function tempDir(prefix = 'ecrctl-local-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a server on a free port in dataDir. */
export function start(dataDir: string, opts: Partial<LocalServerOptions> = {}): Promise<LocalServer> {
  return startLocalServer({ port: 0, dataDir, ...opts });
}

/** Returns an ECR client for the server in region. */
export function ecrClient(server: LocalServer, region = 'us-east-1'): ECRClient {
  return new ECRClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
}

/** Returns an ECR Public client for the server. */
export function publicClient(server: LocalServer, region = 'us-east-1'): ECRPUBLICClient {
  return new ECRPUBLICClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
}

/** Returns the sha256 digest of bytes. */
export function digestOf(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface TinyImage {
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
  layerDigest: string;
  configDigest: string;
  manifestDigest: string;
  mediaType: string;
}

/** Returns a one-layer image (gzip layer of a tar-ish payload, config, manifest). */
export function tinyImage(seed: string, mediaType: 'oci' | 'docker' = 'oci'): TinyImage {
  const layer = gzipSync(Buffer.from(`layer contents for ${seed}\n`.repeat(20)));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: [`SEED=${seed}`] },
      rootfs: { type: 'layers', diff_ids: [digestOf(`diff-${seed}`)] },
    }),
  );
  const oci = mediaType === 'oci';
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: oci
      ? 'application/vnd.oci.image.manifest.v1+json'
      : 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
      digest: digestOf(config),
      size: config.length,
    },
    layers: [
      {
        mediaType: oci
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: digestOf(layer),
        size: layer.length,
      },
    ],
  };
  const manifest = Buffer.from(JSON.stringify(manifestDoc));
  return {
    layer,
    config,
    manifest,
    layerDigest: digestOf(layer),
    configDigest: digestOf(config),
    manifestDigest: digestOf(manifest),
    mediaType: manifestDoc.mediaType,
  };
}

/** Returns the Basic Authorization header for a GetAuthorizationToken token. */
export function basicAuth(authorizationToken: string): string {
  return `Basic ${authorizationToken}`;
}

/** Pushes an image's blobs and manifest through the data plane (monolithic POST ?digest=). */
export async function pushImage(
  endpoint: string,
  auth: string,
  repo: string,
  image: TinyImage,
  tag: string,
): Promise<Response> {
  for (const blob of [image.layer, image.config]) {
    const res = await fetch(`${endpoint}/v2/${repo}/blobs/uploads/?digest=${digestOf(blob)}`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
      body: blob,
    });
    if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${await res.text()}`);
  }
  return fetch(`${endpoint}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': image.mediaType },
    body: image.manifest,
  });
}

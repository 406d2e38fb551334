// Shared by the repository-management tests (create-repo, repos, images, delete, delete-repo):
// an `ecrctl local` server in its own temp dir, the CLI aimed at it, SDK clients to check
// what landed, and images made quickly through the layer API and PutImage.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CompleteLayerUploadCommand,
  type ECRClient,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import type { LocalServer } from '../../src/local/server.js';
import { run } from '../ecr/env.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { ecrClient, start, tempDir } from '../local/helpers.js';

export interface RepoTestEnv {
  server: LocalServer;
  /** The URL the CLI gets as --endpoint-url. */
  endpoint: string;
  ecr: ECRClient;
  dir: string;
  cli(args: readonly string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): Promise<CliResult>;
  /** Runs the AWS CLI (`/usr/bin/aws … ecr ARGS`, JSON output) against the endpoint, with no profile files. */
  aws(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

/**
 * Starts `ecrctl local` in a temp dir, with the CLI and an SDK client aimed at it.
 * stateDelayScale: how long scans, previews and restores last (default 1, ECR-like).
 */
export async function startRepoEnv(opts: { stateDelayScale?: number } = {}): Promise<RepoTestEnv> {
  const tmp = tempDir('ecrctl-repos-');
  // makeImages writes hundreds of images through SDK clients that do not retry: ECR's
  // PutImage rate (about 10/s per repository) would throttle them, so this estate is built
  // with throttling off (test/local/throttling.test.ts covers the rates).
  const server = await start(path.join(tmp.dir, 'data'), {
    throttleScale: 'off',
    ...(opts.stateDelayScale !== undefined ? { stateDelayScale: opts.stateDelayScale } : {}),
  });
  const home = path.join(tmp.dir, 'home');
  mkdirSync(home, { recursive: true });
  return {
    server,
    endpoint: server.url,
    ecr: ecrClient(server),
    dir: tmp.dir,
    aws: (args) => {
      const empty = path.join(tmp.dir, 'empty-aws-config');
      writeFileSync(empty, '');
      return run('/usr/bin/aws', ['--endpoint-url', server.url, '--output', 'json', 'ecr', ...args], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          AWS_ACCESS_KEY_ID: 'AKIDTEST',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: empty,
          AWS_SHARED_CREDENTIALS_FILE: empty,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_PAGER: '',
        },
      });
    },
    cli: (args, opts = {}) =>
      runCli(['--endpoint-url', server.url, ...args], {
        env: {
          AWS_ACCESS_KEY_ID: 'AKIDTEST',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_REGION: 'us-east-1',
          HOME: home,
          XDG_CACHE_HOME: path.join(home, '.cache'),
          ...opts.env,
        },
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      }),
    async close() {
      await server.close();
      tmp.remove();
    },
  };
}

/** Returns the sha256 digest of bytes. */
export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const CONFIG = Buffer.from(
  JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
);

/** Uploads a blob through InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload. */
export async function uploadBlob(ecr: ECRClient, repo: string, bytes: Buffer): Promise<string> {
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
  await ecr.send(
    new UploadLayerPartCommand({
      repositoryName: repo,
      uploadId,
      partFirstByte: 0,
      partLastByte: bytes.length - 1,
      layerPartBlob: bytes,
    }),
  );
  try {
    await ecr.send(new CompleteLayerUploadCommand({ repositoryName: repo, uploadId, layerDigests: [sha256(bytes)] }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'LayerAlreadyExistsException') throw err;
  }
  return sha256(bytes);
}

/** An image made by makeImages: its digest and tags. */
export interface MadeImage {
  digest: string;
  tags: string[];
  manifest: string;
}

/**
 * Puts `count` distinct images into repo (one shared config; a layer of layerSize(i) bytes,
 * shared when sizes repeat), tagged tags(i); images differ by an annotation, so each
 * has its own digest. With gapMs, push times are apart so sorting by push time is stable.
 */
export async function makeImages(
  ecr: ECRClient,
  repo: string,
  count: number,
  opts: { tags?: (i: number) => string[]; layerSize?: (i: number) => number; gapMs?: number; seed?: string } = {},
): Promise<MadeImage[]> {
  const configDigest = await uploadBlob(ecr, repo, CONFIG);
  const layers = new Map<number, string>();
  const made: MadeImage[] = [];
  const one = async (i: number) => {
    const size = opts.layerSize?.(i) ?? 64;
    let layerDigest = layers.get(size);
    if (!layerDigest) {
      layerDigest = await uploadBlob(ecr, repo, Buffer.alloc(size, 7));
      layers.set(size, layerDigest);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: CONFIG.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size }],
      annotations: { 'org.example.seq': `${opts.seed ?? ''}${i}` },
    });
    const tags = opts.tags?.(i) ?? [];
    if (tags.length === 0) {
      await ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: manifest }));
    }
    for (const tag of tags) {
      await ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: manifest, imageTag: tag }));
    }
    made[i] = { digest: sha256(manifest), tags, manifest };
  };
  if (opts.gapMs) {
    for (let i = 0; i < count; i++) {
      await one(i);
      await new Promise((r) => setTimeout(r, opts.gapMs));
    }
  } else {
    // Sizes are uploaded once each before the parallel puts, so no upload races another.
    for (let i = 0; i < count; i++) {
      const size = opts.layerSize?.(i) ?? 64;
      if (!layers.has(size)) layers.set(size, await uploadBlob(ecr, repo, Buffer.alloc(size, 7)));
    }
    for (let i = 0; i < count; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, k) => one(i + k)));
    }
  }
  return made;
}

/** Returns PNG bytes: the signature and an IHDR chunk for width × height, padded to totalBytes. */
export function pngBytes(width: number, height: number, totalBytes = 64): Buffer {
  const head = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(head, 0);
  head.writeUInt32BE(13, 8);
  head.write('IHDR', 12, 'latin1');
  head.writeUInt32BE(width, 16);
  head.writeUInt32BE(height, 20);
  head.writeUInt8(8, 24); // bit depth
  head.writeUInt8(6, 25); // colour type RGBA
  return totalBytes > head.length ? Buffer.concat([head, Buffer.alloc(totalBytes - head.length)]) : head;
}

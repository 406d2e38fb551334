// The registry client against a real registry (CNCF distribution) on loopback, and against
// skopeo: what one pushes, the other reads byte for byte.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestMismatchError, NotFoundError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryClient, type RegistryRepository, registryErrorCodes } from '../../src/oci/registry.js';
import type { Descriptor } from '../../src/oci/types.js';
import { buildImage, buildIndex, type FixtureImage, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, skopeo, startRegistry } from '../helpers/registry.js';

let reg: StartedRegistry;
let client: RegistryClient;
let tmp: string;
const logLines: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  client = new RegistryClient({ log: (m) => logLines.push(m), retry: { baseDelayMs: 5 } });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-registry-test-'));
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function opener(bytes: Buffer): (offset: number) => Promise<Readable> {
  return async (offset) => Readable.from([bytes.subarray(offset)]);
}

async function push(repo: RegistryRepository, image: FixtureImage, tag?: string): Promise<string> {
  for (const [digest, bytes] of image.blobs) {
    const desc = [image.config, ...image.layers].find((b) => b.descriptor.digest === digest)!.descriptor;
    await repo.putBlob(desc, opener(bytes));
  }
  return repo.putManifest(image.manifest, tag);
}

describe('blobs', () => {
  it('uploads, skips what exists, and streams the bytes back', async () => {
    const repo = client.repository(reg.host, 'blobs/one');
    const image = buildImage(1, { layers: 1, layerSize: 300_000 });
    const layer = image.layers[0]!;
    expect(await repo.hasBlob(layer.descriptor)).toBe(false);
    const progress: number[] = [];
    expect(await repo.putBlob(layer.descriptor, opener(layer.bytes), { onProgress: (n) => progress.push(n) })).toBe(
      'uploaded',
    );
    expect(progress.at(-1)).toBe(layer.bytes.length);
    expect(await repo.hasBlob(layer.descriptor)).toBe(true);
    expect(await repo.putBlob(layer.descriptor, opener(layer.bytes))).toBe('skipped');
    const back = await readAll(await repo.openBlob(layer.descriptor));
    expect(sha256(back)).toBe(layer.descriptor.digest);
  });

  it('uploads a blob of unknown size with one streamed PATCH and a closing PUT', async () => {
    const repo = client.repository(reg.host, 'blobs/unknown-size');
    const bytes = Buffer.from('a blob whose size the source did not say');
    const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(bytes), size: -1 };
    expect(await repo.putBlob(desc, opener(bytes))).toBe('uploaded');
    expect(await readAll(await repo.openBlob(desc))).toEqual(bytes);
  });

  it('refuses bytes that do not match the digest, and leaves nothing behind', async () => {
    const repo = client.repository(reg.host, 'blobs/mismatch');
    const claimed = Buffer.from('the bytes the descriptor promises');
    const actual = Buffer.from('other bytes of the same length!!!');
    expect(actual.length).toBe(claimed.length);
    const desc: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(claimed), size: claimed.length };
    await expect(repo.putBlob(desc, opener(actual))).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await repo.hasBlob(desc)).toBe(false);
    // Too long for its descriptor: refused as well.
    await expect(repo.putBlob(desc, opener(Buffer.concat([claimed, claimed])))).rejects.toThrow(/longer than/);
    expect(await repo.hasBlob(desc)).toBe(false);
  });

  it('mounts from another repository, and falls back to an upload when the source lacks the blob', async () => {
    const from = client.repository(reg.host, 'mount/source');
    const to = client.repository(reg.host, 'mount/target');
    const image = buildImage(2, { layers: 1 });
    const layer = image.layers[0]!;
    await from.putBlob(layer.descriptor, opener(layer.bytes));
    expect(await to.mountBlob(layer.descriptor, 'mount/source')).toBe(true);
    expect(await to.hasBlob(layer.descriptor)).toBe(true);

    const other = image.config;
    logLines.length = 0;
    expect(await to.mountBlob(other.descriptor, 'mount/source')).toBe(false);
    expect(await to.putBlob(other.descriptor, opener(other.bytes))).toBe('uploaded');
    expect(logLines.some((l) => l.includes('into the session the declined mount opened'))).toBe(true);
    expect(await readAll(await to.openBlob(other.descriptor))).toEqual(other.bytes);
  });

  it('throws NotFoundError with the registry code for an unknown blob', async () => {
    const repo = client.repository(reg.host, 'blobs/one');
    const desc: Descriptor = { mediaType: 'x', digest: sha256('nothing'), size: 7 };
    const err = await repo.openBlob(desc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(registryErrorCodes(err)).toContain('BLOB_UNKNOWN');
  });
});

describe('manifests', () => {
  it.each(['oci', 'docker'] as const)('round-trips a %s manifest by tag and digest', async (format) => {
    const repo = client.repository(reg.host, `manifests/${format}`);
    const image = buildImage(3, { format });
    const digest = await push(repo, image, 'v1');
    expect(digest).toBe(image.manifest.digest);
    const byTag = await repo.getManifest('v1');
    expect(byTag).toEqual(image.manifest);
    const byDigest = await repo.getManifest(digest);
    expect(byDigest.bytes).toEqual(image.manifest.bytes);
    expect(await repo.headManifest('v1')).toEqual({
      mediaType: image.manifest.mediaType,
      digest,
      size: image.manifest.bytes.length,
    });
    expect(await repo.headManifest('absent')).toBeUndefined();
  });

  it('stores an index and its manifests, and deletes by digest', async () => {
    const repo = client.repository(reg.host, 'manifests/index');
    const amd = buildImage(4);
    const arm = buildImage(5, { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });
    await push(repo, amd);
    await push(repo, arm);
    const index = buildIndex([amd, arm]);
    expect(await repo.putManifest(index, 'multi')).toBe(index.digest);
    const got = await repo.getManifest('multi');
    expect(got.mediaType).toBe(MediaType.ociIndex);
    expect(got.digest).toBe(index.digest);
    await repo.deleteManifest(index.digest);
    expect(await repo.headManifest(index.digest)).toBeUndefined();
    const err = await repo.getManifest('multi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(/MANIFEST_UNKNOWN/);
  });

  it('refuses manifest bytes that do not hash to the digest they claim', async () => {
    const repo = client.repository(reg.host, 'manifests/bad');
    const image = buildImage(6);
    await expect(repo.putManifest({ ...image.manifest, digest: sha256('other') }, 'x')).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
  });
});

describe('tags and referrers', () => {
  it('lists tags across pages', async () => {
    const repo = client.repository(reg.host, 'tags/paged');
    const image = buildImage(7, { layers: 1 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const t of names) await push(repo, image, t);
    expect((await repo.listTags({ pageSize: 2 })).sort()).toEqual(names);
    expect((await repo.listTags()).sort()).toEqual(names);
    await expect(client.repository(reg.host, 'tags/none').listTags()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('falls back to the sha256-<hex> tag when the registry has no referrers API', async () => {
    const repo = client.repository(reg.host, 'referrers/fallback');
    const image = buildImage(8, { layers: 1 });
    const digest = await push(repo, image, 'v1');
    expect(await repo.listReferrers(digest)).toEqual([]);
    const sbom = buildImage(9, { layers: 1, artifactType: 'application/spdx+json', subject: image.descriptor });
    await push(repo, sbom);
    const sig = buildImage(10, { layers: 1, artifactType: 'application/vnd.dev.cosign', subject: image.descriptor });
    await push(repo, sig);
    await repo.putManifest(buildIndex([sbom, sig]), `sha256-${digest.slice(7)}`);
    expect((await repo.listReferrers(digest)).map((d) => d.digest)).toEqual([
      sbom.manifest.digest,
      sig.manifest.digest,
    ]);
    expect((await repo.listReferrers(digest, { artifactType: 'application/spdx+json' })).map((d) => d.digest)).toEqual([
      sbom.manifest.digest,
    ]);
  });
});

describe('interoperability with skopeo', () => {
  it('reads what skopeo pushed from an OCI layout', async () => {
    const image = buildImage(11, { layers: 2 });
    const layout = path.join(tmp, 'layout-in');
    writeOciLayout(layout, [{ image, tag: 'v1' }]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg.host}/skopeo/in:v1`]);
    const repo = client.repository(reg.host, 'skopeo/in');
    const got = await repo.getManifest('v1');
    // skopeo copies OCI layouts verbatim: the manifest bytes are the fixture's.
    expect(got.digest).toBe(image.manifest.digest);
    for (const layer of image.layers) {
      expect(await readAll(await repo.openBlob(layer.descriptor))).toEqual(layer.bytes);
    }
  });

  it('pushes what skopeo reads back with the same digest', async () => {
    const image = buildImage(12, { layers: 2, format: 'docker' });
    const repo = client.repository(reg.host, 'skopeo/out');
    const digest = await push(repo, image, 'v1');
    const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/skopeo/out:v1`]);
    expect(sha256(stdout)).toBe(digest);
    const out = path.join(tmp, 'layout-out');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/skopeo/out:v1`, `oci:${out}:v1`]);
    for (const layer of image.layers) {
      const copied = readFileSync(path.join(out, 'blobs', 'sha256', layer.descriptor.digest.slice(7)));
      expect(copied).toEqual(layer.bytes);
    }
  });
});

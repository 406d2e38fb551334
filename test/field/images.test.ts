// Issue 12, images and tags: listings page through everything and sort by push time
// themselves (the newest is not always `latest`); retagging an OCI artifact keeps its
// artifactType (the manifest bytes, and so the digest, are unchanged).
import { DescribeImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, sha256, uploadBlob } from '../cli/repos-fixtures.js';
import { type FieldEnv, startField } from './field-env.js';

let f: FieldEnv;

beforeAll(async () => {
  // makeImages writes 105 images faster than ECR's PutImage rate (10/s per repository)
  // through a client that does not retry: throttling off for this estate.
  f = await startField('images', { throttleScale: 'off' });
  await f.createRepo('field/list');
  await f.createRepo('field/artifact');
});
afterAll(async () => {
  await f.close();
});

describe('listings', () => {
  it('images reads every DescribeImages page (more than 100) and puts the newest push first, not `latest`', async () => {
    await makeImages(f.ecr(), 'field/list', 104, { tags: (i) => (i === 0 ? ['latest'] : [`build-${i}`]) });
    await new Promise((r) => setTimeout(r, 1100)); // ECR push times are in seconds
    const [newest] = await makeImages(f.ecr(), 'field/list', 1, { tags: () => ['newest'], seed: 'n' });
    const r = await f.cli(['images', 'field/list', '-o', 'json', '--endpoint-url', f.server.url]);
    expect(r.code, r.stderr).toBe(0);
    const images = (JSON.parse(r.stdout) as { images: { digest: string; tags: string[]; pushedAt: string }[] }).images;
    expect(images).toHaveLength(105);
    expect(images[0]?.digest).toBe(newest?.digest);
    expect(images[0]?.tags).toEqual(['newest']);
    const times = images.map((i) => Date.parse(i.pushedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});

describe('retagging through PutImage', () => {
  it('promote retags an OCI 1.1 artifact: same digest, its artifactType kept', async () => {
    const ecr = f.ecr();
    const empty = await uploadBlob(ecr, 'field/artifact', Buffer.from('{}'));
    const layer = await uploadBlob(ecr, 'field/artifact', Buffer.from('signature-bytes'));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.example.sbom.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [{ mediaType: 'application/vnd.example.sbom.v1+json', digest: layer, size: 15 }],
    });
    await ecr.send(
      new PutImageCommand({
        repositoryName: 'field/artifact',
        imageManifest: manifest,
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        imageTag: 'sbom-1',
      }),
    );
    const r = await f.cli(['promote', 'field/artifact:sbom-1', 'sbom-stable', '--endpoint-url', f.server.url]);
    expect(r.code, r.stderr).toBe(0);
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'field/artifact', imageIds: [{ imageTag: 'sbom-stable' }] }),
    );
    expect(out.imageDetails?.[0]?.imageDigest).toBe(sha256(manifest));
    expect(out.imageDetails?.[0]?.artifactMediaType).toBe('application/vnd.example.sbom.v1+json');
    expect(out.imageDetails?.[0]?.imageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });
});

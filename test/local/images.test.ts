// Image and layer operations of the local ECR API through @aws-sdk/client-ecr: the path a
// client takes when it pushes over the API instead of the data plane.
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  paginateDescribeImages,
  paginateListImages,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { digestOf, ecrClient, start, tempDir, type TinyImage, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  for (const name of ['api', 'paging', 'immutable', 'parts', 'deletes']) {
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        ...(name === 'immutable' ? { imageTagMutability: 'IMMUTABLE' } : {}),
      }),
    );
  }
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

async function failure(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

/** Uploads one blob through the layer API in parts of the size the service asks for. */
async function uploadLayer(repositoryName: string, bytes: Buffer): Promise<string> {
  const { uploadId, partSize = 10 * 1024 * 1024 } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  for (let first = 0; first < bytes.length; first += partSize) {
    const part = bytes.subarray(first, first + partSize);
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: first,
        partLastByte: first + part.length - 1,
        layerPartBlob: part,
      }),
    );
  }
  const done = await ecr.send(
    new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digestOf(bytes)] }),
  );
  return done.layerDigest ?? '';
}

async function pushOverApi(repositoryName: string, image: TinyImage, imageTag?: string) {
  const check = await ecr.send(
    new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: [image.layerDigest, image.configDigest] }),
  );
  const present = new Set((check.layers ?? []).map((l) => l.layerDigest));
  for (const blob of [image.layer, image.config])
    if (!present.has(digestOf(blob))) await uploadLayer(repositoryName, blob);
  return ecr.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest.toString('utf8'), imageTag }));
}

describe('pushing over the API', () => {
  const image = tinyImage('api', 'docker');

  it('uploads layers, puts the image and reads it back', async () => {
    const before = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: 'api',
        layerDigests: [image.layerDigest, 'sha256:nothex'],
      }),
    );
    expect(before.layers).toEqual([]);
    expect(before.failures).toEqual([
      { layerDigest: image.layerDigest, failureCode: 'MissingLayerDigest', failureReason: 'Requested layer not found' },
      { layerDigest: 'sha256:nothex', failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' },
    ]);
    const put = await pushOverApi('api', image, 'v1');
    expect(put.image).toEqual({
      registryId: '123456789012',
      repositoryName: 'api',
      imageId: { imageDigest: image.manifestDigest, imageTag: 'v1' },
      imageManifest: image.manifest.toString('utf8'),
      imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    const after = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'api', layerDigests: [image.layerDigest] }),
    );
    expect(after.layers).toEqual([
      { layerDigest: image.layerDigest, layerAvailability: 'AVAILABLE', layerSize: image.layer.length },
    ]);
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'api', imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }] }),
    );
    expect(got.images?.[0]?.imageManifest).toBe(image.manifest.toString('utf8'));
    expect(got.images?.[0]?.imageId).toEqual({ imageDigest: image.manifestDigest, imageTag: 'v1' });
    expect(got.failures).toEqual([
      { imageId: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
    ]);
    const onlyOci = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'api',
        imageIds: [{ imageTag: 'v1' }, { imageDigest: image.manifestDigest }],
        acceptedMediaTypes: ['application/vnd.oci.image.manifest.v1+json'],
      }),
    );
    // By tag, ECR converts the Docker manifest to OCI (another document, another digest);
    // by digest only that document will do (formats.test.ts covers the conversion).
    expect(onlyOci.images?.map((i) => i.imageManifestMediaType)).toEqual([
      'application/vnd.oci.image.manifest.v1+json',
    ]);
    expect(onlyOci.images?.[0]?.imageId?.imageDigest).not.toBe(image.manifestDigest);
    expect(onlyOci.failures?.map((f) => f.failureCode)).toEqual(['ImageNotFound']);
  });

  it('refuses the same tag and digest again with ImageAlreadyExistsException', async () => {
    const err = await failure(
      ecr.send(
        new PutImageCommand({ repositoryName: 'api', imageManifest: image.manifest.toString(), imageTag: 'v1' }),
      ),
    );
    expect(err.name).toBe('ImageAlreadyExistsException');
    expect(err.message).toBe(
      `Image with digest '${image.manifestDigest}' and tag 'v1' already exists in the repository with name 'api' in registry with id '123456789012'`,
    );
    const second = await ecr.send(
      new PutImageCommand({ repositoryName: 'api', imageManifest: image.manifest.toString(), imageTag: 'v1-again' }),
    );
    expect(second.image?.imageId?.imageDigest).toBe(image.manifestDigest);
  });

  it('refuses what ECR refuses', async () => {
    const lonely = tinyImage('lonely');
    const missing = await failure(
      ecr.send(
        new PutImageCommand({ repositoryName: 'api', imageManifest: lonely.manifest.toString(), imageTag: 'x' }),
      ),
    );
    expect(missing.name).toBe('LayersNotFoundException');
    const wrongDigest = await failure(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'api',
          imageManifest: image.manifest.toString(),
          imageTag: 'y',
          imageDigest: digestOf('other'),
        }),
      ),
    );
    expect(wrongDigest.name).toBe('ImageDigestDoesNotMatchException');
    const noType = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
    delete noType.mediaType;
    const untyped = await failure(
      ecr.send(new PutImageCommand({ repositoryName: 'api', imageManifest: JSON.stringify(noType) })),
    );
    expect(untyped.name).toBe('InvalidParameterException');
    const garbage = await failure(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'api',
          imageManifest: 'not json',
          imageManifestMediaType: image.mediaType,
        }),
      ),
    );
    expect(garbage.name).toBe('InvalidParameterException');
    const noRepo = await failure(
      ecr.send(new PutImageCommand({ repositoryName: 'nope', imageManifest: image.manifest.toString() })),
    );
    expect(noRepo.name).toBe('RepositoryNotFoundException');
  });

  it('refuses to move an immutable tag with ImageTagAlreadyExistsException', async () => {
    await pushOverApi('immutable', tinyImage('imm-a'), 'release');
    const err = await failure(pushOverApi('immutable', tinyImage('imm-b'), 'release'));
    expect(err.name).toBe('ImageTagAlreadyExistsException');
    expect(err.message).toBe(
      "The image tag 'release' already exists in the 'immutable' repository and cannot be overwritten because the repository is immutable.",
    );
  });

  it('gives a layer download URL that works without registry credentials', async () => {
    const out = await ecr.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: 'api', layerDigest: image.layerDigest }),
    );
    expect(out.layerDigest).toBe(image.layerDigest);
    const res = await fetch(out.downloadUrl ?? '');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(image.layer);
    const tampered = await fetch((out.downloadUrl ?? '').replace(image.layerDigest, image.configDigest));
    expect(tampered.status).toBe(403);
    const err = await failure(
      ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'api', layerDigest: digestOf('absent') })),
    );
    expect(err.name).toBe('LayersNotFoundException');
  });
});

describe('layer parts', () => {
  it('takes parts in order, 5–10 MiB except the last, and verifies the digest', async () => {
    const MiB = 1024 * 1024;
    const blob = Buffer.alloc(11 * MiB + 123, 7);
    for (let i = 0; i < blob.length; i += 4096) blob[i] = i % 251;
    const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'parts' }));
    expect(partSize).toBe(10 * MiB);
    const gap = await failure(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'parts',
          uploadId,
          partFirstByte: 5,
          partLastByte: 9,
          layerPartBlob: blob.subarray(5, 10),
        }),
      ),
    );
    expect(gap.name).toBe('InvalidLayerPartException');
    const cut = 6 * MiB;
    const p1 = await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'parts',
        uploadId,
        partFirstByte: 0,
        partLastByte: cut - 1,
        layerPartBlob: blob.subarray(0, cut),
      }),
    );
    expect(p1.lastByteReceived).toBe(cut - 1);
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'parts',
        uploadId,
        partFirstByte: cut,
        partLastByte: blob.length - 1,
        layerPartBlob: blob.subarray(cut),
      }),
    );
    const wrong = await failure(
      ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'parts', uploadId, layerDigests: [digestOf('x')] })),
    );
    expect(wrong.name).toBe('InvalidLayerException');
    const gone = await failure(
      ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'parts', uploadId, layerDigests: [digestOf(blob)] })),
    );
    expect(gone.name).toBe('UploadNotFoundException');

    expect(await uploadLayer('parts', blob)).toBe(digestOf(blob));
    const again = await failure(uploadLayer('parts', blob));
    expect(again.name).toBe('LayerAlreadyExistsException');
  });

  it('refuses a small part that is followed by another (LayerPartTooSmallException)', async () => {
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'parts' }));
    const small = Buffer.from('tiny');
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'parts',
        uploadId,
        partFirstByte: 0,
        partLastByte: 3,
        layerPartBlob: small,
      }),
    );
    const err = await failure(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'parts',
          uploadId,
          partFirstByte: 4,
          partLastByte: 7,
          layerPartBlob: small,
        }),
      ),
    );
    expect(err.name).toBe('LayerPartTooSmallException');
    const empty = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'parts' }));
    const none = await failure(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'parts',
          uploadId: empty.uploadId,
          layerDigests: [digestOf('')],
        }),
      ),
    );
    expect(none.name).toBe('EmptyUploadException');
  });
});

describe('listing and deleting', () => {
  it('pages DescribeImages and ListImages and filters by tag status', async () => {
    const images = Array.from({ length: 12 }, (_, i) => tinyImage(`page-${i}`));
    for (const [i, img] of images.entries()) await pushOverApi('paging', img, i % 3 === 0 ? undefined : `t${i}`);
    const described: string[] = [];
    for await (const p of paginateDescribeImages({ client: ecr, pageSize: 5 }, { repositoryName: 'paging' })) {
      expect(p.imageDetails?.length).toBeLessThanOrEqual(5);
      for (const d of p.imageDetails ?? []) described.push(d.imageDigest ?? '');
    }
    expect(described).toEqual(images.map((i) => i.manifestDigest));
    const untagged = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'paging', filter: { tagStatus: 'UNTAGGED' } }),
    );
    expect(untagged.imageDetails?.map((d) => d.imageDigest)).toEqual(
      [0, 3, 6, 9].map((i) => images[i]?.manifestDigest),
    );
    expect(untagged.imageDetails?.[0]?.imageTags).toBeUndefined();
    const listed = [];
    for await (const p of paginateListImages(
      { client: ecr, pageSize: 4 },
      { repositoryName: 'paging', filter: { tagStatus: 'TAGGED' } },
    )) {
      listed.push(...(p.imageIds ?? []));
    }
    expect(listed).toHaveLength(8);
    expect(listed[0]).toEqual({ imageDigest: images[1]?.manifestDigest, imageTag: 't1' });
    const err = await failure(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'paging', imageIds: [{ imageTag: 'absent' }] })),
    );
    expect(err.name).toBe('ImageNotFoundException');
  });

  it('deletes by tag (the image goes with its last tag) and by digest, reporting failures per id', async () => {
    const a = tinyImage('del-a');
    const b = tinyImage('del-b');
    await pushOverApi('deletes', a, 'a1');
    await ecr.send(
      new PutImageCommand({ repositoryName: 'deletes', imageManifest: a.manifest.toString(), imageTag: 'a2' }),
    );
    await pushOverApi('deletes', b, 'b1');
    const out = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'deletes',
        imageIds: [{ imageTag: 'a1' }, { imageDigest: b.manifestDigest }, { imageTag: 'never' }],
      }),
    );
    expect(out.imageIds).toEqual([
      { imageDigest: a.manifestDigest, imageTag: 'a1' },
      { imageDigest: b.manifestDigest, imageTag: 'b1' },
    ]);
    expect(out.failures).toEqual([
      { imageId: { imageTag: 'never' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
    ]);
    const left = await ecr.send(new ListImagesCommand({ repositoryName: 'deletes' }));
    expect(left.imageIds).toEqual([{ imageDigest: a.manifestDigest, imageTag: 'a2' }]);

    const notEmpty = await failure(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'deletes' })));
    expect(notEmpty.name).toBe('RepositoryNotEmptyException');
    expect(notEmpty.message).toBe(
      "The repository with name 'deletes' in registry with id '123456789012' cannot be deleted because it still contains images",
    );
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'deletes', imageIds: [{ imageTag: 'a2' }] }));
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'deletes' }))).imageIds).toEqual([]);
    await pushOverApi('deletes', a, 'back');
    const forced = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'deletes', force: true }));
    expect(forced.repository?.repositoryName).toBe('deletes');
  });
});

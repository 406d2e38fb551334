// Issue 19 #8: manifest formats as ECR handles them. A Docker v2 schema 2 manifest is served
// as OCI (and back) when the client's Accept lists only the other format — another document,
// so another digest — and so are manifest lists and OCI indexes; Docker schema 1 (signed and
// unsigned) is stored and served back byte for byte; the data plane takes the tags the API
// takes (up to 300 characters) and both refuse a 1,001st tag on one image.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { basicAuth, digestOf, ecrClient, pushImage, start, type TinyImage, tempDir, tinyImage } from './helpers.js';

const run = promisify(execFile);
const tmp = tempDir('ecrctl-formats-');
let server: LocalServer;
let ecr: ECRClient;
let endpoint: string;
let auth: string;
let password: string;

const T = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociForeign: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
};

const dockerImage = tinyImage('formats-docker', 'docker');
const ociImage = tinyImage('formats-oci', 'oci');

beforeAll(async () => {
  // Hundreds of tags are set below; ECR's rates are tested in dataplane-throttling.test.ts.
  server = await start(tmp.dir, { throttleScale: 'off' });
  ecr = ecrClient(server);
  const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
  endpoint = token?.proxyEndpoint as string;
  auth = basicAuth(token?.authorizationToken as string);
  password = Buffer.from(token?.authorizationToken as string, 'base64')
    .toString('utf8')
    .slice(4);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fmt/app' }));
  expect((await pushImage(endpoint, auth, 'fmt/app', dockerImage, 'docker')).status).toBe(201);
  expect((await pushImage(endpoint, auth, 'fmt/app', ociImage, 'oci')).status).toBe(201);
});
afterAll(async () => {
  await server?.close();
  tmp.remove();
});

function get(ref: string, accept: string | undefined, method = 'GET'): Promise<Response> {
  return fetch(`${endpoint}/v2/fmt/app/manifests/${ref}`, {
    method,
    headers: { Authorization: auth, ...(accept !== undefined ? { Accept: accept } : {}) },
  });
}

function put(ref: string, body: Buffer | string, contentType: string): Promise<Response> {
  return fetch(`${endpoint}/v2/fmt/app/manifests/${ref}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': contentType },
    body,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read manifests of several shapes
type Doc = Record<string, any>;

/** GETs ref with accept and returns the answer's type, digest, bytes and parsed document. */
async function fetchManifest(ref: string, accept: string | undefined) {
  const res = await get(ref, accept);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    type: res.headers.get('content-type'),
    digest: res.headers.get('docker-content-digest'),
    bytes,
    doc: JSON.parse(bytes.toString('utf8')) as Doc,
  };
}

describe('Docker v2 ↔ OCI by Accept', () => {
  it('serves a stored Docker manifest as OCI to a client that accepts only OCI, with the new digest', async () => {
    const got = await fetchManifest('docker', T.ociManifest);
    expect(got.type).toBe(T.ociManifest);
    expect(got.doc.mediaType).toBe(T.ociManifest);
    expect(got.doc.config).toEqual({
      mediaType: T.ociConfig,
      size: dockerImage.config.length,
      digest: dockerImage.configDigest,
    });
    expect(got.doc.layers).toEqual([
      { mediaType: T.ociLayer, size: dockerImage.layer.length, digest: dockerImage.layerDigest },
    ]);
    // Another document, another digest: the header names the bytes served.
    expect(got.digest).toBe(digestOf(got.bytes));
    expect(got.digest).not.toBe(dockerImage.manifestDigest);
    // HEAD agrees with GET.
    const head = await get('docker', T.ociManifest, 'HEAD');
    expect(head.headers.get('docker-content-digest')).toBe(got.digest);
    expect(head.headers.get('content-length')).toBe(String(got.bytes.length));
    // The same answer every time (a client may compare digests across requests).
    expect((await fetchManifest('docker', T.ociManifest)).digest).toBe(got.digest);
  });

  it('serves as stored when Accept lists the stored type, several types, */* or nothing', async () => {
    for (const accept of [T.dockerManifest, `${T.ociManifest}, ${T.dockerManifest}`, '*/*', undefined]) {
      const got = await fetchManifest('docker', accept);
      expect(got.type).toBe(T.dockerManifest);
      expect(got.bytes).toEqual(dockerImage.manifest);
      expect(got.digest).toBe(dockerImage.manifestDigest);
    }
  });

  it('serves a stored OCI manifest as Docker v2 to a client that accepts only Docker', async () => {
    const got = await fetchManifest('oci', `${T.dockerManifest};q=0.9`);
    expect(got.type).toBe(T.dockerManifest);
    expect(got.doc.config.mediaType).toBe(T.dockerConfig);
    expect(got.doc.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([T.dockerLayer]);
    expect(got.digest).toBe(digestOf(got.bytes));
    expect(got.digest).not.toBe(ociImage.manifestDigest);
  });

  it('serves a manifest named by its digest as stored whatever Accept says (the digest names one document)', async () => {
    const got = await fetchManifest(dockerImage.manifestDigest, T.ociManifest);
    expect(got.type).toBe(T.dockerManifest);
    expect(got.bytes).toEqual(dockerImage.manifest);
  });

  it('maps foreign layers, and converts manifest lists and OCI indexes with their entries', async () => {
    // A Windows-style image: a foreign (non-distributable) base layer with URLs. (A blob the
    // repository holds stands in for it: the endpoint wants every layer present.)
    const local = {
      mediaType: T.dockerForeign,
      size: ociImage.layer.length,
      digest: ociImage.layerDigest,
      urls: ['https://example.com/base.tar.gz'],
    };
    const doc = JSON.parse(dockerImage.manifest.toString()) as { layers: unknown[] };
    doc.layers.unshift(local);
    const body = JSON.stringify(doc);
    expect((await put('foreign', body, T.dockerManifest)).status).toBe(201);
    const got = await fetchManifest('foreign', T.ociManifest);
    expect(got.doc.layers[0]).toEqual({ ...local, mediaType: T.ociForeign });

    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: T.dockerList,
      manifests: [
        {
          mediaType: T.dockerManifest,
          size: dockerImage.manifest.length,
          digest: dockerImage.manifestDigest,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
    expect((await put('list', list, T.dockerList)).status).toBe(201);
    const asIndex = await fetchManifest('list', T.ociIndex);
    expect(asIndex.type).toBe(T.ociIndex);
    expect(asIndex.doc.manifests).toEqual([
      {
        mediaType: T.ociManifest,
        size: dockerImage.manifest.length,
        digest: dockerImage.manifestDigest,
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ]);
    expect(asIndex.digest).toBe(digestOf(asIndex.bytes));

    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: T.ociIndex,
      manifests: [{ mediaType: T.ociManifest, size: ociImage.manifest.length, digest: ociImage.manifestDigest }],
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
    });
    expect((await put('index', index, T.ociIndex)).status).toBe(201);
    const asList = await fetchManifest('index', T.dockerList);
    expect(asList.type).toBe(T.dockerList);
    expect(asList.doc).toEqual({
      schemaVersion: 2,
      mediaType: T.dockerList,
      manifests: [{ mediaType: T.dockerManifest, size: ociImage.manifest.length, digest: ociImage.manifestDigest }],
    });
  });

  it('converts in BatchGetImage too when acceptedMediaTypes lists only the other format (by tag)', async () => {
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'fmt/app',
        imageIds: [{ imageTag: 'docker' }, { imageDigest: dockerImage.manifestDigest }],
        acceptedMediaTypes: [T.ociManifest],
      }),
    );
    const viaRegistry = await fetchManifest('docker', T.ociManifest);
    expect(out.images?.map((i) => [i.imageManifestMediaType, i.imageId?.imageDigest, i.imageManifest])).toEqual([
      [T.ociManifest, viaRegistry.digest, viaRegistry.bytes.toString()],
    ]);
    // By digest: that document or nothing.
    expect(out.failures?.map((f) => f.failureCode)).toEqual(['ImageNotFound']);
  });

  it('serves as stored what has no Docker counterpart (an OCI artifact)', async () => {
    const artifact = JSON.stringify({
      schemaVersion: 2,
      mediaType: T.ociManifest,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: digestOf('{}') },
      layers: [{ mediaType: 'application/json', size: ociImage.config.length, digest: ociImage.configDigest }],
    });
    const empty = await fetch(`${endpoint}/v2/fmt/app/blobs/uploads/?digest=${digestOf('{}')}`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
      body: '{}',
    });
    expect(empty.status).toBe(201);
    expect((await put('sbom', artifact, T.ociManifest)).status).toBe(201);
    const got = await fetchManifest('sbom', T.dockerManifest);
    expect(got.type).toBe(T.ociManifest);
    expect(got.bytes.toString()).toBe(artifact);
  });
});

/** A Docker schema 1 manifest of an image's layer (signed: with a JWS signature block). */
function schema1(image: TinyImage, signed: boolean): string {
  const doc = {
    schemaVersion: 1,
    name: 'fmt/app',
    tag: signed ? 'v1-signed' : 'v1',
    architecture: 'amd64',
    fsLayers: [{ blobSum: image.layerDigest }],
    history: [{ v1Compatibility: JSON.stringify({ id: 'a'.repeat(64), created: '2016-01-01T00:00:00Z' }) }],
    ...(signed
      ? {
          signatures: [
            {
              header: { jwk: { crv: 'P-256', kid: 'LOCAL:TEST', kty: 'EC', x: 'x', y: 'y' }, alg: 'ES256' },
              signature: 'c2lnbmF0dXJl',
              protected: 'eyJmb3JtYXRMZW5ndGgiOjEsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1lIjoiMjAxNi0wMS0wMVQwMDowMDowMFoifQ',
            },
          ],
        }
      : {}),
  };
  // Schema 1 documents are pretty-printed with three spaces: keep the bytes exactly.
  return JSON.stringify(doc, null, 3);
}

describe('Docker schema 1', () => {
  it('stores signed and unsigned schema 1 manifests and serves them back byte for byte', async () => {
    for (const [tag, signed, type] of [
      ['v1-signed', true, T.schema1Signed],
      ['v1', false, T.schema1],
    ] as const) {
      const body = schema1(ociImage, signed);
      const res = await put(tag, body, type);
      expect(res.status).toBe(201);
      expect(res.headers.get('docker-content-digest')).toBe(digestOf(body));
      const got = await fetchManifest(tag, `${type}, ${T.dockerManifest}`);
      expect(got.type).toBe(type);
      expect(got.bytes.toString()).toBe(body);
      expect(got.digest).toBe(digestOf(body));
      // By digest too, and no conversion is attempted for a client that does not list it.
      expect((await fetchManifest(digestOf(body), type)).bytes.toString()).toBe(body);
      expect((await fetchManifest(tag, T.ociManifest)).bytes.toString()).toBe(body);
    }
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'fmt/app', imageIds: [{ imageTag: 'v1-signed' }] }),
    );
    expect(described.imageDetails?.[0]?.imageManifestMediaType).toBe(T.schema1Signed);
    expect(described.imageDetails?.[0]?.imageSizeInBytes).toBe(ociImage.layer.length);
    const batch = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'fmt/app', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(batch.images?.[0]?.imageManifest).toBe(schema1(ociImage, false));
  });

  it('infers schema 1 from the document when the Content-Type is generic, and refuses unknown layers', async () => {
    const body = schema1(dockerImage, true).replace('"v1-signed"', '"plain"');
    const res = await put('plain', body, 'application/json');
    expect(res.status).toBe(201);
    expect((await get('plain', T.schema1Signed)).headers.get('content-type')).toBe(T.schema1Signed);
    const missing = schema1(dockerImage, false).replace(dockerImage.layerDigest, digestOf('never uploaded'));
    const refused = await put('missing', missing, T.schema1);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('MANIFEST_BLOB_UNKNOWN');
    const broken = JSON.stringify({ schemaVersion: 1, name: 'fmt/app', fsLayers: [] });
    expect((await put('broken', broken, T.schema1)).status).toBe(400);
  });

  it('skopeo inspect --raw reads a schema 1 manifest back unchanged', async () => {
    const host = new URL(endpoint).host;
    const authfile = path.join(tmp.dir, 'auth.json');
    writeFileSync(
      authfile,
      JSON.stringify({ auths: { [host]: { auth: Buffer.from(`AWS:${password}`).toString('base64') } } }),
      {
        mode: 0o600,
      },
    );
    const { stdout } = await run(
      '/usr/bin/skopeo',
      ['inspect', '--raw', '--authfile', authfile, '--tls-verify=false', `docker://${host}/fmt/app:v1-signed`],
      { env: { PATH: process.env.PATH, HOME: tmp.dir, XDG_RUNTIME_DIR: tmp.dir } },
    );
    expect(stdout).toBe(schema1(ociImage, true));
  });
});

describe('tag limits, the same on both planes', () => {
  it('takes a 300-character tag on the data plane (as PutImage does) and refuses 301', async () => {
    const long = `t${'x'.repeat(299)}`;
    await ecr.send(
      new PutImageCommand({ repositoryName: 'fmt/app', imageManifest: ociImage.manifest.toString(), imageTag: long }),
    );
    const got = await fetchManifest(long, T.ociManifest);
    expect(got.digest).toBe(ociImage.manifestDigest);
    const viaPut = `u${'y'.repeat(299)}`;
    expect((await put(viaPut, ociImage.manifest, T.ociManifest)).status).toBe(201);
    const tooLong = await put(`${viaPut}z`, ociImage.manifest, T.ociManifest);
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('TAG_INVALID');
  });

  it('refuses a 1,001st tag on one image on the data plane (403 DENIED) and the API (LimitExceededException)', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fmt/tags' }));
    const img = tinyImage('many-tags');
    expect((await pushImage(endpoint, auth, 'fmt/tags', img, 'tag0000')).status).toBe(201);
    // 999 more tags, a hundred at a time (the endpoint coalesces their state writes).
    for (let start = 1; start < 1000; start += 100) {
      const batch = Array.from({ length: Math.min(100, 1000 - start) }, (_, k) =>
        fetch(`${endpoint}/v2/fmt/tags/manifests/tag${String(start + k).padStart(4, '0')}`, {
          method: 'PUT',
          headers: { Authorization: auth, 'Content-Type': img.mediaType },
          body: img.manifest,
        }).then((res) => res.status),
      );
      expect(new Set(await Promise.all(batch))).toEqual(new Set([201]));
    }
    const over = await fetch(`${endpoint}/v2/fmt/tags/manifests/one-more`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': img.mediaType },
      body: img.manifest,
    });
    expect(over.status).toBe(403);
    const body = (await over.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('DENIED');
    expect(body.errors[0]?.message).toContain("maximum allowed number of tags which is '1000'");
    await expect(
      ecr.send(
        new PutImageCommand({ repositoryName: 'fmt/tags', imageManifest: img.manifest.toString(), imageTag: 'api' }),
      ),
    ).rejects.toMatchObject({ name: 'LimitExceededException' });
    // Re-setting an existing tag of the image is no new tag.
    const again = await fetch(`${endpoint}/v2/fmt/tags/manifests/tag0001`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': img.mediaType },
      body: img.manifest,
    });
    expect(again.status).toBe(201);
  });
});

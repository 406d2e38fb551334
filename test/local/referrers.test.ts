// The emulator's artifact rules and ListImageReferrers: an artifactType with `;` parameters
// is refused on the data plane and through PutImage, as ECR refuses it; ListImageReferrers
// lists referrers by subject, filters by artifactTypes and artifactStatus, pages at 20.
import {
  CreateRepositoryCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  ListImageReferrersCommand,
  PutImageCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { digestOf, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let endpoint: string;
let auth: string;
let remove: () => void;
let subject: string;

const EMPTY = Buffer.from('{}');

/** Returns a referrer manifest of subject with artifactType (empty config, one tiny layer). */
function referrer(artifactType: string, seq: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(EMPTY), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(EMPTY), size: 2 }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 1 },
      annotations: { 'org.example.seq': String(seq) },
    }),
  );
}

async function put(bytes: Buffer): Promise<Response> {
  return fetch(`${endpoint}/v2/art/manifests/${digestOf(bytes)}`, {
    method: 'PUT',
    headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: bytes,
  });
}

beforeAll(async () => {
  const tmp = tempDir('ecrctl-referrers-');
  remove = tmp.remove;
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'art' }));
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint ?? '';
  auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
  const image = tinyImage('subject');
  subject = image.manifestDigest;
  expect((await pushImage(endpoint, auth, 'art', image, 'v1')).status).toBe(201);
  const res = await fetch(`${endpoint}/v2/art/blobs/uploads/?digest=${digestOf(EMPTY)}`, {
    method: 'POST',
    headers: { Authorization: auth },
    body: EMPTY,
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  ecr?.destroy();
  await server?.close();
  remove?.();
});

describe('artifact media types', () => {
  it('refuses an artifactType with ; parameters on the data plane and through PutImage', async () => {
    const bad = referrer('application/vnd.example+json; charset=utf-8', 0);
    const res = await put(bad);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.message).toContain('artifactType');
    await expect(
      ecr.send(new PutImageCommand({ repositoryName: 'art', imageManifest: bad.toString('utf8'), imageTag: 'bad' })),
    ).rejects.toThrow(/artifactType/);
    // a bare type/subtype is accepted
    expect((await put(referrer('application/spdx+json', 0))).status).toBe(201);
  });
});

describe('ListImageReferrers', () => {
  it('lists by subject, filters by artifactTypes and status, pages at 20 by default', async () => {
    // 22 manifest PUTs to one repository: ECR's PutImage rate is 10/s, so the emulator's clock
    // moves 100 ms per PUT (the data plane is throttled as ECR's is).
    for (let i = 1; i <= 22; i++) {
      expect((await put(referrer('application/vnd.example.sig', i))).status).toBe(201);
      server.advanceClock(100);
    }
    const all = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const out = await ecr.send(
        new ListImageReferrersCommand({ repositoryName: 'art', subjectId: { imageDigest: subject }, nextToken }),
      );
      pages++;
      if (pages === 1) expect(out.referrers).toHaveLength(20);
      all.push(...(out.referrers ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    expect(all).toHaveLength(23);
    expect(new Set(all.map((r) => r.digest)).size).toBe(23);
    expect(all[0]).toMatchObject({ artifactType: 'application/spdx+json', artifactStatus: 'ACTIVE' });

    const sboms = await ecr.send(
      new ListImageReferrersCommand({
        repositoryName: 'art',
        subjectId: { imageDigest: subject },
        filter: { artifactTypes: ['application/spdx+json'] },
      }),
    );
    expect(sboms.referrers?.map((r) => r.artifactType)).toEqual(['application/spdx+json']);
    const sbom = sboms.referrers?.[0]?.digest ?? '';

    // archived referrers: hidden by default, listed with ARCHIVED or ANY
    await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'art',
        imageId: { imageDigest: sbom },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    const hidden = await ecr.send(
      new ListImageReferrersCommand({
        repositoryName: 'art',
        subjectId: { imageDigest: subject },
        filter: { artifactTypes: ['application/spdx+json'] },
      }),
    );
    expect(hidden.referrers).toEqual([]);
    const archived = await ecr.send(
      new ListImageReferrersCommand({
        repositoryName: 'art',
        subjectId: { imageDigest: subject },
        filter: { artifactStatus: 'ARCHIVED' },
      }),
    );
    expect(archived.referrers?.map((r) => [r.digest, r.artifactStatus])).toEqual([[sbom, 'ARCHIVED']]);

    await expect(
      ecr.send(
        new ListImageReferrersCommand({ repositoryName: 'art', subjectId: { imageDigest: subject }, maxResults: 51 }),
      ),
    ).rejects.toThrow(/less than or equal to 50/);
  });
});

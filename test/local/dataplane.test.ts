// The OCI distribution API of the local endpoint, spoken to with plain fetch, as ECR's data
// plane behaves: auth, pushes and pulls, verification, limits and refusals.
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { StaticCredentials } from '../../src/oci/transport/credentials.js';
import { digestOf, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let endpoint: string;
let auth: string;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint ?? '';
  auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
  await ecr.send(
    new CreateRepositoryCommand({
      repositoryName: 'mostly-locked',
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
    }),
  );
  for (const name of ['app', 'team/svc', 'locked', 'tags', 'refs', 'multi']) {
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        ...(name === 'locked' ? { imageTagMutability: 'IMMUTABLE' } : {}),
      }),
    );
  }
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

/** Returns the password inside the Basic auth header. */
function password(): string {
  return Buffer.from(auth.slice('Basic '.length), 'base64').toString('utf8').slice('AWS:'.length);
}

async function errorsOf(res: Response): Promise<{ code: string; message: string }[]> {
  return ((await res.json()) as { errors: { code: string; message: string }[] }).errors;
}

describe('authentication', () => {
  it('challenges a request without credentials with Basic', async () => {
    const res = await fetch(`${endpoint}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="http:\/\/127\.0\.0\.1:\d+\/"/);
    expect((await errorsOf(res))[0]?.code).toBe('UNAUTHORIZED');
  });

  it('challenges a Bearer token with Basic (401), since this registry speaks Basic only', async () => {
    const res = await fetch(`${endpoint}/v2/app/tags/list`, { headers: { Authorization: 'Bearer abc' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  // ECR answers a bad or stale token with 403 DENIED and no challenge (ECR-FACTS.md): a client
  // that refreshes only on 401 never recovers there, so the emulator must not be kinder.
  it.each([
    ['a wrong user', `Basic ${Buffer.from('admin:secret').toString('base64')}`],
    ['a forged password', `Basic ${Buffer.from(`AWS:${'x'.repeat(2500)}`).toString('base64')}`],
  ])('refuses %s with 403 DENIED and no challenge, as ECR does', async (_what, header) => {
    const res = await fetch(`${endpoint}/v2/app/tags/list`, { headers: { Authorization: header } });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(await errorsOf(res)).toEqual([
      { code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' },
    ]);
  });

  it('refuses a token of another region with 403 DENIED', async () => {
    const eu = await ecrClient(server, 'eu-west-1').send(new GetAuthorizationTokenCommand({}));
    const res = await fetch(`${endpoint}/v2/`, {
      headers: { Authorization: `Basic ${eu.authorizationData?.[0]?.authorizationToken}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('refuses an expired token with 403 DENIED and no challenge, as ECR does', async () => {
    const dir = tempDir();
    const short = await start(dir.dir, { tokenTtlSeconds: 1 });
    try {
      const t = await ecrClient(short).send(new GetAuthorizationTokenCommand({}));
      expect(t.authorizationData?.[0]?.expiresAt?.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      const url = `${t.authorizationData?.[0]?.proxyEndpoint}/v2/`;
      const header = { Authorization: `Basic ${t.authorizationData?.[0]?.authorizationToken}` };
      expect((await fetch(url, { headers: header })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(url, { headers: header });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await errorsOf(res)).toEqual([
        { code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' },
      ]);
    } finally {
      await short.close();
      dir.remove();
    }
  });
});

describe('push and pull', () => {
  const image = tinyImage('app');

  it('pushes with monolithic uploads and pulls the manifest by tag and digest', async () => {
    const put = await pushImage(endpoint, auth, 'app', image, 'v1');
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(put.headers.get('location')).toBe(`/v2/app/manifests/${image.manifestDigest}`);
    for (const ref of ['v1', image.manifestDigest]) {
      const res = await fetch(`${endpoint}/v2/app/manifests/${ref}`, { headers: { Authorization: auth } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(image.mediaType);
      expect(res.headers.get('docker-content-digest')).toBe(image.manifestDigest);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(image.manifest);
    }
    const head = await fetch(`${endpoint}/v2/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: auth } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(image.manifest.length));
  });

  it('records the pull time and reports ECR sizes and media types', async () => {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] }));
    const d = out.imageDetails?.[0];
    expect(d).toMatchObject({
      imageDigest: image.manifestDigest,
      imageTags: ['v1'],
      imageSizeInBytes: image.layer.length,
      imageManifestMediaType: image.mediaType,
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
    });
    expect(d?.lastRecordedPullTime).toBeInstanceOf(Date);
  });

  it('serves blobs, whole and by range', async () => {
    const whole = await fetch(`${endpoint}/v2/app/blobs/${image.layerDigest}`, { headers: { Authorization: auth } });
    expect(whole.status).toBe(200);
    // The bytes come from the blob host (ECR's S3) behind a 307; fetch drops the
    // Authorization header on the way (the blob host would answer 400 to it).
    expect(whole.redirected).toBe(true);
    expect(new URL(whole.url).host).not.toBe(new URL(endpoint).host);
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(image.layer);
    const part = await fetch(`${endpoint}/v2/app/blobs/${image.layerDigest}`, {
      headers: { Authorization: auth, Range: 'bytes=5-14' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 5-14/${image.layer.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(image.layer.subarray(5, 15));
    const head = await fetch(`${endpoint}/v2/app/blobs/${image.configDigest}`, {
      method: 'HEAD',
      headers: { Authorization: auth },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(image.config.length));
    const other = await fetch(`${endpoint}/v2/team/svc/blobs/${image.layerDigest}`, {
      method: 'HEAD',
      headers: { Authorization: auth },
    });
    expect(other.status).toBe(404);
  });

  it('takes a chunked upload (POST, PATCH, PATCH, PUT), answering 201 with a Range frozen after the first chunk, as ECR', async () => {
    const blob = Buffer.from('0123456789abcdefghij');
    const post = await fetch(`${endpoint}/v2/team/svc/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: auth },
    });
    expect(post.status).toBe(202);
    const location = post.headers.get('location') ?? '';
    expect(location).toMatch(/^\/v2\/team\/svc\/blobs\/uploads\/[0-9a-f-]+$/);
    const p1 = await fetch(`${endpoint}${location}`, {
      method: 'PATCH',
      headers: { Authorization: auth, 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' },
      body: blob.subarray(0, 10),
    });
    expect(p1.status).toBe(201);
    expect(p1.headers.get('range')).toBe('0-9');
    const wrong = await fetch(`${endpoint}${location}`, {
      method: 'PATCH',
      headers: { Authorization: auth, 'Content-Range': '0-9' },
      body: blob.subarray(0, 10),
    });
    expect(wrong.status).toBe(416);
    const p2 = await fetch(`${endpoint}${location}`, {
      method: 'PATCH',
      headers: { Authorization: auth, 'Content-Range': '10-19' },
      body: blob.subarray(10),
    });
    expect(p2.status).toBe(201);
    // containers-roadmap #2831: the Range stops advancing after the first chunk
    expect(p2.headers.get('range')).toBe('0-9');
    const status = await fetch(`${endpoint}${location}`, { headers: { Authorization: auth } });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-9');
    // A client that trusts that Range and sends bytes 10-19 again is refused.
    const trusting = await fetch(`${endpoint}${location}`, {
      method: 'PATCH',
      headers: { Authorization: auth, 'Content-Range': '10-19' },
      body: blob.subarray(10),
    });
    expect(trusting.status).toBe(416);
    const put = await fetch(`${endpoint}${location}?digest=${digestOf(blob)}`, {
      method: 'PUT',
      headers: { Authorization: auth },
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digestOf(blob));
    const got = await fetch(`${endpoint}/v2/team/svc/blobs/${digestOf(blob)}`, { headers: { Authorization: auth } });
    expect(Buffer.from(await got.arrayBuffer()).toString()).toBe(blob.toString());
  });

  it('refuses a blob whose bytes do not match its digest', async () => {
    const res = await fetch(`${endpoint}/v2/app/blobs/uploads/?digest=${digestOf('something else')}`, {
      method: 'POST',
      headers: { Authorization: auth },
      body: 'actual bytes',
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]?.code).toBe('DIGEST_INVALID');
    const head = await fetch(`${endpoint}/v2/app/blobs/${digestOf('something else')}`, {
      method: 'HEAD',
      headers: { Authorization: auth },
    });
    expect(head.status).toBe(404);
  });

  it('answers a cross-repository mount with a normal upload (202), as ECR without BLOB_MOUNTING', async () => {
    const res = await fetch(`${endpoint}/v2/team/svc/blobs/uploads/?mount=${image.layerDigest}&from=app`, {
      method: 'POST',
      headers: { Authorization: auth },
    });
    expect(res.status).toBe(202);
    const del = await fetch(`${endpoint}${res.headers.get('location')}`, {
      method: 'DELETE',
      headers: { Authorization: auth },
    });
    expect(del.status).toBe(204);
    const again = await fetch(`${endpoint}${res.headers.get('location')}`, { headers: { Authorization: auth } });
    expect(again.status).toBe(404);
  });

  it('refuses a manifest whose blobs were not pushed (MANIFEST_BLOB_UNKNOWN)', async () => {
    const lonely = tinyImage('lonely');
    const res = await fetch(`${endpoint}/v2/app/manifests/lonely`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': lonely.mediaType },
      body: lonely.manifest,
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]?.code).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses a manifest over 4 MiB', async () => {
    const big = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: image.configDigest,
          size: image.config.length,
        },
        layers: [],
        annotations: { padding: 'x'.repeat(4 * 1024 * 1024) },
      }),
    );
    const res = await fetch(`${endpoint}/v2/app/manifests/big`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect((await errorsOf(res))[0]?.code).toBe('MANIFEST_INVALID');
  });

  it('refuses a manifest put by a digest it does not have', async () => {
    const res = await fetch(`${endpoint}/v2/app/manifests/${digestOf('nope')}`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': image.mediaType },
      body: image.manifest,
    });
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]?.code).toBe('DIGEST_INVALID');
  });

  it('answers NAME_UNKNOWN for a repository that does not exist', async () => {
    const res = await fetch(`${endpoint}/v2/missing/repo/manifests/latest`, { headers: { Authorization: auth } });
    expect(res.status).toBe(404);
    const e = (await errorsOf(res))[0];
    expect(e?.code).toBe('NAME_UNKNOWN');
    expect(e?.message).toBe(
      "The repository with name 'missing/repo' does not exist in the registry with id '123456789012'",
    );
    const push = await pushImage(endpoint, auth, 'missing', tinyImage('m'), 'v1').catch((err: Error) => err);
    expect(String(push)).toMatch(/blob push failed: 404/);
  });

  it('refuses to move an immutable tag (TAG_INVALID) but accepts the same image again', async () => {
    const a = tinyImage('locked-a');
    const b = tinyImage('locked-b');
    expect((await pushImage(endpoint, auth, 'locked', a, 'v1')).status).toBe(201);
    expect((await pushImage(endpoint, auth, 'locked', a, 'v1')).status).toBe(201);
    const res = await pushImage(endpoint, auth, 'locked', b, 'v1');
    expect(res.status).toBe(400);
    const e = (await errorsOf(res))[0];
    expect(e?.code).toBe('TAG_INVALID');
    expect(e?.message).toBe(
      "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the repository is immutable.",
    );
    const still = await fetch(`${endpoint}/v2/locked/manifests/v1`, {
      method: 'HEAD',
      headers: { Authorization: auth },
    });
    expect(still.headers.get('docker-content-digest')).toBe(a.manifestDigest);
  });

  it('lets an excluded tag move in an IMMUTABLE_WITH_EXCLUSION repository, and no other', async () => {
    const a = tinyImage('excl-a');
    const b = tinyImage('excl-b');
    for (const tag of ['latest', 'v1'])
      expect((await pushImage(endpoint, auth, 'mostly-locked', a, tag)).status).toBe(201);
    expect((await pushImage(endpoint, auth, 'mostly-locked', b, 'latest')).status).toBe(201);
    const res = await pushImage(endpoint, auth, 'mostly-locked', b, 'v1');
    expect(res.status).toBe(400);
    expect((await errorsOf(res))[0]?.message).toBe(
      "The image tag 'v1' already exists in the 'mostly-locked' repository and cannot be overwritten because the tag is immutable.",
    );
  });

  it('deletes a manifest by digest', async () => {
    const x = tinyImage('to-delete');
    await pushImage(endpoint, auth, 'app', x, 'gone');
    const del = await fetch(`${endpoint}/v2/app/manifests/${x.manifestDigest}`, {
      method: 'DELETE',
      headers: { Authorization: auth },
    });
    expect(del.status).toBe(202);
    const res = await fetch(`${endpoint}/v2/app/manifests/gone`, { headers: { Authorization: auth } });
    expect(res.status).toBe(404);
    expect((await errorsOf(res))[0]?.code).toBe('MANIFEST_UNKNOWN');
  });
});

describe('tags, indexes and referrers', () => {
  // ECR (ECR-FACTS.md): pages of 100 when n is absent, an opaque `last` token in Link, tags
  // not sorted, n outside 1–1000 refused with UNSUPPORTED.
  describe('tag lists as ECR pages them', () => {
    const all = Array.from({ length: 250 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const get = (query: string) => fetch(`${endpoint}/v2/tags/tags/list${query}`, { headers: { Authorization: auth } });

    /** Follows Link headers from a first query; returns the pages' tag lists. */
    async function pages(query: string): Promise<string[][]> {
      const out: string[][] = [];
      let res = await get(query);
      for (;;) {
        expect(res.status).toBe(200);
        out.push(((await res.json()) as { tags: string[] }).tags);
        const link = res.headers.get('link');
        if (!link) return out;
        const next = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
        expect(next).toBeDefined();
        res = await fetch(new URL(next as string, endpoint), { headers: { Authorization: auth } });
      }
    }

    beforeAll(async () => {
      const img = tinyImage('tags');
      expect((await pushImage(endpoint, auth, 'tags', img, all[0] as string)).status).toBe(201);
      for (const t of all.slice(1)) {
        // ECR takes 10 manifest PUTs a second per repository: move the endpoint's clock on by
        // a tenth of a second per tag rather than wait 25 s.
        server.advanceClock(100);
        const put = await fetch(`${endpoint}/v2/tags/manifests/${t}`, {
          method: 'PUT',
          headers: { Authorization: auth, 'Content-Type': img.mediaType },
          body: img.manifest,
        });
        expect(put.status).toBe(201);
      }
    });

    it('pages at 100 without n, with an opaque last token, unsorted, every tag once', async () => {
      const first = await get('');
      const link = first.headers.get('link') ?? '';
      const last = new URL(/^<([^>]+)>/.exec(link)?.[1] ?? '', endpoint).searchParams.get('last');
      expect(last).toBeTruthy();
      expect(all).not.toContain(last); // a token, not a tag name
      const got = await pages('');
      expect(got.map((p) => p.length)).toEqual([100, 100, 50]);
      const flat = got.flat();
      expect([...flat].sort()).toEqual(all);
      expect(flat).not.toEqual(all); // not sorted
    });

    it('pages at n when given, and the pages add up to every tag once', async () => {
      const got = await pages('?n=7');
      expect(got.slice(0, -1).every((p) => p.length === 7)).toBe(true);
      expect(got.flat().sort()).toEqual(all);
      expect((await pages('?n=1000')).map((p) => p.length)).toEqual([250]);
    });

    it.each([
      ['1001', 'less than or equal to 1000'],
      ['0', 'greater than or equal to 1'],
    ])('refuses n=%s with UNSUPPORTED, as ECR does', async (n, rule) => {
      const res = await get(`?n=${n}`);
      expect(res.status).toBe(400);
      const [e] = await errorsOf(res);
      expect(e?.code).toBe('UNSUPPORTED');
      expect(e?.message).toBe(
        `1 validation error detected: Value '${n}' at 'maxResults' failed to satisfy constraint: Member must have value ${rule}`,
      );
    });

    it('refuses a last value it did not issue', async () => {
      const res = await get('?last=t010');
      expect(res.status).toBe(400);
      expect((await errorsOf(res))[0]?.code).toBe('UNSUPPORTED');
    });

    it("ecrctl's registry client lists every tag through ECR's pages", async () => {
      const host = new URL(endpoint).host;
      for (const tagPageSize of [undefined, 33]) {
        const client = new RegistryClient({
          credentials: new StaticCredentials({ [host]: { username: 'AWS', password: password() } }),
          ...(tagPageSize ? { tagPageSize } : {}),
        });
        try {
          expect((await client.repository(host, 'tags').listTags()).sort()).toEqual(all);
        } finally {
          await client.close();
        }
      }
    });
  });

  it('stores an index whose children are present, and refuses one whose are not', async () => {
    const amd = tinyImage('multi-amd64');
    const arm = tinyImage('multi-arm64-bigger-layer-seed');
    await pushImage(endpoint, auth, 'multi', amd, 'amd64');
    const index = (children: { digest: string; size: number }[]) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...c })),
        }),
      );
    const both = index([
      { digest: amd.manifestDigest, size: amd.manifest.length },
      { digest: arm.manifestDigest, size: arm.manifest.length },
    ]);
    const refused = await fetch(`${endpoint}/v2/multi/manifests/latest`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
      body: both,
    });
    expect(refused.status).toBe(400);
    expect((await errorsOf(refused))[0]?.code).toBe('MANIFEST_BLOB_UNKNOWN');
    await pushImage(endpoint, auth, 'multi', arm, 'arm64');
    const ok = await fetch(`${endpoint}/v2/multi/manifests/latest`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
      body: both,
    });
    expect(ok.status).toBe(201);
    const d = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'multi', imageIds: [{ imageTag: 'latest' }] }),
    );
    expect(d.imageDetails?.[0]?.imageSizeInBytes).toBe(Math.max(amd.layer.length, arm.layer.length));
    expect(d.imageDetails?.[0]?.imageManifestMediaType).toBe('application/vnd.oci.image.index.v1+json');
  });

  it('lists the referrers of a manifest (OCI 1.1), filtered by artifactType', async () => {
    const subject = tinyImage('refs-subject');
    await pushImage(endpoint, auth, 'refs', subject, 'v1');
    const emptyConfig = Buffer.from('{}');
    const sigBlob = Buffer.from('signature bytes');
    for (const b of [emptyConfig, sigBlob]) {
      await fetch(`${endpoint}/v2/refs/blobs/uploads/?digest=${digestOf(b)}`, {
        method: 'POST',
        headers: { Authorization: auth },
        body: b,
      });
    }
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(emptyConfig), size: 2 },
        layers: [{ mediaType: 'application/octet-stream', digest: digestOf(sigBlob), size: sigBlob.length }],
        subject: { mediaType: subject.mediaType, digest: subject.manifestDigest, size: subject.manifest.length },
        annotations: { 'org.example.signer': 'me' },
      }),
    );
    const put = await fetch(`${endpoint}/v2/refs/manifests/${digestOf(referrer)}`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: referrer,
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.manifestDigest);
    const list = await fetch(`${endpoint}/v2/refs/referrers/${subject.manifestDigest}`, {
      headers: { Authorization: auth },
    });
    expect(list.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    expect(await list.json()).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: digestOf(referrer),
          size: referrer.length,
          artifactType: 'application/vnd.example.signature',
          annotations: { 'org.example.signer': 'me' },
        },
      ],
    });
    const filtered = await fetch(
      `${endpoint}/v2/refs/referrers/${subject.manifestDigest}?artifactType=application/other`,
      {
        headers: { Authorization: auth },
      },
    );
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    const d = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'refs', imageIds: [{ imageDigest: digestOf(referrer) }] }),
    );
    expect(d.imageDetails?.[0]).toMatchObject({
      subjectManifestDigest: subject.manifestDigest,
      artifactMediaType: 'application/vnd.example.signature',
    });
  });
});

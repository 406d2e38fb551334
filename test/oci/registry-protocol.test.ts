// The registry client against scripted loopback servers, for what a real registry will not
// do on demand: dropped downloads, endless manifests, lying digests, a referrers API.
import type http from 'node:http';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, EcrctlError, InterruptedError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { Descriptor } from '../../src/oci/types.js';
import { seededBytes, sha256 } from '../helpers/fixtures.js';
import { type ScriptedServer, scriptedServer } from './transport/scripted-server.js';

const servers: ScriptedServer[] = [];
const clients: RegistryClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void | Promise<void>,
) {
  const s = await scriptedServer(handler);
  servers.push(s);
  return s;
}

function client(logs?: string[]): RegistryClient {
  const c = new RegistryClient({ retry: { baseDelayMs: 5, maxRetries: 3 }, log: (m) => logs?.push(m) });
  clients.push(c);
  return c;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const BLOB = seededBytes(42, 3 * 1024 * 1024);
const BLOB_DESC: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(BLOB), size: BLOB.length };

/** Serves BLOB, dropping the connection after `cut` bytes on the first request. */
function droppingBlobServer(rangeMode: 'honour' | 'ignore' | 'wrong', cut = 1024 * 1024) {
  return serve((req, res, n) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (n === 0) {
      res.writeHead(200, { 'content-length': String(BLOB.length) });
      res.write(BLOB.subarray(0, cut), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    if (range && rangeMode !== 'ignore') {
      const start = rangeMode === 'wrong' ? 0 : Number(range[1]);
      res.writeHead(206, {
        'content-length': String(BLOB.length - start),
        'content-range': `bytes ${start}-${BLOB.length - 1}/${BLOB.length}`,
      });
      res.end(BLOB.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': String(BLOB.length) }).end(BLOB);
  });
}

describe('blob downloads', () => {
  it('resumes a dropped download with Range and hands out one seamless stream', async () => {
    const s = await droppingBlobServer('honour');
    const logs: string[] = [];
    const got = await readAll(await client(logs).repository(s.host, 'app').openBlob(BLOB_DESC));
    expect(sha256(got)).toBe(BLOB_DESC.digest);
    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(s.requests[1]?.headers.range?.slice(6, -1))).toBeGreaterThan(0);
    expect(logs.some((l) => l.includes('resuming'))).toBe(true);
  });

  it('skips what it already handed out when the registry ignores Range', async () => {
    const s = await droppingBlobServer('ignore');
    const got = await readAll(await client().repository(s.host, 'app').openBlob(BLOB_DESC));
    expect(sha256(got)).toBe(BLOB_DESC.digest);
  });

  it('restarts cleanly when the registry answers 206 for the wrong range', async () => {
    const s = await droppingBlobServer('wrong');
    const got = await readAll(await client().repository(s.host, 'app').openBlob(BLOB_DESC));
    expect(sha256(got)).toBe(BLOB_DESC.digest);
    expect(s.requests).toHaveLength(3);
    expect(s.requests[2]?.headers.range).toBeUndefined();
  });

  it('fails the stream after the retries are used up', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-length': String(BLOB.length) });
      res.write(BLOB.subarray(0, 1000), () => setTimeout(() => req.socket.destroy(), 20));
    });
    const stream = await client().repository(s.host, 'app').openBlob(BLOB_DESC);
    await expect(readAll(stream)).rejects.toBeInstanceOf(EcrctlError);
    expect(s.requests).toHaveLength(4);
  });
});

describe('interruption', () => {
  it('ends a download with InterruptedError when the signal aborts mid-stream', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(BLOB.length) });
      res.write(BLOB.subarray(0, 1000));
    });
    const ac = new AbortController();
    const stream = await client().repository(s.host, 'app').openBlob(BLOB_DESC, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(readAll(stream)).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe('blob uploads', () => {
  it('restarts an upload whose PUT was dropped, from the start, in a new session', async () => {
    let sessions = 0;
    const s = await serve((req, res) => {
      if (req.method === 'HEAD') res.writeHead(404).end();
      else if (req.method === 'POST') {
        sessions++;
        res.writeHead(202, { location: `/v2/app/blobs/uploads/s${sessions}` }).end();
      } else if (req.method === 'PUT' && sessions === 1) req.socket.destroy();
      else if (req.method === 'PUT') req.on('end', () => res.writeHead(201).end());
      else res.writeHead(204).end();
    });
    const offsets: number[] = [];
    const result = await client()
      .repository(s.host, 'app')
      .putBlob(BLOB_DESC, async (offset) => {
        offsets.push(offset);
        return Readable.from([BLOB]);
      });
    expect(result).toBe('uploaded');
    expect(offsets).toEqual([0, 0]);
    const puts = s.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.url)).toEqual([
      `/v2/app/blobs/uploads/s1?digest=${encodeURIComponent(BLOB_DESC.digest)}`,
      `/v2/app/blobs/uploads/s2?digest=${encodeURIComponent(BLOB_DESC.digest)}`,
    ]);
    expect(puts[1]?.headers['content-length']).toBe(String(BLOB.length));
    expect(s.requests.some((r) => r.method === 'PATCH')).toBe(false);
    // The dropped session was cancelled.
    expect(s.requests.some((r) => r.method === 'DELETE' && r.url === '/v2/app/blobs/uploads/s1')).toBe(true);
  });
});

describe('manifests', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: [] }));

  it('cuts off a manifest body that never ends', async () => {
    let sent = 0;
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.ociManifest });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed && sent < 64 * 1024 * 1024) res.once('drain', pump);
      };
      pump();
    });
    const err = await client()
      .repository(s.host, 'app')
      .getManifest('v1')
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/larger than 4 MiB/);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses bytes whose Docker-Content-Digest does not match', async () => {
    const s = await serve((_req, res) => {
      res
        .writeHead(200, { 'content-type': MediaType.ociManifest, 'docker-content-digest': sha256('other') })
        .end(manifest);
    });
    await expect(client().repository(s.host, 'app').getManifest('v1')).rejects.toBeInstanceOf(DigestMismatchError);
  });

  it('refuses bytes that do not hash to the digest asked for', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest);
    });
    await expect(client().repository(s.host, 'app').getManifest(sha256('other'))).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
  });

  it('sends every manifest type in Accept, and the media type as Content-Type on PUT', async () => {
    const s = await serve((req, res) => {
      if (req.method === 'PUT') res.writeHead(201, { 'docker-content-digest': sha256(manifest) }).end();
      else res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest);
    });
    const repo = client().repository(s.host, 'app');
    await repo.getManifest('v1');
    await repo.putManifest({ mediaType: MediaType.dockerManifest, digest: sha256(manifest), bytes: manifest }, 'v2');
    const accept = s.requests[0]?.headers.accept ?? '';
    for (const t of [
      MediaType.ociManifest,
      MediaType.ociIndex,
      MediaType.dockerManifest,
      MediaType.dockerManifestList,
    ]) {
      expect(accept).toContain(t);
    }
    expect(s.requests[1]?.headers['content-type']).toBe(MediaType.dockerManifest);
    expect(s.requests[1]?.url).toBe('/v2/app/manifests/v2');
  });
});

describe('referrers API', () => {
  it('reads every page and filters by artifactType when the registry did not', async () => {
    const subject = sha256('subject');
    const d = (n: number, artifactType: string): Descriptor => ({
      mediaType: MediaType.ociManifest,
      digest: sha256(`r${n}`),
      size: 10,
      artifactType,
    });
    const s = await serve((req, res) => {
      const page2 = req.url?.includes('page=2');
      res.writeHead(200, {
        'content-type': MediaType.ociIndex,
        ...(page2 ? {} : { link: `</v2/app/referrers/${subject}?page=2>; rel="next"` }),
      });
      res.end(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: page2 ? [d(3, 'sig')] : [d(1, 'sbom'), d(2, 'sig')],
        }),
      );
    });
    const repo = client().repository(s.host, 'app');
    expect((await repo.listReferrers(subject)).map((x) => x.digest)).toEqual([
      sha256('r1'),
      sha256('r2'),
      sha256('r3'),
    ]);
    expect((await repo.listReferrers(subject, { artifactType: 'sig' })).map((x) => x.digest)).toEqual([
      sha256('r2'),
      sha256('r3'),
    ]);
    expect(s.requests.at(-2)?.url).toBe(`/v2/app/referrers/${subject}?artifactType=sig`);
  });
});

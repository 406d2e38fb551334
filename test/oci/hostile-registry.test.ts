// Hostile registry data, end to end through the CLI where the user sees it: indexes nested
// without end, a manifest that points back at itself, a manifest over 4 MiB, an endless
// manifest body, a redirect loop, a redirect to another host with credentials in its URL.
// Each is refused with a clear message and exit 1, leaving no output behind.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/oci/media-types.js';
import type { ManifestBlob } from '../../src/oci/types.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, type FixtureImage, sha256 } from '../helpers/fixtures.js';
import { type ScriptedServer, scriptedServer } from './transport/scripted-server.js';

let tmp: string;
const servers: ScriptedServer[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-hostile-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const env = (extra: NodeJS.ProcessEnv = {}) => ({
  DOCKER_CONFIG: path.join(tmp, 'no-docker-config'),
  HOME: tmp,
  ...extra,
});

type Special = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

interface Content {
  /** Manifests by tag and by digest. */
  manifests: Map<string, ManifestBlob>;
  blobs: Map<string, Buffer>;
}

function content(): Content {
  return { manifests: new Map(), blobs: new Map() };
}

function addImage(c: Content, image: FixtureImage, tag?: string): void {
  c.manifests.set(image.manifest.digest, image.manifest);
  if (tag) c.manifests.set(tag, image.manifest);
  for (const [d, b] of image.blobs) c.blobs.set(d, b);
}

/** A registry that serves c for any repository; special answers first when it returns true. */
async function fakeRegistry(c: Content, special?: Special): Promise<ScriptedServer> {
  const server = await scriptedServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (special?.(req, res, url)) return;
    if (url.pathname === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const found = m?.[2] === 'manifests' ? c.manifests.get(m[3]!) : m ? c.blobs.get(m[3]!) : undefined;
    if (m === null || found === undefined) {
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}');
    }
    const bytes = Buffer.isBuffer(found) ? found : found.bytes;
    const headers: Record<string, string | number> = { 'content-length': bytes.length };
    if (!Buffer.isBuffer(found)) {
      headers['content-type'] = found.mediaType;
      headers['docker-content-digest'] = sha256(bytes);
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  servers.push(server);
  return server;
}

/** Runs `ecrctl pull` into a fresh parent dir; returns the result and what the parent holds afterwards. */
async function pull(source: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const parent = mkdtempSync(path.join(tmp, 'out-'));
  const out = path.join(parent, 'image');
  const r = await runCli(['pull', source, `oci:${out}`], { env: env(extraEnv), timeoutMs: 30_000 });
  return { ...r, out, left: readdirSync(parent) };
}

function expectCleanFailure(r: Awaited<ReturnType<typeof pull>>, message: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr).toMatch(message);
  expect(existsSync(r.out)).toBe(false);
  expect(r.left).toEqual([]);
}

describe('hostile manifests', () => {
  it('refuses indexes nested without end', async () => {
    const c = content();
    const image = buildImage(501, { layers: 1 });
    addImage(c, image);
    let top: ManifestBlob = image.manifest;
    let topSize = image.descriptor;
    for (let level = 0; level < 8; level++) {
      const bytes = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [topSize] }),
      );
      top = { mediaType: MediaType.ociIndex, digest: sha256(bytes), bytes };
      topSize = { mediaType: MediaType.ociIndex, digest: top.digest, size: bytes.length };
      c.manifests.set(top.digest, top);
    }
    c.manifests.set('deep', top);
    const reg = await fakeRegistry(c);
    expectCleanFailure(await pull(`${reg.host}/h/app:deep`), /nests more than 4 levels of indexes/);
  });

  it('refuses an index entry the registry answers with the index itself', async () => {
    const c = content();
    const fake = `sha256:${'ab'.repeat(32)}`;
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [{ mediaType: MediaType.ociIndex, digest: fake, size: 200 }],
      }),
    );
    const self: ManifestBlob = { mediaType: MediaType.ociIndex, digest: sha256(bytes), bytes };
    c.manifests.set('loop', self);
    c.manifests.set(fake, self); // a lie: these bytes do not hash to `fake`
    const reg = await fakeRegistry(c);
    expectCleanFailure(await pull(`${reg.host}/h/app:loop`), /hash to sha256:[0-9a-f]{64}/);
  });

  it('copies an index that lists one image twice (two platforms, one manifest)', async () => {
    const c = content();
    const image = buildImage(502, { layers: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } });
    addImage(c, image);
    const twice = buildIndex([
      image,
      { ...image, descriptor: { ...image.descriptor, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } } },
    ]);
    c.manifests.set('twice', twice);
    c.manifests.set(twice.digest, twice);
    const reg = await fakeRegistry(c);
    const r = await pull(`${reg.host}/h/app:twice`);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
  });

  it('refuses a manifest over 4 MiB', async () => {
    const c = content();
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        annotations: { pad: 'x'.repeat(5 * 1024 * 1024) },
      }),
    );
    c.manifests.set('huge', { mediaType: MediaType.ociManifest, digest: sha256(bytes), bytes });
    const reg = await fakeRegistry(c);
    expectCleanFailure(await pull(`${reg.host}/h/app:huge`), /larger than 4 MiB; refusing to read it/);
  });

  it('cuts off an endless manifest body and says so (inspect)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const reg = await fakeRegistry(content(), (req, res, url) => {
      if (!url.pathname.endsWith('/manifests/endless')) return false;
      res.writeHead(200, { 'content-type': MediaType.ociManifest });
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      req.socket.on('close', () => res.destroy());
      pump();
      return true;
    });
    const started = performance.now();
    const r = await runCli(['inspect', `${reg.host}/h/app:endless`], { env: env(), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/larger than 4 MiB; refusing to read it/);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});

describe('hostile redirects', () => {
  it('stops a redirect loop on a blob download', async () => {
    const c = content();
    const image = buildImage(503, { layers: 1 });
    addImage(c, image, 'v1');
    const layer = image.layers[0]!.descriptor.digest;
    const reg = await fakeRegistry(c, (_req, res, url) => {
      if (url.pathname.endsWith(`/blobs/${layer}`) || url.pathname.startsWith('/loop/')) {
        res.writeHead(307, { location: url.pathname === '/loop/a' ? '/loop/b' : '/loop/a' }).end();
        return true;
      }
      return false;
    });
    expectCleanFailure(await pull(`${reg.host}/h/app:v1`), /redirected in a loop/);
  });

  it('never sends the registry credentials to the host a redirect names, even with credentials in its URL', async () => {
    const c = content();
    const image = buildImage(504, { layers: 1 });
    addImage(c, image, 'v1');
    const layer = image.layers[0]!.descriptor.digest;
    const storage = await scriptedServer((_req, res) => {
      res.writeHead(200, { 'content-length': c.blobs.get(layer)!.length }).end(c.blobs.get(layer));
    });
    servers.push(storage);
    const password = 'registry-password-1234';
    const reg = await fakeRegistry(c, (req, res, url) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`tester:${password}`).toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="hostile"' }).end();
        return true;
      }
      if (url.pathname.endsWith(`/blobs/${layer}`)) {
        // Another host (localhost, not 127.0.0.1), with user:password in the URL itself.
        res
          .writeHead(307, {
            location: `http://evil:stolen@localhost:${storage.host.split(':')[1]}/s/${layer}?X-Amz-Signature=abc`,
          })
          .end();
        return true;
      }
      return false;
    });
    const dockerConfig = path.join(tmp, `docker-${reg.host.replace(':', '-')}`);
    mkdirSync(dockerConfig, { recursive: true });
    writeFileSync(
      path.join(dockerConfig, 'config.json'),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`tester:${password}`).toString('base64') } } }),
    );
    const r = await pull(`${reg.host}/h/app:v1`, { DOCKER_CONFIG: dockerConfig });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(storage.requests.length).toBeGreaterThan(0);
    for (const q of storage.requests) expect(q.headers.authorization).toBeUndefined();
    // The registry itself did get the credentials.
    expect(reg.requests.some((q) => q.headers.authorization?.startsWith('Basic '))).toBe(true);
  });
});

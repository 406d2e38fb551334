// A layer larger than 4 GiB goes up as one streamed PUT without being held in memory: the
// copy engine reads it from a generated stream (4.1 GiB of cheap bytes, digest precomputed by
// hashing the same generator once) and a loopback sink counts and hashes what arrives. The
// Content-Length must be the exact size (> 2^32: no 32-bit overflow anywhere on the way) and
// the process's RSS must stay flat.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage } from '../../src/oci/copy.js';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { ImageSource } from '../../src/oci/store.js';
import type { Descriptor, ManifestBlob } from '../../src/oci/types.js';

const SIZE = Math.floor(4.1 * 1024 ** 3); // 4,402,341,478 bytes: past 2^32 and not a whole number of chunks
const CHUNK = 1024 * 1024;
const pattern = Buffer.alloc(CHUNK, 0);
for (let i = 0; i < CHUNK; i++) pattern[i] = (i * 31 + 7) % 251;

/** Yields SIZE bytes: the same 1 MiB buffer again and again (nothing is ever allocated per chunk). */
function* generate(): Generator<Buffer> {
  for (let left = SIZE; left > 0; left -= CHUNK) yield left >= CHUNK ? pattern : pattern.subarray(0, left);
}

interface Sink {
  host: string;
  received: { contentLength?: string; bytes: number; digest?: string };
  stop(): Promise<void>;
}

/** A registry that accepts one blob upload and a manifest, counting and hashing the bytes. */
async function startSink(): Promise<Sink> {
  const received: Sink['received'] = { bytes: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'HEAD') return void res.writeHead(404).end();
    if (req.method === 'POST')
      return void req.resume().on('end', () => res.writeHead(202, { location: '/v2/big/blobs/uploads/1' }).end());
    const hash = createHash('sha256');
    let bytes = 0;
    const isBlob = url.pathname.includes('/blobs/');
    // The layer's upload (the config, 78 bytes, may go before or after it).
    if (isBlob && Number(req.headers['content-length'] ?? 0) > 1000)
      received.contentLength = req.headers['content-length'];
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => {
      const digest = `sha256:${hash.digest('hex')}`;
      if (isBlob && url.searchParams.get('digest') !== digest && bytes > 1000) {
        received.bytes = bytes;
        received.digest = digest;
        return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID","message":"mismatch"}]}');
      }
      if (isBlob && bytes > 1000) {
        received.bytes = bytes;
        received.digest = digest;
      }
      res.writeHead(201, { 'docker-content-digest': digest }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

let sink: Sink;
let layer: Descriptor;

beforeAll(async () => {
  sink = await startSink();
  const hash = createHash('sha256');
  for (const chunk of generate()) hash.update(chunk);
  layer = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${hash.digest('hex')}`, size: SIZE };
}, 120_000);
afterAll(async () => {
  await sink?.stop();
});

describe('an upload larger than 4 GiB', () => {
  it('streams with the exact Content-Length, the right digest and flat memory', async () => {
    const configBytes = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const config: Descriptor = {
      mediaType: MediaType.ociConfig,
      digest: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
      size: configBytes.length,
    };
    const manifestBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
    );
    const manifest: ManifestBlob = {
      mediaType: MediaType.ociManifest,
      digest: `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`,
      bytes: manifestBytes,
    };
    const source: ImageSource = {
      displayName: 'generated',
      getManifest: async () => manifest,
      openBlob: async (d) =>
        d.digest === layer.digest ? Readable.from(generate(), { objectMode: false }) : Readable.from([configBytes]),
      listTags: async () => ['v1'],
    };

    const client = new RegistryClient();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    try {
      const summary = await copyImage(source, 'v1', client.repository(sink.host, 'big'), { tags: ['v1'] });
      expect(summary.bytesUploaded).toBe(SIZE + configBytes.length);
    } finally {
      clearInterval(sampler);
      await client.close();
    }
    expect(sink.received.contentLength).toBe(String(SIZE));
    expect(SIZE).toBeGreaterThan(2 ** 32);
    expect(sink.received.bytes).toBe(SIZE);
    expect(sink.received.digest).toBe(layer.digest);
    // Both ends of the transfer live in this process; together they stay well under 4 GiB.
    expect(peak - baseline).toBeLessThan(100 * 1024 * 1024);
  }, 240_000);
});

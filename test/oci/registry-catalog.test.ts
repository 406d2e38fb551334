// RegistryClient.catalog against Debian's docker-registry: every page of /v2/_catalog.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/oci/registry.js';
import { buildImage } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';

let reg: StartedRegistry;
const client = new RegistryClient({ retry: { maxRetries: 0 } });
const NAMES = ['acme/api', 'acme/web', 'base/alpine', 'tools'];

beforeAll(async () => {
  reg = await startRegistry();
  for (const [i, name] of NAMES.entries()) {
    const image = buildImage(40 + i);
    const repo = client.repository(reg.host, name);
    for (const [digest, bytes] of image.blobs) {
      await repo.putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
        Readable.from([bytes]),
      );
    }
    await repo.putManifest(image.manifest, 'v1');
  }
});
afterAll(async () => {
  await client.close();
  await reg?.stop();
});

describe('RegistryClient.catalog', () => {
  it('lists every repository, in one page or following Link pages of one name', async () => {
    expect(await client.catalog(reg.host)).toEqual(NAMES);
    expect(await client.catalog(reg.host, { pageSize: 1 })).toEqual(NAMES);
  });

  it('answers an empty list for an empty registry, and says which host it cannot reach', async () => {
    const bare = await startRegistry();
    try {
      expect(await client.catalog(bare.host)).toEqual([]);
    } finally {
      await bare.stop();
    }
    await expect(client.catalog('127.0.0.1:9')).rejects.toThrow('cannot connect to 127.0.0.1:9: connection refused');
  });
});

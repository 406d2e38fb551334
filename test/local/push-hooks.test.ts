// The afterPush event of the image rules: putManifest fires the context's hooks, in order,
// once the push is stored and persisted, and not for the writes ECR makes itself (replicas).
// Replication and signing themselves subscribe to it (see replication.test.ts, signing.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AfterPushHook, LocalContext, PushEvent } from '../../src/local/context.js';
import { putManifest } from '../../src/local/images.js';
import { defaultAfterPushHooks, replicateAfterPush, signAfterPush } from '../../src/local/push-hooks.js';
import { type RegistryRecord, Store } from '../../src/local/store.js';
import { tempDir, tinyImage } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let registry: RegistryRecord;

beforeEach(async () => {
  tmp = tempDir();
  store = await Store.open(tmp.dir);
  registry = store.registry('private', '123456789012', 'us-east-1');
  registry.repositories.app = {
    name: 'app',
    createdAt: 0,
    imageTagMutability: 'MUTABLE',
    scanOnPush: false,
    encryption: { encryptionType: 'AES256' },
    resourceTags: [],
    images: {},
    tags: {},
    blobs: {},
  };
});
afterEach(async () => {
  await store.close();
  tmp.remove();
});

function contextWith(afterPush: AfterPushHook[]): LocalContext {
  return {
    store,
    account: '123456789012',
    tokenTtlMs: 1000,
    uploads: new Map(),
    calls: [],
    requests: [],
    faults: [],
    now: () => 1_700_000_000_000,
    advanceClock: () => {},
    log: () => {},
    registryEndpoint: async () => 'http://127.0.0.1:1',
    afterPush,
  };
}

/** Pushes the blobs of a tiny image into repository 'app' (records only) and returns its manifest. */
async function withBlobs(seed: string): Promise<Buffer> {
  const image = tinyImage(seed);
  for (const [digest, bytes] of [
    [image.layerDigest, image.layer],
    [image.configDigest, image.config],
  ] as const) {
    await store.writeBlob(bytes);
    registry.repositories.app!.blobs[digest] = bytes.length;
  }
  return image.manifest;
}

describe('afterPush', () => {
  it('runs each hook in order after the manifest is stored, with what was pushed', async () => {
    const seen: string[] = [];
    const events: PushEvent[] = [];
    const ctx = contextWith([
      async (c, e) => {
        expect(c).toBe(ctx);
        // The push has landed before any hook runs.
        expect(registry.repositories.app?.images[e.image.digest]).toBe(e.image);
        if (e.tag !== undefined) expect(registry.repositories.app?.tags[e.tag]?.digest).toBe(e.image.digest);
        seen.push('first');
        events.push(e);
      },
      async () => {
        seen.push('second');
      },
    ]);
    const bytes = await withBlobs('a');
    const { image, created } = await putManifest(ctx, {
      registry,
      repository: 'app',
      bytes,
      tag: 'v1',
      refuseNoop: false,
    });
    expect(created).toBe(true);
    expect(seen).toEqual(['first', 'second']);
    expect(events).toEqual([{ registry, repository: 'app', image, tag: 'v1', created: true }]);

    await putManifest(ctx, { registry, repository: 'app', bytes, refuseNoop: false });
    expect(events[1]).toMatchObject({ tag: undefined, created: false, image });
  });

  it('does not run for a replica (ECR writes it itself), nor for a refused push', async () => {
    const events: PushEvent[] = [];
    const ctx = contextWith([async (_c, e) => void events.push(e)]);
    const bytes = await withBlobs('b');
    await putManifest(ctx, { registry, repository: 'app', bytes, tag: 'r', refuseNoop: false, replica: true });
    await expect(putManifest(ctx, { registry, repository: 'app', bytes, tag: 'r', refuseNoop: true })).rejects.toThrow(
      /already exists/,
    );
    expect(events).toEqual([]);
  });

  it('the server subscribes replication, then signing', () => {
    expect(defaultAfterPushHooks()).toEqual([replicateAfterPush, signAfterPush]);
  });
});

// The blob journal of `sync apply` (src/ops/sync-copy.ts) and the adaptive token bucket it
// paces with (src/oci/pacing.ts): what lands on disk, what a rerun reads back, how a torn
// line from a kill is read past, and how the rate falls and recovers.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/oci/pacing.js';
import { BlobJournal, journalKey, syncPacing } from '../../src/ops/sync-copy.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-copy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('BlobJournal', () => {
  it('appends one line per blob and repository, and a reopened journal knows them (every shard’s)', async () => {
    const dir = path.join(tmp, 'state');
    const key = journalKey(path.join(tmp, 'sync.yaml'));
    const one = await BlobJournal.open(dir, key, '-shard-1-of-2');
    await one.record('reg:5000', 'mirror/a', A);
    await one.record('reg:5000', 'mirror/a', A);
    await one.record('reg:5000', 'mirror/b', B);
    // The image holding A is stored in mirror/a: A can be mounted from there.
    await one.recordImage('reg:5000', 'mirror/a', [A]);
    await one.close();
    const two = await BlobJournal.open(dir, key, '-shard-2-of-2');
    await two.record('reg:5000', 'mirror/c', A);
    await two.close();
    expect(readdirSync(dir).sort()).toEqual([`${key}-shard-1-of-2.blobs.jsonl`, `${key}-shard-2-of-2.blobs.jsonl`]);
    const lines = readFileSync(one.file!, 'utf8').split('\n');
    expect(lines).toEqual([
      JSON.stringify({ blob: A, registry: 'reg:5000', repository: 'mirror/a' }),
      JSON.stringify({ blob: B, registry: 'reg:5000', repository: 'mirror/b' }),
      JSON.stringify({ blob: A, registry: 'reg:5000', repository: 'mirror/a', image: true }),
      '',
    ]);
    const again = await BlobJournal.open(dir, key, '');
    expect(again.has('reg:5000', 'mirror/a', A)).toBe(true);
    expect(again.has('reg:5000', 'mirror/c', A)).toBe(true);
    expect(again.has('reg:5000', 'mirror/b', A)).toBe(false);
    expect(again.has('other:5000', 'mirror/a', A)).toBe(false);
    // A repository that lacks the blob can mount it from one whose stored image holds it
    // (mirror/c holds A too, but no image of it is recorded yet).
    expect(again.holder('reg:5000', 'mirror/b', A)).toBe('mirror/a');
    expect(again.holder('reg:5000', 'mirror/a', A)).toBeUndefined();
    expect(again.holder('reg:5000', 'mirror/a', B)).toBeUndefined();
    again.forget('reg:5000', 'mirror/a');
    expect(again.has('reg:5000', 'mirror/a', A)).toBe(false);
    // Another config's journals are not read.
    const other = await BlobJournal.open(dir, journalKey(path.join(tmp, 'other.yaml')), '');
    expect(other.has('reg:5000', 'mirror/a', A)).toBe(false);
  });

  it('reads past the torn last line of a killed run and starts the next record on its own line', async () => {
    const dir = path.join(tmp, 'torn');
    const key = journalKey(path.join(tmp, 'torn.yaml'));
    const j = await BlobJournal.open(dir, key, '');
    await j.record('reg:5000', 'x', A);
    await j.close();
    writeFileSync(j.file!, `${readFileSync(j.file!, 'utf8')}{"blob":"sha256:bbbb`);
    const k = await BlobJournal.open(dir, key, '');
    expect(k.has('reg:5000', 'x', A)).toBe(true);
    await k.record('reg:5000', 'x', B);
    await k.close();
    const lines = readFileSync(j.file!, 'utf8').split('\n');
    expect(lines.slice(1)).toEqual([
      '{"blob":"sha256:bbbb',
      JSON.stringify({ blob: B, registry: 'reg:5000', repository: 'x' }),
      '',
    ]);
  });

  it('a journal of one run only (no --state) remembers blobs but writes no file', async () => {
    const j = BlobJournal.memory();
    await j.record('reg:5000', 'x', A);
    expect(j.file).toBeUndefined();
    expect(j.holder('reg:5000', 'y', A)).toBeUndefined();
    await j.recordImage('reg:5000', 'x', [A]);
    expect(j.holder('reg:5000', 'y', A)).toBe('x');
    await j.close();
  });
});

describe('pacing', () => {
  it('a throttled bucket halves its rate down to the floor, and wins it back step by step', () => {
    const b = new TokenBucket({ ratePerSecond: 8, minRatePerSecond: 1.5, now: () => 0, sleep: async () => {} });
    b.throttled();
    expect(b.rate).toBe(4);
    b.throttled();
    b.throttled();
    expect(b.rate).toBe(1.5);
    for (let i = 0; i < 3; i++) b.succeeded();
    expect(b.rate).toBeCloseTo(1.5 + 3 * 0.4);
    for (let i = 0; i < 100; i++) b.succeeded();
    expect(b.rate).toBe(8);
  });

  it('waits for a token at the rate: 4 takes at 2/s from a burst of 1 sleep 1.5 s in all', async () => {
    let now = 0;
    const slept: number[] = [];
    const b = new TokenBucket({
      ratePerSecond: 2,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 4; i++) await b.take();
    expect(slept).toEqual([500, 500, 500]);
  });

  it('a sharded run starts with no buckets and divides by the shard count', () => {
    const p = syncPacing(3);
    expect(p.shards).toBe(3);
    expect(p.buckets.size).toBe(0);
    expect(syncPacing(0).shards).toBe(1);
  });
});

// Issue 12: throttling. ECR's ThrottlingException (API) and `toomanyrequests: Rate exceeded`
// (registry, 429) are retried with backoff; manifest PUTs to ECR (PutImage, 10 per second per
// repository) are paced under that rate — by a token bucket, tested with a fake clock and
// end to end by the PUT times the endpoint records.
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECR_PUT_IMAGE_RATE, TokenBucket } from '../../src/oci/pacing.js';
import { retrySettings } from '../../src/ecr/clients.js';
import { makeImages } from '../cli/repos-fixtures.js';
import { type FieldEnv, requestsOf, startField } from './field-env.js';

let f: FieldEnv;
let host: string;

beforeAll(async () => {
  f = await startField('throttle');
  host = await f.host();
  for (const r of ['field/promote', 'field/push429', 'field/many', 'field/copied']) await f.createRepo(r);
});
afterAll(async () => {
  await f.close();
});

/** Returns the largest number of times that fall within any window of windowMs. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while ((sorted[j] as number) - (sorted[i] as number) >= windowMs) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

describe('throttling is retried with backoff', () => {
  it('the SDK clients retry in adaptive mode (AWS_MAX_ATTEMPTS / AWS_RETRY_MODE override)', () => {
    expect(retrySettings({})).toEqual({ maxAttempts: 6, retryMode: 'adaptive' });
    expect(retrySettings({ AWS_MAX_ATTEMPTS: '3', AWS_RETRY_MODE: 'standard' })).toEqual({
      maxAttempts: 3,
      retryMode: 'standard',
    });
    expect(retrySettings({ AWS_MAX_ATTEMPTS: 'lots' }).maxAttempts).toBe(6);
  });

  it('promote succeeds when PutImage is throttled twice (ThrottlingException), on the third attempt', async () => {
    await makeImages(f.ecr(), 'field/promote', 1, { tags: () => ['main-1'] });
    f.server.faults.push({ operation: 'ecr:PutImage', kind: 'throttle', times: 2 });
    const before = requestsOf(f.server, 'ecr:PutImage').length;
    const r = await f.cli(['promote', `field/promote:main-1`, 'staging', '--endpoint-url', f.server.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(requestsOf(f.server, 'ecr:PutImage').length - before).toBe(3);
    const images = await f.ecr().send(new DescribeImagesCommand({ repositoryName: 'field/promote' }));
    expect(images.imageDetails?.[0]?.imageTags?.sort()).toEqual(['main-1', 'staging']);
  });

  it('tag-push succeeds when the registry answers 429 "toomanyrequests: Rate exceeded" twice on the manifest PUT', async () => {
    const { ref, image } = f.layout('push429', 3);
    f.server.faults.push({ operation: 'registry:PUT manifests', kind: 'throttle', times: 2 });
    const r = await f.cli(['tag-push', ref, `${host}/field/push429:v1`, '--endpoint-url', f.server.url]);
    expect(r.code, r.stderr).toBe(0);
    const puts = requestsOf(f.server, 'registry:PUT manifests').filter((q) => q.repository === 'field/push429');
    expect(puts).toHaveLength(3);
    // Backoff: the retries are spread out, not fired back to back.
    expect((puts[2]?.at ?? 0) - (puts[0]?.at ?? 0)).toBeGreaterThan(100);
    const images = await f.ecr().send(new DescribeImagesCommand({ repositoryName: 'field/push429' }));
    expect(images.imageDetails?.map((d) => d.imageDigest)).toEqual([image.manifest.digest]);
  });
});

describe('manifest PUTs to ECR are paced under PutImage 10/s per repository', () => {
  it('the token bucket hands out at most 10 tokens in any second (fake clock)', async () => {
    let now = 1_000_000;
    const granted: number[] = [];
    const bucket = new TokenBucket({
      ratePerSecond: ECR_PUT_IMAGE_RATE.perSecond * ECR_PUT_IMAGE_RATE.headroom,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await Promise.all(Array.from({ length: 40 }, () => bucket.take().then(() => granted.push(now))));
    expect(granted).toHaveLength(40);
    expect(busiestWindow(granted, 1000)).toBeLessThanOrEqual(10);
    // …and it does not crawl: 40 tokens in a little over 4 seconds.
    expect((granted.at(-1) as number) - (granted[0] as number)).toBeLessThan(4_300);
    // After a quiet spell the first token is immediate.
    now += 5_000;
    const t = now;
    await bucket.take();
    expect(now).toBe(t);
  });

  it('tag-push with 25 tags and copy --all-tags of them never exceed 10 manifest PUTs per second', async () => {
    const { ref } = f.layout('many', 5);
    const tags = Array.from({ length: 25 }, (_, i) => `t${i}`);
    const push = await f.cli([
      'tag-push',
      ref,
      `${host}/field/many:t0`,
      ...tags.slice(1).flatMap((t) => ['--tag', t]),
      '--endpoint-url',
      f.server.url,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const pushPuts = requestsOf(f.server, 'registry:PUT manifests')
      .filter((q) => q.repository === 'field/many')
      .map((q) => q.at);
    expect(pushPuts.length).toBeGreaterThanOrEqual(25);
    expect(busiestWindow(pushPuts, 1000)).toBeLessThanOrEqual(10);

    const copy = await f.cli([
      'copy',
      '--all-tags',
      `${host}/field/many`,
      `${host}/field/copied`,
      '--endpoint-url',
      f.server.url,
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    const copyPuts = requestsOf(f.server, 'registry:PUT manifests')
      .filter((q) => q.repository === 'field/copied')
      .map((q) => q.at);
    expect(copyPuts.length).toBeGreaterThanOrEqual(25);
    expect(busiestWindow(copyPuts, 1000)).toBeLessThanOrEqual(10);
    const images = await f.ecr().send(new DescribeImagesCommand({ repositoryName: 'field/copied' }));
    expect(images.imageDetails?.[0]?.imageTags?.sort()).toEqual([...tags].sort());
  }, 60_000);
});

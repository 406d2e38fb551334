// The repository and image adapters against `ecrctl local` (paging with a small page size,
// batches, failures, not-found as undefined), and their pure helpers by table.
import * as sdk from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countImagesOf,
  deleteImages,
  filterImages,
  type ImageSummary,
  listImages,
  parseSince,
  sortImages,
} from '../../src/ecr/images.js';
import { logoProblems, normalizeArchitecture, pngDimensions } from '../../src/ecr/public-repositories.js';
import {
  canonicalJson,
  createRepository,
  describeRepository,
  type EcrConnection,
  getLifecyclePolicy,
  getRepositoryPolicy,
  globToRegExp,
  listRepositories,
  planRepositoryChanges,
  type RepositoryInfo,
} from '../../src/ecr/repositories.js';
import { parsePresetSpec } from '../../src/policy/policy-text.js';
import { makeImages, pngBytes, type RepoTestEnv, sha256, startRepoEnv } from '../cli/repos-fixtures.js';

let env: RepoTestEnv;
let conn: EcrConnection;

beforeAll(async () => {
  env = await startRepoEnv();
  conn = { client: env.ecr, sdk, region: 'us-east-1', pageSize: 7 };
});
afterAll(async () => {
  await env.close();
});

const calls = (op: string) => env.server.calls.filter((c) => c === `ecr:${op}`).length;

describe('repository adapter', () => {
  it('walks every page of DescribeRepositories', async () => {
    for (let i = 0; i < 20; i++)
      expect((await createRepository(conn, { name: `page/r${String(i).padStart(2, '0')}` })).created).toBe(true);
    const before = calls('DescribeRepositories');
    const all = await listRepositories(conn);
    expect(all.map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `page/r${String(i).padStart(2, '0')}`));
    expect(calls('DescribeRepositories') - before).toBe(3); // 7 + 7 + 6
    expect(all[0]).toMatchObject({
      tagMutability: 'MUTABLE',
      scanOnPush: false,
      encryption: { type: 'AES256' },
      mutabilityExclusions: [],
    });
  });

  it('answers "already exists" and "not found" as values, not errors', async () => {
    expect(await createRepository(conn, { name: 'page/r00' })).toEqual({ created: false });
    expect(await describeRepository(conn, 'page/none')).toBeUndefined();
    expect(await getLifecyclePolicy(conn, 'page/r00')).toBeUndefined();
    expect(await getRepositoryPolicy(conn, 'page/r00')).toBeUndefined();
    await expect(listImages(conn, 'page/none')).rejects.toMatchObject({ name: 'NotFoundError', exitCode: 6 });
  });

  it('passes registryId on calls', async () => {
    const other = { ...conn, registryId: '210987654321' };
    expect(await listRepositories(other)).toEqual([]);
    expect((await createRepository(other, { name: 'page/r00' })).created).toBe(true);
  });
});

describe('image adapter', () => {
  it('walks every page of DescribeImages and counts with bounded concurrency', async () => {
    await createRepository(conn, { name: 'imgs' });
    await makeImages(env.ecr, 'imgs', 17, { tags: (i) => (i % 2 === 0 ? [`t${i}`] : []) });
    const before = calls('DescribeImages');
    const images = await listImages(conn, 'imgs');
    expect(images).toHaveLength(17);
    expect(calls('DescribeImages') - before).toBe(3);
    expect(await listImages(conn, 'imgs', { tagStatus: 'UNTAGGED' })).toHaveLength(8);
    const counts = await countImagesOf(conn, ['imgs', 'page/r01', 'page/r02'], 2);
    expect([...counts].sort()).toEqual([
      ['imgs', 17],
      ['page/r01', 0],
      ['page/r02', 0],
    ]);
  });

  it('deletes in batches of 100 and returns each failure', async () => {
    await createRepository(conn, { name: 'batch' });
    const made = await makeImages(env.ecr, 'batch', 205);
    const missing = sha256('not there');
    const before = calls('BatchDeleteImage');
    const result = await deleteImages(conn, 'batch', [...made.map((m) => ({ digest: m.digest })), { digest: missing }]);
    expect(calls('BatchDeleteImage') - before).toBe(3);
    expect(result.deleted).toHaveLength(205);
    expect(result.failures).toEqual([
      { id: { digest: missing }, code: 'ImageNotFound', reason: 'Requested image not found' },
    ]);
  });
});

const info: RepositoryInfo = {
  name: 'app',
  uri: 'h/app',
  arn: 'arn',
  registryId: '123456789012',
  tagMutability: 'MUTABLE',
  mutabilityExclusions: [],
  scanOnPush: false,
  encryption: { type: 'AES256' },
};

describe('planRepositoryChanges', () => {
  it.each([
    ['nothing asked', {}, {}, []],
    ['same mutability', { info: { ...info, tagMutability: 'IMMUTABLE' } }, { tagMutability: 'IMMUTABLE' as const }, []],
    ['mutability', {}, { tagMutability: 'IMMUTABLE' as const }, ['tag mutability MUTABLE → IMMUTABLE']],
    [
      'exclusions only',
      { info: { ...info, tagMutability: 'IMMUTABLE_WITH_EXCLUSION', mutabilityExclusions: ['a*'] } },
      { tagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const, mutabilityExclusions: ['b*'] },
      ['tag mutability IMMUTABLE_WITH_EXCLUSION (a*) → IMMUTABLE_WITH_EXCLUSION (b*)'],
    ],
    ['scan', {}, { scanOnPush: true }, ['scan on push off → on']],
    [
      'lifecycle equal modulo formatting',
      { lifecyclePolicy: '{"rules": [ ]}' },
      { lifecyclePolicy: '{"rules":[]}' },
      [],
    ],
    ['policy missing', { policy: null }, { policy: '{"Statement":[]}' }, ['repository policy: none → set']],
    ['policy key order', { policy: '{"b":1,"a":2}' }, { policy: '{"a":2,"b":1}' }, []],
    [
      'tags',
      {
        tags: [
          { key: 'a', value: '1' },
          { key: 'keep', value: 'x' },
        ],
      },
      {
        tags: [
          { key: 'a', value: '2' },
          { key: 'n', value: '' },
        ],
      },
      ['resource tags: a=1 → 2, +n='],
    ],
  ])('%s', (_what, state, spec, expected) => {
    const plan = planRepositoryChanges({ info, ...state }, { name: 'app', ...spec });
    expect(plan.changes.map((c) => c.description)).toEqual(expected);
    expect(plan.warnings).toEqual([]);
  });

  it('warns (and changes nothing) when encryption differs', () => {
    const plan = planRepositoryChanges({ info }, { name: 'app', encryption: { type: 'KMS' } });
    expect(plan.changes).toEqual([]);
    expect(plan.warnings[0]).toContain(
      'encrypted with AES256, not KMS: encryption is set when a repository is created and cannot be changed',
    );
  });
});

describe('pure helpers', () => {
  it.each([
    ['team/*', 'team/app', true],
    ['team/*', 'team', false],
    ['*api', 'team/payment-api', true],
    ['a?c', 'abc', true],
    ['a.c', 'abc', false],
  ])('glob %s matches %s: %s', (glob, name, match) => {
    expect(globToRegExp(glob).test(name)).toBe(match);
  });

  it('canonicalJson ignores whitespace and key order', () => {
    expect(canonicalJson('{ "b": [1, {"d":1,"c":2}], "a": null }')).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  const now = new Date('2025-06-15T12:00:00Z');
  it.each([
    ['7d', '2025-06-08T12:00:00.000Z'],
    ['12h', '2025-06-15T00:00:00.000Z'],
    ['30m', '2025-06-15T11:30:00.000Z'],
    ['2w', '2025-06-01T12:00:00.000Z'],
    ['2025-01-31', '2025-01-31T00:00:00.000Z'],
  ])('parseSince(%s)', (text, iso) => {
    expect(parseSince(text, now).toISOString()).toBe(iso);
  });

  it('sorts and filters images', () => {
    const img = (digest: string, tags: string[], size: number, at: string): ImageSummary => ({
      repository: 'r',
      digest,
      tags,
      sizeBytes: size,
      pushedAt: new Date(at),
    });
    const list = [
      img('a', ['v2'], 10, '2025-01-01'),
      img('b', [], 30, '2025-03-01'),
      img('c', ['v10'], 20, '2025-02-01'),
    ];
    expect(sortImages(list).map((i) => i.digest)).toEqual(['b', 'c', 'a']);
    expect(sortImages(list, 'size').map((i) => i.digest)).toEqual(['b', 'c', 'a']);
    expect(sortImages(list, 'tag').map((i) => i.digest)).toEqual(['a', 'c', 'b']);
    expect(filterImages(list, { since: new Date('2025-02-01') }).map((i) => i.digest)).toEqual(['b', 'c']);
    expect(filterImages(list, { untagged: true }).map((i) => i.digest)).toEqual(['b']);
  });

  it('reads PNG dimensions from the IHDR chunk and checks logo limits', () => {
    expect(pngDimensions(pngBytes(300, 200))).toEqual({ width: 300, height: 200 });
    expect(pngDimensions(Buffer.from('GIF89a....................'))).toBeUndefined();
    expect(logoProblems(pngBytes(60, 2048), 'l.png')).toEqual([]);
    expect(logoProblems(pngBytes(59, 2049), 'l.png')).toEqual([
      'l.png is 59×2049 px: its width 59 px is outside 60–2048 px',
      'l.png is 59×2049 px: its height 2049 px is outside 60–2048 px',
    ]);
  });

  it.each([
    ['ARM64', 'ARM 64'],
    ['arm 64', 'ARM 64'],
    ['x86_64', 'x86-64'],
    ['X86', 'x86'],
    ['arm', 'ARM'],
  ])('normalizeArchitecture(%s) = %s', (text, arch) => {
    expect(normalizeArchitecture(text)).toBe(arch);
  });

  it('parses preset specs, keeping commas inside values', () => {
    expect(parsePresetSpec('preset:keep-last-n-per-major,majors=1,2,3,count=4')).toEqual({
      name: 'keep-last-n-per-major',
      params: { majors: '1,2,3', count: '4' },
    });
    expect(parsePresetSpec('preset:expire-untagged')).toEqual({ name: 'expire-untagged', params: {} });
  });
});

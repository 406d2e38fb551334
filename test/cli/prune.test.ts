// `ecrctl prune` on loopback against the aged estate of test/ops/inventory-fixtures.ts:
// the dry run lists exactly the stale team/* images minus what pods.json runs, with reasons,
// and deletes nothing; --apply deletes exactly those in BatchDeleteImage calls of ≤ 100 ids;
// no pull time moves.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ecrClient, pushImage, tinyImage } from '../local/helpers.js';
import {
  ACCOUNT_A,
  ACCOUNT_B,
  DAY,
  digestOf,
  type Estate,
  FIXTURES,
  find,
  NOW,
  type PlannedImage,
  REGIONS,
  startEstate,
} from '../ops/inventory-fixtures.js';

let estate: Estate;

function cli(args: readonly string[]) {
  const home = path.join(estate.dir, 'home');
  mkdirSync(home, { recursive: true });
  return runCli(['--endpoint-url', estate.server.url, ...args], {
    cwd: estate.dir,
    env: { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', HOME: home },
  });
}

const TARGETS = [
  '--regions',
  REGIONS.join(','),
  '--registry-ids',
  `${ACCOUNT_A},${ACCOUNT_B}`,
  '--now',
  NOW.toISOString(),
];
const key = (p: { account: string; region: string; repository: string }, digest: string) =>
  `${p.account}/${p.region}/${p.repository}@${digest}`;

/** Returns every image left (key → lastRecordedPullTime), read with DescribeImages. */
async function state(): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const repos = new Set(estate.images.map((p) => `${p.account}|${p.region}|${p.repository}`));
  for (const k of repos) {
    const [account, region, repository] = k.split('|') as [string, string, string];
    const ecr = ecrClient(estate.server, region);
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(
        new DescribeImagesCommand({ registryId: account, repositoryName: repository, nextToken, maxResults: 1000 }),
      );
      for (const d of page.imageDetails ?? [])
        out.set(key({ account, region, repository }, d.imageDigest as string), d.lastRecordedPullTime?.toISOString());
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return out;
}

/** The images the rule selects, computed from the plan: team/*, idle (pull, else push) over 90 days. */
function stale(): PlannedImage[] {
  return estate.images.filter(
    (p) => p.repository.startsWith('team/') && NOW.getTime() - (p.lastPulledAt ?? p.pushedAt).getTime() > 90 * DAY,
  );
}

beforeAll(async () => {
  estate = await startEstate('ecrctl-prune-');
}, 180_000);
afterAll(async () => {
  await estate?.close();
});

describe('prune', () => {
  const running = () => [
    find(ACCOUNT_A, 'us-east-1', 'team/svc-02', 'v1'),
    find(ACCOUNT_B, 'us-east-1', 'team/svc-04', 'v1'),
  ];
  const args = () => [
    'prune',
    'team/*',
    '--not-pulled-since',
    '90d',
    '--keep-in-use',
    path.join(FIXTURES, 'pods.json'),
    ...TARGETS,
  ];

  it('dry run: lists exactly the stale images not in use, with reasons, and deletes nothing', async () => {
    const before = await state();
    const callsBefore = estate.server.calls.length;
    const r = await cli(['-o', 'json', ...args()]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const keptKeys = new Set(running().map((p) => key(p, digestOf(p))));
    const expected = stale()
      .map((p) => key(p, digestOf(p)))
      .filter((k) => !keptKeys.has(k))
      .sort();
    expect(expected.length).toBeGreaterThan(130);
    expect(out.applied).toBe(false);
    expect(out.delete.map((e: PlannedImage & { digest: string }) => key(e, e.digest)).sort()).toEqual(expected);
    expect(out.untag).toEqual([]);
    expect(out.kept.map((e: PlannedImage & { digest: string }) => key(e, e.digest)).sort()).toEqual(
      [...keptKeys].sort(),
    );
    expect(out.kept.find((e: { repository: string }) => e.repository === 'team/svc-02').keptBecause).toBe(
      'in use by pod prod/web-5d8f9c7b6-x2x4q (container app)',
    );
    // Reasons in the lifecycle simulator's words: the push time stands in for a missing pull.
    const svc01 = out.delete.find(
      (e: { account: string; region: string; repository: string }) =>
        e.account === ACCOUNT_A && e.region === 'us-east-1' && e.repository === 'team/svc-01',
    );
    expect(svc01.reasons).toEqual(['not pulled since 90d: last pulled 120 days ago > 90']);
    const never = out.delete.find((e: { repository: string }) => e.repository === 'team/bulk');
    expect(never.reasons).toEqual(['not pulled since 90d: never pulled; pushed 300 days ago > 90']);
    expect(estate.server.calls.slice(callsBefore)).not.toContain('ecr:BatchDeleteImage');
    expect(await state()).toEqual(before);

    const text = await cli(args());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ACTION +REPOSITORY +DIGEST +TAGS +WHY$/m);
    expect(text.stdout).toMatch(/^keep +team\/svc-02 +sha256:\S+ +v1 +in use by pod prod\/web-5d8f9c7b6-x2x4q/m);
    expect(text.stdout).toContain(`dry run: would delete ${expected.length} images`);
  });

  it('--apply deletes exactly those, in BatchDeleteImage calls of at most 100 ids, moving no pull time', async () => {
    const before = await state();
    const callsBefore = estate.server.calls.length;
    const r = await cli(['-o', 'json', ...args(), '--apply']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const gone = new Set(out.delete.map((e: PlannedImage & { digest: string }) => key(e, e.digest)));
    const after = await state();
    const expectedAfter = new Map([...before].filter(([k]) => !gone.has(k)));
    expect(after).toEqual(expectedAfter);
    expect(out.deleted).toBe(gone.size);
    expect(out.failures).toEqual([]);
    // One call per repository with deletions, two for team/bulk's 130 (100 + 30).
    const repos = new Set(
      out.delete.map(
        (e: { account: string; region: string; repository: string }) => `${e.account}/${e.region}/${e.repository}`,
      ),
    );
    const deletes = estate.server.calls.slice(callsBefore).filter((c) => c === 'ecr:BatchDeleteImage');
    expect(deletes).toHaveLength(repos.size + 1);
    expect(out.batches).toBe(repos.size + 1);
    // Nothing left to do.
    const again = await cli(['-o', 'json', ...args()]);
    expect(JSON.parse(again.stdout).delete).toEqual([]);
  });

  it('--tags-matching removes matching tags, and deletes an image only when no tag is left', async () => {
    const region = 'us-east-1';
    const ecr = ecrClient(estate.server, region);
    const token = await ecr.send(new GetAuthorizationTokenCommand({ registryIds: [ACCOUNT_A] }));
    const auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
    const endpoint = await estate.server.registryEndpoint(region, ACCOUNT_A);
    const v2 = find(ACCOUNT_A, region, 'tools/t-0', 'v2');
    // v2 gains a second tag pr-7; a new image carries pr-9 alone.
    expect((await pushImage(endpoint, auth, 'tools/t-0', tinyImage(v2.seed), 'pr-7')).status).toBe(201);
    const lone = tinyImage('pr-9 only');
    expect((await pushImage(endpoint, auth, 'tools/t-0', lone, 'pr-9')).status).toBe(201);
    const where = ['--regions', region, '--registry-ids', ACCOUNT_A];
    const r = await cli(['-o', 'json', 'prune', 'tools/t-0', '--tags-matching', 'pr-*', ...where, '--apply']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.untag.map((e: { digest: string; untag: string[] }) => [e.digest, e.untag])).toEqual([
      [digestOf(v2), ['pr-7']],
    ]);
    expect(out.delete.map((e: { digest: string }) => e.digest)).toEqual([lone.manifestDigest]);
    expect(out.delete[0].reasons).toEqual(['tags matching pr-*: pr-9', 'no tag left: the image goes']);
    expect([out.deleted, out.untagged, out.failures]).toEqual([1, 1, []]);
    const left = await ecr.send(new DescribeImagesCommand({ registryId: ACCOUNT_A, repositoryName: 'tools/t-0' }));
    const tags = Object.fromEntries((left.imageDetails ?? []).map((d) => [d.imageDigest, d.imageTags ?? []]));
    expect(tags).toEqual({
      [digestOf(v2)]: ['v2'],
      [digestOf(find(ACCOUNT_A, region, 'tools/t-0', 'v1'))]: ['v1'],
      [digestOf(
        estate.images.find(
          (p) => p.account === ACCOUNT_A && p.region === region && p.repository === 'tools/t-0' && !p.tag,
        ) as PlannedImage,
      )]: [],
    });
  });

  it('refuses a run without a rule (exit 2) and a bad duration (exit 2)', async () => {
    const none = await cli(['prune', 'team/*', ...TARGETS]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('prune needs a rule');
    const bad = await cli(['prune', 'team/*', '--not-pulled-since', 'soon', ...TARGETS]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--not-pulled-since takes a number of days, not "soon"');
  });
});

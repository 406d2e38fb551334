// `ecrctl inventory` on loopback: `ecrctl local` with 2 accounts × 2 regions and 50
// repositories whose images were aged to fixed times (test/ops/inventory-fixtures.ts). The
// JSON matches a golden file; in-use marks come from the ECS, Kubernetes and Lambda fixtures;
// no image's lastRecordedPullTime moves; the HTML report renders in headless Chromium.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand, type ImageDetail } from '@aws-sdk/client-ecr';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ecrClient } from '../local/helpers.js';
import {
  ACCOUNT_A,
  ACCOUNT_B,
  digestOf,
  type Estate,
  FIXTURES,
  find,
  NOW,
  REGIONS,
  sizeOf,
  startEstate,
} from '../ops/inventory-fixtures.js';

let estate: Estate;
const GOLDEN = path.join(FIXTURES, 'inventory.golden.json');

function cli(args: readonly string[]) {
  const home = path.join(estate.dir, 'home');
  mkdirSync(home, { recursive: true });
  return runCli(['--endpoint-url', estate.server.url, ...args], {
    cwd: estate.dir,
    env: {
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      HOME: home,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      DOCKER_CONFIG: path.join(home, '.docker'),
    },
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
const IN_USE = ['ecs-taskdefs.json', 'pods.json', 'lambda.json'].flatMap((f) => ['--in-use', path.join(FIXTURES, f)]);

/** Returns every image's digest and lastRecordedPullTime, read with DescribeImages. */
async function pullTimes(): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const repos = new Set(estate.images.map((p) => `${p.account}|${p.region}|${p.repository}`));
  for (const key of repos) {
    const [account, region, repository] = key.split('|') as [string, string, string];
    const ecr = ecrClient(estate.server, region);
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(
        new DescribeImagesCommand({ registryId: account, repositoryName: repository, nextToken, maxResults: 1000 }),
      );
      for (const d of page.imageDetails ?? ([] as ImageDetail[]))
        out.set(`${key}@${d.imageDigest}`, d.lastRecordedPullTime?.toISOString());
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return out;
}

beforeAll(async () => {
  estate = await startEstate('ecrctl-inventory-');
}, 180_000);
afterAll(async () => {
  await estate?.close();
});

describe('inventory', () => {
  it('matches the golden file, marks exactly the in-use digests, and moves no pull time', async () => {
    const before = await pullTimes();
    expect(before.size).toBe(estate.images.length);
    const callsBefore = estate.server.calls.length;
    const html = path.join(estate.dir, 'report.html');
    const md = path.join(estate.dir, 'summary.md');
    const r = await cli(['-o', 'json', 'inventory', ...TARGETS, ...IN_USE, '--html', html, '--markdown', md]);
    expect(r.code, r.stderr).toBe(0);
    const inv = JSON.parse(r.stdout);

    // What the golden file pins: totals, per-region and per-repository figures, in-use digests.
    const pinned = {
      totals: inv.totals,
      regions: inv.regions,
      repositories: inv.repositories,
      idleHistogram: inv.idleHistogram,
      inUse: inv.images
        .filter((i: { inUse: boolean }) => i.inUse)
        .map((i: { account: string; region: string; repository: string; digest: string; inUseBy: unknown }) => ({
          account: i.account,
          region: i.region,
          repository: i.repository,
          digest: i.digest,
          inUseBy: i.inUseBy,
        })),
      unmatched: inv.inUse.unmatched,
    };
    // UPDATE_GOLDEN=1 rewrites the file after a deliberate change; a missing file is a failure.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(pinned, null, 2)}\n`);
    expect(existsSync(GOLDEN), `${GOLDEN} is missing: run with UPDATE_GOLDEN=1 once`).toBe(true);
    expect(pinned).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));

    // The same facts computed from the plan, independently of the golden file.
    expect(inv.totals.repositories).toBe(50);
    expect(inv.totals.images).toBe(estate.images.length);
    expect(inv.targets).toHaveLength(4);
    for (const repo of inv.repositories) {
      const mine = estate.images.filter(
        (p) => p.account === repo.account && p.region === repo.region && p.repository === repo.name,
      );
      expect(repo.bytes, repo.name).toBe(mine.reduce((n, p) => n + sizeOf(p), 0));
    }
    const expectedInUse = [
      find(ACCOUNT_A, 'us-east-1', 'team/svc-01', 'v1'),
      find(ACCOUNT_B, 'eu-west-1', 'tools/t-1', 'v1'),
      find(ACCOUNT_A, 'us-east-1', 'team/svc-02', 'v1'),
      find(ACCOUNT_B, 'us-east-1', 'team/svc-04', 'v1'),
      find(ACCOUNT_A, 'eu-west-1', 'team/svc-05', 'v2'),
    ].map(digestOf);
    expect(pinned.inUse.map((i: { digest: string }) => i.digest).sort()).toEqual([...expectedInUse].sort());
    const byTag = pinned.inUse.find((i: { repository: string }) => i.repository === 'team/svc-01');
    expect(byTag.inUseBy).toEqual([
      {
        usedBy: 'ecs task-definition web:12 (container app)',
        ref: expect.stringContaining('team/svc-01:v1'),
        byTag: true,
      },
    ]);
    // 4 tools/* v2 images × 4 registries with CRITICAL 1, HIGH 2; team/svc-00 v2 × 4 with MEDIUM 4, LOW 1.
    expect(inv.totals.severityCounts).toEqual({ CRITICAL: 16, HIGH: 32, LOW: 4, MEDIUM: 16 });
    expect(inv.inUse.unmatched).toEqual(['busybox:1.36', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable']);

    // Reads only: DescribeRepositories / DescribeImages, no manifest, no pull recorded.
    const calls = estate.server.calls.slice(callsBefore);
    expect(new Set(calls)).toEqual(new Set(['ecr:DescribeRepositories', 'ecr:DescribeImages']));
    expect(await pullTimes()).toEqual(before);

    const summary = readFileSync(md, 'utf8');
    expect(summary).toContain('## ECR inventory');
    expect(summary).toContain(`50 repositories, ${estate.images.length} images`);
    expect(summary).toMatch(/\| team\/bulk \| 130 \| 0 \|/);
  });

  it('renders the HTML report in headless Chromium: text, SVG charts, sortable table, no console errors', async () => {
    const html = path.join(estate.dir, 'report2.html');
    const r = await cli(['inventory', ...TARGETS, ...IN_USE, '--html', html]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ACCOUNT +REGION +REPOSITORY +IMAGES/);
    expect(r.stdout).toContain('total: 50 repositories');
    const page = readFileSync(html, 'utf8');
    expect(page).not.toMatch(/(src|href)="https?:/);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems: string[] = [];
      tab.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      const requests: string[] = [];
      tab.on('request', (q) => {
        if (!q.url().startsWith('file:')) requests.push(q.url());
      });
      await tab.goto(`file://${html}`);
      const text = await tab.locator('body').innerText();
      expect(text).toContain('ECR inventory');
      expect(text).toContain('Stored bytes per repository');
      expect(text).toContain('Images by days since last pull');
      expect(text).toContain('team/bulk');
      expect(text).toContain('Scan findings by severity');
      expect(text).toContain('CRITICAL 16, HIGH 32, MEDIUM 16, LOW 4');
      expect(await tab.locator('svg.chart').count()).toBe(5);
      // 25 repositories in each of the two bar charts, 6 histogram columns, 4 in-use bars, 4 severities.
      expect(await tab.locator('svg.chart rect.bar').count()).toBe(25 + 25 + 6 + 4 + 4);
      const box = await tab.locator('svg.chart').first().boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(await tab.locator('#repos tbody tr').count()).toBe(50);
      // Sort by images, descending: team/bulk (130 images) comes first.
      const imagesHeader = tab.locator('#repos th', { hasText: /^images$/ });
      await imagesHeader.click();
      await imagesHeader.click();
      expect(await tab.locator('#repos tbody tr').first().locator('td').nth(2).innerText()).toBe('team/bulk');
      // In the test's own directory; ECRCTL_REPORT_SCREENSHOT=FILE keeps a copy (docs/inventory-report.png was made so).
      const shot = process.env.ECRCTL_REPORT_SCREENSHOT ?? path.join(estate.dir, 'inventory-report.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('writes one CSV row per image, and refuses a pattern that matches nothing (exit 6)', async () => {
    const csv = path.join(estate.dir, 'images.csv');
    const r = await cli(['inventory', ...TARGETS, '--repos', 'cache/*', '--csv', csv]);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^account,region,repository,digest,tags,kind,sizeBytes/);
    expect(lines).toHaveLength(1 + 2); // cache/nginx: v1 and v2
    const none = await cli(['inventory', ...TARGETS, '--repos', 'nothing/*']);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('no repository matches nothing/*');
  });
});

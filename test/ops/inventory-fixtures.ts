// The registry estate behind the inventory and prune acceptance tests: `ecrctl local` with 2
// accounts × 2 regions and 50 repositories, images pushed through the data plane and then
// aged (test/helpers/age-images.ts) to fixed times before NOW, so every age, total and digest
// is the same on every run. The in-use fixtures in test/fixtures/in-use/ name digests of
// this estate (digestOf(find(...)) of the images they use, written in once; the inventory
// test checks that exactly those images come out in use, so a change here shows there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { LocalServer } from '../../src/local/server.js';
import { ageImages } from '../helpers/age-images.js';
import { ecrClient, pushImage, start, tinyImage } from '../local/helpers.js';

export const ACCOUNT_A = '111111111111';
export const ACCOUNT_B = '222222222222';
export const REGIONS = ['us-east-1', 'eu-west-1'] as const;
/** The moment the estate is seen from (pass --now). */
export const NOW = new Date('2026-11-01T00:00:00Z');
export const DAY = 86_400_000;
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/in-use');

/** One planned image: where, which tag (undefined: pushed by digest), and its times. */
export interface PlannedImage {
  account: string;
  region: string;
  repository: string;
  tag?: string;
  seed: string;
  pushedAt: Date;
  lastPulledAt?: Date;
  /** Severity counts of a finished basic scan, when the image has one. */
  scanCounts?: Record<string, number>;
}

const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

/** Returns every image of the estate with the times it will have. */
export function plannedImages(): PlannedImage[] {
  const out: PlannedImage[] = [];
  for (const account of [ACCOUNT_A, ACCOUNT_B]) {
    for (const region of REGIONS) {
      const names = [
        ...Array.from({ length: 8 }, (_, i) => `team/svc-${String(i).padStart(2, '0')}`),
        ...Array.from({ length: 4 }, (_, i) => `tools/t-${i}`),
      ];
      if (account === ACCOUNT_A && region === 'us-east-1') names.push('team/bulk', 'cache/nginx');
      names.forEach((repository, i) => {
        const at = (tag: string | undefined, pushed: number, pulled?: number, scanCounts?: Record<string, number>) => {
          const seed = `${account}/${region}/${repository}/${tag ?? `untagged-${pushed}`}`;
          out.push({
            account,
            region,
            repository,
            ...(tag ? { tag } : {}),
            seed,
            pushedAt: ago(pushed),
            ...(pulled !== undefined ? { lastPulledAt: ago(pulled) } : {}),
            ...(scanCounts ? { scanCounts } : {}),
          });
        };
        if (repository === 'team/bulk') {
          // 130 stale images: prune must split them into BatchDeleteImage calls of ≤ 100.
          for (let b = 0; b < 130; b++) at(`b-${String(b).padStart(3, '0')}`, 300);
          return;
        }
        // v1: old; recently pulled, pulled long ago, or never pulled (push time counts).
        at('v1', 200, i % 3 === 0 ? 5 : i % 3 === 1 ? 120 : undefined);
        // v2: recent; pulled or never pulled.
        // tools/* v2 images carry scan findings; team/svc-00 v2 a lighter set.
        const scan: Record<string, number> | undefined = repository.startsWith('tools/')
          ? { CRITICAL: 1, HIGH: 2 }
          : repository === 'team/svc-00'
            ? { MEDIUM: 4, LOW: 1 }
            : undefined;
        at('v2', 10, i % 2 === 0 ? 2 : undefined, scan);
        if (i % 2 === 0) at(undefined, 30);
      });
    }
  }
  return out;
}

/** Returns the digest an image of the plan gets. */
export function digestOf(p: PlannedImage): string {
  return tinyImage(p.seed).manifestDigest;
}

/** Returns the size DescribeImages reports for an image of the plan (its one layer). */
export function sizeOf(p: PlannedImage): number {
  return tinyImage(p.seed).layer.length;
}

export interface Estate {
  server: LocalServer;
  dir: string;
  dataDir: string;
  images: PlannedImage[];
  close(): Promise<void>;
}

/** Starts `ecrctl local` with the estate pushed and aged; close() stops it and removes the dir. */
export async function startEstate(prefix: string): Promise<Estate> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const dataDir = path.join(dir, 'data');
  const images = plannedImages();
  // Seeding blasts hundreds of PUTs without retries: ECR's rates (the data plane's too) are
  // off for the seeding server only; the server the tests use is started again with them on.
  let server = await start(dataDir, { account: ACCOUNT_A, throttleScale: 'off' });
  const groups = new Map<string, PlannedImage[]>();
  for (const p of images) {
    const k = `${p.account}/${p.region}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  for (const [k, list] of groups) {
    const [account, region] = k.split('/') as [string, string];
    const ecr = ecrClient(server, region);
    const { CreateRepositoryCommand } = await import('@aws-sdk/client-ecr');
    for (const name of new Set(list.map((p) => p.repository))) {
      await ecr.send(new CreateRepositoryCommand({ registryId: account, repositoryName: name }));
    }
    const token = await ecr.send(new GetAuthorizationTokenCommand({ registryIds: [account] }));
    const auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
    const endpoint = await server.registryEndpoint(region, account);
    // A few pushes at a time: loopback, but 2 cores shared with other test files.
    for (let i = 0; i < list.length; i += 8) {
      await Promise.all(
        list.slice(i, i + 8).map(async (p) => {
          const img = tinyImage(p.seed);
          const res = await pushImage(endpoint, auth, p.repository, img, p.tag ?? img.manifestDigest);
          if (res.status !== 201) throw new Error(`push ${p.seed}: ${res.status} ${await res.text()}`);
        }),
      );
    }
  }
  await server.close();
  const bySeedDigest = new Map(images.map((p) => [`${p.account}/${p.region}/${p.repository}@${digestOf(p)}`, p]));
  await ageImages(dataDir, (im) => {
    const p = bySeedDigest.get(`${im.account}/${im.region}/${im.repository}@${im.digest}`);
    if (!p) return undefined;
    return {
      pushedAt: p.pushedAt,
      lastPulledAt: p.lastPulledAt ?? null,
      ...(p.scanCounts ? { scanCounts: p.scanCounts } : {}),
    };
  });
  server = await start(dataDir, { account: ACCOUNT_A });
  const estate: Estate = {
    server,
    dir,
    dataDir,
    images,
    async close() {
      await estate.server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return estate;
}

/** Returns the planned image of a repository and tag in an account and region. */
export function find(account: string, region: string, repository: string, tag: string): PlannedImage {
  const p = plannedImages().find(
    (x) => x.account === account && x.region === region && x.repository === repository && x.tag === tag,
  );
  if (!p) throw new Error(`no planned image ${account}/${region}/${repository}:${tag}`);
  return p;
}

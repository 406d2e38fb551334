// Test-only: set the push and last-pull times of images in `ecrctl local`'s data directory,
// so inventory and prune can be tested against images that are months old. It edits the
// stored state.json (see src/local/store.ts: registries["private/<account>/<region>"]
// .repositories[name].images[digest].pushedAt / lastPulledAt, epoch milliseconds) and must
// run while no server holds the directory (the `lock` file): a running server keeps the state
// in memory and would write over the edit. Stop the server, age, start it again on the same
// directory.
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** An image as ageImages shows it to the caller's function. */
export interface StoredImageView {
  account: string;
  region: string;
  repository: string;
  digest: string;
  /** Tags that point at the image now. */
  tags: string[];
  pushedAt: Date;
  lastPulledAt?: Date;
}

/** What to set: a push time, a last-pull time, or null to make the image never pulled. */
export interface ImageAge {
  pushedAt?: Date;
  lastPulledAt?: Date | null;
  /**
   * A completed basic scan with these severity counts, as DescribeImages summarises it
   * (imageScanFindingsSummary). Only the summary: there is no findings document behind it,
   * so DescribeImageScanFindings is not meant for such an image.
   */
  scanCounts?: Record<string, number>;
}

interface StateShape {
  registries: Record<
    string,
    {
      kind: string;
      account: string;
      region: string;
      repositories: Record<
        string,
        {
          images: Record<string, { pushedAt: number; lastPulledAt?: number; scan?: unknown }>;
          tags: Record<string, { digest: string; at: number }>;
        }
      >;
    }
  >;
}

/**
 * Calls age(image) for every private image in dataDir and writes back the times it returns
 * (undefined: leave the image as it is). Returns how many images changed. Throws while a
 * server holds the directory.
 */
export async function ageImages(
  dataDir: string,
  age: (image: StoredImageView) => ImageAge | undefined,
): Promise<number> {
  if (existsSync(path.join(dataDir, 'lock'))) {
    throw new Error(`ageImages: ${dataDir} is in use by a running server; close it first`);
  }
  const file = path.join(dataDir, 'state.json');
  const state = JSON.parse(await readFile(file, 'utf8')) as StateShape;
  let changed = 0;
  for (const reg of Object.values(state.registries)) {
    if (reg.kind !== 'private') continue;
    for (const [name, repo] of Object.entries(reg.repositories)) {
      for (const image of Object.values(repo.images)) {
        const digest = Object.keys(repo.images).find((d) => repo.images[d] === image) as string;
        const tags = Object.entries(repo.tags)
          .filter(([, t]) => t.digest === digest)
          .map(([tag]) => tag)
          .sort();
        const view: StoredImageView = {
          account: reg.account,
          region: reg.region,
          repository: name,
          digest,
          tags,
          pushedAt: new Date(image.pushedAt),
          ...(image.lastPulledAt !== undefined ? { lastPulledAt: new Date(image.lastPulledAt) } : {}),
        };
        const to = age(view);
        if (!to) continue;
        if (to.pushedAt) image.pushedAt = to.pushedAt.getTime();
        if (to.lastPulledAt === null) delete image.lastPulledAt;
        else if (to.lastPulledAt) image.lastPulledAt = to.lastPulledAt.getTime();
        if (to.scanCounts) {
          // The shape of ImageScanRecord (src/local/store.ts) for a finished basic scan.
          const at = image.pushedAt + 60_000;
          image.scan = { type: 'BASIC', status: 'COMPLETE', startedAt: at, completedAt: at, counts: to.scanCounts };
        }
        changed++;
      }
    }
  }
  const tmp = `${file}.aging`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, file);
  return changed;
}

// `ecrctl cost --repos`: storage measured from the registry (ecrctl local), each layer
// counted once per repository however many images share it, and the saving reported.
import path from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

let t: LocalCliEnv;
// Two images with the same two layers and config (they differ only in an annotation), and
// a third with layers of its own, in team/api; one more image in other/db.
const base = buildImage(21, { layers: 2, layerSize: 20_000 });
const annotated = buildImage(21, { layers: 2, layerSize: 20_000, annotations: { build: '2' } });
const other = buildImage(22, { layers: 1, layerSize: 30_000 });
const db = buildImage(23, { layers: 1, layerSize: 10_000 });
const size = (img: typeof base) => img.layers.reduce((n, l) => n + l.descriptor.size, 0) + img.config.descriptor.size;

beforeAll(async () => {
  t = await startLocalCliEnv('ecrctl-cost-repos-');
  const push = async (img: typeof base, repo: string, tag: string) => {
    const dir = path.join(t.dir, `${repo.replace('/', '-')}-${tag}`);
    writeOciLayout(dir, [{ image: img, tag }]);
    const r = await t.cli(['tag-push', `oci:${dir}:${tag}`, `${repo}:${tag}`]);
    expect(r.code, r.stderr).toBe(0);
  };
  for (const repo of ['team/api', 'other/db']) expect((await t.cli(['create-repo', repo])).code).toBe(0);
  await push(base, 'team/api', 'v1');
  await push(annotated, 'team/api', 'v2');
  await push(other, 'team/api', 'v3');
  await push(db, 'other/db', 'v1');
});
afterAll(async () => {
  await t.close();
});

describe('cost --repos', () => {
  it('counts each layer once per repository and says what sharing saved', async () => {
    const r = await t.cli(['-o', 'json', 'cost', '--repos', 'team/*', '--read-manifests', '--egress-gb', '10']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const shared = base.layers.reduce((n, l) => n + l.descriptor.size, 0);
    const stored = shared + 2 * base.config.descriptor.size + size(other);
    expect(out.storage.repositories).toEqual([
      { name: 'team/api', images: 3, uniqueLayers: 3, bytes: stored, naiveBytes: stored + shared, savedBytes: shared },
    ]);
    expect(out.storage.storageGb).toBeCloseTo(stored / 1e9, 12);
    expect(out.lineItems[0]).toMatchObject({ item: 'storage', quantity: expect.closeTo(stored / 1e9, 9) });
  });

  it('prints a table per repository before the estimate, and measures every repository with *', async () => {
    const r = await t.cli(['cost', '--repos', '*', '--read-manifests']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^storage measured \(each layer counted once per repository\):\nREPOSITORY +IMAGES +LAYERS +STORED +SAVED BY SHARING\n/,
    );
    expect(r.stdout).toMatch(/^other\/db +1 +1 /m);
    expect(r.stdout).toMatch(/^team\/api +3 +3 /m);
    expect(r.stdout).toContain('ECR cost estimate per month');
  });

  it('by default sums the sizes DescribeImages reports and reads no manifest, so no pull is recorded', async () => {
    const pullTimes = async () => {
      const out = [];
      for (const repositoryName of ['team/api', 'other/db']) {
        const d = await t.ecr.send(new DescribeImagesCommand({ repositoryName }));
        out.push(...(d.imageDetails ?? []).map((i) => [i.imageDigest, i.lastRecordedPullTime?.getTime() ?? null]));
      }
      return out;
    };
    const before = await pullTimes();
    const batchGets = t.server.calls.filter((c) => c === 'ecr:BatchGetImage').length;
    const r = await t.cli(['-o', 'json', 'cost', '--repos', 'team/*']);
    expect(r.code, r.stderr).toBe(0);
    expect(t.server.calls.filter((c) => c === 'ecr:BatchGetImage').length).toBe(batchGets);
    expect(await pullTimes()).toEqual(before);
    const layers = (img: typeof base) => img.layers.reduce((n, l) => n + l.descriptor.size, 0);
    const sum = layers(base) + layers(annotated) + layers(other);
    const out = JSON.parse(r.stdout);
    expect(out.storage).toMatchObject({ layersRead: false, bytes: sum });
    expect(out.storage.repositories[0]).toMatchObject({ name: 'team/api', images: 3, bytes: sum });
    const text = await t.cli(['cost', '--repos', '*']);
    expect(text.stdout).toMatch(/^storage measured from image sizes .*\nREPOSITORY +IMAGES +STORED\n/);
    expect(text.stderr).toContain('--read-manifests counts each layer once');
  });

  it('refuses --repos with --storage-gb (exit 2) and a pattern that matches nothing (exit 6)', async () => {
    const both = await t.cli(['cost', '--repos', '*', '--storage-gb', '5']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--repos measures the storage; it does not go with --storage-gb');
    const none = await t.cli(['cost', '--repos', 'nothing/*']);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('no repository matches nothing/*');
  });
});

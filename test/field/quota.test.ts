// Issue 12: a push into a full repository (the images-per-repository quota; ECR answers 403
// DENIED on the manifest PUT) says which quota was hit and how to clean up or raise it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryFull } from '../../src/ops/transfer.js';
import { type FieldEnv, startField } from './field-env.js';

let f: FieldEnv;
let host: string;

beforeAll(async () => {
  f = await startField('quota', { imagesPerRepositoryLimit: 2 });
  host = await f.host();
  await f.createRepo('field/full');
});
afterAll(async () => {
  await f.close();
});

describe('a push into a full repository', () => {
  it('names the images-per-repository quota and how to clean up (lifecycle) or raise it; exit 1', async () => {
    for (const seed of [1, 2]) {
      const ok = await f.cli([
        'tag-push',
        f.layout(`img${seed}`, seed).ref,
        `${host}/field/full:v${seed}`,
        '--endpoint-url',
        f.server.url,
      ]);
      expect(ok.code, ok.stderr).toBe(0);
    }
    const r = await f.cli([
      'tag-push',
      f.layout('img3', 3).ref,
      `${host}/field/full:v3`,
      '--endpoint-url',
      f.server.url,
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${host}/field/full is full: it holds 2 images, the "images per repository" quota`);
    expect(r.stderr).toContain('ecrctl lifecycle put field/full');
    expect(r.stderr).toContain('Service Quotas');
    // Retagging an image that is already there still works: it adds no image.
    const again = await f.cli([
      'tag-push',
      f.layout('img1', 1).ref,
      `${host}/field/full:again`,
      '--endpoint-url',
      f.server.url,
    ]);
    expect(again.code, again.stderr).toBe(0);
  });

  it("recognises ECR's wording and leaves other errors alone (unit)", () => {
    const ecr = new Error(
      "h denied access to manifest v1 (DENIED: The repository with name 'app' in registry with id '111111111111' already has the maximum allowed number of images which is '10000')",
    );
    expect(repositoryFull(ecr, 'h', 'app')?.message).toContain('it holds 10,000 images');
    expect(repositoryFull(new Error('h denied access to manifest v1'), 'h', 'app')).toBeUndefined();
  });
});

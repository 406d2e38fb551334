// `discover --tree`: the tree whatever --output says. The global --output takes text, json or
// env only (so `-o tree`, the oras habit, is a usage error naming the choices, exit 2).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let sbomDigest: string;

beforeAll(async () => {
  env = await startRepoEnv();
  const layout = path.join(env.dir, 'layout');
  writeOciLayout(layout, [{ image: buildImage(81), tag: 'v1' }]);
  expect((await env.cli(['tag-push', `oci:${layout}:v1`, 'tree/app:v1', '--create-repo'])).code).toBe(0);
  const sbom = path.join(env.dir, 'sbom.spdx.json');
  writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'app' }));
  const a = await env.cli(['attach', 'tree/app:v1', sbom, '--artifact-type', 'application/spdx+json', '-o', 'json']);
  expect(a.code, a.stderr).toBe(0);
  sbomDigest = JSON.parse(a.stdout).digest;
});
afterAll(async () => {
  await env?.close();
});

describe('discover --tree', () => {
  it('prints the same tree as the text output, also with -o json', async () => {
    const text = await env.cli(['discover', 'tree/app:v1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^\\S+/tree/app:v1@sha256:[0-9a-f]{64}\\n└── application/spdx\\+json\\n    └── ${sbomDigest}\\n$`),
    );
    const tree = await env.cli(['-o', 'json', 'discover', 'tree/app:v1', '--tree']);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toBe(text.stdout);
    // Without --tree, -o json is still the document.
    const json = await env.cli(['-o', 'json', 'discover', 'tree/app:v1']);
    expect(JSON.parse(json.stdout).referrers[0].digest).toBe(sbomDigest);
  });

  it('-o tree is a usage error that names the formats there are (exit 2)', async () => {
    const r = await env.cli(['discover', 'tree/app:v1', '-o', 'tree']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('text, json, env');
    expect(r.stdout).toBe('');
  });
});

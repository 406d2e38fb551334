// `ecrctl repos` against `ecrctl local`: every page (120 repositories, DescribeRepositories
// pages at 100), the glob filter, settings columns and image counts.
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
const names = Array.from({ length: 120 }, (_, i) => `fleet/svc-${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  env = await startRepoEnv();
  for (let i = 0; i < names.length; i += 30) {
    await Promise.all(
      names.slice(i, i + 30).map((n) => env.ecr.send(new CreateRepositoryCommand({ repositoryName: n }))),
    );
  }
  await env.ecr.send(
    new CreateRepositoryCommand({
      repositoryName: 'team/api',
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS' },
    }),
  );
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/web' }));
  await makeImages(env.ecr, 'team/api', 3, { tags: (i) => (i === 0 ? [] : [`v${i}`]) });
});
afterAll(async () => {
  await env.close();
});

describe('repos', () => {
  it('lists every repository across pages at the default page size', async () => {
    const before = env.server.calls.filter((c) => c === 'ecr:DescribeRepositories').length;
    const r = await env.cli(['repos', '--no-count', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { repositories: { name: string }[] };
    expect(doc.repositories).toHaveLength(122);
    expect(doc.repositories.map((x) => x.name)).toEqual([...names, 'team/api', 'team/web']);
    // 122 repositories at ECR's default of 100 per page: two DescribeRepositories calls.
    expect(env.server.calls.filter((c) => c === 'ecr:DescribeRepositories').length - before).toBe(2);
    expect(env.server.calls.filter((c) => c === 'ecr:DescribeImages')).toHaveLength(0);
  });

  it('filters by glob and shows settings and image counts', async () => {
    const r = await env.cli(['repos', 'team/*']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +URI +TAG MUTABILITY +SCAN ON PUSH +ENCRYPTION +IMAGES$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^team\/api +127\.0\.0\.1:\d+\/team\/api +IMMUTABLE_WITH_EXCLUSION \(dev-\*\) +yes +KMS +3$/,
    );
    expect(lines[2]).toMatch(/^team\/web +127\.0\.0\.1:\d+\/team\/web +MUTABLE +no +AES256 +0$/);
  });

  it('counts images of many repositories (json) and matches ? and *', async () => {
    const r = await env.cli(['repos', 'fleet/svc-11?', '--output', 'json']);
    const doc = JSON.parse(r.stdout) as { repositories: { name: string; imageCount: number }[] };
    expect(doc.repositories.map((x) => [x.name, x.imageCount])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`fleet/svc-11${i}`, 0]),
    );
  });

  it('says so on stderr when nothing matches', async () => {
    const r = await env.cli(['repos', 'nothing-*']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("no repository matches 'nothing-*'");
  });

  it('passes --registry-id on every call', async () => {
    const r = await env.cli(['--registry-id', '210987654321', 'repos']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the registry has no repositories');
  });
});

// `ecrctl create-repo --public` against `ecrctl local`: catalog data lands as ECR Public's
// GetRepositoryCatalogData shows it; logo, text and name rules are checked before any call.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetRepositoryCatalogDataCommand,
  type ECRPUBLICClient,
} from '@aws-sdk/client-ecr-public';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicClient } from '../local/helpers.js';
import { pngBytes, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
let pub: ECRPUBLICClient;

beforeAll(async () => {
  env = await startRepoEnv();
  pub = publicClient(env.server);
  const file = (name: string, bytes: Buffer | string) => writeFileSync(path.join(env.dir, name), bytes);
  file('logo.png', pngBytes(120, 80, 2000));
  file('tiny.png', pngBytes(40, 200));
  file('wide.png', pngBytes(4096, 100));
  file('big.png', pngBytes(512, 512, 600 * 1024));
  file('logo.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Array(60).fill(0)]));
  file('about.md', '# Tools\n\nBuild tools for **everyone**.\n');
  file('usage.md', '```\ndocker pull public.ecr.aws/x/tools\n```\n');
  file('long.md', 'x'.repeat(10_241));
});
afterAll(async () => {
  await env.close();
});

async function publicNames(): Promise<string[]> {
  const out = await pub.send(new DescribeRepositoriesCommand({}));
  return (out.repositories ?? []).map((r) => r.repositoryName ?? '');
}

describe('create-repo --public', () => {
  it('creates a public repository with its catalog data and prints its URI', async () => {
    const r = await env.cli(
      [
        'create-repo',
        'tools',
        '--public',
        '--description',
        'Build tools',
        '--about',
        'about.md',
        '--usage',
        'usage.md',
        '--os',
        'linux',
        '--arch',
        'x86-64',
        '--arch',
        'ARM64',
        '--logo',
        'logo.png',
        '--tag',
        'team=tools',
      ],
      { cwd: env.dir },
    );
    expect(r.stderr).toContain('created public repository tools');
    expect(r.code).toBe(0);
    const described = await pub.send(new DescribeRepositoriesCommand({ repositoryNames: ['tools'] }));
    expect(r.stdout).toBe(`${described.repositories?.[0]?.repositoryUri}\n`);
    const { catalogData } = await pub.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'tools' }));
    expect(catalogData).toMatchObject({
      description: 'Build tools',
      aboutText: '# Tools\n\nBuild tools for **everyone**.\n',
      usageText: '```\ndocker pull public.ecr.aws/x/tools\n```\n',
      operatingSystems: ['Linux'],
      architectures: ['x86-64', 'ARM 64'],
    });
    expect(catalogData?.logoUrl).toMatch(/\/logo\/sha256:[0-9a-f]{64}$/);
  });

  it('--if-not-exists accepts it; --apply replaces the catalog data', async () => {
    const again = await env.cli(['create-repo', 'tools', '--public', '--description', 'Other']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('public repository tools already exists');
    const ok = await env.cli([
      'create-repo',
      'tools',
      '--public',
      '--if-not-exists',
      '--description',
      'Newer tools',
      '--apply',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('updated public repository tools: catalog data: replaced');
    const { catalogData } = await pub.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'tools' }));
    expect(catalogData?.description).toBe('Newer tools');
  });

  it.each([
    [['--logo', 'tiny.png'], 'tiny.png is 40×200 px: its width 40 px is outside 60–2048 px'],
    [['--logo', 'wide.png'], 'wide.png is 4096×100 px: its width 4096 px is outside 60–2048 px'],
    [['--logo', 'big.png'], `big.png is ${600 * 1024} bytes: logos are at most 512000 bytes (500 KB)`],
    [['--logo', 'logo.jpg'], 'logo.jpg is not a PNG file'],
    [['--description', 'd'.repeat(256)], '--description is 256 characters: short descriptions have at most 255'],
    [['--about', 'long.md'], '--about long.md is 10241 characters'],
  ])('refuses %j with exit 3 before any call', async (args, message) => {
    const r = await env.cli(['create-repo', 'refused', '--public', ...args], { cwd: env.dir });
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(3);
    expect(await publicNames()).not.toContain('refused');
  });

  it('rejects unknown badges with exit 2', async () => {
    const arch = await env.cli(['create-repo', 'refused', '--public', '--arch', 'sparc']);
    expect(arch.code).toBe(2);
    expect(arch.stderr).toContain("use one of 'ARM', 'ARM 64', 'x86', 'x86-64'");
    const os = await env.cli(['create-repo', 'refused', '--public', '--os', 'BeOS']);
    expect(os.code).toBe(2);
    expect(os.stderr).toContain('use --os Linux or --os Windows');
  });

  it('applies the public name rules (start with a letter, single separators)', async () => {
    const r = await env.cli(['create-repo', '1tools', 'a__b', '--public']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('2 names are not valid public repository names; nothing was created');
    expect(r.stderr).toContain(
      "1tools: character '1' at position 1 is not allowed: public repository names start with a letter",
    );
    expect(r.stderr).toContain("a__b: '__' at position 2 is not allowed");
    expect(await publicNames()).not.toContain('a__b');
  });

  it('refuses private-only options with --public (exit 2)', async () => {
    const r = await env.cli(['create-repo', 'refused', '--public', '--scan-on-push']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--scan-on-push apply to private repositories, not to ECR Public');
  });
});

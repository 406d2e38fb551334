// `ecrctl replicate` against `ecrctl local`: rules edited without JSON and checked locally
// (exit 3), replication on push seen through `status --wait`, the replica pulled back with
// the same digest, on-demand copies where one destination fails, backfill, and the AWS CLI
// reading back what ecrctl configured.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  PutImageTagMutabilityCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, sha256, writeOciLayout } from '../helpers/fixtures.js';
import { ecrClient } from '../local/helpers.js';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

let t: LocalCliEnv;
const ACCOUNT = '123456789012';
const OTHER = '210987654321';

beforeAll(async () => {
  // Replication lasts 3 s and a backfill 9 s (a third of ECR-like time): long enough that
  // the CLI's first poll still finds IN_PROGRESS, short enough not to wait half a minute.
  t = await startLocalCliEnv('ecrctl-replicate-', { stateDelayScale: 0.3 });
});
afterAll(async () => {
  await t.close();
});

function layout(seed: number, name: string) {
  const image = buildImage(seed, { layers: 2, layerSize: 2048 });
  const dir = path.join(t.dir, name);
  writeOciLayout(dir, [{ image, tag: 'latest' }]);
  return { image, dir };
}

describe('replicate config', () => {
  it('starts empty, adds rules without JSON, removes them by number or destination', async () => {
    let r = await t.cli(['replicate', 'config', 'get']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('no replication rules\n');
    r = await t.cli([
      'replicate',
      'config',
      'add',
      '--to',
      'ap-south-1',
      '--to',
      `sa-east-1:${OTHER}`,
      '--filter',
      'legacy/',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`rule 1: to ap-south-1:${ACCOUNT}, sa-east-1:${OTHER}; repositories: legacy/*\n`);
    r = await t.cli(['replicate', 'config', 'remove', '--to', `sa-east-1:${OTHER}`]);
    expect(r.stdout).toBe(`rule 1: to ap-south-1:${ACCOUNT}; repositories: legacy/*\n`);
    r = await t.cli(['replicate', 'config', 'remove', '--rule', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('no replication rules\n');
    r = await t.cli(['replicate', 'config', 'remove', '--rule', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rule 1: the configuration has 0 rules');
  });

  it.each([
    [
      'a filter that is no repository prefix',
      ['--to', 'eu-west-1', '--filter', 'Team/*'],
      /filter "Team\/\*": a prefix is lowercase letters/,
    ],
    ['a malformed destination', ['--to', 'eu-west-1:1234'], /the account "1234" is not 12 digits/],
    ['the source registry itself', ['--to', 'us-east-1'], /us-east-1:123456789012 is the source registry itself/],
    [
      '26 unique destinations',
      Array.from({ length: 26 }, (_, i) => ['--to', `eu-x-${i}`]).flat(),
      /26 unique destinations: ECR allows at most 25/,
    ],
    [
      '101 filters',
      ['--to', 'eu-west-1', ...Array.from({ length: 101 }, (_, i) => ['--filter', `team${i}/`]).flat()],
      /101 filters, at most 100 per rule/,
    ],
  ])('refuses %s with exit 3 and changes nothing', async (_what, args, expected) => {
    const r = await t.cli(['replicate', 'config', 'add', ...args]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(expected);
    expect((await t.cli(['replicate', 'config', 'get'])).stdout).toBe('no replication rules\n');
  });

  it('refuses an eleventh rule (exit 3) from a file, naming every problem', async () => {
    const file = path.join(t.dir, 'eleven.json');
    const rules = Array.from({ length: 11 }, (_, i) => ({
      destinations: [{ region: `eu-x-${i}`, registryId: ACCOUNT }],
    }));
    rules[3] = { destinations: [{ region: 'eu-x-3', registryId: 'nope' }] };
    writeFileSync(file, JSON.stringify({ rules }));
    const r = await t.cli(['replicate', 'config', 'set', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('11 rules: a replication configuration has at most 10');
    expect(r.stderr).toContain('rule 4: the account "nope" is not 12 digits');
  });
});

describe('replication on push', () => {
  it('config add, tag-push, status --wait: COMPLETE in eu-west-1 and in another account; the replica is pullable there with the same digest', async () => {
    let r = await t.cli([
      'replicate',
      'config',
      'add',
      '--to',
      'eu-west-1',
      '--to',
      `us-east-1:${OTHER}`,
      '--filter',
      'team/',
    ]);
    expect(r.code).toBe(0);
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
    const { image, dir } = layout(11, 'src-team-app');
    r = await t.cli(['tag-push', `oci:${dir}:latest`, 'team/app:v1']);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);

    r = await t.cli(['replicate', 'status', 'team/app:v1', '--wait', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/waiting for eu-west-1:123456789012, us-east-1:210987654321 \(IN_PROGRESS\)/);
    expect(JSON.parse(r.stdout)).toEqual({
      repository: 'team/app',
      digest: image.manifest.digest,
      status: 'COMPLETE',
      destinations: [
        { region: 'eu-west-1', registryId: ACCOUNT, status: 'COMPLETE' },
        { region: 'us-east-1', registryId: OTHER, status: 'COMPLETE' },
      ],
    });
    r = await t.cli(['replicate', 'status', 'team/app:v1']);
    expect(r.stdout).toMatch(/^DESTINATION\s+STATUS\s+FAILURE\n/);
    expect(r.stdout).toMatch(/eu-west-1:123456789012\s+COMPLETE/);

    // Pull from the eu-west-1 registry's own data plane: the manifest and every blob, each
    // verified against its digest.
    const eu = (await ecrClient(t.server, 'eu-west-1').send(new GetAuthorizationTokenCommand({})))
      .authorizationData?.[0];
    const auth = { Authorization: `Basic ${eu?.authorizationToken}` };
    const manifest = await fetch(`${eu?.proxyEndpoint}/v2/team/app/manifests/v1`, {
      headers: { ...auth, Accept: image.manifest.mediaType },
    });
    expect(manifest.status).toBe(200);
    expect(sha256(Buffer.from(await manifest.arrayBuffer()))).toBe(image.manifest.digest);
    for (const [digest, bytes] of image.blobs) {
      const blob = await fetch(`${eu?.proxyEndpoint}/v2/team/app/blobs/${digest}`, { headers: auth });
      const got = Buffer.from(await blob.arrayBuffer());
      expect(sha256(got)).toBe(digest);
      expect(got.equals(bytes)).toBe(true);
    }
    const other = await t.ecr.send(new DescribeImagesCommand({ registryId: OTHER, repositoryName: 'team/app' }));
    expect(other.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[image.manifest.digest, ['v1']]]);
  });

  it('status exits 1 and names the destination when replication FAILED there', async () => {
    // v2 becomes immutable at eu-west-1, then a different image is pushed as v2 here.
    const a = layout(12, 'src-a');
    const b = layout(13, 'src-b');
    expect((await t.cli(['tag-push', `oci:${a.dir}:latest`, 'team/app:v2'])).code).toBe(0);
    await ecrClient(t.server, 'eu-west-1').send(
      new PutImageTagMutabilityCommand({ repositoryName: 'team/app', imageTagMutability: 'IMMUTABLE' }),
    );
    expect((await t.cli(['tag-push', `oci:${b.dir}:latest`, 'team/app:v2'])).code).toBe(0);
    const r = await t.cli(['replicate', 'status', 'team/app:v2', '--wait']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/eu-west-1:123456789012\s+FAILED\s+IMAGE_TAG_ALREADY_EXISTS/);
    expect(r.stdout).toMatch(/us-east-1:210987654321\s+COMPLETE/);
    expect(r.stderr).toContain(
      'replication of team/app:v2 failed at eu-west-1:123456789012 (IMAGE_TAG_ALREADY_EXISTS)',
    );
  });

  it('the AWS CLI reads back the rules ecrctl configured (describe-registry)', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      '/usr/bin/aws',
      ['ecr', 'describe-registry', '--endpoint-url', t.server.url, '--output', 'json'],
      {
        env: { ...process.env, ...t.env, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '' },
      },
    );
    expect(JSON.parse(stdout)).toEqual({
      registryId: ACCOUNT,
      replicationConfiguration: {
        rules: [
          {
            destinations: [
              { region: 'eu-west-1', registryId: ACCOUNT },
              { region: 'us-east-1', registryId: OTHER },
            ],
            repositoryFilters: [{ filter: 'team/', filterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    });
  });
});

describe('replicate copy', () => {
  it('copies to two destinations in parallel; the one without the repository fails, the other succeeds, exit 1', async () => {
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: 'svc/api', imageTagMutability: 'IMMUTABLE' }));
    const { image, dir } = layout(21, 'src-svc');
    expect((await t.cli(['tag-push', `oci:${dir}:latest`, 'svc/api:v1'])).code).toBe(0);
    await ecrClient(t.server, 'eu-central-1').send(new CreateRepositoryCommand({ repositoryName: 'svc/api' }));

    let r = await t.cli(['replicate', 'copy', 'svc/api:v1', '--to', 'eu-central-1', '--to', `ap-northeast-1:${OTHER}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`eu-central-1:${ACCOUNT}\\s+copied\\s+${image.manifest.digest}`));
    expect(r.stdout).toMatch(new RegExp(`ap-northeast-1:${OTHER}\\s+failed\\s+.*svc/api`));
    expect(r.stderr).toContain(`replicate copy failed for 1 of 2 destinations: ap-northeast-1:${OTHER}`);
    const eu = await ecrClient(t.server, 'eu-central-1').send(new DescribeImagesCommand({ repositoryName: 'svc/api' }));
    expect(eu.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[image.manifest.digest, ['v1']]]);

    // --create-repo creates it with the source's settings (IMMUTABLE here), and both succeed.
    r = await t.cli([
      'replicate',
      'copy',
      'svc/api:v1',
      '--to',
      'eu-central-1',
      '--to',
      `ap-northeast-1:${OTHER}`,
      '--create-repo',
      '--output',
      'json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      destinations: { destination: string; status: string; digest: string; repositoryCreated: boolean }[];
    };
    expect(out.destinations.map((d) => [d.destination, d.status, d.digest, d.repositoryCreated])).toEqual([
      [`eu-central-1:${ACCOUNT}`, 'copied', image.manifest.digest, false],
      [`ap-northeast-1:${OTHER}`, 'copied', image.manifest.digest, true],
    ]);
    const ap = await ecrClient(t.server, 'ap-northeast-1').send(
      new DescribeRepositoriesCommand({ registryId: OTHER, repositoryNames: ['svc/api'] }),
    );
    expect(ap.repositories?.[0]?.imageTagMutability).toBe('IMMUTABLE');
  });
});

describe('replicate backfill', () => {
  it('replicates images pushed before the rule to the destination, waiting until it ends', async () => {
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: 'old/app' }));
    const { image, dir } = layout(31, 'src-old');
    expect((await t.cli(['tag-push', `oci:${dir}:latest`, 'old/app:v1'])).code).toBe(0);
    expect((await t.cli(['replicate', 'config', 'add', '--to', 'ca-central-1', '--filter', 'old/'])).code).toBe(0);
    const r = await t.cli(['replicate', 'backfill', '--to', 'ca-central-1', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^backfill \S+ to ca-central-1:123456789012: COMPLETE, 1 of 1 images replicated, 0 failed\n$/,
    );
    const ca = await ecrClient(t.server, 'ca-central-1').send(new DescribeImagesCommand({ repositoryName: 'old/app' }));
    expect(ca.imageDetails?.[0]?.imageDigest).toBe(image.manifest.digest);
    const missing = await t.cli(['replicate', 'backfill', '--to', 'me-south-1']);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('no replication rule has the destination me-south-1:123456789012');
  });
});

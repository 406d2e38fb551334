// Issue 19 #7: reading a manifest is a pull. The local endpoint records lastRecordedPullTime
// on BatchGetImage (as ECR does), except for principals on the registry's pull-time update
// exclusion list (Register/Deregister/ListPullTimeUpdateExclusions; a request's principal is
// arn:aws:iam::<account>:user/<access key id>). And the client's read-only commands
// (`lifecycle simulate`/`diff`, `signing status`) no longer read manifests they do not need.
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DeregisterPullTimeUpdateExclusionCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListPullTimeUpdateExclusionsCommand,
  PutImageCommand,
  RegisterPullTimeUpdateExclusionCommand,
} from '@aws-sdk/client-ecr';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImages, type MadeImage, type RepoTestEnv, sha256, startRepoEnv } from '../cli/repos-fixtures.js';

let t: RepoTestEnv;
const ACCOUNT = '123456789012';
const as = (accessKeyId: string) =>
  new ECRClient({
    endpoint: t.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
const userArn = (key: string) => `arn:aws:iam::${ACCOUNT}:user/${key}`;
const batchGets = () => t.server.calls.filter((c) => c === 'ecr:BatchGetImage').length;

async function pullTimes(repositoryName: string): Promise<Record<string, number | null>> {
  const out = await t.ecr.send(new DescribeImagesCommand({ repositoryName }));
  return Object.fromEntries(
    (out.imageDetails ?? []).map((d) => [d.imageDigest ?? '', d.lastRecordedPullTime?.getTime() ?? null]),
  );
}

async function withIndex(repo: string): Promise<{ children: MadeImage[]; index: string }> {
  expect((await t.cli(['create-repo', repo])).code).toBe(0);
  const children = await makeImages(t.ecr, repo, 2, { seed: repo });
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((m, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: m.digest,
      size: Buffer.byteLength(m.manifest),
      platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
    })),
  });
  await t.ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: index, imageTag: 'multi' }));
  return { children, index: sha256(index) };
}

beforeAll(async () => {
  t = await startRepoEnv();
});
afterAll(async () => {
  await t.close();
});

describe('BatchGetImage records a pull', () => {
  it('sets lastRecordedPullTime of each image returned (not of images merely listed)', async () => {
    const { children, index } = await withIndex('pulls/api');
    expect(Object.values(await pullTimes('pulls/api'))).toEqual([null, null, null]);
    await as('AKIDREADER').send(
      new BatchGetImageCommand({ repositoryName: 'pulls/api', imageIds: [{ imageTag: 'multi' }] }),
    );
    const after = await pullTimes('pulls/api');
    expect(after[index]).toEqual(expect.any(Number));
    for (const c of children) expect(after[c.digest]).toBeNull();
  });

  it('records nothing for a principal on the exclusion list, and again once it is removed', async () => {
    const { index } = await withIndex('pulls/excluded');
    const reg = await t.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: userArn('AKIDAUDIT') }));
    expect(reg.principalArn).toBe(userArn('AKIDAUDIT'));
    expect(reg.createdAt).toBeInstanceOf(Date);
    const get = () =>
      as('AKIDAUDIT').send(
        new BatchGetImageCommand({ repositoryName: 'pulls/excluded', imageIds: [{ imageDigest: index }] }),
      );
    expect((await get()).images?.[0]?.imageManifest).toContain('manifests');
    expect((await pullTimes('pulls/excluded'))[index]).toBeNull();
    await t.ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: userArn('AKIDAUDIT') }));
    await get();
    expect((await pullTimes('pulls/excluded'))[index]).toEqual(expect.any(Number));
  });

  it('serves the exclusion list as ECR does: list pages, duplicates and unknown principals refused', async () => {
    for (const name of ['a', 'b', 'c']) {
      await t.ecr.send(
        new RegisterPullTimeUpdateExclusionCommand({ principalArn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
      );
    }
    const first = await t.ecr.send(new ListPullTimeUpdateExclusionsCommand({ maxResults: 2 }));
    expect(first.pullTimeUpdateExclusions).toHaveLength(2);
    expect(first.nextToken).toEqual(expect.any(String));
    const rest = await t.ecr.send(new ListPullTimeUpdateExclusionsCommand({ nextToken: first.nextToken }));
    expect([...(first.pullTimeUpdateExclusions ?? []), ...(rest.pullTimeUpdateExclusions ?? [])]).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/a`,
      `arn:aws:iam::${ACCOUNT}:role/b`,
      `arn:aws:iam::${ACCOUNT}:role/c`,
    ]);
    await expect(
      t.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: `arn:aws:iam::${ACCOUNT}:role/a` })),
    ).rejects.toMatchObject({ name: 'ExclusionAlreadyExistsException' });
    await expect(
      t.ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: `arn:aws:iam::${ACCOUNT}:role/zz` })),
    ).rejects.toMatchObject({ name: 'ExclusionNotFoundException' });
    await expect(
      t.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: 'arn:aws:s3:::bucket' })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    for (const name of ['a', 'b', 'c']) {
      await t.ecr.send(
        new DeregisterPullTimeUpdateExclusionCommand({ principalArn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
      );
    }
  });
});

describe('a data-plane manifest GET records a pull as the principal its token carries', () => {
  /** Returns the data plane and a Basic header for a registry password asked for by accessKeyId. */
  async function login(accessKeyId: string): Promise<{ endpoint: string; auth: string }> {
    const out = await as(accessKeyId).send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    return { endpoint: data?.proxyEndpoint as string, auth: `Basic ${data?.authorizationToken as string}` };
  }

  it("records the reader's pull, not the excluded auditor's, with two identities", async () => {
    const { children, index } = await withIndex('pulls/dataplane');
    await t.ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: userArn('AKIDAUDITOR') }));
    try {
      const auditor = await login('AKIDAUDITOR');
      const reader = await login('AKIDREADER2');
      const get = (who: { endpoint: string; auth: string }, ref: string) =>
        fetch(`${who.endpoint}/v2/pulls/dataplane/manifests/${ref}`, {
          headers: { Authorization: who.auth, Accept: 'application/vnd.oci.image.index.v1+json' },
        });
      // The auditor reads the index by tag and a child by digest: no pull time changes.
      expect((await get(auditor, 'multi')).status).toBe(200);
      expect((await get(auditor, children[0]?.digest as string)).status).toBe(200);
      expect(Object.values(await pullTimes('pulls/dataplane'))).toEqual([null, null, null]);
      // Another identity's GET of the same index is a pull.
      expect((await get(reader, 'multi')).status).toBe(200);
      const after = await pullTimes('pulls/dataplane');
      expect(after[index]).toEqual(expect.any(Number));
      expect(after[children[0]?.digest as string]).toBeNull();
      // Once the auditor is off the list, its GETs count again.
      await t.ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: userArn('AKIDAUDITOR') }));
      expect((await get(auditor, children[0]?.digest as string)).status).toBe(200);
      expect((await pullTimes('pulls/dataplane'))[children[0]?.digest as string]).toEqual(expect.any(Number));
    } finally {
      await t.ecr
        .send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: userArn('AKIDAUDITOR') }))
        .catch(() => undefined);
    }
  });
});

describe('read-only commands record no pull', () => {
  const POLICY = JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  });

  let policyFile: string;
  beforeAll(() => {
    policyFile = path.join(t.dir, 'policy.json');
    writeFileSync(policyFile, POLICY);
  });

  it('lifecycle simulate and diff on a repository with indexes leave every lastRecordedPullTime unchanged', async () => {
    await withIndex('pulls/lc');
    await withIndexInto('pulls/lc', 'second');
    const before = await pullTimes('pulls/lc');
    const calls = batchGets();
    const sim = await t.cli(['-o', 'json', 'lifecycle', 'simulate', 'pulls/lc', '--policy', policyFile]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(sim.stderr).toContain('holds 2 image indexes whose manifests were not read');
    const diff = await t.cli(['-o', 'json', 'lifecycle', 'diff', 'pulls/lc', policyFile]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(batchGets()).toBe(calls);
    expect(await pullTimes('pulls/lc')).toEqual(before);
  });

  it('lifecycle simulate --read-manifests reads the indexes; an excluded principal leaves no trace', async () => {
    const { children, index } = await withIndex('pulls/read');
    const add = await t.cli(['pull-time-exclusion', 'add', userArn('AKIDTEST')]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout.trim()).toBe(`added ${userArn('AKIDTEST')}`);
    const before = await pullTimes('pulls/read');
    const sim = await t.cli([
      '-o',
      'json',
      'lifecycle',
      'simulate',
      'pulls/read',
      '--read-manifests',
      '--policy',
      policyFile,
    ]);
    expect(sim.code, sim.stderr).toBe(0);
    const decisions = JSON.parse(sim.stdout).decisions as { digest: string; action: string }[];
    // The untagged children are listed by the index, so ECR would keep both.
    for (const c of children) expect(decisions.find((d) => d.digest === c.digest)?.action).toBe('keep');
    expect(await pullTimes('pulls/read')).toEqual(before);
    const rm = await t.cli(['pull-time-exclusion', 'remove', userArn('AKIDTEST')]);
    expect(rm.code, rm.stderr).toBe(0);
    const again = await t.cli([
      '-o',
      'json',
      'lifecycle',
      'simulate',
      'pulls/read',
      '--read-manifests',
      '--policy',
      policyFile,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect((await pullTimes('pulls/read'))[index]).toEqual(expect.any(Number));
  });

  it('signing status of a single image reads no manifest', async () => {
    expect((await t.cli(['create-repo', 'pulls/one'])).code).toBe(0);
    await makeImages(t.ecr, 'pulls/one', 1, { tags: () => ['v1'], seed: 'one' });
    const calls = batchGets();
    const r = await t.cli(['signing', 'status', 'pulls/one:v1']);
    expect(r.code, r.stderr).toBe(0);
    expect(batchGets()).toBe(calls);
    expect(Object.values(await pullTimes('pulls/one'))).toEqual([null]);
  });
});

describe('ecrctl pull-time-exclusion', () => {
  it('adds, lists and removes principals; says when one is already there or missing', async () => {
    const arn = `arn:aws:iam::${ACCOUNT}:role/ecr-audit`;
    expect((await t.cli(['pull-time-exclusion', 'add', arn])).code).toBe(0);
    const twice = await t.cli(['pull-time-exclusion', 'add', arn]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('was already on the list');
    const list = await t.cli(['-o', 'json', 'pull-time-exclusion', 'list']);
    expect(JSON.parse(list.stdout)).toEqual({ principals: [arn] });
    expect((await t.cli(['pull-time-exclusion', 'remove', arn])).code).toBe(0);
    const gone = await t.cli(['pull-time-exclusion', 'remove', arn]);
    expect(gone.code).toBe(6);
    expect(gone.stderr).toContain('is not on the pull-time update exclusion list');
    expect((await t.cli(['pull-time-exclusion', 'list'])).stdout).toContain('(no principals excluded)');
    const bad = await t.cli(['pull-time-exclusion', 'add', 'arn:aws:s3:::bucket']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not the ARN of an IAM user or role');
  });
});

async function withIndexInto(repo: string, seed: string): Promise<void> {
  const children = await makeImages(t.ecr, repo, 2, { seed });
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((m) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: m.digest,
      size: Buffer.byteLength(m.manifest),
    })),
  });
  await t.ecr.send(new PutImageCommand({ repositoryName: repo, imageManifest: index, imageTag: seed }));
}

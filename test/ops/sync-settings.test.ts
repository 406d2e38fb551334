// The sync config's repository.lifecycle and defaults.pullTimeExclusion (src/ops/sync.ts,
// src/ops/sync-settings.ts) against `ecrctl local` as both source and target registry: the
// created repositories' lifecycle policies as the emulator stores them, and the source
// images' lastRecordedPullTime with and without the exclusion.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateRepositoryCommand,
  CreateRepositoryCreationTemplateCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  type ECRClient,
  GetLifecyclePolicyCommand,
  ListPullTimeUpdateExclusionsCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuleViolation } from '../../src/errors.js';
import type { LocalServer } from '../../src/local/server.js';
import { registryClient } from '../../src/ops/ecr.js';
import { applySync, checkSync, planSync } from '../../src/ops/sync.js';
import { renderPresetSource } from '../../src/policy/lifecycle/index.js';
import { parseSyncConfig } from '../../src/policy/sync-config.js';
import { createSession, type Session } from '../../src/session.js';
import { buildImage } from '../helpers/fixtures.js';
import { credentials, ecrClient, start } from '../local/helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let tmp: string;
let host: string;
let account: string;

const PRESET = 'preset:keep-last-n-tagged,prefix=v,count=50';
const FILE_POLICY = `{
  "rules": [
    {
      "rulePriority": 1,
      "description": "from a file",
      "selection": { "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 3 },
      "action": { "type": "expire" }
    }
  ]
}
`;
const TEMPLATE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'from the template',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 7 },
      action: { type: 'expire' },
    },
  ],
});

function session(): Session {
  return createSession({
    endpointUrl: server.url,
    region: 'us-east-1',
    credentials,
    env: { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp },
    cwd: tmp,
  });
}

function config(text: string, name = 'sync.yaml') {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return parseSyncConfig(text, file);
}

/** The emulator's calls from index `from` on that write something. */
function writesSince(from: number): string[] {
  return server.calls
    .slice(from)
    .filter((c) =>
      /^registry:(PUT|POST|PATCH|DELETE)|^ecr:(PutImage|CompleteLayerUpload|InitiateLayerUpload|CreateRepository|PutLifecyclePolicy|RegisterPullTimeUpdateExclusion)$/.test(
        c,
      ),
    );
}

/** Creates a source repository in the emulator holding one image under tag v1. */
async function seedSource(repo: string, seed: number): Promise<void> {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
  const image = buildImage(seed);
  const r = (await registryClient(session())).repository(host, repo);
  for (const [digest, bytes] of image.blobs) {
    await r.putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
      Readable.from([bytes]),
    );
  }
  await r.putManifest(image.manifest, 'v1');
}

async function lastPulled(repo: string): Promise<number | undefined> {
  const out = await ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  return out.imageDetails?.[0]?.lastRecordedPullTime?.getTime();
}

async function lifecycleOf(repo: string): Promise<string | undefined> {
  const out = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }));
  return out.lifecyclePolicyText;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-settings-'));
  server = await start(path.join(tmp, 'data'));
  ecr = ecrClient(server);
  host = new URL(await server.registryEndpoint('us-east-1')).host;
  account = (await ecr.send(new DescribeRegistryCommand({}))).registryId!;
  for (const [repo, seed] of [
    ['src/a', 11],
    ['src/b', 12],
    ['src/c', 13],
    ['src/d', 14],
  ] as const) {
    await seedSource(repo, seed);
  }
  await ecr.send(
    new CreateRepositoryCreationTemplateCommand({
      prefix: 'tpl',
      appliedFor: ['CREATE_ON_PUSH'],
      imageTagMutability: 'IMMUTABLE',
      lifecyclePolicy: TEMPLATE_POLICY,
    }),
  );
});
afterAll(async () => {
  await server?.close();
  ecr?.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

describe('sync repository.lifecycle', () => {
  it('creates repositories with the preset policy, shown by plan', async () => {
    const c = config(`
defaults:
  repository: { lifecycle: "${PRESET}" }
sync:
  - source: ${host}/src/a
    target: ${host}/life/a
`);
    const plan = await planSync(session(), { config: c });
    expect(plan.repositories.map((r) => [r.target, r.create, r.lifecycle])).toEqual([[`${host}/life/a`, true, PRESET]]);
    const result = await applySync(session(), { config: c });
    expect(result.failures).toEqual([]);
    expect(result.created).toEqual([`${host}/life/a`]);
    expect(JSON.parse((await lifecycleOf('life/a'))!)).toEqual(JSON.parse(renderPresetSource(PRESET)));
  });

  it("overrides a creation template's policy with a file relative to the sync file", async () => {
    mkdirSync(path.join(tmp, 'cfg'));
    writeFileSync(path.join(tmp, 'cfg', 'policy.json'), FILE_POLICY);
    const c = config(
      `
sync:
  - source: ${host}/src/b
    target: ${host}/tpl/b
    repository: { lifecycle: policy.json }
`,
      'cfg/sync.yaml',
    );
    const plan = await planSync(session(), { config: c });
    expect(plan.repositories.map((r) => [r.template, r.lifecycle])).toEqual([['tpl', 'policy.json']]);
    const result = await applySync(session(), { config: c });
    expect(result.failures).toEqual([]);
    expect(JSON.parse((await lifecycleOf('tpl/b'))!)).toEqual(JSON.parse(FILE_POLICY));
  });

  it('reports a bad preset parameter at its line, exit 3, before any call', () => {
    const mark = server.calls.length;
    let err: unknown;
    try {
      config(`sync:
  - source: ${host}/src/a
    target: ${host}/life/bad
    repository:
      lifecycle: "preset:keep-last-n-tagged,prefix=v,count=0"
`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleViolation);
    const v = err as RuleViolation;
    expect(v.exitCode).toBe(3);
    expect(v.problems).toEqual([
      expect.stringMatching(
        /sync\.yaml:5: sync\[0\]\.repository\.lifecycle: preset keep-last-n-tagged: parameter count must be a whole number from 1 up/,
      ),
    ]);
    expect(server.calls.length).toBe(mark);
  });

  it('reports a broken policy file with both file:lines, exit 3, and writes nothing', async () => {
    writeFileSync(
      path.join(tmp, 'bad.json'),
      '{\n  "rules": [\n    { "rulePriority": 0, "description": "priority zero is refused by ECR", "action": { "type": "expire" } }\n  ]\n}\n',
    );
    const c = config(`sync:
  - source: ${host}/src/c
    target: ${host}/life/c
    repository: { lifecycle: bad.json }
`);
    const mark = server.calls.length;
    const err = await applySync(session(), { config: c }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleViolation);
    const v = err as RuleViolation;
    expect(v.exitCode).toBe(3);
    expect(v.problems.length).toBeGreaterThan(0);
    for (const p of v.problems) expect(p).toMatch(/sync\.yaml:4: sync\[0\]\.repository\.lifecycle: .*bad\.json:3: /);
    expect(server.calls.length).toBe(mark);
    expect(writesSince(mark)).toEqual([]);
  });
});

describe('sync defaults.pullTimeExclusion', () => {
  it('without it, syncing records a pull of the source image', async () => {
    expect(await lastPulled('src/c')).toBeUndefined();
    const result = await applySync(session(), {
      config: config(`sync:
  - source: ${host}/src/c
    target: ${host}/pulled/c
`),
    });
    expect(result.failures).toEqual([]);
    expect(result.counts.copiedTags).toBe(1);
    expect(await lastPulled('src/c')).toBeTypeOf('number');
  });

  it('with it, the principal is excluded first and the source pull time is unchanged', async () => {
    const principal = `arn:aws:iam::${account}:user/${credentials.accessKeyId}`;
    const text = `defaults:
  pullTimeExclusion: ${principal}
sync:
  - source: ${host}/src/d
    target: ${host}/excluded/d
`;
    expect(await lastPulled('src/d')).toBeUndefined();
    // plan writes nothing, not even the exclusion.
    const mark = server.calls.length;
    await planSync(session(), { config: config(text) });
    expect(writesSince(mark)).toEqual([]);
    const result = await applySync(session(), { config: config(text) });
    expect(result.failures).toEqual([]);
    expect(result.counts.copiedTags).toBe(1);
    expect(await lastPulled('src/d')).toBeUndefined();
    const list = await ecr.send(new ListPullTimeUpdateExclusionsCommand({}));
    expect(list.pullTimeUpdateExclusions).toEqual([principal]);
    // Already on the list: no error; check reads nothing as a pull either.
    const check = await checkSync(session(), { config: config(text) });
    expect(check.stale).toEqual([]);
    expect(check.failures).toEqual([]);
    expect(await lastPulled('src/d')).toBeUndefined();
  });

  it('refuses a principal that is not an IAM user or role ARN, at its line', () => {
    expect(() =>
      config(`defaults:
  pullTimeExclusion: me
sync:
  - source: ${host}/src/d
    target: ${host}/excluded/x
`),
    ).toThrow(
      expect.objectContaining({
        problems: [expect.stringMatching(/sync\.yaml:2: defaults\.pullTimeExclusion: the ARN of the IAM user or role/)],
      }),
    );
  });
});

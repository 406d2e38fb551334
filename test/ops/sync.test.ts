// The sync engine (src/ops/sync.ts) against real servers on loopback: Debian's docker-registry
// as the source (behind a recording proxy, to count what the source is asked), `ecrctl local`
// as the ECR target (its recorded calls show every write).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { registryClient } from '../../src/ops/ecr.js';
import { applySync, checkSync, planSync } from '../../src/ops/sync.js';
import { parseSyncConfig } from '../../src/policy/sync-config.js';
import { createSession, type Session } from '../../src/session.js';
import { buildImage, type FixtureImage, pushFixture } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { credentials, ecrClient, start } from '../local/helpers.js';
import { type FaultProxy, startFaultProxy } from '../resilience/fault-proxy.js';

let reg: StartedRegistry;
let proxy: FaultProxy;
let server: LocalServer;
let tmp: string;
let targetHost: string;
const seedClient = new RegistryClient({ retry: { maxRetries: 0 } });

/** The source's tags and the digest each should have at the target. */
const expected = new Map<string, string>();
let arm64: FixtureImage;

async function seed(repo: string, image: FixtureImage | FixtureImage[], tag: string, host = reg.host): Promise<string> {
  return pushFixture(seedClient.repository(host, repo), image, tag, Array.isArray(image));
}

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

/** The calls the emulator saw from index `from` on that write something. */
function writesSince(from: number): string[] {
  return server.calls
    .slice(from)
    .filter((c) =>
      /^registry:(PUT|POST|PATCH|DELETE)|^ecr:(PutImage|CompleteLayerUpload|InitiateLayerUpload|UploadLayerPart|CreateRepository|PutLifecyclePolicy)$/.test(
        c,
      ),
    );
}

let readerSession: Session | undefined;
const reader = () => (readerSession ??= session());
async function targetDigest(repo: string, tag: string): Promise<string | undefined> {
  const client = await registryClient(reader());
  return (await client.repository(targetHost, repo).headManifest(tag))?.digest;
}

const MAIN = () => `
defaults:
  repository: { tagMutability: MUTABLE, scanOnPush: true }
sync:
  - source: ${proxy.host}/team/
    target: mirror/
    tags: { deny: ['^tmp-'] }
  - source: ${proxy.host}/other/z
    target: single/z
`;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-'));
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  server = await start(path.join(tmp, 'data'));
  targetHost = new URL(await server.registryEndpoint('us-east-1')).host;
  const a1 = buildImage(1);
  const a2 = buildImage(2);
  const amd = buildImage(3, { platform: { os: 'linux', architecture: 'amd64' } });
  arm64 = buildImage(4, { platform: { os: 'linux', architecture: 'arm64' } });
  const c1 = buildImage(5);
  const z = buildImage(6);
  for (const [repo, image, tag] of [
    ['team/a', a1, 'v1'],
    ['team/a', a2, 'v2'],
    ['team/a', a2, 'v3'],
    ['team/a', a1, 'tmp-1'],
    ['team/b', [amd, arm64], '1.0'],
    ['team/b', a1, 'latest'],
    ['team/c', c1, 'x'],
    ['other/z', z, 'latest'],
  ] as const) {
    const digest = await seed(repo, image as FixtureImage | FixtureImage[], tag);
    if (!tag.startsWith('tmp-'))
      expected.set(`${repo.replace(/^team\//, 'mirror/').replace(/^other\//, 'single/')}:${tag}`, digest);
  }
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  await server?.close();
  await seedClient.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('sync', () => {
  it('plans every repository and tag, writing nothing at the target', async () => {
    const mark = server.calls.length;
    const plan = await planSync(session(), { config: config(MAIN()), state: 'plan-state' });
    expect(plan.failures).toEqual([]);
    expect(existsSync(path.join(tmp, 'plan-state'))).toBe(false);
    expect(plan.repositories.map((r) => [r.target.replace(`${targetHost}/`, ''), r.create])).toEqual([
      ['mirror/a', true],
      ['mirror/b', true],
      ['mirror/c', true],
      ['single/z', true],
    ]);
    const tags = plan.repositories.flatMap((r) =>
      r.tags.map((t) => `${r.target.replace(`${targetHost}/`, '')}:${t.tag}=${t.action}`),
    );
    expect(tags.sort()).toEqual([...expected.keys()].map((k) => `${k}=copy`).sort());
    expect(plan.counts).toMatchObject({ repositories: 4, create: 4, tags: 7, copy: 7, skip: 0, failures: 0 });
    expect(writesSince(mark)).toEqual([]);
  });

  it('a dry-run apply writes nothing either', async () => {
    const mark = server.calls.length;
    const r = await applySync(session(), { config: config(MAIN()), dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.counts.copy).toBe(7);
    expect(r.copied).toEqual([]);
    expect(writesSince(mark)).toEqual([]);
  });

  it('applies: creates the repositories with the settings, copies every tag with its digest, journals each', async () => {
    const state = path.join(tmp, 'state');
    const r = await applySync(session(), { config: config(MAIN()), state });
    expect(r.failures).toEqual([]);
    expect(r.created.map((c) => c.replace(`${targetHost}/`, '')).sort()).toEqual([
      'mirror/a',
      'mirror/b',
      'mirror/c',
      'single/z',
    ]);
    for (const [key, digest] of expected) {
      const [repo, tag] = key.split(':') as [string, string];
      expect(await targetDigest(repo, tag), key).toBe(digest);
    }
    // v2 and v3 are one image: copied once, with both tags.
    expect(r.copied.find((c) => c.tags.includes('v2'))?.tags).toEqual(['v2', 'v3']);
    expect(r.counts.copiedTags).toBe(7);
    const repos = await ecrClient(server).send(new DescribeRepositoriesCommand({ repositoryNames: ['mirror/a'] }));
    expect(repos.repositories?.[0]?.imageScanningConfiguration?.scanOnPush).toBe(true);
    const lines = readFileSync(r.journal!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => `${l.target.replace(`${targetHost}/`, '')}:${l.tag}`).sort()).toEqual(
      [...expected.keys()].sort(),
    );
  });

  it('a second apply writes nothing and reads no source manifest (HEADs only)', async () => {
    const mark = server.calls.length;
    const seen = proxy.requests.length;
    const r = await applySync(session(), { config: config(MAIN()), state: path.join(tmp, 'state') });
    expect(r.failures).toEqual([]);
    expect(r.copied).toEqual([]);
    expect(r.skipped).toBe(7);
    expect(writesSince(mark)).toEqual([]);
    const manifestGets = proxy.requests.slice(seen).filter((q) => q.method === 'GET' && q.url.includes('/manifests/'));
    expect(manifestGets).toEqual([]);
    expect((await checkSync(session(), { config: config(MAIN()) })).stale).toEqual([]);
  });

  it('keeps going past a tag whose blob is gone, reporting it with its cause', async () => {
    const broken = buildImage(7);
    await seed('team/c', broken, 'broken');
    const fresh = buildImage(8);
    const freshDigest = await seed('team/a', fresh, 'v4');
    const hex = broken.layers[0]!.descriptor.digest.slice('sha256:'.length);
    const data = path.join(reg.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    expect(existsSync(data)).toBe(true);
    unlinkSync(data);
    const r = await applySync(session(), { config: config(MAIN()) });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({
      source: `${proxy.host}/team/c`,
      target: `${targetHost}/mirror/c`,
      tags: ['broken'],
      stage: 'copy',
    });
    expect(r.failures[0]!.message).toContain(hex.slice(0, 12));
    expect(r.copied.map((c) => c.tags)).toEqual([['v4']]);
    expect(await targetDigest('mirror/a', 'v4')).toBe(freshDigest);
    expect(await targetDigest('mirror/c', 'broken')).toBeUndefined();
    // check names the broken tag as stale until it is fixed.
    const check = await checkSync(session(), { config: config(MAIN()) });
    expect(check.stale.map((s) => s.tag)).toEqual(['broken']);
    await seedClient.repository(reg.host, 'team/c').deleteManifest(broken.manifest.digest);
  });

  it('check names a tag that moved at the source; apply overwrites it', async () => {
    const moved = buildImage(9);
    const digest = await seed('team/a', moved, 'v1');
    const check = await checkSync(session(), { config: config(MAIN()) });
    expect(check.stale).toEqual([
      expect.objectContaining({
        target: `${targetHost}/mirror/a`,
        tag: 'v1',
        action: 'overwrite',
        sourceDigest: digest,
      }),
    ]);
    const keep = await checkSync(session(), {
      config: config(MAIN().replace("tags: { deny: ['^tmp-'] }", "tags: { deny: ['^tmp-'] }\n    existing: skip")),
    });
    expect(keep.stale).toEqual([]);
    const r = await applySync(session(), { config: config(MAIN()) });
    expect(r.copied).toEqual([expect.objectContaining({ tags: ['v1'], action: 'overwritten', digest })]);
    expect(await targetDigest('mirror/a', 'v1')).toBe(digest);
  });

  it('existing: backup keeps the old target image under <tag>-backup-<UTC stamp> before overwriting', async () => {
    const text = `sync:\n  - source: ${proxy.host}/bk/app\n    target: backup/app\n    existing: backup\n`;
    const first = buildImage(31);
    const old = await seed('bk/app', first, 'stable');
    expect((await applySync(session(), { config: config(text, 'backup.yaml') })).backups).toEqual([]);
    const moved = await seed('bk/app', buildImage(32), 'stable');
    const plan = await planSync(session(), { config: config(text, 'backup.yaml') });
    const planned = plan.repositories[0]!.tags[0]!;
    expect(planned).toMatchObject({ tag: 'stable', action: 'overwrite', targetDigest: old });
    expect(planned.backupTag).toMatch(/^stable-backup-\d{14}$/);
    const r = await applySync(session(), { config: config(text, 'backup.yaml') });
    expect(r.failures).toEqual([]);
    expect(r.backups).toEqual([
      {
        target: `${targetHost}/backup/app`,
        tag: 'stable',
        backupTag: expect.stringMatching(/^stable-backup-\d{14}$/),
        digest: old,
      },
    ]);
    // Both images are reachable: the new one under the tag, the old one under its backup tag.
    expect(await targetDigest('backup/app', 'stable')).toBe(moved);
    expect(await targetDigest('backup/app', r.backups[0]!.backupTag)).toBe(old);
    const client = await registryClient(reader());
    const kept = await client.repository(targetHost, 'backup/app').getManifest(r.backups[0]!.backupTag);
    expect(kept.bytes.equals(first.manifest.bytes)).toBe(true);
  });

  it('shards 1/3, 2/3 and 3/3, run at once, copy every tag exactly once', async () => {
    const text = MAIN().replaceAll('mirror/', 'sharded/').replace('single/z', 'sharded-single/z');
    const whole = await planSync(session(), { config: config(text, 'shards.yaml') });
    const all = whole.repositories.flatMap((r) => r.tags.map((t) => `${r.target}:${t.tag}`)).sort();
    expect(all.length).toBeGreaterThanOrEqual(8);
    const results = await Promise.all(
      ['1/3', '2/3', '3/3'].map((shard) => applySync(session(), { config: config(text, 'shards.yaml'), shard })),
    );
    for (const r of results) expect(r.failures).toEqual([]);
    const copied = results.flatMap((r) => r.copied.flatMap((c) => c.tags.map((t) => `${c.target}:${t}`))).sort();
    expect(copied).toEqual(all);
    expect(results.filter((r) => r.copied.length > 0).length).toBeGreaterThanOrEqual(2);
    const after = await planSync(session(), { config: config(text, 'shards.yaml') });
    expect(after.counts.copy + after.counts.overwrite).toBe(0);
  });

  it('syncs one platform out of an index, and then finds it up to date', async () => {
    const text = `sync:\n  - source: ${proxy.host}/team/b\n    target: arm/b\n    platforms: [linux/arm64]\n    tags: { allow: ['^1\\.'] }\n`;
    const state = path.join(tmp, 'state-arm');
    const r = await applySync(session(), { config: config(text, 'arm.yaml'), state });
    expect(r.failures).toEqual([]);
    expect(r.copied).toEqual([expect.objectContaining({ tags: ['1.0'], digest: arm64.manifest.digest })]);
    expect(await targetDigest('arm/b', '1.0')).toBe(arm64.manifest.digest);
    const seen = proxy.requests.length;
    const again = await planSync(session(), { config: config(text, 'arm.yaml'), state });
    expect(again.repositories[0]?.tags).toEqual([
      expect.objectContaining({ tag: '1.0', action: 'skip', reason: 'up-to-date' }),
    ]);
    // The journal knows which image of the index was synced: the index is not read again.
    expect(proxy.requests.slice(seen).filter((q) => q.method === 'GET' && q.url.includes('/manifests/'))).toEqual([]);
  });

  it('syncs every repository under an ECR prefix (DescribeRepositories) to another prefix', async () => {
    const text = `sync:\n  - source: ${targetHost}/mirror/\n    target: backup/\n    tags: { allow: ['^v'] }\n`;
    const r = await applySync(session(), { config: config(text, 'ecr.yaml') });
    expect(r.failures).toEqual([]);
    const copied = r.copied.flatMap((c) => c.tags.map((t) => `${c.target.replace(`${targetHost}/`, '')}:${t}`));
    expect(copied.sort()).toEqual(['backup/a:v1', 'backup/a:v2', 'backup/a:v3', 'backup/a:v4']);
    for (const tag of ['v1', 'v2', 'v4']) {
      expect(await targetDigest('backup/a', tag)).toBe(await targetDigest('mirror/a', tag));
    }
  });

  it('tags.since keeps the tags of images pushed within the window (ECR: DescribeImages), refuses other sources', async () => {
    const mark = server.calls.length;
    const text = [
      'sync:',
      `  - source: ${targetHost}/mirror/a`,
      '    target: since/a',
      "    tags: { since: 1d, allow: ['^v'] }",
      `  - source: ${proxy.host}/team/a`,
      '    target: since/b',
      '    tags: { since: 30d }',
    ].join('\n');
    const plan = await planSync(session(), { config: config(text, 'since.yaml') });
    expect(plan.repositories.map((r) => [r.target.replace(`${targetHost}/`, ''), r.tags.map((t) => t.tag)])).toEqual([
      ['since/a', ['v1', 'v2', 'v3', 'v4']],
    ]);
    expect(server.calls.slice(mark)).toContain('ecr:DescribeImages');
    expect(plan.failures).toEqual([
      expect.objectContaining({
        stage: 'list-tags',
        kind: 'UsageError',
        message: expect.stringContaining(`tags.since: ${proxy.host} is not ECR`),
        fix: 'choose tags with tags.newest: N, tags.semver or tags.allow instead',
      }),
    ]);
  });

  it('after a SIGKILL mid-run, a rerun copies only what the journal does not hold', async () => {
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const tag of ['t1', 't2']) {
        await seed(`kill/r${i}`, buildImage(100 + i * 2 + (tag === 't1' ? 0 : 1), { layerSize: 6000 }), tag);
        names.push(`killed/r${i}:${tag}`);
      }
    }
    const text = `sync:\n  - source: ${proxy.host}/kill/\n    target: killed/\n`;
    const file = path.join(tmp, 'kill.yaml');
    writeFileSync(file, text);
    const state = path.join(tmp, 'state-kill');
    const script = path.join(tmp, 'kill-run.mts');
    writeFileSync(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { applySync } from ${JSON.stringify(path.resolve('src/ops/sync.ts'))};`,
        `import { parseSyncConfig } from ${JSON.stringify(path.resolve('src/policy/sync-config.ts'))};`,
        `import { createSession } from ${JSON.stringify(path.resolve('src/session.ts'))};`,
        `const session = createSession(${JSON.stringify({ endpointUrl: server.url, region: 'us-east-1', credentials, env: { DOCKER_CONFIG: path.join(tmp, 'none'), HOME: tmp }, cwd: tmp })});`,
        `const config = parseSyncConfig(readFileSync(${JSON.stringify(file)}, 'utf8'), ${JSON.stringify(file)});`,
        `await applySync(session, { config, state: ${JSON.stringify(state)}, concurrency: 1, blobConcurrency: 1 });`,
      ].join('\n'),
    );
    // Slow blob downloads down so the kill lands mid-run.
    proxy.rule({
      method: 'GET',
      path: /\/blobs\//,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'throttle', bytesPerSecond: 12_000 },
    });
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), stdio: 'ignore' });
    const journaled = async (): Promise<string[]> => {
      const files = existsSync(state)
        ? readdirSync(state).filter((f) => f.endsWith('.jsonl') && !f.endsWith('.blobs.jsonl'))
        : [];
      return files.flatMap((f) =>
        readFileSync(path.join(state, f), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => {
            const r = JSON.parse(l) as { target: string; tag: string };
            return `${r.target.replace(`${targetHost}/`, '')}:${r.tag}`;
          }),
      );
    };
    try {
      const deadline = Date.now() + 40_000;
      while ((await journaled()).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    } finally {
      proxy.clear();
    }
    const done = await journaled();
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(names.length);
    const r = await applySync(session(), { config: config(text, 'kill.yaml'), state });
    expect(r.failures).toEqual([]);
    const copied = r.copied.flatMap((c) => c.tags.map((t) => `${c.target.replace(`${targetHost}/`, '')}:${t}`));
    // Nothing journaled is copied again; together the two runs copied every tag once.
    expect(copied.filter((t) => done.includes(t))).toEqual([]);
    expect([...copied, ...done].sort()).toEqual([...names].sort());
    for (const n of names) {
      const [repo, tag] = n.split(':') as [string, string];
      expect(await targetDigest(repo, tag), n).toBeDefined();
    }
  });

  it('a journal torn by a kill is read past, and the next record starts on its own line', async () => {
    const text = `sync:\n  - source: ${proxy.host}/other/z\n    target: torn/z\n`;
    const state = path.join(tmp, 'state-torn');
    const first = await applySync(session(), { config: config(text, 'torn.yaml'), state });
    expect(first.copied).toHaveLength(1);
    writeFileSync(first.journal!, `${readFileSync(first.journal!, 'utf8')}{"target":"half a rec`);
    const digest = await seed('other/z', buildImage(10), 'next');
    const second = await applySync(session(), { config: config(text, 'torn.yaml'), state });
    expect(second.failures).toEqual([]);
    expect(second.copied).toEqual([expect.objectContaining({ tags: ['next'], digest })]);
    const lines = readFileSync(first.journal!, 'utf8').split('\n');
    expect(lines.slice(-3)).toEqual(['{"target":"half a rec', expect.stringContaining('"tag":"next"'), '']);
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({ tag: 'next', sourceDigest: digest, targetDigest: digest });
  });

  it('records an unreachable source and a refused repository name, and goes on', async () => {
    const text = `sync:\n  - source: 127.0.0.1:9/none/\n    target: gone/\n  - source: ${proxy.host}/other/z\n    target: Bad_Name/z\n  - source: ${proxy.host}/team/c\n    target: ok/c\n`;
    const r = await applySync(session(), { config: config(text, 'bad.yaml') });
    expect(r.failures.map((f) => [f.stage, f.kind, f.source])).toEqual([
      ['list-repositories', expect.any(String), '127.0.0.1:9/none/'],
      ['resolve', 'UsageError', `${proxy.host}/other/z`],
    ]);
    expect(r.copied.map((c) => c.target)).toEqual([`${targetHost}/ok/c`]);
  });
});

describe('sync with per-side credentials', () => {
  let secured: StartedRegistry;
  let image: string;
  beforeAll(async () => {
    secured = await startRegistry({ auth: 'basic' });
    const seeder = new RegistryClient({
      retry: { maxRetries: 0 },
      credentials: { get: async () => ({ username: secured.username!, password: secured.password! }) },
    });
    const r = seeder.repository(secured.host, 'private/app');
    const img = buildImage(21);
    for (const [digest, bytes] of img.blobs) {
      await r.putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
        Readable.from([bytes]),
      );
    }
    await r.putManifest(img.manifest, '1.0');
    image = img.manifest.digest;
    await seeder.close();
  });
  afterAll(async () => {
    await secured?.stop();
  });

  const CREDS = () => `
sync:
  - source: ${secured.host}/private/app
    target: creds/app
    credentials:
      source: { username: ${secured.username}, passwordEnv: SRC_REGISTRY_PASSWORD }
`;
  function sessionWith(env: NodeJS.ProcessEnv): Session {
    return createSession({
      endpointUrl: server.url,
      region: 'us-east-1',
      credentials,
      env: { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp, ...env },
      cwd: tmp,
    });
  }

  it('reads a Basic-auth source with the password from the variable passwordEnv names', async () => {
    const events: string[] = [];
    const s = createSession({
      endpointUrl: server.url,
      region: 'us-east-1',
      credentials,
      env: {
        DOCKER_CONFIG: path.join(tmp, 'no-docker-config'),
        HOME: tmp,
        SRC_REGISTRY_PASSWORD: secured.password!,
      },
      cwd: tmp,
      onEvent: (e) => {
        if (e.type === 'log') events.push(e.message);
      },
    });
    const r = await applySync(s, { config: config(CREDS(), 'creds.yaml') });
    expect(r.failures).toEqual([]);
    expect(r.copied).toEqual([expect.objectContaining({ tags: ['1.0'], digest: image })]);
    expect(await targetDigest('creds/app', '1.0')).toBe(image);
    // The password never reaches a log line.
    expect(events.join('\n')).not.toContain(secured.password!);
  });

  it('without the variable: a resolve failure naming the variable and the line; nothing is read', async () => {
    const r = await applySync(sessionWith({}), { config: config(CREDS(), 'creds.yaml') });
    expect(r.copied).toEqual([]);
    expect(r.failures).toEqual([
      expect.objectContaining({
        stage: 'resolve',
        kind: 'AuthError',
        exitCode: 5,
        message: expect.stringMatching(/creds\.yaml:6: the environment variable SRC_REGISTRY_PASSWORD .* is not set/),
      }),
    ]);
  });

  it('without credentials the same source is refused (401), so the credentials were what worked', async () => {
    const text = CREDS().split('\n').slice(0, 4).join('\n');
    const plan = await planSync(sessionWith({ SRC_REGISTRY_PASSWORD: secured.password! }), {
      config: config(`${text.replace('creds/app', 'nocreds/app')}\n`, 'nocreds.yaml'),
    });
    expect(plan.failures).toEqual([expect.objectContaining({ stage: 'list-tags', kind: 'AuthError' })]);
  });

  it('a wrong password from the variable is refused by the registry', async () => {
    const plan = await planSync(sessionWith({ SRC_REGISTRY_PASSWORD: 'not-the-password' }), {
      config: config(CREDS().replace('creds/app', 'wrong/app'), 'wrong.yaml'),
    });
    expect(plan.failures).toEqual([expect.objectContaining({ stage: 'list-tags', kind: 'AuthError' })]);
  });
});

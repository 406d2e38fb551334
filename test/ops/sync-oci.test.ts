// `oci:DIR/` as a sync target (src/ops/sync-oci.ts): Debian's docker-registry as the source,
// one OCI image layout per repository under DIR, read back with Debian's skopeo and umoci.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToReferrersTag } from '../../src/oci/artifact.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { LocalServer } from '../../src/local/server.js';
import { registryClient } from '../../src/ops/ecr.js';
import { applySync, checkSync, planSync } from '../../src/ops/sync.js';
import { parseSyncConfig } from '../../src/policy/sync-config.js';
import { createSession, type Session } from '../../src/session.js';
import { buildImage, buildIndex, type FixtureImage, pushFixture } from '../helpers/fixtures.js';
import { type StartedRegistry, skopeo, startRegistry } from '../helpers/registry.js';
import { credentials, start } from '../local/helpers.js';

let reg: StartedRegistry;
let tmp: string;
const seedClient = new RegistryClient({ retry: { maxRetries: 0 } });
/** `repo:tag` (under team/) → the source digest. */
const expected = new Map<string, string>();
let referrer: FixtureImage;
let subjectDigest: string;

async function seed(repo: string, image: FixtureImage | FixtureImage[], tag?: string): Promise<string> {
  return pushFixture(seedClient.repository(reg.host, repo), image, tag, Array.isArray(image));
}

function session(): Session {
  return createSession({
    region: 'us-east-1',
    env: { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp },
    cwd: tmp,
  });
}

function config(text: string, name = 'sync.yaml') {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return parseSyncConfig(text, file);
}

const MAIN = () => `
sync:
  - source: ${reg.host}/team/
    target: oci:export/
    tags: { deny: ['^tmp-'] }
`;

/** Every file under dir with its size and mtime, and every directory with its mtime. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = statSync(p);
      out.push(`${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

async function rawDigest(location: string): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', location]);
  // --raw prints the manifest bytes as stored: their sha256 is the digest.
  return `sha256:${createHash('sha256').update(Buffer.from(stdout, 'utf8')).digest('hex')}`;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-oci-'));
  reg = await startRegistry();
  const a1 = buildImage(11);
  const a2 = buildImage(12);
  const amd = buildImage(13, { platform: { os: 'linux', architecture: 'amd64' } });
  const arm = buildImage(14, { platform: { os: 'linux', architecture: 'arm64' } });
  for (const [repo, image, tag] of [
    ['team/a', a1, 'v1'],
    ['team/a', a2, 'v2'],
    ['team/a', a2, 'v3'],
    ['team/a', a1, 'tmp-1'],
    ['team/b', [amd, arm], '1.0'],
    ['team/b', a1, 'latest'],
  ] as const) {
    const digest = await seed(repo, image as FixtureImage | FixtureImage[], tag);
    if (!tag.startsWith('tmp-')) expected.set(`${repo.replace(/^team\//, '')}:${tag}`, digest);
  }
  // An SBOM-like referrer of team/b:1.0 (the index), kept under the sha256-<hex> tag schema:
  // distribution 2.8 has no referrers API.
  subjectDigest = expected.get('b:1.0')!;
  const subject = buildIndex([amd, arm]);
  referrer = buildImage(15, {
    artifactType: 'application/spdx+json',
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
  });
  await seed('team/b', referrer);
  await addToReferrersTag(seedClient.repository(reg.host, 'team/b'), subjectDigest, referrer.descriptor);
});
afterAll(async () => {
  await reg?.stop();
  await seedClient.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('sync to oci:DIR/', () => {
  it('plans every tag as a copy, writing nothing', async () => {
    const plan = await planSync(session(), { config: config(MAIN()), state: 'state' });
    expect(plan.failures).toEqual([]);
    const root = path.join(tmp, 'export');
    expect(plan.repositories.map((r) => [r.target, r.create])).toEqual([
      [`oci:${root}/a`, false],
      [`oci:${root}/b`, false],
    ]);
    expect(plan.repositories.flatMap((r) => r.tags.map((t) => `${t.tag} ${t.action}`))).toEqual([
      'v1 copy',
      'v2 copy',
      'v3 copy',
      '1.0 copy',
      'latest copy',
    ]);
    expect(readdirSync(tmp).sort()).toEqual(['sync.yaml']);
  });

  it('applies: one layout per repository, every tag as a ref name with the source digest, the referrer stored', async () => {
    const r = await applySync(session(), { config: config(MAIN()), state: 'state' });
    expect(r.failures).toEqual([]);
    expect(r.created).toEqual([]);
    expect(r.counts.copiedTags).toBe(5);
    expect(readdirSync(path.join(tmp, 'export')).sort()).toEqual(['a', 'b']);
    for (const [key, digest] of expected) {
      const [repo, tag] = key.split(':');
      expect(await rawDigest(`oci:${path.join(tmp, 'export', repo!)}:${tag}`), key).toBe(digest);
    }
    // index.json names every tag, as `ecrctl pull … oci:DIR:TAG` writes it.
    const index = JSON.parse(readFileSync(path.join(tmp, 'export/b/index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const named = index.manifests.map((d) => d.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
    expect(named.sort()).toEqual(['1.0', 'latest']);
    // The referrer is a root of the layout too, with its subject: the index of 1.0.
    expect(index.manifests.map((d) => d.digest)).toContain(referrer.manifest.digest);
    const stored = JSON.parse(
      readFileSync(path.join(tmp, 'export/b/blobs/sha256', referrer.manifest.digest.slice(7)), 'utf8'),
    ) as { subject: { digest: string } };
    expect(stored.subject.digest).toBe(subjectDigest);
    // umoci reads the layouts and lists the tags.
    const ls = execFileSync('umoci', ['ls', '--layout', path.join(tmp, 'export/a')], { encoding: 'utf8' });
    expect(ls.trim().split('\n').sort()).toEqual(['v1', 'v2', 'v3']);
    // The tag journal has every tag; the blob journal every blob that landed.
    const journals = readdirSync(path.join(tmp, 'state'));
    const tagJournal = journals.find((n) => n.endsWith('.jsonl') && !n.endsWith('.blobs.jsonl'))!;
    const lines = readFileSync(path.join(tmp, 'state', tagJournal), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { tag: string }).tag).sort()).toEqual(
      ['1.0', 'latest', 'v1', 'v2', 'v3'].sort(),
    );
    expect(journals.some((n) => n.endsWith('.blobs.jsonl'))).toBe(true);
  });

  it('a second apply writes nothing: same files, same mtimes, 0 copied', async () => {
    const before = snapshot(path.join(tmp, 'export'));
    const r = await applySync(session(), { config: config(MAIN()), state: 'state' });
    expect(r.failures).toEqual([]);
    expect(r.copied).toEqual([]);
    expect(r.counts.copiedTags).toBe(0);
    expect(r.skipped).toBe(5);
    expect(snapshot(path.join(tmp, 'export'))).toEqual(before);
  });

  it('check names a tag that moved at the source; apply rewrites only that tag', async () => {
    const moved = await seed('team/a', buildImage(16), 'v1');
    const check = await checkSync(session(), { config: config(MAIN()), state: 'state' });
    expect(check.failures).toEqual([]);
    expect(check.stale.map((s) => [s.tag, s.action, s.sourceDigest, s.targetDigest])).toEqual([
      ['v1', 'overwrite', moved, expected.get('a:v1')],
    ]);
    const r = await applySync(session(), { config: config(MAIN()), state: 'state' });
    expect(r.failures).toEqual([]);
    expect(r.copied.map((c) => [c.tags, c.action, c.digest])).toEqual([[['v1'], 'overwritten', moved]]);
    expect(await rawDigest(`oci:${path.join(tmp, 'export/a')}:v1`)).toBe(moved);
    expect(await rawDigest(`oci:${path.join(tmp, 'export/a')}:v2`)).toBe(expected.get('a:v2'));
    expect((await checkSync(session(), { config: config(MAIN()), state: 'state' })).stale).toEqual([]);
  });

  it('a file where the directory should be: a clear failure naming the path, nothing written', async () => {
    writeFileSync(path.join(tmp, 'blocked'), 'not a directory');
    const text = `sync:\n  - source: ${reg.host}/team/\n    target: oci:blocked/\n`;
    const r = await applySync(session(), { config: config(text, 'blocked.yaml') });
    expect(r.copied).toEqual([]);
    expect(r.failures.map((f) => [f.stage, f.kind, f.message])).toEqual([
      ['resolve', 'UsageError', `the oci: target ${path.join(tmp, 'blocked')} is a file, not a directory`],
    ]);
    // A file in place of one repository's layout fails that repository; the other is written.
    mkdirSync(path.join(tmp, 'partly'));
    writeFileSync(path.join(tmp, 'partly/a'), 'not a layout');
    const text2 = `sync:\n  - source: ${reg.host}/team/\n    target: oci:partly/\n`;
    const r2 = await applySync(session(), { config: config(text2, 'partly.yaml') });
    expect(r2.failures.map((f) => [f.stage, f.message])).toEqual([
      ['list-tags', `the layout directory ${path.join(tmp, 'partly/a')} is a file, not a directory`],
    ]);
    expect(r2.copied.map((c) => [c.target, c.tags])).toEqual([
      [`oci:${path.join(tmp, 'partly/b')}`, ['1.0']],
      [`oci:${path.join(tmp, 'partly/b')}`, ['latest']],
    ]);
    expect(await rawDigest(`oci:${path.join(tmp, 'partly/b')}:1.0`)).toBe(expected.get('b:1.0'));
    expect(readFileSync(path.join(tmp, 'partly/a'), 'utf8')).toBe('not a layout');
  });
});

describe('sync from oci:DIR/ (the import side)', () => {
  let server: LocalServer;
  let targetHost: string;
  const ecrSession = () =>
    createSession({
      endpointUrl: server.url,
      region: 'us-east-1',
      credentials,
      env: { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp },
      cwd: tmp,
    });
  const IMPORT = `
sync:
  - source: oci:export/
    target: imported/
`;
  beforeAll(async () => {
    server = await start(path.join(tmp, 'ecr-data'));
    targetHost = new URL(await server.registryEndpoint('us-east-1')).host;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('registry → oci:DIR/ → ecrctl local: every tag with the digest the layout (and the source) has', async () => {
    const plan = await planSync(ecrSession(), { config: config(IMPORT, 'import.yaml') });
    expect(plan.failures).toEqual([]);
    expect(plan.repositories.map((r) => [r.source, r.target, r.create])).toEqual([
      [`oci:${path.join(tmp, 'export/a')}`, `${targetHost}/imported/a`, true],
      [`oci:${path.join(tmp, 'export/b')}`, `${targetHost}/imported/b`, true],
    ]);
    const r = await applySync(ecrSession(), { config: config(IMPORT, 'import.yaml') });
    expect(r.failures).toEqual([]);
    expect(r.created.sort()).toEqual([`${targetHost}/imported/a`, `${targetHost}/imported/b`]);
    expect(r.counts.copiedTags).toBe(5);
    const client = await registryClient(ecrSession());
    for (const [key, digest] of expected) {
      const [repo, tag] = key.split(':');
      const layoutDigest = await rawDigest(`oci:${path.join(tmp, 'export', repo!)}:${tag}`);
      const at = await client.repository(targetHost, `imported/${repo}`).headManifest(tag!);
      expect(at?.digest, key).toBe(layoutDigest);
      // Unchanged since the export (only a:v1 moved at the source, and was exported again).
      if (key !== 'a:v1') expect(at?.digest, key).toBe(digest);
    }
    // The referrer came along from the layout.
    const ref = await client.repository(targetHost, 'imported/b').headManifest(referrer.manifest.digest);
    expect(ref?.digest).toBe(referrer.manifest.digest);
    await client.close?.();
    const again = await applySync(ecrSession(), { config: config(IMPORT, 'import.yaml') });
    expect(again.failures).toEqual([]);
    expect(again.counts.copiedTags).toBe(0);
    expect(again.skipped).toBe(5);
  });

  it('a missing oci: source directory is a resolve failure naming it', async () => {
    const text = 'sync:\n  - source: oci:nowhere/\n    target: imported2/\n';
    const r = await applySync(ecrSession(), { config: config(text, 'nowhere.yaml') });
    expect(r.failures.map((f) => [f.stage, f.message])).toEqual([
      ['list-repositories', `the oci: source ${path.join(tmp, 'nowhere')} does not exist`],
    ]);
  });
});

describe('sync config with an oci: side', () => {
  const problems = (text: string): string[] => {
    try {
      parseSyncConfig(text, 'c.yaml');
      return [];
    } catch (err) {
      return ((err as { problems?: string[] }).problems ?? [String(err)]).map(String);
    }
  };

  it('accepts oci:DIR/ as a prefix target', () => {
    expect(problems('sync:\n  - source: r.example/team/\n    target: oci:./out/\n')).toEqual([]);
  });

  it('accepts oci:DIR/ as a prefix source', () => {
    expect(problems('sync:\n  - source: oci:./in/\n    target: r.example/t/\n')).toEqual([]);
  });

  it('refuses an oci: side without the trailing slash, backup, target credentials, tags.since', () => {
    expect(problems('sync:\n  - source: r.example/a\n    target: oci:out\n').join('\n')).toMatch(/oci:DIR\//);
    expect(
      problems('sync:\n  - source: r.example/t/\n    target: oci:out/\n    existing: backup\n').join('\n'),
    ).toMatch(/existing: backup needs a registry target/);
    expect(
      problems(
        'sync:\n  - source: r.example/t/\n    target: oci:out/\n    credentials: { target: { profile: x } }\n',
      ).join('\n'),
    ).toMatch(/takes no credentials/);
    expect(problems('sync:\n  - source: oci:in\n    target: r.example/t\n').join('\n')).toMatch(/oci:DIR\//);
    expect(
      problems('sync:\n  - source: oci:in/\n    target: r.example/t/\n    tags: { since: 7d }\n').join('\n'),
    ).toMatch(/tags.since: needs an ECR source/);
  });
});

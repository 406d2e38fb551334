// `ecrctl sync` at scale, the built binary as real processes: Debian's docker-registry seeded
// with 30 repositories × 5 tags (every image on one shared base layer; two multi-platform
// indexes; one image with an SBOM referrer under the tag schema) synced into `ecrctl local`
// (in this process, so its recorded calls and request log can be counted). The source sits
// behind a recording proxy: a blob is sent to the target exactly when it is read from the
// source (a mount reads nothing), so its blob GETs count the uploads per repository and
// digest; the emulator's log counts blob HEADs per repository and digest. A "Docker Hub" is
// the same registry behind a fault proxy answering 429 with Retry-After and
// ratelimit-remaining, with one tag whose manifest answers 500 every time.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateRepositoryCreationTemplateCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  PutAccountSettingCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, buildIndex, type FixtureBlob, type FixtureImage, sha256 } from '../helpers/fixtures.js';
import { skopeo, type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { credentials, ecrClient, start } from '../local/helpers.js';
import { type FaultProxy, type ProxiedRequest, startFaultProxy } from './fault-proxy.js';

const REPOS = 30;
/** Repositories at once: the runs wait on loopback round trips, not on the CPU. */
const FAST = ['--concurrency', '16'];
const TAGS = ['1.0.0', '1.0.1', '1.1.0', '2.0.0', 'latest'];
const LIFECYCLE = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'keep 50',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 },
      action: { type: 'expire' },
    },
  ],
});

let reg: StartedRegistry;
let server: LocalServer;
/** In front of the source registry: what the sync reads from the source. */
let sp: FaultProxy;
/** The emulator's request log lines. */
const targetLog: string[] = [];
/** In front of the source registry: a "Docker Hub" with rate limits and a broken tag. */
let hub: FaultProxy;
let tmp: string;
let targetHost: string;
let targetAuth: string;
const seedClient = new RegistryClient({ retry: { maxRetries: 0 } });
/** `apps/rNN:tag` → source manifest digest. */
const sourceDigests = new Map<string, string>();
let sbomDigest = '';

const name = (i: number) => `r${String(i).padStart(2, '0')}`;

let base: FixtureBlob;
/** An image whose first layer is the shared base layer. */
function composed(seed: number, platform?: { os: string; architecture: string }): FixtureImage {
  const own = buildImage(seed, { layers: 1, layerSize: 400, ...(platform ? { platform } : {}) });
  const doc = JSON.parse(own.manifest.bytes.toString('utf8')) as { layers: unknown[] };
  doc.layers = [base.descriptor, ...doc.layers];
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = sha256(bytes);
  const blobs = new Map(own.blobs);
  blobs.set(base.descriptor.digest, base.bytes);
  return {
    ...own,
    manifest: { ...own.manifest, digest, bytes },
    layers: [base, ...own.layers],
    blobs,
    descriptor: { ...own.descriptor, digest, size: bytes.length },
  };
}

async function push(
  repo: string,
  images: FixtureImage[],
  top: FixtureImage | ReturnType<typeof buildIndex>,
  tag?: string,
) {
  const r = seedClient.repository(reg.host, repo);
  for (const img of images) {
    await Promise.all(
      [...img.blobs].map(([digest, bytes]) =>
        r.putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
          Readable.from([bytes]),
        ),
      ),
    );
    if (img !== top) await r.putManifest(img.manifest);
  }
  const m = 'manifest' in top ? top.manifest : top;
  await r.putManifest(m, tag);
  return m.digest;
}

const env = () => ({
  AWS_ENDPOINT_URL: server.url,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  DOCKER_CONFIG: path.join(tmp, 'no-docker-config'),
  HOME: tmp,
  ECRCTL_SYNC_HEARTBEAT: '0',
});

function configFile(file: string, text: string): string {
  const p = path.join(tmp, file);
  writeFileSync(p, text);
  return p;
}

const MAIN = () => `sync:\n  - source: ${sp.host}/apps/\n    target: mirror/\n`;

/**
 * Blobs sent to the target, as `target-repo digest`: each one read from the source (blob
 * GETs answered 200 through the source proxy; apps/rNN is synced to <prefix>/rNN).
 */
function uploads(requests: readonly ProxiedRequest[], prefix = 'mirror'): string[] {
  return requests
    .filter((r) => r.method === 'GET' && r.status === 200 && /\/blobs\/sha256:/.test(r.url))
    .map((r) => {
      const m = /^\/v2\/apps\/(.+)\/blobs\/(sha256:[0-9a-f]{64})/.exec(r.url)!;
      return `${prefix}/${m[1]} ${m[2]}`;
    });
}

/** Blob HEADs the target answered, as `repo digest`, from the emulator's log lines. */
function blobHeads(lines: readonly string[]): string[] {
  return lines.flatMap((l) => {
    const m = /^registry HEAD \/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64}) /.exec(l);
    return m ? [`${m[1]} ${m[2]}`] : [];
  });
}

/** Every (target repository, blob) the synced images need, as `repo digest`. */
const needed = new Set<string>();

/** Returns true when the target registry holds digest in repo (a HEAD of our own). */
async function targetHas(repo: string, digest: string): Promise<boolean> {
  const res = await fetch(`http://${targetHost}/v2/${repo}/blobs/${digest}`, {
    method: 'HEAD',
    headers: { Authorization: targetAuth },
  });
  return res.status === 200;
}

/** The emulator's manifest writes (PutImage through the data plane) from index `from` on. */
function manifestPuts(from: number) {
  return server.requests.slice(from).filter((r) => r.call === 'registry:PUT manifests' || r.call === 'ecr:PutImage');
}

function writesSince(from: number): string[] {
  return server.calls
    .slice(from)
    .filter((c) =>
      /^registry:(PUT|POST|PATCH|DELETE)|^ecr:(PutImage|CompleteLayerUpload|InitiateLayerUpload|UploadLayerPart|CreateRepository|PutLifecyclePolicy|PutImageTagMutability)$/.test(
        c,
      ),
    );
}

/** Gets a fresh token for the target registry (the emulator's clock may have jumped). */
async function signIn(): Promise<void> {
  const token = await ecrClient(server).send(new GetAuthorizationTokenCommand({}));
  targetAuth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
}

/** sha256 of the raw manifest the target serves for repo:tag. */
async function targetDigest(repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`http://${targetHost}/v2/${repo}/manifests/${tag}`, {
    headers: {
      Authorization: targetAuth,
      Accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ].join(', '),
    },
  });
  if (res.status !== 200) return undefined;
  return `sha256:${createHash('sha256')
    .update(Buffer.from(await res.arrayBuffer()))
    .digest('hex')}`;
}

/** The most PutImage calls one repository received within any 1000 ms. */
function peakPutImagePerSecond(from: number): number {
  const byRepo = new Map<string, number[]>();
  for (const r of manifestPuts(from)) byRepo.set(r.repository ?? '', [...(byRepo.get(r.repository ?? '') ?? []), r.at]);
  let peak = 0;
  for (const times of byRepo.values()) {
    times.sort((a, b) => a - b);
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
  }
  return peak;
}

interface Report {
  copied: { source: string; target: string; digest: string; tags: string[] }[];
  failures: { source: string; target?: string; tags?: string[]; stage: string; kind: string; message: string }[];
  created: string[];
  counts: { copiedTags: number; failedTags: number };
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-acceptance-'));
  [reg, server] = await Promise.all([
    startRegistry(),
    start(path.join(tmp, 'data'), { stateDelayScale: 0, log: (line) => targetLog.push(line) }),
  ]);
  const endpoint = await server.registryEndpoint('us-east-1');
  targetHost = new URL(endpoint).host;
  [sp, hub] = await Promise.all([startFaultProxy(reg.host), startFaultProxy(reg.host)]);
  const ecr = ecrClient(server);
  await signIn();
  await ecr.send(
    new CreateRepositoryCreationTemplateCommand({
      prefix: 'mirror',
      appliedFor: ['CREATE_ON_PUSH'],
      imageTagMutability: 'IMMUTABLE',
      lifecyclePolicy: LIFECYCLE,
    }),
  );
  // Cross-repository mounts, so a blob stored once in the registry is never sent twice.
  await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));

  base = buildImage(9000, { layers: 1, layerSize: 3000 }).layers[0]!;
  const work: Promise<void>[] = [];
  for (let i = 0; i < REPOS; i++) {
    const repo = `apps/${name(i)}`;
    for (const [t, tag] of TAGS.entries()) {
      work.push(
        (async () => {
          const s = 1 + (i * TAGS.length + t) * 2;
          let digest: string;
          let images: FixtureImage[];
          if (i < 2 && tag === '1.0.0') {
            const amd = composed(s, { os: 'linux', architecture: 'amd64' });
            const arm = composed(s + 1, { os: 'linux', architecture: 'arm64' });
            images = [amd, arm];
            digest = await push(repo, images, buildIndex(images), tag);
          } else {
            const img = composed(s);
            images = [img];
            digest = await push(repo, [img], img, tag);
            if (i === 2 && tag === '1.0.0') {
              const sbom = buildImage(8000, {
                layers: 1,
                layerSize: 200,
                artifactType: 'application/spdx+json',
                subject: img.descriptor,
              });
              await push(repo, [sbom], sbom);
              await seedClient.repository(reg.host, repo).putManifest(buildIndex([sbom]), `sha256-${digest.slice(7)}`);
              sbomDigest = sbom.manifest.digest;
              images.push(sbom);
            }
          }
          sourceDigests.set(`${repo}:${tag}`, digest);
          for (const img of images) for (const d of img.blobs.keys()) needed.add(`mirror/${name(i)} ${d}`);
        })(),
      );
    }
  }
  await Promise.all(work);
  // The "Docker Hub": 3 repositories × 2 tags, one of which is broken.
  for (let i = 0; i < 3; i++) {
    for (const tag of ['1', '2']) {
      const img = composed(5000 + i * 2 + Number(tag));
      await push(`library/h${i}`, [img], img, tag === '2' && i === 1 ? 'bad' : tag);
    }
  }
}, 120_000);

afterAll(async () => {
  await sp?.stop();
  await hub?.stop();
  await reg?.stop();
  await server?.close();
  await seedClient.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('sync at scale (built binary)', { timeout: 360_000 }, () => {
  const state = () => path.join(tmp, 'state');
  const cfg = () => configFile('sync.yaml', MAIN());

  it('plan lists 150 tags and 30 repositories to create (with the template), and writes nothing', async () => {
    const calls = server.calls.length;
    const r = await runCli(['sync', 'plan', '-f', cfg(), '--state', state(), '-o', 'json', ...FAST], {
      env: env(),
      timeoutMs: 170_000,
    });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      counts: { tags: number; create: number; repositories: number; copy: number };
      repositories: { create: boolean; template?: string }[];
    };
    expect(plan.counts).toMatchObject({ tags: 150, copy: 150, repositories: 30, create: 30 });
    expect(plan.repositories.every((x) => x.create && x.template === 'mirror')).toBe(true);
    expect(writesSince(calls)).toEqual([]);
    expect(sp.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD')).toEqual([]);
    // HEADs only: no source manifest or blob was read.
    expect(sp.requests.filter((q) => q.method === 'GET' && /\/(manifests|blobs)\//.test(q.url))).toEqual([]);
    // plan only reads the journal: it creates no state.
    expect(existsSync(state())).toBe(false);
  });

  let killedUploads: string[] = [];
  let journaledBlobs: string[] = [];

  it('apply killed (SIGKILL) after ~40% of the blobs, then apply again: nothing completed is sent or asked again', async () => {
    // The blobs a full run sends: every (repository, blob) but the base layer beyond its first
    // (mounted from the repository that has it).
    const total = needed.size - (REPOS - 1);
    let child: ChildProcess | undefined;
    const from = sp.requests.length;
    const watcher = setInterval(() => {
      if (child && uploads(sp.requests.slice(from)).length >= total * 0.4) {
        child.kill('SIGKILL');
        clearInterval(watcher);
      }
    }, 5);
    const killed = await runCli(['sync', 'apply', '-f', cfg(), '--state', state(), ...FAST], {
      env: env(),
      onSpawn: (c) => (child = c),
      timeoutMs: 170_000,
    });
    clearInterval(watcher);
    expect(killed.signal).toBe('SIGKILL');
    const afterKill = sp.requests.length;
    killedUploads = uploads(sp.requests.slice(from, afterKill));
    expect(killedUploads.length).toBeGreaterThanOrEqual(total * 0.4);
    expect(killedUploads.length).toBeLessThan(total);
    const blobFiles = readdirSync(state()).filter((f) => f.endsWith('.blobs.jsonl'));
    expect(blobFiles).toHaveLength(1);
    journaledBlobs = readFileSync(path.join(state(), blobFiles[0]!), 'utf8')
      .split('\n')
      .filter((l) => l.endsWith('}'))
      .map((l) => JSON.parse(l) as { blob: string; registry: string; repository: string })
      .map((b) => `${b.repository} ${b.blob}`);
    // Every journaled blob had landed (uploaded, mounted or found) before the kill.
    expect(journaledBlobs.length).toBeGreaterThan(0);
    const completed = new Set<string>();
    for (const pair of needed) {
      const [repo, digest] = pair.split(' ') as [string, string];
      if (await targetHas(repo, digest)) completed.add(pair);
    }
    for (const b of journaledBlobs) expect(completed.has(b), b).toBe(true);
    const logFrom = targetLog.length;

    // The rerun: the registry's tokens expire during it (the emulator's clock jumps past their
    // lifetime at the 20th manifest PUT); ecrctl signs in again and completes.
    server.faults.push({ operation: 'registry:PUT manifests', kind: 'expire-tokens', times: 1 });
    for (let i = 0; i < 19; i++)
      server.faults.unshift({ operation: 'registry:PUT manifests', kind: 'delay', delayMs: 0, times: 1 });
    const puts = server.requests.length;
    const report = path.join(tmp, 'second.json');
    const second = await runCli(['sync', 'apply', '-f', cfg(), '--state', state(), '--report', report, ...FAST], {
      env: env(),
      timeoutMs: 170_000,
    });
    expect(second.code, second.stderr).toBe(0);
    expect(server.faults.filter((f) => f.kind === 'expire-tokens' && f.times === 0)).toHaveLength(1);
    await signIn();
    const rerun = sp.requests.slice(afterKill);
    // No blob that completed before the kill is uploaded again; none is uploaded twice at all.
    const again = uploads(rerun);
    expect(again.filter((u) => completed.has(u))).toEqual([]);
    // The killed run sent no blob twice. (The rerun may: an upload refused because every
    // token expired under it is sent again once ecrctl has signed in again.)
    expect(killedUploads.filter((u, i) => killedUploads.indexOf(u) !== i)).toEqual([]);
    const all = [...killedUploads, ...again];
    // The shared base layer was sent once to the whole registry (mounted everywhere else).
    expect(new Set(all.filter((u) => u.endsWith(base.descriptor.digest))).size).toBe(1);
    // The journal spared the rerun the HEAD of every blob it held.
    expect(blobHeads(targetLog.slice(logFrom)).filter((h) => journaledBlobs.includes(h))).toEqual([]);
    // PutImage stayed under ECR's 10 per second per repository.
    expect(peakPutImagePerSecond(puts)).toBeLessThanOrEqual(10);
    const r = readReport(report);
    expect(r.failures).toEqual([]);
    // Together the two runs synced every tag: each target digest equals its source's.
    for (const [ref, digest] of sourceDigests) {
      const [repo, tag] = ref.split(':') as [string, string];
      expect(await targetDigest(repo.replace(/^apps\//, 'mirror/'), tag), ref).toBe(digest);
    }
  }, 360_000);

  it('skopeo reads the same digests from source and target (indexes and the SBOM subject too)', async () => {
    const pw = Buffer.from(targetAuth.slice(6), 'base64').toString('utf8').split(':')[1]!;
    for (const ref of ['apps/r00:1.0.0', 'apps/r01:1.0.0', 'apps/r02:1.0.0', 'apps/r29:latest']) {
      const [repo, tag] = ref.split(':') as [string, string];
      const src = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${ref}`]);
      const dst = await skopeo([
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        `AWS:${pw}`,
        `docker://${targetHost}/${repo.replace(/^apps\//, 'mirror/')}:${tag}`,
      ]);
      expect(sha256(Buffer.from(dst.stdout))).toBe(sha256(Buffer.from(src.stdout)));
      expect(sha256(Buffer.from(src.stdout))).toBe(sourceDigests.get(ref));
    }
    const referrers = await fetch(
      `http://${targetHost}/v2/mirror/r02/referrers/${sourceDigests.get('apps/r02:1.0.0')}`,
      { headers: { Authorization: targetAuth } },
    );
    const index = (await referrers.json()) as { manifests: { digest: string; artifactType?: string }[] };
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: sbomDigest, artifactType: 'application/spdx+json' }),
    ]);
  });

  it('created repositories carry the template’s mutability and lifecycle policy', async () => {
    const ecr = ecrClient(server);
    const repos: { repositoryName?: string; imageTagMutability?: string }[] = [];
    let nextToken: string | undefined;
    do {
      const out = await ecr.send(new DescribeRepositoriesCommand({ nextToken }));
      repos.push(...(out.repositories ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    const mirror = repos.filter((x) => x.repositoryName?.startsWith('mirror/'));
    expect(mirror).toHaveLength(30);
    expect(new Set(mirror.map((x) => x.imageTagMutability))).toEqual(new Set(['IMMUTABLE']));
    for (const repo of ['mirror/r00', 'mirror/r17']) {
      const policy = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }));
      expect(JSON.parse(policy.lifecyclePolicyText ?? '{}')).toEqual(JSON.parse(LIFECYCLE));
    }
  });

  it('a third apply uploads nothing and writes no manifest; check exits 0', async () => {
    const from = sp.requests.length;
    const calls = server.calls.length;
    const third = await runCli(['sync', 'apply', '-f', cfg(), '--state', state(), ...FAST], {
      env: env(),
      timeoutMs: 170_000,
    });
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('0 tags synced, 150 skipped, 0 failed');
    expect(uploads(sp.requests.slice(from))).toEqual([]);
    expect(sp.requests.slice(from).filter((q) => q.method === 'GET' && /\/(manifests|blobs)\//.test(q.url))).toEqual(
      [],
    );
    expect(writesSince(calls)).toEqual([]);
    const check = await runCli(['sync', 'check', '-f', cfg(), ...FAST], { env: env(), timeoutMs: 170_000 });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('up to date: 150 tags in 30 repositories');
  });

  it('--shard 1/3, 2/3, 3/3 in parallel processes copy exactly the 150 tags, each once', async () => {
    const file = configFile('shards.yaml', `sync:\n  - source: ${reg.host}/apps/\n    target: shard/\n`);
    const runs = await Promise.all(
      [1, 2, 3].map((i) =>
        runCli(
          [
            'sync',
            'apply',
            '-f',
            file,
            '--shard',
            `${i}/3`,
            '--state',
            path.join(tmp, 'shard-state'),
            '--report',
            path.join(tmp, `shard-${i}.json`),
            ...FAST,
          ],
          { env: env(), timeoutMs: 170_000 },
        ),
      ),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    const copied = [1, 2, 3].flatMap((i) =>
      readReport(path.join(tmp, `shard-${i}.json`)).copied.flatMap((c) =>
        c.tags.map((t) => `${c.target.split('/').slice(1).join('/')}:${t}`),
      ),
    );
    expect(copied).toHaveLength(150);
    expect(new Set(copied).size).toBe(150);
    expect(new Set(copied)).toEqual(new Set([...sourceDigests.keys()].map((k) => k.replace(/^apps\//, 'shard/'))));
  }, 360_000);

  it('after one source tag moves, check exits 3 and names it', async () => {
    const img = composed(7777);
    const moved = await push('apps/r05', [img], img, '1.1.0');
    const check = await runCli(['sync', 'check', '-f', cfg(), ...FAST], { env: env(), timeoutMs: 170_000 });
    expect(check.code).toBe(3);
    expect(check.stdout).toMatch(/mirror\/r05\s+1\.1\.0\s+moved\s+sha256:/);
    expect(check.stdout).toContain(moved);
    expect(check.stdout.trim().split('\n')).toHaveLength(2);
    expect(check.stderr).toContain('1 tag is stale');
  });

  it('a rate-limited "Docker Hub" with a broken tag: the rest is copied, the tag is reported with its cause, exit 1', async () => {
    // The first manifest requests are refused (429, Retry-After, ratelimit-remaining: 0);
    // the tag `bad` answers 500 to every manifest request.
    hub.rule({
      path: /\/manifests\//,
      times: 2,
      fault: {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': '1', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' },
        body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}',
      },
    });
    hub.rule({
      path: /\/library\/h1\/manifests\/bad$/,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 500 },
    });
    const file = configFile('hub.yaml', `sync:\n  - source: ${hub.host}/library/\n    target: hub/\n`);
    const report = path.join(tmp, 'hub.json');
    const r = await runCli(['sync', 'apply', '-f', file, '--report', report, ...FAST], {
      env: env(),
      timeoutMs: 170_000,
    });
    expect(r.code).toBe(1);
    const out = readReport(report);
    expect(out.failures).toEqual([
      expect.objectContaining({
        source: `${hub.host}/library/h1`,
        tags: ['bad'],
        kind: 'HttpStatusError',
        message: expect.stringContaining('500'),
      }),
    ]);
    expect(
      out.copied.flatMap((c) => c.tags.map((t) => `${c.target.split('/').slice(1).join('/')}:${t}`)).sort(),
    ).toEqual(['hub/h0:1', 'hub/h0:2', 'hub/h1:1', 'hub/h2:1', 'hub/h2:2']);
    expect(hub.requests.filter((q) => q.status === 429)).toHaveLength(2);
    expect(r.stdout).toContain(`${hub.host}/library/h1:bad → ${targetHost}/hub/h1`);
    expect(r.stdout).toMatch(/compare: HttpStatusError: .*500/);
  }, 360_000);
});

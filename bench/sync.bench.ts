// The sync benchmark (`npm run bench -- sync [--quick]`): `ecrctl sync apply` against
// `skopeo sync` scripted per repository (as skopeo's docs show), from Debian's
// docker-registry into `ecrctl local` (ECR's throttling on), then the same through latency
// proxies at 40 ms round trip, then a scale case (many repositories × tags of tiny images:
// plan time, apply time, peak RSS, the achieved PutImage rate against ECR's quota).
//
// Counts come from the servers and proxies, not the clock: requests at the source (the
// latency proxy in front of it counts request lines), requests at the target (the emulator's
// record of calls, or the proxy), bytes sent to the target (bytes the target's sockets read).
// Those do not depend on the machine's load; the times do.
//
// Sizes: ECRCTL_SYNC_BENCH="repos=100,tags=5,scaleRepos=1000,scaleTags=20,rounds=2,rtt=40"
// overrides any of them; --quick uses 10 × 5, 100 × 20 and one round at 40 ms.
import { createHash, randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  CreateRepositoryCommand,
  GetAuthorizationTokenCommand,
  ListImagesCommand,
  PutAccountSettingCommand,
} from '@aws-sdk/client-ecr';
import { Agent, request } from 'undici';
import type { LocalServer } from '../src/local/server.js';
import { startRegistry } from '../test/helpers/registry.js';
import { credentials, ecrClient, start } from '../test/local/helpers.js';
import { Link, type LinkStats, startLatencyProxy } from './latency-proxy.js';
import { median, type Run, timed } from './measure.js';

export interface SyncBenchOptions {
  quick: boolean;
  workDir: string;
  /** The command that runs ecrctl: `[node, dist/cli/bin.js]`. */
  ecrctl: [string, string];
  /** Which parts: loopback, latency, scale (all when empty). */
  only: ReadonlySet<string>;
}

interface Sizes {
  repos: number;
  tags: number;
  scaleRepos: number;
  scaleTags: number;
  rounds: number;
  latencyRounds: number;
  rtt: number;
  scaleConcurrency: number;
}

const SKOPEO = '/usr/bin/skopeo';
const MB = 1_000_000;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Returns the sizes: defaults (or --quick's), then ECRCTL_SYNC_BENCH's overrides. */
function sizes(quick: boolean): Sizes {
  const s: Sizes = quick
    ? { repos: 10, tags: 5, scaleRepos: 100, scaleTags: 20, rounds: 2, latencyRounds: 1, rtt: 40, scaleConcurrency: 32 }
    : {
        repos: 100,
        tags: 5,
        scaleRepos: 1000,
        scaleTags: 20,
        rounds: 2,
        latencyRounds: 1,
        rtt: 40,
        scaleConcurrency: 32,
      };
  for (const part of (process.env.ECRCTL_SYNC_BENCH ?? '').split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k && k in s && Number.isFinite(Number(v))) (s as unknown as Record<string, number>)[k] = Number(v);
    else throw new Error(`ECRCTL_SYNC_BENCH: "${part}" is not one of ${Object.keys(s).join(', ')}=NUMBER`);
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Bytes the in-process servers read: every accepted socket is counted when it closes (or
// when asked), by the port it was accepted on.

const accepted = new Set<{ socket: Socket; port: number }>();
const closedBytes = new Map<number, number>();
dc.subscribe('net.server.socket', (msg) => {
  const socket = (msg as { socket: Socket }).socket;
  const entry = { socket, port: socket.localPort ?? 0 };
  accepted.add(entry);
  socket.once('close', () => {
    closedBytes.set(entry.port, (closedBytes.get(entry.port) ?? 0) + socket.bytesRead);
    accepted.delete(entry);
  });
});

/** Returns the bytes read so far by server sockets accepted on ports. */
function bytesReadOn(ports: ReadonlySet<number>): number {
  let n = 0;
  for (const [port, b] of closedBytes) if (ports.has(port)) n += b;
  for (const e of accepted) if (ports.has(e.port)) n += e.socket.bytesRead;
  return n;
}

const portOf = (url: string) => Number(new URL(url).port);

// ---------------------------------------------------------------------------------------
// The source: repositories of small multi-layer images sharing base layers, pushed to a
// docker-registry over its HTTP API.

interface Blob {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

function blobOf(bytes: Buffer, mediaType: string): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes, mediaType };
}

/** A gzip layer of incompressible bytes (so no tool recompresses or shrinks it). */
function layer(size: number): Blob {
  return blobOf(gzipSync(randomBytes(size), { level: 1 }), OCI_LAYER_GZIP);
}

function config(label: string): Blob {
  return blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.example.bench': label } },
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    ),
    OCI_CONFIG,
  );
}

function manifest(cfg: Blob, layers: readonly Blob[], annotations?: Record<string, string>): Buffer {
  const d = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.bytes.length });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: d(cfg),
      layers: layers.map(d),
      ...(annotations ? { annotations } : {}),
    }),
  );
}

/** Pushes blobs and manifests to a plain registry over HTTP/1.1 keep-alive, a few at a time. */
class Seeder {
  readonly agent = new Agent({ connections: 16, pipelining: 1 });
  /** Repository where each blob was first pushed (later repositories mount it from there). */
  readonly home = new Map<string, string>();
  constructor(readonly base: string) {}

  async blob(repo: string, b: Blob): Promise<void> {
    const from = this.home.get(b.digest);
    if (from === repo) return;
    if (from) {
      const r = await request(
        `${this.base}/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(b.digest)}&from=${encodeURIComponent(from)}`,
        { method: 'POST', dispatcher: this.agent },
      );
      await r.body.dump();
      if (r.statusCode === 201) return;
    }
    this.home.set(b.digest, repo);
    const start = await request(`${this.base}/v2/${repo}/blobs/uploads/`, { method: 'POST', dispatcher: this.agent });
    await start.body.dump();
    const location = new URL(String(start.headers.location), this.base);
    location.searchParams.set('digest', b.digest);
    const put = await request(location.toString(), {
      method: 'PUT',
      body: b.bytes,
      headers: { 'content-type': 'application/octet-stream' },
      dispatcher: this.agent,
    });
    await put.body.dump();
    if (put.statusCode !== 201) throw new Error(`seeding ${repo} ${b.digest}: HTTP ${put.statusCode}`);
  }

  async manifest(repo: string, tag: string, bytes: Buffer): Promise<void> {
    const r = await request(`${this.base}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': OCI_MANIFEST },
      dispatcher: this.agent,
    });
    await r.body.dump();
    if (r.statusCode !== 201) throw new Error(`seeding ${repo}:${tag}: HTTP ${r.statusCode}`);
  }
}

/** Runs fn over items, at most n at once. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const repoName = (prefix: string, i: number) => `${prefix}/r${String(i).padStart(4, '0')}`;

/** The loopback/latency estate: returns its unique bytes (each blob counted once). */
async function seedEstate(base: string, repos: number, tags: number, quick: boolean): Promise<number> {
  const seeder = new Seeder(base);
  const scale = quick ? 0.25 : 1;
  // A distro base and a runtime layer shared by every image, an app layer per repository
  // (shared by its tags), a small layer and a config per tag.
  const bases = [layer(Math.round(2 * MB * scale)), layer(Math.round(0.5 * MB * scale))];
  let unique = bases.reduce((n, b) => n + b.bytes.length, 0);
  await pool(
    Array.from({ length: repos }, (_, i) => i),
    8,
    async (i) => {
      const repo = repoName('bench', i);
      const app = layer(Math.round(128_000 * scale));
      unique += app.bytes.length;
      for (const b of [...bases, app]) await seeder.blob(repo, b);
      for (let t = 0; t < tags; t++) {
        const top = layer(Math.round(16_000 * scale));
        const cfg = config(`${repo}:${t}`);
        unique += top.bytes.length + cfg.bytes.length;
        await seeder.blob(repo, top);
        await seeder.blob(repo, cfg);
        await seeder.manifest(repo, `v${t}`, manifest(cfg, [...bases, app, top]));
      }
    },
  );
  await seeder.agent.close();
  return unique;
}

/** The scale estate: tiny images (one shared layer, a config per repository, a manifest per tag). */
async function seedTiny(base: string, repos: number, tags: number): Promise<void> {
  const seeder = new Seeder(base);
  const shared = layer(512);
  await seeder.blob(repoName('scale', 0), shared);
  await pool(
    Array.from({ length: repos }, (_, i) => i),
    16,
    async (i) => {
      const repo = repoName('scale', i);
      const cfg = config(repo);
      await seeder.blob(repo, shared);
      await seeder.blob(repo, cfg);
      for (let t = 0; t < tags; t++)
        await seeder.manifest(repo, `t${t}`, manifest(cfg, [shared], { 'org.example.tag': `${repo}:${t}` }));
    },
  );
  await seeder.agent.close();
}

// ---------------------------------------------------------------------------------------

interface Measured {
  wallMs: number;
  rssBytes: number;
  /** Requests the source received. */
  sourceRequests: number;
  /** Requests the target received (API calls and data-plane requests). */
  targetRequests: number;
  /** Manifests written at the target (PutImage / PUT manifests). */
  manifestsPut: number;
  /** Bytes the target read from the tool. */
  bytesSent: number;
  /** Request kinds at the target, for the breakdown. */
  targetKinds: Record<string, number>;
  /** Tags the target holds afterwards (listed by the bench itself). */
  tagsAtTarget: number;
  /** ecrctl's own account (copied, failed), from its JSON output. */
  said?: string;
}

/** ecrctl's own account of a sync apply (its --report file): tags copied, failures and the first one's cause. */
function said(report: string): string {
  try {
    const r = JSON.parse(readFileSync(report, 'utf8')) as {
      copied: { tags: string[] }[];
      failures: { stage?: string; message?: string }[];
    };
    const copied = r.copied.reduce((n, c) => n + c.tags.length, 0);
    const first = r.failures[0];
    return `ecrctl: ${copied} tags copied, ${r.failures.length} failures${first ? `, the first: ${first.stage}: ${first.message}` : ''}`;
  } catch (err) {
    return `ecrctl: no report (${err instanceof Error ? err.message : String(err)})`;
  }
}

const countBy = (xs: readonly string[]) => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

/** Runs the sync benchmark; prints each part as it finishes. */
export async function runSyncBench(opts: SyncBenchOptions): Promise<void> {
  const z = sizes(opts.quick);
  const want = (part: string) => opts.only.size === 0 || opts.only.has(part);
  const work = path.join(opts.workDir, `sync-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const home = path.join(work, 'home');
  mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: path.join(home, 'docker'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
    NO_COLOR: '1',
    TMPDIR: work,
  };
  let runNo = 0;
  const reportFile = () => path.join(work, `report-${++runNo}.json`);
  const ecrctl = (args: string[]) =>
    timed(opts.ecrctl[0], [opts.ecrctl[1], ...args, '--state', path.join(work, `state-${++runNo}`), '-o', 'json'], {
      env,
    });
  const skopeoScript = (repos: number, srcHost: string, dstHost: string, creds: string | undefined) => {
    const file = path.join(work, `skopeo-${++runNo}.sh`);
    // The emulator's login, as `docker login` would store it (not on the command line).
    const authFile = path.join(work, `auth-${runNo}.json`);
    if (creds)
      writeFileSync(
        authFile,
        JSON.stringify({ auths: { [dstHost]: { auth: Buffer.from(creds).toString('base64') } } }),
      );
    const names = Array.from({ length: repos }, (_, i) => repoName('bench', i));
    writeFileSync(
      file,
      [
        'set -e',
        // skopeo's blob-info cache would remember the previous run's target; every run starts cold.
        `rm -rf "$HOME/.local/share/containers"`,
        `for repo in ${names.join(' ')}; do`,
        `  ${SKOPEO} --insecure-policy sync --src docker --dest docker --src-tls-verify=false --dest-tls-verify=false --retry-times 3${creds ? ` --dest-authfile ${authFile}` : ''} ${srcHost}/"$repo" ${dstHost}/mirror`,
        'done',
        '',
      ].join('\n'),
    );
    return timed('/bin/bash', [file], { env });
  };
  const writeConfig = (srcHost: string, prefix: string, target: string) => {
    const file = path.join(work, `sync-${++runNo}.yaml`);
    // skopeo sync copies no referrers: neither does this run, so both do the same work.
    writeFileSync(
      file,
      `defaults:\n  referrers: false\n  createRepositories: true\nsync:\n  - source: ${srcHost}/${prefix}/\n    target: ${target}\n`,
    );
    return file;
  };

  const srcLink = new Link({ rttMs: 0, mbitPerSecond: 0 });
  const dstLink = new Link({ rttMs: 0, mbitPerSecond: 0 });
  console.log(
    `\nsync: ${z.repos} repositories × ${z.tags} tags (loopback, then ${z.rtt} ms RTT); scale ${z.scaleRepos} × ${z.scaleTags}`,
  );

  if (want('loopback') || want('latency')) {
    const source = await startRegistry();
    const seedStart = performance.now();
    const unique = await seedEstate(source.url, z.repos, z.tags, opts.quick);
    console.log(
      `source: docker-registry, ${z.repos * z.tags} images, ${(unique / MB).toFixed(1)} MB of unique blobs (seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s)`,
    );
    const srcProxy = await startLatencyProxy(srcLink, source.host, 'source');
    try {
      if (want('loopback')) await loopback(source.host, srcProxy.host, unique);
      if (want('latency')) await latency(srcProxy.host, unique);
    } finally {
      await srcProxy.stop();
      await source.stop();
    }
  }
  if (want('scale')) await scale();
  rmSync(work, { recursive: true, force: true });

  /** Starts a fresh ecrctl local (ECR's throttling on), runs fn, closes it. */
  async function withEmulator<T>(fn: (server: LocalServer, ports: Set<number>) => Promise<T>): Promise<T> {
    const dataDir = path.join(work, `local-${++runNo}`);
    const server = await start(dataDir);
    try {
      const dataPlane = await server.registryEndpoint('us-east-1');
      return await fn(server, new Set([portOf(server.url), portOf(dataPlane)]));
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  function printRuns(title: string, runs: Record<string, Measured[]>, unique: number, wantTags: number) {
    console.log(`\n${title}`);
    const med: Record<string, number> = {};
    for (const [name, rs] of Object.entries(runs)) {
      med[name] = median(rs.map((r) => r.wallMs));
      const last = rs.at(-1) as Measured;
      const rss = Math.max(...rs.map((r) => r.rssBytes));
      const ok = last.tagsAtTarget === wantTags ? '' : ` (the target holds ${last.tagsAtTarget} of ${wantTags} tags!)`;
      console.log(
        `   ${name.padEnd(7)} ${(med[name] / 1000).toFixed(2).padStart(7)} s  sent ${(last.bytesSent / MB).toFixed(1).padStart(6)} MB (${(last.bytesSent / unique).toFixed(2)}× the unique bytes)  requests: source ${last.sourceRequests}, target ${last.targetRequests}  manifests put ${last.manifestsPut}, ${last.tagsAtTarget} tags at the target${last.said ? ` (${last.said})` : ''}  RSS ${(rss / MB).toFixed(0)} MB${ok}  runs ${rs.map((r) => (r.wallMs / 1000).toFixed(2)).join(' ')}`,
      );
      console.log(
        `           target: ${Object.entries(last.targetKinds)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
    const e = runs.ecrctl?.at(-1);
    const s = runs.skopeo?.at(-1);
    if (e && s && med.ecrctl && med.skopeo) {
      console.log(
        `   skopeo ÷ ecrctl: time ${(med.skopeo / med.ecrctl).toFixed(2)}× (target ≥ 5×), bytes sent ${(s.bytesSent / e.bytesSent).toFixed(2)}×, requests ${((s.sourceRequests + s.targetRequests) / (e.sourceRequests + e.targetRequests)).toFixed(2)}× (source ${(s.sourceRequests / e.sourceRequests).toFixed(2)}×, target ${(s.targetRequests / e.targetRequests).toFixed(2)}×)`,
      );
    }
  }

  async function alternate(rounds: number, tools: Record<string, () => Promise<Measured>>) {
    const names = Object.keys(tools);
    const out: Record<string, Measured[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++)
      for (const n of r % 2 === 0 ? names : [...names].reverse())
        out[n]?.push(await (tools[n] as () => Promise<Measured>)());
    return out;
  }

  async function loopback(_directHost: string, srcHost: string, unique: number) {
    const emulatorRun = (tool: 'ecrctl' | 'skopeo', mounting: boolean) =>
      withEmulator(async (server, ports) => {
        const ecr = ecrClient(server);
        const auth = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
        const dst = new URL(String(auth?.proxyEndpoint)).host;
        // Mounting lets a registry take a blob another of its repositories holds without the
        // bytes (ECR: the BLOB_MOUNTING account setting, off by default).
        if (mounting) await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
        let run: Run;
        if (tool === 'skopeo') {
          // skopeo creates no repositories: a script would run `aws ecr create-repository`
          // first. They are made here, unmeasured (it favours skopeo).
          for (let i = 0; i < z.repos; i++)
            await ecr.send(new CreateRepositoryCommand({ repositoryName: repoName('mirror', i) }));
        }
        srcLink.reset();
        const from = server.calls.length;
        const bytesBefore = bytesReadOn(ports);
        const report = reportFile();
        if (tool === 'ecrctl') {
          const config = writeConfig(srcHost, 'bench', 'mirror/');
          run = await ecrctl(['--endpoint-url', server.url, 'sync', 'apply', '-f', config, '--report', report]);
        } else {
          const creds = Buffer.from(String(auth?.authorizationToken), 'base64').toString('utf8');
          run = await skopeoScript(z.repos, srcHost, dst, creds);
        }
        const calls = server.calls.slice(from).filter((c) => c !== 'ecr:CreateRepository' || tool === 'ecrctl');
        const bytesSent = bytesReadOn(ports) - bytesBefore;
        let tagsAtTarget = 0;
        for (let i = 0; i < z.repos; i++) {
          const listed = await ecr
            .send(new ListImagesCommand({ repositoryName: repoName('mirror', i), filter: { tagStatus: 'TAGGED' } }))
            .catch(() => ({ imageIds: [] }));
          tagsAtTarget += listed.imageIds?.length ?? 0;
        }
        ecr.destroy();
        return {
          wallMs: run.wallMs,
          rssBytes: run.rssBytes,
          sourceRequests: srcLink.stats().requests,
          targetRequests: calls.length,
          manifestsPut: calls.filter((c) => c === 'registry:PUT manifests' || c === 'ecr:PutImage').length,
          bytesSent,
          targetKinds: countBy(calls),
          tagsAtTarget,
          ...(tool === 'ecrctl' ? { said: said(report) } : {}),
        };
      });
    for (const mounting of [false, true]) {
      // The mounting variant gets one round: its counts are what it is there for.
      const rounds = mounting ? 1 : z.rounds;
      const runs = await alternate(rounds, {
        ecrctl: () => emulatorRun('ecrctl', mounting),
        skopeo: () => emulatorRun('skopeo', mounting),
      });
      printRuns(
        `1${mounting ? 'b' : 'a'}. ${z.repos} repositories × ${z.tags} tags, docker-registry → ecrctl local (throttling as ECR), loopback, BLOB_MOUNTING ${mounting ? 'ENABLED' : 'DISABLED (the default)'}; median of ${rounds}`,
        runs,
        unique,
        z.repos * z.tags,
      );
    }
  }

  async function latency(srcHost: string, unique: number) {
    // ecrctl local's data plane is found through the API (its URL is in the token), so no
    // proxy can stand in front of it: the target here is a second docker-registry, behind
    // its own proxy, so that both tools cross the link for every request at both ends.
    Object.assign(srcLink.opts, { rttMs: z.rtt });
    Object.assign(dstLink.opts, { rttMs: z.rtt });
    const registryRun = async (tool: 'ecrctl' | 'skopeo'): Promise<Measured> => {
      const target = await startRegistry();
      const proxy = await startLatencyProxy(dstLink, target.host, 'target');
      try {
        srcLink.reset();
        dstLink.reset();
        let run: Run;
        const report = reportFile();
        if (tool === 'ecrctl') {
          const config = writeConfig(srcHost, 'bench', `${proxy.host}/mirror/`);
          run = await ecrctl(['sync', 'apply', '-f', config, '--report', report]);
        } else {
          run = await skopeoScript(z.repos, srcHost, proxy.host, undefined);
        }
        const d: LinkStats = dstLink.stats();
        const kinds = d.methods;
        let tagsAtTarget = 0;
        for (let i = 0; i < z.repos; i++) {
          const r = await request(`${target.url}/v2/${repoName('mirror', i)}/tags/list`);
          const body = (await r.body.json().catch(() => ({}))) as { tags?: string[] | null };
          tagsAtTarget += body.tags?.length ?? 0;
        }
        return {
          wallMs: run.wallMs,
          rssBytes: run.rssBytes,
          sourceRequests: srcLink.stats().requests,
          targetRequests: d.requests,
          manifestsPut: kinds['PUT manifest'] ?? 0,
          bytesSent: d.bytesUp,
          targetKinds: kinds,
          tagsAtTarget,
          ...(tool === 'ecrctl' ? { said: said(report) } : {}),
        };
      } finally {
        await proxy.stop();
        await target.stop();
      }
    };
    try {
      const runs = await alternate(z.latencyRounds, {
        ecrctl: () => registryRun('ecrctl'),
        skopeo: () => registryRun('skopeo'),
      });
      printRuns(
        `2. the same at ${z.rtt} ms RTT: docker-registry → docker-registry, each behind a latency proxy; median of ${z.latencyRounds}`,
        runs,
        unique,
        z.repos * z.tags,
      );
    } finally {
      Object.assign(srcLink.opts, { rttMs: 0 });
      Object.assign(dstLink.opts, { rttMs: 0 });
    }
  }

  async function scale() {
    const source = await startRegistry();
    try {
      const seedStart = performance.now();
      await seedTiny(source.url, z.scaleRepos, z.scaleTags);
      const images = z.scaleRepos * z.scaleTags;
      console.log(
        `\n3. scale: ${z.scaleRepos} repositories × ${z.scaleTags} tags of tiny images (seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s), docker-registry → ecrctl local, --concurrency ${z.scaleConcurrency}`,
      );
      await withEmulator(async (server) => {
        const config = writeConfig(source.host, 'scale', 'scale/');
        const conc = ['--concurrency', String(z.scaleConcurrency)];
        const plan = await ecrctl(['--endpoint-url', server.url, 'sync', 'plan', '-f', config, ...conc]);
        console.log(
          `   plan   ${(plan.wallMs / 1000).toFixed(2).padStart(7)} s  RSS ${(plan.rssBytes / MB).toFixed(0)} MB (target < 150 MB)`,
        );
        const from = server.requests.length;
        const report = reportFile();
        const apply = await ecrctl([
          '--endpoint-url',
          server.url,
          'sync',
          'apply',
          '-f',
          config,
          ...conc,
          '--report',
          report,
        ]);
        const puts = server.requests
          .slice(from)
          .filter((r) => r.call === 'registry:PUT manifests' || r.call === 'ecr:PutImage');
        const targetRequests = server.requests.length - from;
        const first = puts[0]?.at ?? 0;
        const last = puts.at(-1)?.at ?? 0;
        const perSecond = puts.length / Math.max(0.001, (last - first) / 1000);
        // The busiest second of any one repository: ECR's quota is 10 PutImage per second per repository.
        const perRepoSecond = countBy(puts.map((p) => `${p.repository} ${Math.floor(p.at / 1000)}`));
        const busiest = Math.max(0, ...Object.values(perRepoSecond));
        // The JSON document on stdout must be whole however large it is (a pipe, as in CI).
        let stdoutJson = `the -o json document on stdout (${apply.stdout.length} bytes) parses`;
        try {
          JSON.parse(apply.stdout);
        } catch (err) {
          stdoutJson = `the -o json document on stdout (${apply.stdout.length} bytes) does NOT parse: ${err instanceof Error ? err.message : String(err)}`;
        }
        console.log(
          `   apply  ${(apply.wallMs / 1000).toFixed(2).padStart(7)} s  RSS ${(apply.rssBytes / MB).toFixed(0)} MB (target < 150 MB); ${targetRequests} target requests; of ${images} tags, ${said(report)}`,
        );
        console.log(`   ${stdoutJson}`);
        console.log(
          `   PutImage: ${puts.length} calls, ${perSecond.toFixed(0)}/s overall across ${Math.min(z.scaleConcurrency, z.scaleRepos)} repositories at a time; busiest repository-second ${busiest} (quota 10 per repository per second → at most ${10 * Math.min(z.scaleConcurrency, z.scaleRepos)}/s at this concurrency)`,
        );
      });
    } finally {
      await source.stop();
    }
  }
}

// The transfer benchmark: ecrctl (the built CLI, a real process) against `skopeo copy` in the
// same run, on Debian's docker-registry over loopback, plus the ceiling that parallel curl
// processes reach on the same blobs. Every push goes to a fresh, empty registry so nothing is
// skipped; tools alternate within each round so drift (page cache, load) hits both alike.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { type StartedRegistry, startRegistry } from '../test/helpers/registry.js';
import { startFaultProxy } from '../test/resilience/fault-proxy.js';
import { type BenchImage, ensureImage } from './images.js';
import { mb, median, type Run, rate, timed } from './measure.js';

export interface TransferBenchOptions {
  quick: boolean;
  rounds: number;
  workDir: string;
  /** The command that runs ecrctl: `[node, dist/cli/bin.js]`. */
  ecrctl: [string, string];
  /** Case numbers to run (all when empty). */
  only: ReadonlySet<number>;
  /** Skip the 2 GiB case (not enough disk). */
  skipBig: boolean;
}

export interface Target {
  label: string;
  met: boolean;
  detail: string;
}

export interface CaseResult {
  id: number;
  title: string;
  bytes: number;
  /** Median wall ms and max peak RSS per tool. */
  tools: Record<string, { wallMs: number; rssBytes: number; runs: number }>;
  targets: Target[];
  notes: string[];
}

const SKOPEO = '/usr/bin/skopeo';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Runs the transfer cases and returns their results (also printed as they finish). */
export async function runTransferBench(opts: TransferBenchOptions): Promise<CaseResult[]> {
  const home = path.join(opts.workDir, 'home');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: path.join(home, 'docker'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_COLOR: '1',
    TMPDIR: opts.workDir,
  };
  mkdirSync(home, { recursive: true });
  const want = (n: number) => opts.only.size === 0 || opts.only.has(n);
  const q = opts.quick;
  const main = await ensureImage(opts.workDir, {
    name: 'main',
    seed: 1,
    layerSizes: Array(4).fill(q ? 32 * MiB : 256 * MiB),
  });
  const results: CaseResult[] = [];

  const ecrctl = (args: string[]) => timed(opts.ecrctl[0], [opts.ecrctl[1], ...args, '-o', 'json'], { env });
  const skopeo = (args: string[]) => {
    // skopeo remembers where blobs live (blob-info cache); start each run without it.
    rmSync(path.join(home, '.local'), { recursive: true, force: true });
    return timed(SKOPEO, ['--insecure-policy', 'copy', '--quiet', ...args], { env });
  };
  const ref = (reg: { host: string }, repo = 'bench/img', tag = 'v1') => `${reg.host}/${repo}:${tag}`;

  /** Runs each tool `rounds` times, alternating which goes first; returns runs per tool. */
  async function rounds(
    tools: Record<string, (round: number) => Promise<Run>>,
    count = opts.rounds,
  ): Promise<Record<string, Run[]>> {
    const names = Object.keys(tools);
    const out: Record<string, Run[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < count; r++) {
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const n of order) out[n]!.push(await tools[n]!(r));
    }
    return out;
  }

  const withRegistry = async <T>(fn: (reg: StartedRegistry) => Promise<T>): Promise<T> => {
    const reg = await startRegistry();
    try {
      return await fn(reg);
    } finally {
      await reg.stop();
    }
  };
  const pushEcrctl = (image: BenchImage, reg: StartedRegistry) =>
    ecrctl(['tag-push', `oci:${image.dir}:bench`, ref(reg)]);
  const pushSkopeo = (image: BenchImage, reg: StartedRegistry) =>
    skopeo(['--dest-tls-verify=false', `oci:${image.dir}:bench`, `docker://${ref(reg)}`]);
  const checkDigest = (run: Run, image: BenchImage) => {
    const digest = (JSON.parse(run.stdout) as { digest: string }).digest;
    if (digest !== image.manifestDigest) throw new Error(`ecrctl reported ${digest}, expected ${image.manifestDigest}`);
    return run;
  };

  const summarize = (id: number, title: string, bytes: number, runs: Record<string, Run[]>): CaseResult => {
    const tools = Object.fromEntries(
      Object.entries(runs).map(([n, rs]) => [
        n,
        { wallMs: median(rs.map((r) => r.wallMs)), rssBytes: Math.max(...rs.map((r) => r.rssBytes)), runs: rs.length },
      ]),
    );
    return { id, title, bytes, tools, targets: [], notes: [] };
  };
  const speedTarget = (c: CaseResult) => {
    const e = c.tools.ecrctl!.wallMs;
    const s = c.tools.skopeo!.wallMs;
    // Rounded down, so that 1.499 never prints as a "1.50" that missed.
    c.targets.push({ label: '≥ 1.5× faster than skopeo', met: s / e >= 1.5, detail: `${floor2(s / e)}×` });
    const ceiling = c.tools['curl ceiling'];
    if (ceiling) {
      const pct = (ceiling.wallMs / e) * 100;
      c.targets.push({ label: '≥ 80% of the curl ceiling', met: pct >= 80, detail: `${Math.floor(pct)}%` });
    }
  };
  const rssTarget = (c: CaseResult) => {
    const rss = c.tools.ecrctl!.rssBytes;
    c.targets.push({ label: 'peak RSS < 120 MB', met: rss < 120e6, detail: mb(rss) });
  };
  const finish = (c: CaseResult) => {
    results.push(c);
    printCase(c);
  };

  // 1. push from an OCI layout
  if (want(1)) {
    const runs = await rounds({
      ecrctl: () => withRegistry(async (reg) => checkDigest(await pushEcrctl(main, reg), main)),
      skopeo: () => withRegistry((reg) => pushSkopeo(main, reg)),
      'curl ceiling': () => withRegistry((reg) => curlPush(main, reg)),
    });
    const c = summarize(
      1,
      `push ${mb(main.bytes)} (${main.blobs.length - 1} layers) oci: → registry`,
      main.bytes,
      runs,
    );
    speedTarget(c);
    rssTarget(c);
    finish(c);
  }

  // 2. pull into an OCI layout, 3. registry-to-registry copy
  if (want(2) || want(3)) {
    await withRegistry(async (source) => {
      checkDigest(await pushEcrctl(main, source), main);
      if (want(2)) {
        const out = path.join(opts.workDir, 'pull-out');
        const fresh =
          <T>(fn: () => Promise<T>) =>
          async () => {
            rmSync(out, { recursive: true, force: true });
            try {
              return await fn();
            } finally {
              rmSync(out, { recursive: true, force: true });
            }
          };
        const runs = await rounds({
          ecrctl: fresh(async () => checkDigest(await ecrctl(['pull', ref(source), `oci:${out}:v1`]), main)),
          skopeo: fresh(() => skopeo(['--src-tls-verify=false', `docker://${ref(source)}`, `oci:${out}:v1`])),
          'curl ceiling': fresh(() => curlPull(main, source, out)),
        });
        const c = summarize(2, `pull ${mb(main.bytes)} registry → oci:`, main.bytes, runs);
        speedTarget(c);
        rssTarget(c);
        finish(c);
      }
      if (want(3)) {
        const runs = await rounds({
          ecrctl: () => withRegistry(async (dest) => checkDigest(await ecrctl(['copy', ref(source), ref(dest)]), main)),
          skopeo: () =>
            withRegistry((dest) =>
              skopeo([
                '--src-tls-verify=false',
                '--dest-tls-verify=false',
                `docker://${ref(source)}`,
                `docker://${ref(dest)}`,
              ]),
            ),
          'curl ceiling': () => withRegistry((dest) => curlCopy(main, source, dest)),
        });
        const c = summarize(3, `copy ${mb(main.bytes)} registry → registry`, main.bytes, runs);
        speedTarget(c);
        rssTarget(c);
        finish(c);
      }
    });
  }

  // 4. re-push of an unchanged image
  if (want(4)) {
    await withRegistry(async (reg) => {
      checkDigest(await pushEcrctl(main, reg), main);
      const runs = await rounds({
        ecrctl: async () => checkDigest(await pushEcrctl(main, reg), main),
        skopeo: () => pushSkopeo(main, reg),
      });
      const c = summarize(4, `re-push of the unchanged ${mb(main.bytes)} image`, main.bytes, runs);
      // Once more through a counting proxy: which requests did it take?
      const proxy = await startFaultProxy(reg.host);
      try {
        const run = await ecrctl(['tag-push', `oci:${main.dir}:bench`, ref(proxy)]);
        const summary = JSON.parse(run.stdout) as { blobs: { uploaded: number }; bytesUploaded: number };
        const count = (method: string, re: RegExp) =>
          proxy.requests.filter((r) => r.method === method && re.test(r.url)).length;
        const heads = count('HEAD', /\/blobs\//);
        const writes = proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').length;
        c.notes.push(
          `requests: ${heads} HEAD blob for ${main.blobs.length} blobs, ${count('HEAD', /\/manifests\//)} HEAD manifest, ` +
            `${writes} writes; ${summary.blobs.uploaded} uploaded, ${summary.bytesUploaded} bytes sent`,
        );
        c.targets.push({
          label: 'one HEAD per blob, nothing uploaded',
          met: heads === main.blobs.length && writes === 0 && summary.bytesUploaded === 0,
          detail: `${heads} HEAD, ${writes} writes`,
        });
      } finally {
        await proxy.stop();
      }
      c.targets.push({
        label: 'under 1 s',
        met: c.tools.ecrctl!.wallMs < 1000,
        detail: `${c.tools.ecrctl!.wallMs.toFixed(0)} ms`,
      });
      finish(c);
    });
  }

  // 5. 200 small layers against one layer of the same byte count
  if (want(5)) {
    const each = q ? 128 * 1024 : MiB;
    const many = await ensureImage(opts.workDir, { name: 'small200', seed: 5, layerSizes: Array(200).fill(each) });
    const one = await ensureImage(opts.workDir, { name: 'single', seed: 6, layerSizes: [200 * each] });
    const runs = await rounds({
      ecrctl: () => withRegistry(async (reg) => checkDigest(await pushEcrctl(many, reg), many)),
      skopeo: () => withRegistry((reg) => pushSkopeo(many, reg)),
      'ecrctl, 1 layer': () => withRegistry(async (reg) => checkDigest(await pushEcrctl(one, reg), one)),
      'skopeo, 1 layer': () => withRegistry((reg) => pushSkopeo(one, reg)),
    });
    const c = summarize(5, `push of 200 layers of ${each / 1024} KiB (${mb(many.bytes)}) vs 1 layer`, many.bytes, runs);
    const ratio = c.tools.ecrctl!.wallMs / c.tools['ecrctl, 1 layer']!.wallMs;
    c.targets.push({
      label: '200 layers within 2× of 1 layer',
      met: ratio <= 2,
      detail: `${(Math.ceil(ratio * 100) / 100).toFixed(2)}×`,
    });
    const s = c.tools.skopeo!.wallMs / c.tools.ecrctl!.wallMs;
    c.notes.push(
      `skopeo takes ${s.toFixed(2)}× ecrctl's time for the 200 layers; skopeo's 200/1 ratio ${(c.tools.skopeo!.wallMs / c.tools['skopeo, 1 layer']!.wallMs).toFixed(2)}×`,
    );
    rssTarget(c);
    finish(c);
  }

  // 6. one 2 GiB layer: memory stays flat
  if (want(6) && !opts.skipBig) {
    const big = await ensureImage(opts.workDir, { name: 'big', seed: 7, layerSizes: [q ? 256 * MiB : 2 * GiB] });
    const runs = await rounds(
      {
        ecrctl: () => withRegistry(async (reg) => checkDigest(await pushEcrctl(big, reg), big)),
        skopeo: () => withRegistry((reg) => pushSkopeo(big, reg)),
      },
      q ? opts.rounds : Math.min(opts.rounds, 2),
    );
    const c = summarize(6, `push of one ${mb(big.bytes)} layer`, big.bytes, runs);
    rssTarget(c);
    const s = c.tools.skopeo!.wallMs / c.tools.ecrctl!.wallMs;
    c.notes.push(`skopeo/ecrctl time ${s.toFixed(2)}×`);
    finish(c);
  } else if (want(6)) {
    console.log('\n6. push of one 2 GiB layer: skipped (not enough free disk; needs ~6 GiB)');
  }
  return results;
}

const floor2 = (x: number) => (Math.floor(x * 100) / 100).toFixed(2);

// ---- the curl ceiling ------------------------------------------------------------------

async function startUpload(reg: { url: string }, repo: string): Promise<string> {
  const res = await request(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', body: '' });
  await res.body.dump();
  const location = res.headers.location;
  if (res.statusCode !== 202 || typeof location !== 'string') throw new Error(`POST upload answered ${res.statusCode}`);
  return new URL(location, reg.url).href;
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.href;
}

/** Runs one shell command per item at once; resolves with the wall time of the slowest. */
async function parallel(commands: string[]): Promise<Run> {
  const started = performance.now();
  await Promise.all(commands.map((c) => timed('/bin/sh', ['-c', c], { rss: false })));
  return { wallMs: performance.now() - started, rssBytes: 0, cpuMs: 0, stdout: '', stderr: '' };
}

const sq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** The push ceiling: one monolithic `curl -T` PUT per blob, all at once (sessions opened first). */
async function curlPush(image: BenchImage, reg: StartedRegistry): Promise<Run> {
  const locations = await Promise.all(image.blobs.map(() => startUpload(reg, 'bench/img')));
  return parallel(
    image.blobs.map(
      (b, i) =>
        `curl -sSf -X PUT -H 'Content-Type: application/octet-stream' -T ${sq(b.file)} ${sq(withDigest(locations[i]!, b.digest))}`,
    ),
  );
}

/** The pull ceiling: one `curl -o` GET per blob, then sha256sum of the file, all at once. */
async function curlPull(image: BenchImage, reg: StartedRegistry, outDir: string): Promise<Run> {
  mkdirSync(outDir, { recursive: true });
  return parallel(
    image.blobs.map((b) => {
      const file = path.join(outDir, b.digest.slice(7));
      return `curl -sSf -o ${sq(file)} ${sq(`${reg.url}/v2/bench/img/blobs/${b.digest}`)} && sha256sum ${sq(file)} >/dev/null`;
    }),
  );
}

/** The copy ceiling: `curl GET | curl -T - PUT` per blob, all at once. */
async function curlCopy(image: BenchImage, source: StartedRegistry, dest: StartedRegistry): Promise<Run> {
  const locations = await Promise.all(image.blobs.map(() => startUpload(dest, 'bench/img')));
  return parallel(
    image.blobs.map(
      (b, i) =>
        `curl -sSf ${sq(`${source.url}/v2/bench/img/blobs/${b.digest}`)} | ` +
        `curl -sSf -X PUT -H 'Content-Type: application/octet-stream' -T - ${sq(withDigest(locations[i]!, b.digest))}`,
    ),
  );
}

// ---- printing ----------------------------------------------------------------------------

function printCase(c: CaseResult): void {
  const runs = Math.max(...Object.values(c.tools).map((t) => t.runs));
  console.log(`\n${c.id}. ${c.title}   (median of ${runs})`);
  for (const [name, t] of Object.entries(c.tools)) {
    const rss = t.rssBytes > 0 ? `peak RSS ${mb(t.rssBytes).padStart(7)}` : '';
    // The 1-layer image of case 5 has the same byte count by construction.
    console.log(
      `   ${name.padEnd(16)} ${(t.wallMs / 1000).toFixed(2).padStart(7)} s ${rate(c.bytes, t.wallMs).padStart(10)}   ${rss}`,
    );
  }
  const e = c.tools.ecrctl;
  const s = c.tools.skopeo;
  if (e && s) console.log(`   ratio ecrctl/skopeo (time): ${(e.wallMs / s.wallMs).toFixed(2)}`);
  const ceiling = c.tools['curl ceiling'];
  if (e && ceiling)
    console.log(`   ecrctl reaches ${((ceiling.wallMs / e.wallMs) * 100).toFixed(0)}% of the curl ceiling`);
  for (const n of c.notes) console.log(`   ${n}`);
  for (const t of c.targets) console.log(`   target ${t.label}: ${t.met ? 'met' : 'MISSED'} (${t.detail})`);
}

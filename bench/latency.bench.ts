// The remote-registry benchmark (`npm run bench -- latency`): ecrctl against skopeo over TLS
// through the shaping proxy (latency-proxy.ts, latency-bed.ts) at several round-trip times
// with a shared bandwidth cap. Blob GETs of a source registry are 307s to a second host, as
// ECR's are. Each case alternates the tools; medians of the rounds; and for each tool the
// requests, round trips on the critical path, connections and TLS handshakes the proxies saw
// in its last run (counts that do not depend on the machine's speed).
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type BenchImage, ensureImage } from './images.js';
import { type Bed, type BedCa, makeBedCa, startBed } from './latency-bed.js';
import { Link, type LinkStats } from './latency-proxy.js';
import { median, type Run, timed } from './measure.js';

export interface LatencyBenchOptions {
  quick: boolean;
  rounds: number;
  workDir: string;
  ecrctl: [string, string];
  /** Round-trip times to run at (ms). */
  rtts: number[];
  mbit: number;
  /** Case numbers (all when empty). */
  only: ReadonlySet<number>;
  /** Multiplies every layer size (ECRCTL_BENCH_SCALE; --quick: 0.1). */
  scale: number;
}

const MB = 1_000_000;
const SKOPEO = '/usr/bin/skopeo';

interface ToolResult {
  wallMs: number;
  rssBytes: number;
  cpuMs: number;
  stats: LinkStats;
}

/** Runs the latency cases; prints each as it finishes. */
export async function runLatencyBench(opts: LatencyBenchOptions): Promise<void> {
  const home = path.join(opts.workDir, 'home-latency');
  mkdirSync(home, { recursive: true });
  const ca: BedCa = await makeBedCa(path.join(opts.workDir, `ca-${process.pid}`));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: path.join(home, 'docker'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_COLOR: '1',
    TMPDIR: opts.workDir,
    NODE_EXTRA_CA_CERTS: ca.caFile,
    ...(process.env.ECRCTL_BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.ECRCTL_BENCH_NODE_OPTIONS } : {}),
    // ECRCTL_HTTP2=0: the HTTP/1.1-only client, for the h2 A/B.
    ...(process.env.ECRCTL_HTTP2 ? { ECRCTL_HTTP2: process.env.ECRCTL_HTTP2 } : {}),
  };
  // ECRCTL_BENCH_SKOPEO=0 leaves skopeo out (for A/Bs of ecrctl alone).
  const withSkopeo = process.env.ECRCTL_BENCH_SKOPEO !== '0';
  const extra = (process.env.ECRCTL_BENCH_ARGS ?? '').split(' ').filter(Boolean);
  const want = (n: number) => opts.only.size === 0 || opts.only.has(n);
  const s = opts.scale;
  // A Node app on a Debian base: one big layer, a few medium, several tiny (~300 MB at scale 1).
  const appSizes = [110, 70, 45, 30, 20, 12, 6, 3, 1, 0.5].map((m) => Math.max(4096, Math.round(m * MB * s)));
  const app = await ensureImage(opts.workDir, { name: 'app10', seed: 11, layerSizes: appSizes });
  const smallEach = Math.max(4096, Math.round(1024 * 1024 * s));
  const many = want(5)
    ? await ensureImage(opts.workDir, { name: 'small200', seed: 5, layerSizes: Array(200).fill(smallEach) })
    : undefined;
  const one = want(5)
    ? await ensureImage(opts.workDir, { name: 'single', seed: 6, layerSizes: [200 * smallEach] })
    : undefined;
  console.log(
    `\nremote registry over TLS: ${app.blobs.length - 1}-layer image of ${(app.bytes / MB).toFixed(0)} MB; cap ${opts.mbit} Mbit/s; RTT ${opts.rtts.join(', ')} ms; median of ${opts.rounds}`,
  );

  const link = new Link({ rttMs: 0, mbitPerSecond: 0 });
  /** A second way to run ecrctl beside the first, in the same alternation (an A/B in one run). */
  interface Variant {
    name: string;
    h1?: boolean;
    entry?: string;
  }
  // ECRCTL_BENCH_A=FILE runs that build as 'ecrctl' instead of the bench's own (a fixed A/B pair
  // while others edit the tree).
  const entryA = process.env.ECRCTL_BENCH_A ? path.resolve(process.env.ECRCTL_BENCH_A) : opts.ecrctl[1];
  const ecrctl = (args: string[], v?: Variant) =>
    timed(opts.ecrctl[0], [v?.entry ?? entryA, ...args, ...extra, '-o', 'json'], {
      env: v?.h1 ? { ...env, ECRCTL_HTTP2: '0' } : env,
    });
  // ECRCTL_BENCH_H1=1 adds 'ecrctl h1' (HTTP/1.1 only) beside ecrctl in cases 1, 2, 3 and 5, in
  // the same alternation: the h2/h1 A/B without a rebuild between them. ECRCTL_BENCH_B=FILE adds
  // 'ecrctl B', another build's bin/ecrctl.js (e.g. the code before a change), the same way.
  const variants: Variant[] = [
    ...(process.env.ECRCTL_BENCH_H1 === '1' ? [{ name: 'ecrctl h1', h1: true }] : []),
    ...(process.env.ECRCTL_BENCH_B ? [{ name: 'ecrctl B', entry: path.resolve(process.env.ECRCTL_BENCH_B) }] : []),
  ];
  /** The variants' runs of one case, named for the table. */
  const alsoVariants = (run: (v: Variant) => Promise<ToolResult>) =>
    Object.fromEntries(variants.map((v) => [v.name, () => run(v)]));
  const skopeo = (args: string[]) => {
    rmSync(path.join(home, '.local'), { recursive: true, force: true });
    return timed(SKOPEO, ['--insecure-policy', 'copy', '--quiet', ...args], { env });
  };
  const ref = (bed: { host: string }, tag = 'v1') => `${bed.host}/bench/img:${tag}`;
  // skopeo's reference parser takes no IPv6 literal: it names the proxy localhost (also in
  // the certificate); a redirect to the blob host may still carry one.
  const sref = (bed: { host: string }, tag = 'v1') =>
    `${bed.host.replace('[::ffff:127.0.0.1]', 'localhost')}/bench/img:${tag}`;
  const src = ['--src-cert-dir', ca.certDir];
  const dst = ['--dest-cert-dir', ca.certDir];
  const unshaped = async <T>(fn: () => Promise<T>): Promise<T> => {
    const saved = { ...link.opts };
    Object.assign(link.opts, { rttMs: 0, mbitPerSecond: 0 });
    try {
      return await fn();
    } finally {
      Object.assign(link.opts, saved);
    }
  };
  const withBed = async <T>(redirect: boolean, fn: (bed: Bed) => Promise<T>): Promise<T> => {
    const bed = await startBed(link, ca, { redirect });
    try {
      return await fn(bed);
    } finally {
      await bed.stop();
    }
  };
  const measured = async (fn: () => Promise<Run>): Promise<ToolResult> => {
    link.reset();
    const run = await fn();
    return { wallMs: run.wallMs, rssBytes: run.rssBytes, cpuMs: run.cpuMs, stats: link.stats() };
  };
  const pushTo = (image: BenchImage, bed: Bed, v?: Variant) =>
    ecrctl(['tag-push', `oci:${image.dir}:bench`, ref(bed)], v);
  const skopeoPushTo = (image: BenchImage, bed: Bed) =>
    skopeo([...dst, `oci:${image.dir}:bench`, `docker://${sref(bed)}`]);

  /** Alternates the tools for the rounds; setup (unmeasured) runs before each run. */
  async function rounds(tools: Record<string, () => Promise<ToolResult>>): Promise<Record<string, ToolResult[]>> {
    const names = Object.keys(tools).filter((n) => withSkopeo || n !== 'skopeo');
    const out: Record<string, ToolResult[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const n of r % 2 === 0 ? names : [...names].reverse()) out[n]!.push(await tools[n]!());
    }
    return out;
  }

  const report = (title: string, rtt: number, runs: Record<string, ToolResult[]>, bytes: number) => {
    console.log(`\n${title} — RTT ${rtt} ms`);
    const med: Record<string, number> = {};
    for (const [name, rs] of Object.entries(runs)) {
      med[name] = median(rs.map((r) => r.wallMs));
      const last = rs.at(-1)!.stats;
      const hosts = Object.entries(last.byHost)
        .map(([h, c]) => `${h}: ${c.requests} req/${c.connections} conn/${c.handshakes} hs`)
        .join('; ');
      const rss = Math.max(...rs.map((r) => r.rssBytes));
      const cpu = median(rs.map((r) => r.cpuMs));
      console.log(
        `   ${name.padEnd(16)} ${(med[name]! / 1000).toFixed(2).padStart(6)} s  ${((bytes / MB / med[name]!) * 1000).toFixed(0).padStart(4)} MB/s  CPU ${(cpu / 1000).toFixed(2)} s  RSS ${(rss / MB).toFixed(0)} MB  | ${last.requests} requests, ${last.roundTrips} round trips, ${last.connections} connections, ${last.handshakes} TLS handshakes (${last.resumptions} resumed) [${hosts}]  runs ${rs.map((r) => (r.wallMs / 1000).toFixed(2)).join(' ')}`,
      );
      if (process.env.ECRCTL_BENCH_METHODS)
        console.log(
          `      ${Object.entries(last.methods)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
    }
    if (med.ecrctl && med.skopeo)
      console.log(`   skopeo ÷ ecrctl: ${(med.skopeo / med.ecrctl).toFixed(2)}× (target ≥ 1.5× at 40 ms)`);
    return med;
  };

  // The proxy's own overhead: the same push straight to the registry and through an unshaped proxy.
  if (opts.only.size === 0 || opts.only.has(0)) {
    const runs = await rounds({
      direct: () =>
        withBed(false, async (bed) => {
          const direct = { host: bed.directHost };
          return measured(() => ecrctl(['tag-push', `oci:${app.dir}:bench`, ref(direct)]));
        }),
      'via proxy': () => withBed(false, (bed) => measured(() => pushTo(app, bed))),
    });
    const m = report('0. proxy overhead: ecrctl push, no delay, no cap', 0, runs, app.bytes);
    console.log(`   proxy overhead: ${(m['via proxy']! - m.direct!).toFixed(0)} ms`);
  }

  for (const rtt of opts.rtts) {
    Object.assign(link.opts, { rttMs: rtt, mbitPerSecond: opts.mbit });
    if (want(1)) {
      const runs = await rounds({
        ecrctl: () => withBed(false, (bed) => measured(() => pushTo(app, bed))),
        ...alsoVariants((v) => withBed(false, (bed) => measured(() => pushTo(app, bed, v)))),
        skopeo: () => withBed(false, (bed) => measured(() => skopeoPushTo(app, bed))),
      });
      report(`1. push ${(app.bytes / MB).toFixed(0)} MB, ${app.blobs.length - 1} layers`, rtt, runs, app.bytes);
    }
    if (want(2) || want(3)) {
      await withBed(true, async (source) => {
        await unshaped(() => pushTo(app, source));
        if (want(2)) {
          const out = path.join(opts.workDir, 'latency-pull-out');
          const fresh = (fn: () => Promise<Run>) => async () => {
            rmSync(out, { recursive: true, force: true });
            try {
              return await measured(fn);
            } finally {
              rmSync(out, { recursive: true, force: true });
            }
          };
          const runs = await rounds({
            ecrctl: fresh(() => ecrctl(['pull', ref(source), `oci:${out}:v1`])),
            ...alsoVariants((v) => fresh(() => ecrctl(['pull', ref(source), `oci:${out}:v1`], v))()),
            skopeo: fresh(() => skopeo([...src, `docker://${sref(source)}`, `oci:${out}:v1`])),
          });
          report('2. pull → oci: (blob GETs 307 to a second host)', rtt, runs, app.bytes);
        }
        if (want(3)) {
          const runs = await rounds({
            ecrctl: () => withBed(false, (dest) => measured(() => ecrctl(['copy', ref(source), ref(dest)]))),
            ...alsoVariants((v) =>
              withBed(false, (dest) => measured(() => ecrctl(['copy', ref(source), ref(dest)], v))),
            ),
            skopeo: () =>
              withBed(false, (dest) =>
                measured(() => skopeo([...src, ...dst, `docker://${sref(source)}`, `docker://${sref(dest)}`])),
              ),
          });
          report('3. copy registry → registry (both remote)', rtt, runs, app.bytes);
        }
      });
    }
    if (want(4)) {
      await withBed(false, async (bed) => {
        await unshaped(() => pushTo(app, bed));
        const runs = await rounds({
          ecrctl: () => measured(() => pushTo(app, bed)),
          skopeo: () => measured(() => skopeoPushTo(app, bed)),
        });
        report('4. re-push of the unchanged image', rtt, runs, 0);
      });
    }
    if (want(5) && many && one) {
      const runs = await rounds({
        ecrctl: () => withBed(false, (bed) => measured(() => pushTo(many, bed))),
        ...alsoVariants((v) => withBed(false, (bed) => measured(() => pushTo(many, bed, v)))),
        skopeo: () => withBed(false, (bed) => measured(() => skopeoPushTo(many, bed))),
        'ecrctl, 1 layer': () => withBed(false, (bed) => measured(() => pushTo(one, bed))),
      });
      const m = report(
        `5. push of 200 layers × ${(smallEach / 1024).toFixed(0)} KiB vs 1 layer`,
        rtt,
        runs,
        many.bytes,
      );
      console.log(`   200 layers ÷ 1 layer (ecrctl): ${(m.ecrctl! / m['ecrctl, 1 layer']!).toFixed(2)}× (target ≤ 2×)`);
    }
  }
  rmSync(ca.dir, { recursive: true, force: true });
}

// The benchmark suite (`npm run bench`): builds the CLI, then runs the transfer cases against
// skopeo and the curl ceiling, the start-up times, and the lifecycle simulator benchmark.
//
//   npm run bench                     full sizes (1 GiB image, 2 GiB layer; ~6 GiB of disk)
//   npm run bench -- --quick          small sizes, for iterating
//   npm run bench -- --only=1,4,startup --rounds=5
//   npm run bench -- sync [--quick] [--only=loopback,latency,scale]
//                                     ecrctl sync vs skopeo sync, and the scale case (bench/sync.bench.ts)
//   npm run bench -- latency [--quick] [--rtt=0,40,100] [--mbit=500] [--only=1,2]
//                                     remote registry over TLS through a shaping proxy
//                                     (bench/latency.bench.ts); ECRCTL_BENCH_SCALE scales sizes
//
// Needs /usr/bin/docker-registry, /usr/bin/skopeo, curl, sha256sum and GNU time
// (`apt-get install time`) for peak RSS. Generated images are cached in the work dir
// (default $TMPDIR/ecrctl-bench) and reused by later runs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { haveGnuTime } from './measure.js';
import { runStartupBench } from './startup.bench.js';
import { type CaseResult, runTransferBench } from './transfer.bench.js';

const root = path.resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rtt: { type: 'string', default: '0,40,100' },
    mbit: { type: 'string', default: '500' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: '' },
    rounds: { type: 'string' },
    'work-dir': { type: 'string', default: path.join(os.tmpdir(), 'ecrctl-bench') },
  },
});
const quick = values.quick === true;
const rounds = Number(values.rounds ?? '3');
const workDir = path.resolve(values['work-dir']!);
const only = new Set(values.only!.split(',').filter((s) => s !== ''));
const wants = (name: string) => only.size === 0 || only.has(name);
const cases = new Set([...only].filter((s) => /^\d$/.test(s)).map(Number));
const anyCase = only.size === 0 || cases.size > 0;

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const freeGiB = (dir: string) => {
  const s = statfsSync(dir);
  return (s.bavail * s.bsize) / 1024 ** 3;
};

mkdirSync(workDir, { recursive: true });
console.log(
  `ecrctl benchmark${quick ? ' (--quick: small sizes)' : ''}: node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
);
console.log(`load average at start: ${load()}; work dir ${workDir} (${freeGiB(workDir).toFixed(1)} GiB free)`);

const missing = ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/curl', '/usr/bin/sha256sum'].filter(
  (f) => !existsSync(f),
);
if (anyCase && missing.length > 0) {
  console.error(`missing: ${missing.join(', ')} (apt-get install docker-registry skopeo curl coreutils)`);
  process.exit(1);
}
if (anyCase && !haveGnuTime()) {
  console.error('missing GNU time (/usr/bin/time), which measures peak RSS: apt-get install time');
  process.exit(1);
}

// The CLI as users run it: compiled JavaScript in a fresh node process. Built into its own
// directory (inside the project, so that node_modules resolves) rather than dist/, so that
// a half-edited dist/ cannot skew the numbers.
const build = path.join(root, '.bench-build');
const tsc = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules/typescript/bin/tsc'),
    '-p',
    'tsconfig.build.json',
    '--outDir',
    path.join(build, 'dist'),
  ],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
const entry = path.join(build, 'dist/cli/bin.js');
if (!existsSync(entry)) {
  console.error(`building the CLI failed:\n${tsc.stdout}${tsc.stderr}`);
  process.exit(1);
}
copyFileSync(path.join(root, 'package.json'), path.join(build, 'package.json'));
const ecrctl: [string, string] = [process.execPath, entry];

if (positionals[0] === 'sync') {
  const { runSyncBench } = await import('./sync.bench.js');
  await runSyncBench({ quick, workDir, ecrctl, only });
  console.log(`\nload average at end: ${load()}`);
  process.exit(0);
}

if (positionals[0] === 'latency') {
  const { runLatencyBench } = await import('./latency.bench.js');
  const scale = Number(process.env.ECRCTL_BENCH_SCALE ?? (quick ? '0.1' : '1'));
  await runLatencyBench({
    quick,
    rounds,
    workDir,
    ecrctl,
    rtts: values.rtt!.split(',').map(Number),
    mbit: Number(values.mbit),
    only: new Set([...only].map(Number)),
    scale,
  });
  console.log(`\nload average at end: ${load()}`);
  process.exit(0);
}

let transfer: CaseResult[] = [];
if (anyCase) {
  // Full size: 1 GiB image cached, 2 GiB layer cached, registry storage and a pull output.
  const needGiB = quick ? 1.5 : 6.5;
  const skipBig = freeGiB(workDir) < needGiB;
  if (skipBig)
    console.log(
      `only ${freeGiB(workDir).toFixed(1)} GiB free; the large-layer case needs ~${needGiB} GiB and is skipped`,
    );
  transfer = await runTransferBench({ quick, rounds, workDir, ecrctl, only: cases, skipBig });
}
if (wants('startup')) await runStartupBench(ecrctl);
if (wants('lifecycle')) {
  console.log('');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench/lifecycle.bench.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) console.error(`lifecycle benchmark exited with ${r.status}`);
}

if (transfer.length > 0) {
  console.log('\nsummary (markdown)\n');
  console.log('| case | ecrctl | skopeo | ecrctl/skopeo | ecrctl RSS | targets |');
  console.log('|---|---|---|---|---|---|');
  for (const c of transfer) {
    const e = c.tools.ecrctl!;
    const s = c.tools.skopeo;
    const targets = c.targets.map((t) => `${t.met ? '✓' : '✗'} ${t.label} (${t.detail})`).join('; ');
    console.log(
      `| ${c.id}. ${c.title} | ${(e.wallMs / 1000).toFixed(2)} s | ${s ? `${(s.wallMs / 1000).toFixed(2)} s` : '-'} | ${s ? (e.wallMs / s.wallMs).toFixed(2) : '-'} | ${(e.rssBytes / 1e6).toFixed(0)} MB | ${targets} |`,
    );
  }
}
console.log(`\nload average at end: ${load()}`);

// Start-up time: `ecrctl --version` and `ecrctl --help` as a user runs them (a new node
// process each time), median of 20, against `skopeo --version` as the named peer.
import { median, timed } from './measure.js';

export interface StartupResult {
  name: string;
  medianMs: number;
}

const RUNS = 20;

/** Measures the start-up commands and prints their medians and ratios. */
export async function runStartupBench(ecrctl: [string, string]): Promise<StartupResult[]> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  const cases: Array<[string, string, string[]]> = [
    ['ecrctl --version', ecrctl[0], [ecrctl[1], '--version']],
    ['ecrctl --help', ecrctl[0], [ecrctl[1], '--help']],
    ['skopeo --version', '/usr/bin/skopeo', ['--version']],
  ];
  const times = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  // Interleaved, so that a burst of load elsewhere hits every command alike.
  for (let i = 0; i < RUNS; i++) {
    for (const [name, file, args] of cases)
      times.get(name)!.push((await timed(file, args, { env, rss: false })).wallMs);
  }
  const results = cases.map(([name]) => ({ name, medianMs: median(times.get(name)!) }));
  const peer = results[2]!.medianMs;
  console.log(`\nstart-up (median of ${RUNS})`);
  for (const r of results) {
    const ratio = r.name.startsWith('ecrctl')
      ? `   ratio to skopeo --version ${(r.medianMs / peer).toFixed(2)}   target < 150 ms: ${r.medianMs < 150 ? 'met' : 'MISSED'}`
      : '';
    console.log(`   ${r.name.padEnd(18)} ${r.medianMs.toFixed(0).padStart(5)} ms${ratio}`);
  }
  return results;
}

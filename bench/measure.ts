// Running the tools under measurement: wall time from spawn to exit, peak RSS from GNU time
// (`/usr/bin/time -f %M`, the kernel's high-water mark of the whole process), medians.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Run {
  wallMs: number;
  /** Peak resident set size in bytes (0 when not measured). */
  rssBytes: number;
  /** User + system CPU time in ms (0 when not measured): less sensitive to load than wall time. */
  cpuMs: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Measure peak RSS through /usr/bin/time (default true). */
  rss?: boolean;
}

const TIME = '/usr/bin/time';

/** Returns true when GNU time is installed (the peak-RSS probe). */
export function haveGnuTime(): boolean {
  return spawnSync(TIME, ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
}

/** Runs file with args; resolves with its wall time and peak RSS, rejects when it fails. */
export function timed(file: string, args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const measureRss = opts.rss !== false;
  const dir = measureRss ? mkdtempSync(path.join(os.tmpdir(), 'ecrctl-bench-time-')) : '';
  const rssFile = path.join(dir, 'rss');
  const [cmd, argv] = measureRss ? [TIME, ['-f', '%M %U %S', '-o', rssFile, file, ...args]] : [file, [...args]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, argv, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      let rssBytes = 0;
      let cpuMs = 0;
      if (measureRss) {
        try {
          const [rss, user, sys] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '')
            .split(' ')
            .map(Number);
          rssBytes = (rss ?? 0) * 1024;
          cpuMs = Math.round(((user ?? 0) + (sys ?? 0)) * 1000);
        } catch {
          rssBytes = 0;
        }
        rmSync(dir, { recursive: true, force: true });
      }
      if (code !== 0) {
        reject(new Error(`${file} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`));
        return;
      }
      resolve({ wallMs, rssBytes, cpuMs, stdout, stderr });
    });
  });
}

/** Returns the median of xs (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Returns `12.3 MB/s` for bytes moved in ms. */
export function rate(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
}

/** Returns `123 MB` for a byte count (decimal megabytes, like the rates). */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

// A large `-o json` document reaches a slow reader whole: the process waits for stdout to be
// flushed before it exits (a pipe holds 64 KiB; process.exit used to drop the rest), and a
// reader that goes away early (`| head`) ends the command quietly, without an EPIPE trace.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtEntry } from '../helpers/cli.js';

let dir: string;
let images: string;
const args = () => [
  builtEntry(),
  'lifecycle',
  'simulate',
  '--images',
  images,
  '--policy',
  'preset:expire-untagged,days=7',
  '--all',
  '--at',
  '2025-06-01',
  '-o',
  'json',
];
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const command = () => [process.execPath, ...args()].map(quote).join(' ');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-flush-'));
  images = path.join(dir, 'images.json');
  const list = Array.from({ length: 5000 }, (_, i) => ({
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    tags: [`v${i}`],
    pushedAt: '2025-01-01T00:00:00Z',
  }));
  writeFileSync(images, JSON.stringify(list));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stdout to a pipe', () => {
  it('a reader that starts late gets the whole document, parseable', () => {
    const whole = execFileSync(process.execPath, args(), { maxBuffer: 64 << 20 }).toString();
    expect(whole.length).toBeGreaterThan(256 * 1024);
    // The reader sleeps first, so the writer fills the pipe and must wait before it exits.
    const piped = execFileSync('sh', ['-c', `${command()} | (sleep 1; cat)`], { maxBuffer: 64 << 20 }).toString();
    expect(piped.length).toBe(whole.length);
    expect(piped).toBe(whole);
    expect(JSON.parse(piped).decisions.length).toBe(5000);
  });

  it('a reader that goes away early (| head) ends it quietly: no EPIPE trace on stderr', () => {
    const err = path.join(dir, 'stderr.txt');
    const head = execFileSync('sh', ['-c', `${command()} 2>${quote(err)} | (sleep 0.5; head -c 20)`]).toString();
    expect(head).toBe(
      execFileSync(process.execPath, args(), { maxBuffer: 64 << 20 })
        .toString()
        .slice(0, 20),
    );
    expect(readFileSync(err, 'utf8')).toBe('');
  });
});

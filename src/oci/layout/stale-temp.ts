// Temp names that carry the writer's PID, and the removal of temp files a killed writer left
// behind. A SIGKILL (OOM killer, CI timeout, power cut) leaves `.NAME.tmp-*` beside the
// destination; the next write to it removes those it can tell are abandoned, and nothing else.
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Idle time after which a temp file whose name has no PID (older ecrctl) is abandoned. */
export const STALE_WITHOUT_PID_MS = 60 * 60 * 1000;
/** Idle time after which a temp file whose PID is not running is abandoned. */
export const STALE_DEAD_PID_MS = 10 * 60 * 1000;

/** Returns a unique temp-name suffix: this process's PID and 12 random hex digits. */
export function tempSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Returns the pattern of the temp names written beside a destination named base (group 1: PID). */
export function siblingTempPattern(base: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(base)}\\.tmp-(?:(\\d+)-)?[0-9a-f]{12}$`);
}

/** The pattern of blob temp names in a layout's blobs/ (group 1: PID). */
export const BLOB_TEMP_PATTERN = /^\.tmp-(?:(\d+)-)?[0-9a-f]{12}-[0-9a-f]{12}$/;
/** The pattern of index.json temp names in a layout (group 1: PID). */
export const INDEX_TEMP_PATTERN = /^index\.json\.tmp-(?:(\d+)-)?[0-9a-f]{12}$/;

/**
 * Removes the entries of dir whose names match pattern and that are abandoned: owned by this
 * user and idle (no write to them, or for a temp layout dir to its blobs) for an hour, or
 * for 10 minutes when the PID in the name is not running; a running PID keeps them. Best
 * effort: returns the names removed and never throws (a leftover is only wasted space).
 */
export async function removeStaleTemps(dir: string, pattern: RegExp, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const match = pattern.exec(name);
    if (match === null) continue;
    const file = path.join(dir, name);
    try {
      const info = await lstat(file);
      if (process.getuid !== undefined && info.uid !== process.getuid()) continue;
      const pid = match[1] === undefined ? undefined : Number(match[1]);
      if (pid !== undefined && isRunning(pid)) continue;
      const idle = now - (await lastWrite(file, info.mtimeMs, info.isDirectory()));
      if (idle <= (pid === undefined ? STALE_WITHOUT_PID_MS : STALE_DEAD_PID_MS)) continue;
      // rm removes a symbolic link itself, never what it points at.
      await rm(file, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove: leave it
    }
  }
  return removed;
}

/** Returns true when a process with pid runs (EPERM: it runs as another user). */
function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Returns when file was last written; for a temp layout dir, the newest of it, its blobs/
 * and the entries there (the blob being downloaded is written in blobs/ continuously).
 */
async function lastWrite(file: string, mtimeMs: number, isDir: boolean): Promise<number> {
  if (!isDir) return mtimeMs;
  let newest = mtimeMs;
  const blobs = path.join(file, 'blobs');
  const blobsInfo = await lstat(blobs).catch(() => undefined);
  if (blobsInfo === undefined || !blobsInfo.isDirectory()) return newest;
  newest = Math.max(newest, blobsInfo.mtimeMs);
  for (const name of await readdir(blobs)) {
    const info = await lstat(path.join(blobs, name)).catch(() => undefined);
    if (info !== undefined) newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Keeps peak memory flat on large transfers. Every network read and file read arrives in a
// fresh Buffer whose bytes live outside V8's heap; a chunk is garbage as soon as it has been
// written on, but V8 collects young objects only when its young generation (16 MB of small
// JS objects) fills, which at ~1 KB of JS per chunk is about every 1 GiB moved. Before that,
// V8's external-memory trigger fires a full collection at ~64 MB of dead chunks, so every
// registry command peaked at ~120 MB and spent CPU on full marks. A young-generation
// collection after each 16 MiB moved frees those chunks for ~0.1 ms each.
//
// Both tunings here change the whole process (a V8 flag, forced collections), so they are off
// unless the program that owns the process asks for them: the ecrctl binary does
// (tuneProcess), a library caller's process is left alone.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const COLLECT_EVERY = 16 * 1024 * 1024;

type CollectGarbage = (options: { type: 'minor' }) => void;
let collect: CollectGarbage | null | undefined;
let sinceLast = 0;
let tuned = false;

/**
 * Opts the process in to ecrctl's memory tuning: young-generation collections while blobs move
 * and V8's baseline WebAssembly compiler for undici's HTTP parser. Called by the binaries only.
 */
export function tuneProcess(): void {
  tuned = true;
}

/** Tells whether the owning program asked for process-wide tuning (tuneProcess). */
export function processTuned(): boolean {
  return tuned;
}

/** Counts bytes that passed through a blob stream; collects young garbage every 16 MiB. */
export function noteBytesMoved(bytes: number): void {
  if (!tuned) return;
  sinceLast += bytes;
  if (sinceLast < COLLECT_EVERY) return;
  sinceLast = 0;
  if (collect === undefined) {
    try {
      // The flag exposes `gc` to contexts created from now on; only this one sees it.
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as CollectGarbage;
    } catch {
      collect = null; // a runtime without the flag: memory is then V8's business
    }
  }
  collect?.({ type: 'minor' });
}

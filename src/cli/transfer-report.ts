// How a transfer looks to the user: live progress on a TTY, one plain line per step in CI,
// one summary line at the end, and the same facts as JSON or KEY=value lines.
import type { CopyEvent, CopySummary } from '../oci/copy.js';
import type { CliContext } from './context.js';
import { formatBytes, formatDuration, render } from './output.js';
import { startTask, type Task } from './progress.js';
import { plural } from '../text.js';

/** What a transfer command reports: the summary plus where the image went. */
export interface TransferResult extends CopySummary {
  /** `pushed`, `pulled` or `copied`. */
  action: string;
  source: string;
  /** The destination without tag or digest (`host/repo`, `oci:./out`). */
  destination: string;
  /** The destination pinned by digest, e.g. `host/repo@sha256:…`, when it is a registry. */
  imageUri: string;
}

/** Returns a CopyEvent handler that shows progress and a function that ends it. */
export function transferProgress(
  ctx: CliContext,
  label: string,
): { onEvent: (e: CopyEvent) => void; done(ok: boolean): void } {
  const live = ctx.stderr.isTTY && ctx.globals.color && !ctx.globals.quiet;
  const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
  if (!live) {
    return {
      onEvent(e) {
        if (e.kind === 'plan') ctx.log.info(`${label}: ${plural(e.blobs, 'blob')}, ${formatBytes(e.bytes)}`);
        else if (e.kind === 'blob-done')
          ctx.log.info(
            `  blob ${short(e.descriptor.digest)} ${formatBytes(e.descriptor.size)} ${e.result === 'uploaded' && label.startsWith('pull') ? 'downloaded' : e.result}`,
          );
        else if (e.kind === 'manifest')
          ctx.log.info(
            `  manifest ${short(e.digest)}${e.tag ? ` tag ${e.tag}` : ''}${e.unchanged ? ' unchanged' : ''}`,
          );
      },
      done() {},
    };
  }
  const task: Task = startTask(ctx, label);
  const sent = new Map<string, number>();
  let total = 0;
  let blobs = 0;
  let finished = 0;
  const started = performance.now();
  let lastPaint = 0;
  const paint = () => {
    const now = performance.now();
    if (now - lastPaint < 100) return;
    lastPaint = now;
    let bytes = 0;
    for (const n of sent.values()) bytes += n;
    const rate = bytes / Math.max(0.001, (now - started) / 1000);
    task.update(
      `${label}: ${finished}/${blobs} blobs, ${formatBytes(bytes)} / ${formatBytes(total)}, ${formatBytes(rate)}/s`,
    );
  };
  return {
    onEvent(e) {
      if (e.kind === 'plan') {
        total = e.bytes;
        blobs = e.blobs;
      } else if (e.kind === 'blob-progress') {
        sent.set(e.descriptor.digest, e.bytes);
      } else if (e.kind === 'blob-done') {
        sent.set(e.descriptor.digest, e.descriptor.size);
        finished++;
      }
      paint();
    },
    done(ok) {
      if (ok) task.succeed(`${label}: done`);
      else task.fail(`${label}: failed`);
    },
  };
}

/** Returns a pull's result in download words: `bytesDownloaded`, `blobs.downloaded`. */
function inDownloadWords({
  bytesUploaded: bytesDownloaded,
  blobs: { uploaded: downloaded, ...b },
  ...r
}: TransferResult) {
  return { ...r, blobs: { total: b.total, downloaded, skipped: b.skipped, mounted: b.mounted }, bytesDownloaded };
}

/** Prints the result: the summary line on stderr (text), or the data on stdout. */
export function reportTransfer(ctx: CliContext, r: TransferResult): void {
  // A pull "uploads" into the layout: say what the user sees happen.
  const moved = r.action === 'pulled' ? 'downloaded' : 'uploaded';
  const blobs = `${plural(r.blobs.total, 'blob')}: ${r.blobs.uploaded} ${moved}, ${r.blobs.skipped} skipped, ${r.blobs.mounted} mounted`;
  const tags =
    r.tags.length > 0
      ? ` tags ${r.tags.join(',')}${r.unchangedTags.length ? ` (unchanged: ${r.unchangedTags.join(',')})` : ''}`
      : '';
  const line = `${r.action} ${r.destination}${tags} ${r.digest} (${blobs}; ${formatBytes(r.bytesUploaded)} ${r.action === 'pulled' ? 'written' : 'sent'} of ${formatBytes(r.bytesTotal)} in ${formatDuration(r.durationMs)})`;
  render(ctx, r.action === 'pulled' ? inDownloadWords(r) : r, {
    text: () => line,
    env: (x) => ({
      IMAGE_URI: x.imageUri,
      IMAGE_DIGEST: x.digest,
      IMAGE_TAGS: x.tags.join(','),
    }),
  });
}

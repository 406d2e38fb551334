// tag-push, pull, copy, inspect and tags on the command line: option text → op options, the
// op (src/ops/transfer.ts), then the result rendered (and, for pushes, written for CI).
import { UsageError } from '../errors.js';
import { checkReferrersReport } from '../oci/referrers.js';
import type { InspectConfigResult } from '../ops/inspect-config.js';
import type { PushPlan } from '../ops/push-plan.js';
import {
  getManifest,
  inspect,
  listTags,
  type PushOptions,
  pull,
  push,
  type TransferOptions,
  type TransferResult,
} from '../ops/transfer.js';
import { reportPushToGitHub } from '../ci/github.js';
import type { CliContext } from './context.js';
import { formatBytes, render, table } from './output.js';
import { reportTransfer } from './transfer-report.js';

/** The transfer options as typed on the command line. */
export interface TransferFlags {
  source: string;
  target: string;
  tags?: readonly string[];
  platform?: string | undefined;
  concurrency?: string | undefined;
  referrers?: boolean | undefined;
}

/** Returns --concurrency as a number from 1 to 64, or a usage error naming the option. */
export function concurrencyOf(text: string | undefined): number {
  const n = Number(text ?? '4');
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError('--concurrency must be a whole number from 1 to 64', { value: String(text) });
  }
  return n;
}

function transferOptions(flags: TransferFlags): TransferOptions {
  return {
    source: flags.source,
    target: flags.target,
    tags: flags.tags ?? [],
    concurrency: concurrencyOf(flags.concurrency),
    ...(flags.platform ? { platform: flags.platform } : {}),
    ...(flags.referrers === false ? { referrers: false } : {}),
  };
}

/** Prints a transfer's result, then says how its referrers went (exit 1 when one was refused). */
function report(ctx: CliContext, r: TransferResult): void {
  reportTransfer(ctx, r);
  if (r.referrers) checkReferrersReport(r.referrers, r.destination, (m) => ctx.log.info(m), r.action);
}

/** `ecrctl pull`. */
export async function runPull(ctx: CliContext, flags: TransferFlags): Promise<void> {
  report(ctx, await pull(ctx, transferOptions(flags)));
}

/** `ecrctl tag-push`: returns the transfer (undefined after --dry-run) for --scan. */
export async function runPush(
  ctx: CliContext,
  flags: TransferFlags & Pick<PushOptions, 'strategies' | 'semverAliases' | 'dryRun' | 'createRepo'>,
): Promise<TransferResult | undefined> {
  const result = await push(ctx, {
    ...transferOptions(flags),
    ...(flags.strategies ? { strategies: flags.strategies } : {}),
    ...(flags.semverAliases !== undefined ? { semverAliases: flags.semverAliases } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.createRepo ? { createRepo: true } : {}),
  });
  if (flags.dryRun) {
    renderPlan(ctx, result.plan, result.repository);
    if (result.plan.violation) throw result.plan.violation;
    return undefined;
  }
  const t = result.transfer!;
  reportTransfer(ctx, t);
  if (t.referrers) checkReferrersReport(t.referrers, t.destination, (m) => ctx.log.info(m), t.action);
  reportPushToGitHub(ctx.env, {
    verb: 'tag-push',
    imageUri: t.imageUri,
    digest: t.digest,
    tags: t.tags,
    unchangedTags: t.unchangedTags,
    detail: `${t.blobs.uploaded} of ${t.blobs.total} blobs uploaded, ${formatBytes(t.bytesUploaded)} sent`,
  });
  return t;
}

function renderPlan(ctx: CliContext, plan: PushPlan, repository: string): void {
  const from = (tag: string) => {
    const d = plan.derived.find((x) => x.tag === tag);
    return d
      ? `${d.strategy}${d.from.length > 0 ? ` (${d.from.join(', ')})` : ''}`
      : plan.given.includes(tag)
        ? 'given'
        : 'default';
  };
  const data = {
    dryRun: true,
    repository,
    digest: plan.digest,
    tags: plan.states.map((s) => ({
      tag: s.tag,
      from: from(s.tag),
      action: s.action,
      ...(s.current ? { current: s.current } : {}),
    })),
    checks: plan.checks,
    ...(plan.config ? { config: plan.config } : {}),
    ...(plan.pattern ? { pattern: plan.pattern } : {}),
    mutability: plan.mutability?.setting ?? 'unknown',
    ...(plan.createRepository ? { createRepository: true } : {}),
  };
  render(ctx, data, {
    text: (d) => {
      const head = `would push ${d.digest} to ${d.repository}${d.createRepository ? ' (the repository would be created)' : ''}`;
      const tagTable = table(
        ['TAG', 'FROM', 'NOW'],
        d.tags.map((t) => [
          t.tag,
          t.from,
          t.action === 'moves' || t.action === 'conflict' ? `${t.action} (at ${t.current})` : t.action,
        ]),
      );
      const where = d.config
        ? `${d.config}${d.pattern ? `, pattern ${d.pattern}` : ', no pattern matches'}`
        : 'no .ecrctl.yaml';
      const rules = d.checks.map((c) => `  ${c.status.padEnd(8)} ${c.rule}: ${c.message}`).join('\n');
      return `${head}\n${tagTable}\nrules checked (${where}; tag mutability ${d.mutability}):\n${rules}\nnothing pushed (--dry-run)`;
    },
    env: (d) => ({ IMAGE_TAGS: d.tags.map((t) => t.tag).join(','), IMAGE_DIGEST: d.digest, DRY_RUN: 'true' }),
  });
}

/** `ecrctl inspect`: what a manifest holds, its raw bytes, its image configuration or its referrers. */
export async function runInspect(
  ctx: CliContext,
  ref: string,
  view: 'summary' | 'raw' | 'config' | 'referrers' = 'summary',
): Promise<void> {
  if (view === 'config') {
    const { inspectConfig } = await import('../ops/inspect-config.js');
    render(ctx, await inspectConfig(ctx, ref), {
      text: configText,
      env: (r) => ({
        IMAGE_DIGEST: r.digest,
        IMAGE_PLATFORMS: r.images.map((i) => i.platform).join(','),
      }),
    });
    return;
  }
  if (view === 'referrers') {
    const { discover } = await import('../ops/discover.js');
    const { referrerTree } = await import('./commands/discover.js');
    render(ctx, await discover(ctx, { reference: ref }), {
      text: referrerTree,
      env: (r) => ({ SUBJECT_DIGEST: r.digest, REFERRER_COUNT: String(r.total) }),
    });
    return;
  }
  if (view === 'raw') {
    // The bytes exactly, no newline added: `| sha256sum` is the digest (as crane and skopeo).
    ctx.stdout.write((await getManifest(ctx, ref)).bytes.toString('utf8'));
    return;
  }
  render(ctx, await inspect(ctx, ref), {
    text: (i) => {
      const top = `${i.reference}\ndigest:     ${i.digest}\nmedia type: ${i.mediaType}\n`;
      if (i.kind === 'index') {
        return `${top}platforms:\n${table(
          ['PLATFORM', 'DIGEST', 'SIZE'],
          i.manifests.map((d) => [d.platform ?? '-', d.digest, formatBytes(d.size)]),
        )}`;
      }
      return `${top}size:       ${formatBytes(i.totalSize)} in ${i.layers.length} layers\nconfig:     ${i.config.digest}\nlayers:\n${table(
        ['DIGEST', 'MEDIA TYPE', 'SIZE'],
        i.layers.map((d) => [d.digest, d.mediaType, formatBytes(d.size)]),
      )}`;
    },
    env: (i) => ({ IMAGE_DIGEST: i.digest, IMAGE_MEDIA_TYPE: i.mediaType }),
  });
}

/** Returns inspect --config as readable blocks: one per platform, fields then history. */
function configText(r: InspectConfigResult): string {
  const out = [`${r.reference}\ndigest:      ${r.digest}\nmedia type:  ${r.mediaType}`];
  const list = (v: readonly string[] | undefined) => (v === undefined ? '-' : JSON.stringify(v));
  for (const i of r.images) {
    const lines = [
      `platform ${i.platform}`,
      `  manifest:    ${i.manifestDigest}`,
      `  config:      ${i.configDigest}`,
      `  created:     ${i.created ?? '-'}`,
      ...(i.author ? [`  author:      ${i.author}`] : []),
      `  entrypoint:  ${list(i.entrypoint)}`,
      `  cmd:         ${list(i.cmd)}`,
      `  workdir:     ${i.workingDir ?? '-'}`,
      `  user:        ${i.user ?? '-'}`,
      `  ports:       ${i.exposedPorts.length > 0 ? i.exposedPorts.join(', ') : '-'}`,
      ...(i.volumes.length > 0 ? [`  volumes:     ${i.volumes.join(', ')}`] : []),
      ...(i.stopSignal ? [`  stop signal: ${i.stopSignal}`] : []),
      `  env:${i.env.length === 0 ? '         -' : ''}`,
      ...i.env.map((e) => `    ${e}`),
      `  labels:${Object.keys(i.labels).length === 0 ? '      -' : ''}`,
      ...Object.entries(i.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `    ${k}=${v}`),
      `  history:${i.history.length === 0 ? '     -' : ''}`,
      ...i.history.map(
        (h) =>
          `    ${(h.created ?? '-').padEnd(20)} ${h.emptyLayer ? '(empty)' : 'layer  '} ${oneLine(h.createdBy ?? h.comment ?? '')}`,
      ),
    ];
    out.push(lines.join('\n'));
  }
  for (const s of r.skipped) out.push(`skipped ${s.digest}: ${s.reason}`);
  return out.join('\n\n');
}

/** Returns a history command on one line, shortened so a block stays readable. */
function oneLine(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}

/** `ecrctl tags`. */
export async function runTags(ctx: CliContext, repo: string): Promise<void> {
  render(ctx, await listTags(ctx, repo), {
    text: (r) => r.tags.join('\n'),
    env: (r) => ({ IMAGE_TAGS: r.tags.join(',') }),
  });
}

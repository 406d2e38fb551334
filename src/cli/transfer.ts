// tag-push, pull, copy, inspect and tags: parse locations, open them, run the copy engine,
// report. Shared by those verbs because they differ only in which locations they accept.
import { EcrctlError, InterruptedError, NotFoundError, UsageError } from '../errors.js';
import {
  copyImage,
  formatPlatform,
  manifestKind,
  parseManifest,
  parsePlatform,
  type PlatformSpec,
} from '../oci/copy.js';
import { formatLocation, formatReference, type ImageLocation, parseLocation } from '../oci/reference.js';
import type { ReferrersReport } from '../oci/referrers.js';
import type { ImageIndex, ImageManifest } from '../oci/types.js';
import type { CliContext } from './context.js';
import { openLocation, type OpenedLocation, resolveLocation } from './locations.js';
import { render, table, formatBytes } from './output.js';
import { reportTransfer, transferProgress } from './transfer-report.js';

export interface TransferRequest {
  action: 'pushed' | 'pulled' | 'copied';
  source: string;
  target: string;
  tags: readonly string[];
  platform?: string | undefined;
  concurrency?: string | undefined;
  /** tag-push: --tag-strategy values (none: the project config's defaults). */
  strategies?: readonly string[] | undefined;
  semverAliases?: boolean | undefined;
  /** tag-push: print the tags and rules, push nothing. */
  dryRun?: boolean | undefined;
  /** tag-push: create a missing ECR repository with the project config's defaults. */
  createRepo?: boolean | undefined;
  /**
   * Carry the image's referrers (signatures, SBOMs, attestations) along (default true);
   * a docker-archive cannot hold them, so pulls into one leave them behind.
   */
  referrers?: boolean | undefined;
}

function concurrencyOf(text: string | undefined): number {
  const n = Number(text ?? '4');
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError('--concurrency must be a whole number from 1 to 64', { value: String(text) });
  }
  return n;
}

/** Returns the tags a transfer writes: the target's own tag first, then --tag values. */
function targetTags(target: ImageLocation, extra: readonly string[]): string[] {
  const own =
    target.transport === 'registry'
      ? target.reference.tag
      : target.transport === 'oci'
        ? target.tag
        : target.transport === 'docker-archive'
          ? target.ref
          : undefined;
  return [...new Set([...(own ? [own] : []), ...extra])];
}

/** Where a transfer put the image: the registry, repository and digest (undefined after --dry-run). */
export interface TransferOutcome {
  registry?: string;
  repository?: string;
  digest: string;
}

/** Runs one transfer (tag-push, pull, copy), reports it, and returns where the image went. */
export async function runTransfer(ctx: CliContext, req: TransferRequest): Promise<TransferOutcome | undefined> {
  const platform: PlatformSpec | undefined = req.platform ? parsePlatform(req.platform) : undefined;
  const concurrency = concurrencyOf(req.concurrency);
  const sourceLoc = await resolveLocation(ctx, parseLocation(req.source));
  let targetLoc = await resolveLocation(ctx, parseLocation(req.target));
  if (req.action === 'pushed' || req.action === 'copied') {
    if (targetLoc.transport !== 'registry') {
      throw new UsageError(
        `${req.action === 'pushed' ? 'tag-push' : 'copy'} writes to a registry, not ${targetLoc.transport}:`,
        {
          value: req.target,
          fix: 'to write a local layout or archive use `ecrctl pull SOURCE oci:DIR[:TAG]`',
        },
      );
    }
  } else if (targetLoc.transport === 'registry' || targetLoc.transport === 'docker-daemon') {
    throw new UsageError('pull writes to oci:DIR[:TAG] or docker-archive:FILE[:REF]', {
      value: req.target,
      fix: 'to copy between registries use `ecrctl copy`',
    });
  }
  if (targetLoc.transport === 'registry' && targetLoc.reference.digest) {
    throw new UsageError('a push target names a tag, not a digest', {
      value: req.target,
      fix: 'drop the @sha256:… part; the digest is computed from what is pushed',
    });
  }
  // An archive without a name would load as an untagged image: name it after the source.
  if (targetLoc.transport === 'docker-archive' && !targetLoc.ref && sourceLoc.transport === 'registry') {
    targetLoc = { ...targetLoc, ref: `${sourceLoc.reference.repository}:${sourceLoc.reference.tag ?? 'latest'}` };
  }
  let tags = targetTags(targetLoc, req.tags);
  // Pulling into a layout without a tag keeps the source's tag, as `docker pull` does.
  if (req.action === 'pulled' && tags.length === 0 && sourceLoc.transport === 'registry' && sourceLoc.reference.tag) {
    tags = [sourceLoc.reference.tag];
  }
  // tag-push decides its tags in planPush (strategies, config defaults, then "latest").
  if (req.action === 'copied' && tags.length === 0) {
    ctx.log.warn('no tag given: pushing as "latest" (name a tag in TARGET or with --tag)');
    tags = ['latest'];
  }
  if (targetLoc.transport === 'registry')
    targetLoc = { ...targetLoc, reference: { ...targetLoc.reference, tag: undefined } } as ImageLocation;

  const source = await openLocation(ctx, sourceLoc, 'source');
  let target: OpenedLocation | undefined;
  const verb = req.action === 'pulled' ? 'pulling' : req.action === 'pushed' ? 'pushing' : 'copying';
  const { startGroup } = await import('../ci/github.js');
  const endGroup = startGroup(
    ctx.env,
    (l) => ctx.stderr.write(l),
    `ecrctl: ${verb} ${formatLocation(sourceLoc)} to ${formatLocation(targetLoc)}`,
  );
  let progress: Awaited<ReturnType<typeof transferProgress>> | undefined;
  try {
    target = await openLocation(ctx, targetLoc, 'target');
    if (targetLoc.transport === 'registry' && target.target) {
      const { isEcrDataPlane } = await import('./ecr-access.js');
      if (await isEcrDataPlane(ctx, targetLoc.reference.registry)) {
        const { paceManifestPuts, putImageBucket } = await import('./put-pacer.js');
        paceManifestPuts(
          target.target,
          putImageBucket(ctx, targetLoc.reference.registry, targetLoc.reference.repository),
        );
      }
    }
    let knownTags: ReadonlyMap<string, string | undefined> | undefined;
    if (req.action === 'pushed' && targetLoc.transport === 'registry') {
      const { planPush } = await import('./push-plan.js');
      const plan = await planPush(ctx, {
        target: targetLoc,
        targetStore: target.target!,
        source: source.source!,
        sourceRef: source.reference,
        platform,
        tags,
        strategies: req.strategies ?? [],
        semverAliases: req.semverAliases,
        createRepo: req.createRepo,
        dryRun: req.dryRun,
      });
      if (req.dryRun) return undefined;
      tags = plan.tags;
      knownTags = plan.present;
    }
    progress = await transferProgress(ctx, `${verb} ${formatLocation(sourceLoc)}`);
    // Referrers (signatures, SBOMs) come along by default; see oci/referrers.ts. An OCI
    // layout lists them in index.json, so it is committed once, after them.
    const withReferrers =
      req.referrers !== false && targetLoc.transport !== 'docker-archive' && source.source!.listReferrers !== undefined;
    if (req.referrers !== false && targetLoc.transport === 'docker-archive') {
      ctx.log.verbose('a docker-archive cannot hold referrers (signatures, SBOMs): pulling the image alone');
    }
    const summary = await copyImage(source.source!, source.reference, target.target!, {
      tags,
      concurrency,
      signal: ctx.signal,
      onEvent: progress.onEvent,
      commit: !withReferrers,
      ...(platform ? { platform } : {}),
      ...(knownTags ? { knownTags } : {}),
    });
    progress.done(true);
    let referrers: ReferrersReport | undefined;
    if (withReferrers) {
      try {
        referrers = await (await import('../oci/referrers.js')).copyReferrers(
          source.source!,
          target.target!,
          summary.digest,
          {
            signal: ctx.signal,
            log: (m) => ctx.log.warn(m),
            note: (m) => ctx.log.verbose(m),
          },
        );
      } catch (err) {
        // The image itself is complete: keep it (unless interrupted), then say what failed.
        if (!ctx.signal.aborted && !(err instanceof InterruptedError))
          await target.target!.commit({ signal: ctx.signal });
        throw err;
      }
      await target.target!.commit({ signal: ctx.signal });
    }
    const destination = formatLocation(targetLoc);
    const imageUri = targetLoc.transport === 'registry' ? `${destination}@${summary.digest}` : destination;
    endGroup();
    const result = {
      ...summary,
      action: req.action,
      source: formatLocation(sourceLoc),
      destination,
      imageUri,
      ...(referrers ? { referrers } : {}),
    };
    reportTransfer(ctx, result);
    if (referrers)
      (await import('../oci/referrers.js')).checkReferrersReport(
        referrers,
        destination,
        (m) => ctx.log.info(m),
        req.action,
      );
    if (req.action === 'pushed') {
      const { reportToCi } = await import('./push-plan.js');
      await reportToCi(ctx, {
        verb: 'tag-push',
        imageUri,
        digest: summary.digest,
        tags: summary.tags,
        unchangedTags: summary.unchangedTags,
        detail: `${summary.blobs.uploaded} of ${summary.blobs.total} blobs uploaded, ${formatBytes(summary.bytesUploaded)} sent`,
      });
    }
    return targetLoc.transport === 'registry'
      ? { registry: targetLoc.reference.registry, repository: targetLoc.reference.repository, digest: summary.digest }
      : { digest: summary.digest };
  } catch (err) {
    progress?.done(false);
    await target?.target?.abort().catch(() => {});
    if (targetLoc.transport === 'registry') {
      const full = repositoryFull(err, targetLoc.reference.registry, targetLoc.reference.repository);
      if (full) throw full;
    }
    if (req.action === 'pushed' && targetLoc.transport === 'registry') {
      const { immutableTagRefusal } = await import('./push-plan.js');
      throw immutableTagRefusal(err, targetLoc.reference.repository);
    }
    throw err;
  } finally {
    endGroup();
    await source.source?.close?.().catch(() => {});
  }
}

/**
 * Returns the error to show when a registry refused a manifest because the repository holds
 * as many images as its quota allows (ECR answers 403 DENIED "… already has the maximum
 * allowed number of images which is 'N'"), else undefined. A 403 reads like missing
 * permissions; this says which quota was hit and what to do.
 */
export function repositoryFull(err: unknown, host: string, repository: string): EcrctlError | undefined {
  const message = err instanceof Error ? err.message : '';
  const m = /maximum allowed number of images which is '?(\d+)'?/i.exec(message);
  if (!m) return undefined;
  return new EcrctlError(
    `${host}/${repository} is full: it holds ${Number(m[1]).toLocaleString('en-US')} images, the "images per repository" quota, so ECR refused the new image (403 DENIED)`,
    {
      rule: 'Amazon ECR service quota: images per repository (default 10,000, adjustable)',
      value: repository,
      fix:
        `clean up: \`ecrctl images ${repository}\` then \`ecrctl delete\`, or add a lifecycle policy that expires old images ` +
        `(\`ecrctl lifecycle put ${repository} preset:expire-untagged --param days=7\`); ` +
        'or raise the quota in Service Quotas (Amazon Elastic Container Registry → Images per repository)',
      cause: err,
    },
  );
}

/** Copies every tag of the source repository to the target repository. */
export async function runCopyAllTags(
  ctx: CliContext,
  req: {
    source: string;
    target: string;
    platform?: string | undefined;
    concurrency?: string | undefined;
    referrers?: boolean | undefined;
  },
): Promise<void> {
  const sourceLoc = await resolveLocation(ctx, parseLocation(req.source));
  if (sourceLoc.transport !== 'registry' || sourceLoc.reference.tag || sourceLoc.reference.digest) {
    throw new UsageError('--all-tags takes a repository without a tag or digest', {
      value: req.source,
      fix: 'write the source as host/repository',
    });
  }
  const opened = await openLocation(ctx, sourceLoc, 'source');
  const tags = await opened.source!.listTags({ signal: ctx.signal });
  if (tags.length === 0) throw new NotFoundError(`${req.source} has no tags`);
  ctx.log.info(`copying ${tags.length} tags from ${formatLocation(sourceLoc)}`);
  for (const tag of tags) {
    await runTransfer(ctx, {
      action: 'copied',
      source: formatReference({ ...sourceLoc.reference, tag }),
      target: `${req.target.replace(/:[^/:@]*$/, '')}:${tag}`,
      tags: [],
      platform: req.platform,
      concurrency: req.concurrency,
      referrers: req.referrers,
    });
  }
}

interface InspectHead {
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
}
type InspectInfo =
  | (InspectHead & {
      kind: 'index';
      manifests: { digest: string; mediaType: string; size: number; platform?: string }[];
    })
  | (InspectHead & {
      kind: 'image';
      artifactType?: string;
      config: { digest: string; mediaType: string; size: number };
      layers: { digest: string; mediaType: string; size: number }[];
      totalSize: number;
    });

function imageInfo(head: InspectHead, doc: ImageManifest): InspectInfo {
  return {
    ...head,
    kind: 'image',
    ...(doc.artifactType ? { artifactType: doc.artifactType } : {}),
    config: { digest: doc.config.digest, mediaType: doc.config.mediaType, size: doc.config.size },
    layers: doc.layers.map((d) => ({ digest: d.digest, mediaType: d.mediaType, size: d.size })),
    totalSize: doc.layers.reduce((n, d) => n + d.size, doc.config.size),
  };
}

/** Prints what a manifest holds (or its raw bytes). */
export async function runInspect(ctx: CliContext, ref: string, raw: boolean): Promise<void> {
  const loc = await resolveLocation(ctx, parseLocation(ref));
  const opened = await openLocation(ctx, loc, 'source');
  try {
    const m = await opened.source!.getManifest(opened.reference, { signal: ctx.signal });
    if (raw) {
      ctx.stdout.write(m.bytes.toString('utf8'));
      if (!m.bytes.toString('utf8').endsWith('\n')) ctx.stdout.write('\n');
      return;
    }
    const doc = parseManifest(m);
    const head = { reference: formatLocation(loc), digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    const info: InspectInfo =
      manifestKind(m, doc) === 'index'
        ? {
            ...head,
            kind: 'index',
            manifests: (doc as ImageIndex).manifests.map((d) => ({
              digest: d.digest,
              mediaType: d.mediaType,
              size: d.size,
              ...(d.platform ? { platform: formatPlatform(d.platform) } : {}),
            })),
          }
        : imageInfo(head, doc as ImageManifest);
    render(ctx, info, {
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
  } finally {
    await opened.source?.close?.().catch(() => {});
  }
}

/** Prints every tag of a repository. */
export async function runTags(ctx: CliContext, repo: string): Promise<void> {
  const loc = await resolveLocation(ctx, parseLocation(repo));
  if (loc.transport === 'registry' && (loc.reference.tag || loc.reference.digest)) {
    throw new UsageError('tags takes a repository, without a tag or digest', {
      value: repo,
      fix: 'write host/repository',
    });
  }
  const opened = await openLocation(ctx, loc, 'source');
  try {
    const tags = await opened.source!.listTags({ signal: ctx.signal });
    render(
      ctx,
      { repository: formatLocation(loc), tags },
      {
        text: (r) => r.tags.join('\n'),
        env: (r) => ({ IMAGE_TAGS: r.tags.join(',') }),
      },
    );
  } finally {
    await opened.source?.close?.().catch(() => {});
  }
}

// Replication: PutReplicationConfiguration (DescribeRegistry reads it back),
// DescribeImageReplicationStatus, the replication backfill operations, and replication on
// push. A push to a repository that a rule's PREFIX_MATCH filters cover is copied to every
// destination registry of this endpoint: the destination repository is created when missing
// (with a REPLICATION creation template when one matches), then the manifests are stored
// there — blobs are content-addressed in one store, so only records are copied. The copy
// happens during the push; the status a describe reports is IN_PROGRESS until replication
// has lasted its duration on the endpoint's clock (state-delays.ts, scaled by
// LocalServerOptions.stateDelayScale) and the outcome (COMPLETE or FAILED) from then on,
// however often a client looks. A backfill is PREPARING for its first fifth, IN_PROGRESS
// until its duration has passed, then COMPLETE / FAILED; a stopped one is STOPPING for a
// fifth of a backfill's duration, then STOPPED.
import { randomUUID } from 'node:crypto';
import type { LocalContext } from '../context.js';
import { findRepository } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { ImageProblem, putManifest, resolveImage, tagsOf } from '../images.js';
import { parseManifest } from '../manifest.js';
import { REGISTRY_ID } from '../rules.js';
import { stateDelayMs, stateElapsed, stateEndsAt } from '../state-delays.js';
import type { RegistryRecord, ReplicationStatusRecord, RepositoryRecord } from '../store.js';
import { int, list, obj, type OperationTable, privateRegistry, reqStr, str, ts } from './kit.js';
import { createFromTemplate, templateFor } from './templates.js';

interface Destination {
  region: string;
  registryId: string;
}

interface ReplicationRule {
  destinations: Destination[];
  repositoryFilters?: { filter: string; filterType: string }[];
}

interface BackfillRecord {
  id: string;
  destination: Destination;
  /** The status when started (PREPARING) or stopped (STOPPING); what a client sees follows the clock (backfillStatus). */
  status: 'PREPARING' | 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | 'STOPPING' | 'STOPPED';
  /** The status once the work is done. */
  outcome: 'COMPLETE' | 'FAILED' | 'STOPPED';
  /** Unused since states follow the clock; kept so stored state stays readable. */
  reports: number;
  /** When StopReplicationBackfill was called, epoch ms. */
  stoppedAt?: number;
  startedAt: number;
  endedAt: number;
  results: {
    repositoryName: string;
    imageId: { imageDigest: string; imageTag?: string };
    status: 'COMPLETE' | 'FAILED';
    failureCode?: string;
  }[];
}

// The API model's limits; ECR itself allows at most 25 unique destinations in all.
const MAX_RULES = 10;
const MAX_FILTERS = 100;
const MAX_UNIQUE_DESTINATIONS = 25;
const REGION = /^[0-9a-z-]{2,25}$/;
const FILTER = /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/;
const FILTER_TEXT = '^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$';

function rulesOf(registry: RegistryRecord): ReplicationRule[] {
  return (registry.settings?.replicationConfiguration as { rules?: ReplicationRule[] } | undefined)?.rules ?? [];
}

function backfillsOf(registry: RegistryRecord): BackfillRecord[] {
  registry.settings ??= {};
  const s = registry.settings as { replicationBackfills?: BackfillRecord[] };
  s.replicationBackfills ??= [];
  return s.replicationBackfills;
}

function keyOf(d: Destination): string {
  return `${d.region}/${d.registryId}`;
}

/** Returns true when a rule's filters cover the repository (no filters: every repository). */
function ruleCovers(rule: ReplicationRule, repository: string): boolean {
  const filters = rule.repositoryFilters ?? [];
  return (
    filters.length === 0 || filters.some((f) => f.filterType === 'PREFIX_MATCH' && repository.startsWith(f.filter))
  );
}

/** Returns the destinations a push to repository replicates to, without repeats. */
function destinationsFor(registry: RegistryRecord, repository: string): Destination[] {
  const out = new Map<string, Destination>();
  for (const rule of rulesOf(registry)) {
    if (!ruleCovers(rule, repository)) continue;
    for (const d of rule.destinations) out.set(keyOf(d), d);
  }
  return [...out.values()];
}

/** Returns the manifest digests to copy for an image: an index's children first, the image last. */
function closure(repo: RepositoryRecord, digest: string, seen = new Set<string>()): string[] {
  if (seen.has(digest)) return [];
  seen.add(digest);
  const image = repo.images[digest];
  const out: string[] = [];
  for (const child of image?.children ?? []) out.push(...closure(repo, child, seen));
  out.push(digest);
  return out;
}

/**
 * Copies one image (and its tags) from sourceRepo into the same-named repository of target,
 * creating that repository when missing. Returns a failure code, or undefined on success.
 */
async function copyImageTo(
  ctx: LocalContext,
  sourceRepo: RepositoryRecord,
  digest: string,
  tags: readonly string[],
  target: RegistryRecord,
): Promise<string | undefined> {
  const name = sourceRepo.name;
  try {
    await ctx.store.mutate(() => {
      if (!findRepository(target, name)) {
        ctx.log(`replication: creating ${name} in ${target.region}/${target.account}`);
        createFromTemplate(ctx, target, name, templateFor(target, name, 'REPLICATION'));
      }
    });
    const digests = closure(sourceRepo, digest);
    for (const d of digests) {
      const image = sourceRepo.images[d];
      if (!image) return 'IMAGE_NOT_FOUND';
      const bytes = await ctx.store.readBlob(d);
      const parsed = parseManifest(bytes, image.mediaType);
      const sizes = new Map<string, number>();
      for (const b of parsed.blobs) sizes.set(b, sourceRepo.blobs[b] ?? (await ctx.store.blobSize(b)) ?? 0);
      await ctx.store.mutate(() => {
        const repo = findRepository(target, name);
        if (!repo) return;
        for (const [b, size] of sizes) repo.blobs[b] = size;
      });
      const isRoot = d === digest;
      const put = (tag?: string) =>
        putManifest(ctx, {
          registry: target,
          repository: name,
          bytes,
          declaredType: image.mediaType,
          ...(tag !== undefined ? { tag } : { expectedDigest: d }),
          refuseNoop: false,
          replica: true,
        });
      if (!isRoot || tags.length === 0) await put();
      else for (const tag of tags) await put(tag);
    }
    return undefined;
  } catch (err) {
    if (err instanceof ImageProblem) {
      ctx.log(`replication of ${name}@${digest} to ${target.region}/${target.account} failed: ${err.message}`);
      return err.kind === 'tag-immutable' ? 'IMAGE_TAG_ALREADY_EXISTS' : err.kind.toUpperCase().replaceAll('-', '_');
    }
    ctx.log(
      `replication of ${name}@${digest} to ${target.region}/${target.account} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 'INTERNAL_ERROR';
  }
}

/** A replica on its way: copied to its destination once replication's duration has passed. */
interface PendingReplica {
  destination: Destination;
  repository: string;
  digest: string;
  tags: string[];
  startedAt: number;
  /** When the replica lands at the destination (the endpoint's clock, epoch ms). */
  dueAt: number;
}

/** The source registry's settings key of its replicas still IN_PROGRESS. */
const PENDING_KEY = 'pendingReplicas';

function pendingOf(registry: RegistryRecord): PendingReplica[] {
  registry.settings ??= {};
  const s = registry.settings as { [PENDING_KEY]?: PendingReplica[] };
  s[PENDING_KEY] ??= [];
  return s[PENDING_KEY];
}

/**
 * Starts replicating a just-pushed image to every destination the replication rules give its
 * repository: the status is IN_PROGRESS, and the replica stays out of sight at the
 * destination (DescribeImages, the data plane, …) until replication's duration has passed
 * on the endpoint's clock; settleReplication then copies it and records COMPLETE or FAILED.
 * Never throws: the push itself has succeeded whatever happens here.
 */
export async function replicateOnPush(
  ctx: LocalContext,
  registry: RegistryRecord,
  repository: string,
  digest: string,
  tag: string | undefined,
): Promise<void> {
  if (registry.kind !== 'private') return;
  const destinations = destinationsFor(registry, repository);
  if (destinations.length === 0) return;
  const startedAt = ctx.now();
  const dueAt = stateEndsAt(ctx, 'replication', startedAt);
  await ctx.store.mutate(() => {
    const image = findRepository(registry, repository)?.images[digest];
    if (!image) return;
    image.replication ??= {};
    for (const d of destinations) {
      image.replication[keyOf(d)] = { region: d.region, registryId: d.registryId, status: 'IN_PROGRESS', startedAt };
      pendingOf(registry).push({
        destination: d,
        repository,
        digest,
        tags: tag === undefined ? [] : [tag],
        startedAt,
        dueAt,
      });
    }
  });
  // With no delay (stateDelayScale 0) the replica is there when the push returns.
  if (dueAt <= ctx.now()) await settleReplication(ctx);
}

/**
 * Lands every replica whose replication has lasted its duration: copies it to its
 * destination and records the outcome on the source image. Every reader calls it first (the
 * API and the data plane), so a replica appears exactly when its status leaves IN_PROGRESS.
 */
export async function settleReplication(ctx: LocalContext): Promise<void> {
  const now = ctx.now();
  for (const registry of Object.values(ctx.store.state.registries)) {
    const waiting = registry.settings?.[PENDING_KEY] as PendingReplica[] | undefined;
    if (!waiting?.some((p) => p.dueAt <= now)) continue;
    // Taken off the list in one turn, so that concurrent readers never land one twice.
    const due = await ctx.store.mutate(() => {
      const all = pendingOf(registry);
      const ready = all.filter((p) => p.dueAt <= now);
      (registry.settings as Record<string, unknown>)[PENDING_KEY] = all.filter((p) => p.dueAt > now);
      return ready;
    });
    for (const p of due) {
      const repo = findRepository(registry, p.repository);
      const target = ctx.store.registry('private', p.destination.registryId, p.destination.region);
      const failure = repo ? await copyImageTo(ctx, repo, p.digest, p.tags, target) : 'IMAGE_NOT_FOUND';
      await ctx.store.mutate(() => {
        const image = findRepository(registry, p.repository)?.images[p.digest];
        const key = keyOf(p.destination);
        // A later push of the same image restarted replication: that one reports.
        if (!image?.replication?.[key] || image.replication[key].startedAt !== p.startedAt) return;
        image.replication[key] = {
          region: p.destination.region,
          registryId: p.destination.registryId,
          status: failure ? 'FAILED' : 'COMPLETE',
          ...(failure ? { failureCode: failure } : {}),
          startedAt: p.startedAt,
        };
      });
    }
  }
}

function destinationOf(raw: unknown, field: string): Destination {
  if (!raw || typeof raw !== 'object') throw invalidParameter(field, 'Member must not be null');
  const region = reqStr(raw as Record<string, unknown>, 'region', {
    min: 2,
    max: 25,
    pattern: REGION,
    patternText: '[0-9a-z-]{2,25}',
  });
  const registryId = reqStr(raw as Record<string, unknown>, 'registryId', {
    pattern: REGISTRY_ID,
    patternText: '[0-9]{12}',
  });
  return { region, registryId };
}

/** Reads and checks a replication configuration as ECR does. */
function configurationOf(input: Record<string, unknown>, source: RegistryRecord): ReplicationRule[] {
  const cfg = obj(input, 'replicationConfiguration', true) as Record<string, unknown>;
  const raw = list<unknown>(cfg, 'rules', { required: true, max: MAX_RULES }) ?? [];
  const unique = new Set<string>();
  const rules = raw.map((r, i) => {
    if (!r || typeof r !== 'object')
      throw invalidParameter(`replicationConfiguration.rules.${i + 1}`, 'Member must not be null');
    const rule = r as Record<string, unknown>;
    const dests = (
      list<unknown>(rule, 'destinations', { required: true, min: 1, max: MAX_UNIQUE_DESTINATIONS }) ?? []
    ).map((d) => destinationOf(d, 'destinations'));
    for (const d of dests) {
      if (d.region === source.region && d.registryId === source.account) {
        throw new ApiError(
          'InvalidParameterException',
          `Invalid parameter at 'destinations': the destination region '${d.region}' and registry '${d.registryId}' are the source registry; replicate to another region or account`,
        );
      }
      unique.add(keyOf(d));
    }
    const filters = list<unknown>(rule, 'repositoryFilters', { min: 1, max: MAX_FILTERS })?.map((f) => {
      const filter = reqStr(f as Record<string, unknown>, 'filter', {
        min: 2,
        max: 256,
        pattern: FILTER,
        patternText: FILTER_TEXT,
      });
      const filterType = reqStr(f as Record<string, unknown>, 'filterType');
      if (filterType !== 'PREFIX_MATCH')
        throw invalidParameter('filterType', 'Member must satisfy enum value set: [PREFIX_MATCH]');
      return { filter, filterType };
    });
    return { destinations: dests, ...(filters ? { repositoryFilters: filters } : {}) };
  });
  if (unique.size > MAX_UNIQUE_DESTINATIONS) {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter: a replication configuration can have at most ${MAX_UNIQUE_DESTINATIONS} unique destinations, got ${unique.size}`,
    );
  }
  return rules;
}

/** Returns the status a describe reports now: IN_PROGRESS until replication's duration has passed. */
function reportStatus(ctx: LocalContext, s: ReplicationStatusRecord): string {
  // A record from before states followed the clock has no start: its outcome shows.
  if (s.startedAt !== undefined && !stateElapsed(ctx, 'replication', s.startedAt)) return 'IN_PROGRESS';
  return s.status;
}

/** Returns when a stopped backfill reaches STOPPED. */
function stopEndsAt(ctx: LocalContext, b: BackfillRecord & { stoppedAt: number }): number {
  return b.stoppedAt + Math.round(stateDelayMs(ctx, 'backfill') / 5);
}

/** Returns the backfill's status now (PREPARING → IN_PROGRESS → outcome, or STOPPING → STOPPED). */
function backfillStatus(ctx: LocalContext, b: BackfillRecord): BackfillRecord['status'] {
  if (isFinal(b.status)) return b.status;
  const now = ctx.now();
  if (b.stoppedAt !== undefined)
    return now >= stopEndsAt(ctx, { ...b, stoppedAt: b.stoppedAt }) ? 'STOPPED' : 'STOPPING';
  if (now >= stateEndsAt(ctx, 'backfill', b.startedAt)) return b.outcome;
  return now < b.startedAt + stateDelayMs(ctx, 'backfill') / 5 ? 'PREPARING' : 'IN_PROGRESS';
}

/** Returns when a client is told a finished backfill ended. */
function backfillEndedAt(ctx: LocalContext, b: BackfillRecord): number {
  if (b.stoppedAt !== undefined) return stopEndsAt(ctx, { ...b, stoppedAt: b.stoppedAt });
  return Math.max(b.endedAt, stateEndsAt(ctx, 'backfill', b.startedAt));
}

function backfillProgress(b: BackfillRecord) {
  const failed = b.results.filter((r) => r.status === 'FAILED');
  return {
    totalReplicationCount: b.results.length,
    completedReplicationCount: b.results.length - failed.length,
    failedReplicationCount: failed.length,
    failureCodes: [...new Set(failed.map((r) => r.failureCode ?? 'UNKNOWN'))],
  };
}

function backfillNotFound(id: string, registry: RegistryRecord): ApiError {
  return new ApiError(
    'ReplicationBackfillNotFoundException',
    `The replication backfill with id '${id}' does not exist in the registry with id '${registry.account}'`,
  );
}

function isFinal(status: BackfillRecord['status']): boolean {
  return status === 'COMPLETE' || status === 'FAILED' || status === 'STOPPED';
}

export const replicationOperations: OperationTable = {
  async PutReplicationConfiguration(req) {
    const registry = privateRegistry(req);
    const rules = configurationOf(req.input, registry);
    await req.ctx.store.mutate(() => {
      registry.settings ??= {};
      registry.settings.replicationConfiguration = { rules };
    });
    return { replicationConfiguration: { rules } };
  },

  async DescribeImageReplicationStatus(req) {
    const registry = privateRegistry(req);
    const repositoryName = reqStr(req.input, 'repositoryName');
    const idIn = obj(req.input, 'imageId', true) as Record<string, unknown>;
    const imageId: { imageDigest?: string; imageTag?: string } = {};
    const digest = str(idIn, 'imageDigest');
    const tag = str(idIn, 'imageTag');
    if (digest !== undefined) imageId.imageDigest = digest;
    if (tag !== undefined) imageId.imageTag = tag;
    const repo = findRepository(registry, repositoryName);
    if (!repo) {
      throw new ApiError(
        'RepositoryNotFoundException',
        `The repository with name '${repositoryName}' does not exist in the registry with id '${registry.account}'`,
      );
    }
    const image = resolveImage(repo, imageId);
    if (!image || image === 'mismatch') {
      throw new ApiError(
        'ImageNotFoundException',
        `The image with imageId {imageDigest:'${imageId.imageDigest ?? 'null'}', imageTag:'${imageId.imageTag ?? 'null'}'} does not exist within the repository with name '${repositoryName}' in the registry with id '${registry.account}'`,
      );
    }
    const statuses = Object.values(image.replication ?? {}).map((s) => {
      const status = reportStatus(req.ctx, s);
      return {
        region: s.region,
        registryId: s.registryId,
        status,
        ...(status === 'FAILED' && s.failureCode ? { failureCode: s.failureCode } : {}),
      };
    });
    return {
      repositoryName,
      imageId: { imageDigest: image.digest, ...(imageId.imageTag ? { imageTag: imageId.imageTag } : {}) },
      replicationStatuses: statuses,
    };
  },

  async StartReplicationBackfill(req) {
    const registry = privateRegistry(req);
    const destination = destinationOf(obj(req.input, 'destination', true), 'destination');
    const key = keyOf(destination);
    const rules = rulesOf(registry).filter((r) => r.destinations.some((d) => keyOf(d) === key));
    if (rules.length === 0) {
      throw new ApiError(
        'InvalidParameterException',
        `Invalid parameter: no replication rule has the destination region '${destination.region}' and registry '${destination.registryId}'`,
      );
    }
    if (backfillsOf(registry).some((b) => keyOf(b.destination) === key && !isFinal(backfillStatus(req.ctx, b)))) {
      throw new ApiError(
        'ReplicationBackfillInProgressException',
        `A replication backfill to region '${destination.region}' and registry '${destination.registryId}' is already in progress`,
      );
    }
    const startedAt = req.ctx.now();
    const target = req.ctx.store.registry('private', destination.registryId, destination.region);
    const results: BackfillRecord['results'] = [];
    for (const repo of Object.values(registry.repositories).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!rules.some((r) => ruleCovers(r, repo.name))) continue;
      const children = new Set(Object.values(repo.images).flatMap((i) => i.children ?? []));
      for (const image of Object.values(repo.images)) {
        if (children.has(image.digest)) continue;
        const tags = tagsOf(repo, image.digest);
        const failure = await copyImageTo(req.ctx, repo, image.digest, tags, target);
        results.push({
          repositoryName: repo.name,
          imageId: { imageDigest: image.digest, ...(tags[0] ? { imageTag: tags[0] } : {}) },
          status: failure ? 'FAILED' : 'COMPLETE',
          ...(failure ? { failureCode: failure } : {}),
        });
      }
    }
    const record: BackfillRecord = {
      id: randomUUID(),
      destination,
      status: 'PREPARING',
      outcome: results.length > 0 && results.every((r) => r.status === 'FAILED') ? 'FAILED' : 'COMPLETE',
      reports: 0,
      startedAt,
      endedAt: req.ctx.now(),
      results,
    };
    await req.ctx.store.mutate(() => {
      backfillsOf(registry).push(record);
    });
    return {
      replicationBackfillId: record.id,
      registryId: registry.account,
      destination,
      status: record.status,
      startedAt: ts(startedAt),
    };
  },

  async ListReplicationBackfills(req) {
    const registry = privateRegistry(req);
    int(req.input, 'maxResults', 1, 1000);
    const backfills = backfillsOf(registry).map((b) => {
      const status = backfillStatus(req.ctx, b);
      return {
        replicationBackfillId: b.id,
        destination: b.destination,
        status,
        progress: backfillProgress(b),
        startedAt: ts(b.startedAt),
        ...(isFinal(status) ? { endedAt: ts(backfillEndedAt(req.ctx, b)) } : {}),
      };
    });
    return { registryId: registry.account, backfills };
  },

  async DescribeReplicationBackfillResults(req) {
    const registry = privateRegistry(req);
    const id = reqStr(req.input, 'replicationBackfillId');
    const filter = str(req.input, 'resultStatusFilter');
    if (filter !== undefined && filter !== 'COMPLETE' && filter !== 'FAILED') {
      throw invalidParameter('resultStatusFilter', 'Member must satisfy enum value set: [COMPLETE, FAILED]');
    }
    const b = backfillsOf(registry).find((x) => x.id === id);
    if (!b) throw backfillNotFound(id, registry);
    const status = backfillStatus(req.ctx, b);
    return {
      registryId: registry.account,
      replicationBackfillId: b.id,
      destination: b.destination,
      status,
      progress: backfillProgress(b),
      results: isFinal(status) ? b.results.filter((r) => filter === undefined || r.status === filter) : [],
      startedAt: ts(b.startedAt),
      ...(isFinal(status) ? { endedAt: ts(backfillEndedAt(req.ctx, b)) } : {}),
    };
  },

  async StopReplicationBackfill(req) {
    const registry = privateRegistry(req);
    const id = reqStr(req.input, 'replicationBackfillId');
    const b = backfillsOf(registry).find((x) => x.id === id);
    if (!b) throw backfillNotFound(id, registry);
    const current = backfillStatus(req.ctx, b);
    if (isFinal(current)) {
      throw new ApiError(
        'ReplicationBackfillInvalidStatusException',
        `The replication backfill with id '${id}' is ${current} and cannot be stopped`,
      );
    }
    await req.ctx.store.mutate(() => {
      b.status = 'STOPPING';
      b.outcome = 'STOPPED';
      b.stoppedAt ??= req.ctx.now();
    });
    return {
      registryId: registry.account,
      replicationBackfillId: b.id,
      destination: b.destination,
      status: b.status,
      startedAt: ts(b.startedAt),
    };
  },
};

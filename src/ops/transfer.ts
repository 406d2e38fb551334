// The transfer use cases: push (tag-push), pull, copy (one image or every tag), inspect and
// tags. Each parses its locations, opens them, runs the copy engine with the referrers, and
// returns a result model; progress goes out as transfer events on the session.
import os from 'node:os';
import { EcrctlError, InterruptedError, NotFoundError, type RuleViolation, UsageError } from '../errors.js';
import {
  type CopySummary,
  copyImage,
  findPlatform,
  formatPlatform,
  manifestKind,
  parseManifest,
  parsePlatform,
  type PlatformSpec,
  runPool,
} from '../oci/copy.js';
import { ECR_PUT_IMAGE_RATE, pacedTarget, TokenBucket } from '../oci/pacing.js';
import { formatLocation, formatReference, type ImageLocation, parseLocation } from '../oci/reference.js';
import { copyReferrers, type ReferrersReport } from '../oci/referrers.js';
import type { ImageSource, ImageTarget } from '../oci/store.js';
import type { Descriptor, ImageIndex, ImageManifest, ManifestBlob } from '../oci/types.js';
import type { RuleCheck } from '../policy/tags.js';
import { nextEventId, type Session } from '../session.js';
import { isEcrDataPlane } from './ecr.js';
import { type OpenedLocation, openLocation, resolveLocation } from './locations.js';
import { immutableTagRefusal, type PushPlan, type PushPlanRequest, planPush } from './push-plan.js';
import { plural } from '../text.js';

/** What every transfer accepts. */
export interface TransferOptions {
  /**
   * Where the image comes from: a registry reference (`host/repo:tag`, `repo@sha256:…`; a
   * reference without a host means the caller's default ECR registry), `oci:DIR[:TAG]`,
   * `docker-archive:FILE[:REF]` or `docker-daemon:IMAGE`.
   */
  source: string;
  /** Where it goes (see each op for the locations it accepts); its tag, if any, is written too. */
  target: string;
  /** More tags to write at the target. */
  tags?: readonly string[];
  /** Move only this platform out of a multi-platform image (`linux/arm64`, `linux/arm/v7`). */
  platform?: string | PlatformSpec;
  /** Blobs moved at once, 1 to 64 (default 4). */
  concurrency?: number;
  /**
   * Carry the image's referrers (signatures, SBOMs, attestations) along (default true); a
   * docker-archive cannot hold them, so pulls into one leave them behind.
   */
  referrers?: boolean;
}

/** What copy accepts beyond a transfer's options. */
export interface CopyOptions extends TransferOptions {
  /**
   * Create a missing ECR target repository first (naming rules checked, the project config's
   * `create:` settings for its pattern), before any blob moves. Without it a copy to a missing
   * ECR repository throws NotFoundError (exit 6) naming repository, registry and region.
   */
  createRepo?: boolean;
}

/** What push (tag-push) accepts beyond a transfer's options. */
export interface PushOptions extends TransferOptions {
  /**
   * Tag strategies (`branch-sha`, `sha`, `semver`, `env:NAME`, `latest`) that derive tags from
   * CI variables or git; default: the project config's. `['none']` turns them off, the
   * config's too (`--no-tag-strategy`).
   */
  strategies?: readonly string[];
  /** With the semver strategy, also tag `1.2` and `1` for `1.2.3`. */
  semverAliases?: boolean;
  /** Decide the tags and check the rules, push nothing (the result has `plan` and no `transfer`). */
  dryRun?: boolean;
  /** Create a missing ECR repository (with the project config's settings). */
  createRepo?: boolean;
}

/** What a transfer did and where the image went. */
export interface TransferResult extends CopySummary {
  action: 'pushed' | 'pulled' | 'copied';
  /** The source as written back (`host/repo:tag`, `oci:./dir`). */
  source: string;
  /** The destination without tag or digest (`host/repo`, `oci:./out`). */
  destination: string;
  /** The destination pinned by digest, e.g. `host/repo@sha256:…`, when it is a registry. */
  imageUri: string;
  /** The registry host and repository, when the destination is a registry. */
  registry?: string;
  repository?: string;
  /**
   * The referrers carried along (absent when none were asked for or possible). A referrer the
   * destination refused has status `refused`: the image is complete, its signature or SBOM is not there.
   */
  referrers?: ReferrersReport;
  /** True when the ECR repository did not exist and was created first (`createRepo`). */
  repositoryCreated?: boolean;
}

/** One blob of a planned copy and what the copy would do with it. */
export interface PlannedBlob {
  digest: string;
  mediaType: string;
  size: number;
  /** upload: sent; present: the target has it; mount: same registry, mounted from the source repository when the registry allows it (else uploaded). */
  action: 'upload' | 'present' | 'mount';
}

/** What a copy would do (`copy --dry-run`): nothing has been written. */
export interface CopyDryRun {
  dryRun: true;
  /** The source as written back. */
  source: string;
  /** The target repository (`host/repo`). */
  destination: string;
  /** The digest the tags would point at (the chosen platform's with `platform`). */
  digest: string;
  /** The platforms the copy would carry. */
  platforms: string[];
  /** Each tag: new, unchanged (already at the digest), moves, or conflict (immutable, elsewhere). */
  tags: { tag: string; action: 'new' | 'unchanged' | 'moves' | 'conflict'; current?: string }[];
  /** The tag rules checked (OCI tag syntax, the project config's rules). */
  checks: RuleCheck[];
  /** The target's tag mutability, `unknown` when not an ECR repository or not readable. */
  mutability: string;
  /** The repository does not exist and `createRepo` would create it. */
  createRepository?: boolean;
  /** Manifests the copy would write (image manifests and indexes). */
  manifests: number;
  blobs: {
    total: number;
    upload: number;
    present: number;
    mount: number;
    bytesTotal: number;
    bytesToUpload: number;
    bytesToMount: number;
    list: PlannedBlob[];
  };
  /** The refusal the copy would end with (a broken tag rule, an immutable tag elsewhere); exit 3. */
  violation?: RuleViolation;
}

/** What push returns: the plan it followed, and the transfer unless it was a dry run. */
export interface PushResult {
  plan: PushPlan;
  /** The registry repository pushed to (`host/repo`). */
  repository: string;
  transfer?: TransferResult;
}

/** Returns a concurrency checked to be a whole number from 1 to 64 (default 4). */
export function checkConcurrency(n: number | undefined): number {
  const value = n ?? 4;
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new UsageError('concurrency must be a whole number from 1 to 64', { value: String(n) });
  }
  return value;
}

/** Returns the tags a transfer writes: the target's own tag first, then the extra ones. */
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

const putBuckets = new WeakMap<Session, Map<string, TokenBucket>>();

/** Returns the PutImage bucket of one repository for a session. */
function putImageBucket(session: Session, host: string, repository: string): TokenBucket {
  let byRepo = putBuckets.get(session);
  if (!byRepo) {
    byRepo = new Map();
    putBuckets.set(session, byRepo);
  }
  const key = `${host}/${repository}`;
  let bucket = byRepo.get(key);
  if (!bucket) {
    bucket = new TokenBucket({ ratePerSecond: ECR_PUT_IMAGE_RATE.perSecond * ECR_PUT_IMAGE_RATE.headroom });
    byRepo.set(key, bucket);
  }
  return bucket;
}

type Action = TransferResult['action'];

interface Prepared {
  sourceLoc: ImageLocation;
  targetLoc: ImageLocation;
  tags: string[];
}

/** Resolves and checks the two locations of a transfer and the tags it writes. */
async function prepare(session: Session, action: Action, opts: TransferOptions): Promise<Prepared> {
  const sourceLoc = await resolveLocation(session, parseLocation(opts.source));
  let targetLoc = await resolveLocation(session, parseLocation(opts.target));
  if (action === 'pushed' || action === 'copied') {
    if (targetLoc.transport !== 'registry') {
      throw new UsageError(
        `${action === 'pushed' ? 'tag-push' : 'copy'} writes to a registry, not ${targetLoc.transport}:`,
        {
          value: opts.target,
          fix: 'to write a local layout or archive use `ecrctl pull SOURCE oci:DIR[:TAG]`',
        },
      );
    }
  } else if (targetLoc.transport === 'registry' || targetLoc.transport === 'docker-daemon') {
    throw new UsageError('pull writes to oci:DIR[:TAG] or docker-archive:FILE[:REF]', {
      value: opts.target,
      fix: 'to copy between registries use `ecrctl copy`',
    });
  }
  if (targetLoc.transport === 'registry' && targetLoc.reference.digest) {
    throw new UsageError('a push target names a tag, not a digest', {
      value: opts.target,
      fix: 'drop the @sha256:… part; the digest is computed from what is pushed',
    });
  }
  // An archive without a name would load as an untagged image: name it after the source.
  if (targetLoc.transport === 'docker-archive' && !targetLoc.ref && sourceLoc.transport === 'registry') {
    targetLoc = { ...targetLoc, ref: `${sourceLoc.reference.repository}:${sourceLoc.reference.tag ?? 'latest'}` };
  }
  let tags = targetTags(targetLoc, opts.tags ?? []);
  // Pulling into a layout without a tag keeps the source's tag, as `docker pull` does.
  if (action === 'pulled' && tags.length === 0 && sourceLoc.transport === 'registry' && sourceLoc.reference.tag) {
    tags = [sourceLoc.reference.tag];
  }
  // push decides its tags in planPush (strategies, config defaults, then "latest").
  if (action === 'copied' && tags.length === 0) {
    session.log.warn('no tag given: pushing as "latest" (name a tag in TARGET or with --tag)');
    tags = ['latest'];
  }
  if (targetLoc.transport === 'registry')
    targetLoc = { ...targetLoc, reference: { ...targetLoc.reference, tag: undefined } } as ImageLocation;
  return { sourceLoc, targetLoc, tags };
}

/**
 * Runs one transfer after prepare(); `plan` (push only) may decide the tags first and stop
 * the transfer (dry run) by returning undefined.
 */
async function transfer(
  session: Session,
  action: Action,
  opts: TransferOptions,
  prepared: Prepared,
  plan?: (source: OpenedLocation, target: OpenedLocation, tags: string[]) => Promise<PushPlan | undefined>,
): Promise<{ result?: TransferResult; plan?: PushPlan }> {
  const { sourceLoc, targetLoc } = prepared;
  let tags = prepared.tags;
  let platform: PlatformSpec | undefined =
    typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const concurrency = checkConcurrency(opts.concurrency);
  const { signal } = session;
  const source = await openLocation(session, sourceLoc, 'source');
  // A docker-archive holds one platform: pick this machine's out of an index before the
  // archive is opened or any blob moves, as `docker pull` does.
  if (!platform && action === 'pulled' && targetLoc.transport === 'docker-archive') {
    try {
      platform = await archivePlatform(session, source.source!, source.reference, formatLocation(sourceLoc));
    } catch (err) {
      await source.source?.close?.().catch(() => {});
      throw err;
    }
  }
  let target: OpenedLocation | undefined;
  let store: ImageTarget | undefined;
  const verb = action === 'pulled' ? 'pulling' : action === 'pushed' ? 'pushing' : 'copying';
  const id = nextEventId();
  let started = false;
  try {
    target = await openLocation(session, targetLoc, 'target');
    store = target.target!;
    // ECR takes about 10 PutImage calls a second per repository: pace manifest writes under it.
    if (targetLoc.transport === 'registry' && (await isEcrDataPlane(session, targetLoc.reference.registry))) {
      store = pacedTarget(store, putImageBucket(session, targetLoc.reference.registry, targetLoc.reference.repository));
    }
    let knownTags: ReadonlyMap<string, string | undefined> | undefined;
    let planned: PushPlan | undefined;
    if (plan) {
      planned = await plan(source, { ...target, target: store }, tags);
      if (!planned || (opts as PushOptions).dryRun) return planned ? { plan: planned } : {};
      tags = planned.tags;
      knownTags = planned.present;
    }
    const destination = formatLocation(targetLoc);
    session.emit({
      type: 'transfer-start',
      id,
      label: `${verb} ${formatLocation(sourceLoc)}`,
      source: formatLocation(sourceLoc),
      destination,
    });
    started = true;
    // Referrers (signatures, SBOMs) come along by default; see oci/referrers.ts. An OCI
    // layout lists them in index.json, so it is committed once, after them.
    const withReferrers =
      opts.referrers !== false &&
      targetLoc.transport !== 'docker-archive' &&
      source.source!.listReferrers !== undefined;
    if (opts.referrers !== false && targetLoc.transport === 'docker-archive') {
      session.log.verbose('a docker-archive cannot hold referrers (signatures, SBOMs): pulling the image alone');
    }
    const summary = await copyImage(source.source!, source.reference, store, {
      tags,
      concurrency,
      signal,
      onEvent: (event) => session.emit({ type: 'transfer', id, event }),
      commit: !withReferrers,
      ...(platform ? { platform } : {}),
      ...(knownTags ? { knownTags } : {}),
    });
    let referrers: ReferrersReport | undefined;
    if (withReferrers) {
      try {
        referrers = await copyReferrers(source.source!, store, summary.digest, {
          signal,
          log: (m) => session.log.warn(m),
          note: (m) => session.log.verbose(m),
        });
      } catch (err) {
        // The image itself is complete: keep it (unless interrupted), then say what failed.
        if (!signal.aborted && !(err instanceof InterruptedError)) await store.commit({ signal });
        throw err;
      }
      await store.commit({ signal });
    }
    session.emit({ type: 'transfer-end', id, ok: true });
    started = false;
    const imageUri = targetLoc.transport === 'registry' ? `${destination}@${summary.digest}` : destination;
    const result: TransferResult = {
      ...summary,
      action,
      source: formatLocation(sourceLoc),
      destination,
      imageUri,
      ...(targetLoc.transport === 'registry'
        ? { registry: targetLoc.reference.registry, repository: targetLoc.reference.repository }
        : {}),
      ...(referrers ? { referrers } : {}),
      ...(planned?.createRepository ? { repositoryCreated: true } : {}),
    };
    return { result, ...(planned ? { plan: planned } : {}) };
  } catch (err) {
    if (started) session.emit({ type: 'transfer-end', id, ok: false });
    await store?.abort().catch(() => {});
    if (targetLoc.transport === 'registry') {
      const full = repositoryFull(err, targetLoc.reference.registry, targetLoc.reference.repository);
      if (full) throw full;
    }
    if (action !== 'pulled' && targetLoc.transport === 'registry')
      throw immutableTagRefusal(err, targetLoc.reference.repository);
    throw err;
  } finally {
    await source.source?.close?.().catch(() => {});
  }
}

/**
 * Copies an image from any registry (or the Docker daemon) to a registry: every platform,
 * or one with `platform`; with its referrers unless `referrers: false`. Tags named in
 * `target` and `tags` are written after every blob and manifest is in place; no tag is
 * written when the copy fails or `session.signal` aborts.
 *
 * @example
 * const r = await copy(session, { source: 'public.ecr.aws/docker/library/alpine:3', target: 'mirror/alpine:3', tags: ['latest'] });
 * console.log(r.imageUri); // 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/alpine@sha256:…
 */
export async function copy(session: Session, opts: CopyOptions): Promise<TransferResult> {
  const prepared = await prepare(session, 'copied', opts);
  const { result } = await transfer(session, 'copied', opts, prepared, copyPlanner(session, opts, prepared));
  return result!;
}

/**
 * Returns the check a copy makes before any blob moves, the one tag-push makes (planPush):
 * the target's tags and tag rules, the immutable tags there (RuleViolation, exit 3, both
 * digests), a missing ECR repository (NotFoundError, exit 6; created with `createRepo`).
 * Unlike a push, a copy writes only the tags it is given: no tag strategies.
 */
function copyPlanner(
  session: Session,
  opts: CopyOptions & { dryRun?: boolean },
  prepared: Prepared,
): (source: OpenedLocation, target: OpenedLocation, tags: string[]) => Promise<PushPlan> {
  return pushPlanner(session, prepared, opts, {
    strategies: [],
    configStrategies: false,
    createRepo: opts.createRepo,
    dryRun: opts.dryRun,
    verb: 'copy',
  });
}

/**
 * Returns the planner a transfer to a registry calls once source and target are open:
 * planPush with the target, the platform and the tags, plus what push and copy each add.
 */
function pushPlanner(
  session: Session,
  prepared: Prepared,
  opts: Pick<TransferOptions, 'platform'>,
  rest: Omit<PushPlanRequest, 'target' | 'targetStore' | 'source' | 'sourceRef' | 'platform' | 'tags'>,
): (source: OpenedLocation, target: OpenedLocation, tags: string[]) => Promise<PushPlan> {
  const { targetLoc } = prepared;
  if (targetLoc.transport !== 'registry') throw new Error('unreachable: a push or copy targets a registry');
  const platform: PlatformSpec | undefined =
    typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  return (source, target, tags) =>
    planPush(session, {
      target: targetLoc,
      targetStore: target.target!,
      source: source.source!,
      sourceRef: source.reference,
      platform,
      tags,
      ...rest,
    });
}

/**
 * Says what a copy would do and writes nothing: the tags (new, unchanged, moves, conflict),
 * the rules checked, whether the repository would be created, and each blob — to upload,
 * present at the target, or mountable from the source repository — with the bytes. A copy
 * that would be refused has `violation` set (the CLI prints the plan, then exits 3).
 */
export async function planCopy(session: Session, opts: CopyOptions): Promise<CopyDryRun> {
  const prepared = await prepare(session, 'copied', opts);
  const { sourceLoc, targetLoc } = prepared;
  if (targetLoc.transport !== 'registry') throw new Error('unreachable: copy targets a registry');
  const platform: PlatformSpec | undefined =
    typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const planner = copyPlanner(session, { ...opts, dryRun: true }, prepared);
  let dry: CopyDryRun | undefined;
  await transfer(
    session,
    'copied',
    { ...opts, dryRun: true } as PushOptions,
    prepared,
    async (source, target, tags) => {
      const plan = await planner(source, target, tags);
      const walked = await walkImage(source.source!, source.reference, platform, session.signal);
      const blobs = await blobActions(
        walked.blobs,
        source.source!,
        target.target!,
        plan.createRepository === true,
        checkConcurrency(opts.concurrency),
        session.signal,
      );
      const sum = (a: PlannedBlob['action']) => blobs.filter((b) => b.action === a).reduce((n, b) => n + b.size, 0);
      dry = {
        dryRun: true,
        source: formatLocation(sourceLoc),
        destination: formatLocation(targetLoc),
        digest: plan.digest,
        platforms: walked.platforms,
        tags: plan.states.map((t) => ({ tag: t.tag, action: t.action, ...(t.current ? { current: t.current } : {}) })),
        checks: plan.checks,
        mutability: plan.mutability?.setting ?? 'unknown',
        ...(plan.createRepository ? { createRepository: true } : {}),
        manifests: walked.manifests,
        blobs: {
          total: blobs.length,
          upload: blobs.filter((b) => b.action === 'upload').length,
          present: blobs.filter((b) => b.action === 'present').length,
          mount: blobs.filter((b) => b.action === 'mount').length,
          bytesTotal: blobs.reduce((n, b) => n + b.size, 0),
          bytesToUpload: sum('upload'),
          bytesToMount: sum('mount'),
          list: blobs,
        },
        ...(plan.violation ? { violation: plan.violation } : {}),
      };
      return plan;
    },
  );
  return dry!;
}

/** Nested indexes deeper than this are refused by the copy engine too. */
const MAX_INDEX_DEPTH = 4;

/**
 * Returns the blobs and manifests a copy of ref would carry (one platform with `platform`),
 * reading manifests only: what the copy engine plans, without writing anything.
 */
async function walkImage(
  source: ImageSource,
  ref: string,
  platform: PlatformSpec | undefined,
  signal: AbortSignal,
): Promise<{ blobs: Descriptor[]; manifests: number; platforms: string[] }> {
  const blobs = new Map<string, Descriptor>();
  const seen = new Set<string>();
  const platforms: string[] = [];
  const visit = async (m: ManifestBlob, depth: number, pick: PlatformSpec | undefined): Promise<void> => {
    if (seen.has(m.digest)) return;
    seen.add(m.digest);
    const doc = parseManifest(m);
    if (manifestKind(m, doc) === 'image') {
      for (const d of [(doc as ImageManifest).config, ...(doc as ImageManifest).layers]) {
        // Foreign layers stay where they are (the copy engine does not move them either).
        if (d.urls && d.urls.length > 0 && /foreign/.test(d.mediaType)) continue;
        blobs.set(d.digest, d);
      }
      return;
    }
    if (depth >= MAX_INDEX_DEPTH) throw new EcrctlError(`index ${m.digest} nests more than ${MAX_INDEX_DEPTH} levels`);
    const entries = (doc as ImageIndex).manifests ?? [];
    if (pick) {
      const match = findPlatform(entries, pick);
      if (!match) {
        const offered = entries.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
        throw new NotFoundError(`no image for platform ${formatPlatform(pick)} in ${m.digest}`, {
          value: formatPlatform(pick),
          fix: offered.length > 0 ? `choose one of: ${offered.join(', ')}` : 'copy without --platform',
        });
      }
      seen.delete(m.digest); // the index itself is not copied, only the chosen image
      platforms.push(formatPlatform(match.platform!));
      await visit(await source.getManifest(match.digest, { signal }), depth + 1, undefined);
      return;
    }
    for (const d of entries) {
      if (d.platform) platforms.push(formatPlatform(d.platform));
      await visit(await source.getManifest(d.digest, { signal }), depth + 1, undefined);
    }
  };
  await visit(await source.getManifest(ref, { signal }), 0, platform);
  return { blobs: [...blobs.values()].sort((a, b) => b.size - a.size), manifests: seen.size, platforms };
}

/**
 * Returns what a copy would do with each blob: present at the target (HEAD, a read), mountable
 * (same registry, another repository), else uploaded. A repository still to be created has
 * nothing yet, so it is not asked.
 */
async function blobActions(
  blobs: readonly Descriptor[],
  source: ImageSource,
  target: ImageTarget,
  missingRepository: boolean,
  concurrency: number,
  signal: AbortSignal,
): Promise<PlannedBlob[]> {
  const sameRegistry =
    source.registry !== undefined &&
    target.registry !== undefined &&
    source.registry.host === target.registry.host &&
    target.mountBlob !== undefined;
  const sameRepository = sameRegistry && source.registry?.repository === target.registry?.repository;
  const present = new Set<string>();
  if (sameRepository) for (const b of blobs) present.add(b.digest);
  else if (!missingRepository) {
    await runPool(
      blobs,
      concurrency,
      async (b) => {
        if (await target.hasBlob(b, { signal })) present.add(b.digest);
      },
      signal,
    );
  }
  return blobs.map((b) => ({
    digest: b.digest,
    mediaType: b.mediaType,
    size: b.size,
    action: present.has(b.digest) ? 'present' : sameRegistry ? 'mount' : 'upload',
  }));
}

/**
 * Returns the platform `docker pull` would choose on this machine, in OCI names: Node's
 * `x64` is `amd64`, `arm` is `arm/v7`. The OS is linux everywhere: a docker-archive is loaded
 * into an engine that runs Linux containers (Docker Desktop on macOS and Windows too).
 */
export function hostPlatform(arch: string = os.arch(), endianness: 'BE' | 'LE' = os.endianness()): PlatformSpec {
  const names: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: endianness === 'LE' ? 'ppc64le' : 'ppc64',
    mips64el: 'mips64le',
  };
  const architecture = names[arch] ?? arch;
  return architecture === 'arm' ? { os: 'linux', architecture, variant: 'v7' } : { os: 'linux', architecture };
}

/**
 * Returns the platform to pull into a docker-archive (which holds one) when the source is a
 * multi-platform index: this machine's, said on stderr; undefined for a single image. An
 * index without this machine's platform is refused here, before any blob is downloaded.
 */
async function archivePlatform(
  session: Session,
  source: ImageSource,
  ref: string,
  name: string,
): Promise<PlatformSpec | undefined> {
  const root = await source.getManifest(ref, { signal: session.signal });
  const doc = parseManifest(root);
  if (manifestKind(root, doc) !== 'index') return undefined;
  const entries = (doc as ImageIndex).manifests ?? [];
  const host = hostPlatform();
  const match = findPlatform(entries, host);
  const offered = [...new Set(entries.filter((d) => d.platform).map((d) => formatPlatform(d.platform!)))];
  if (!match) {
    throw new NotFoundError(
      `${name} is a multi-platform image without ${formatPlatform(host)}, this machine's platform, and a docker-archive holds one platform; nothing was downloaded`,
      {
        rule: 'a docker-archive holds one image per name (docker load reads one manifest)',
        value: offered.length > 0 ? offered.join(', ') : 'no platforms declared',
        fix:
          offered.length > 0
            ? `choose one with --platform (${offered.map((p) => `--platform ${p}`).join(', ')}), or pull into oci:DIR to keep every platform`
            : 'pull into oci:DIR to keep the whole index',
      },
    );
  }
  session.log.info(
    `${name} is a multi-platform image (${offered.join(', ')}): pulling ${formatPlatform(match.platform!)}, this machine's platform, into the docker-archive (--platform picks another)`,
  );
  return host;
}

/** Pulls an image from a registry into an OCI layout (`oci:DIR[:TAG]`) or a docker-archive (`docker-archive:FILE[:REF]`). */
export async function pull(session: Session, opts: TransferOptions): Promise<TransferResult> {
  const prepared = await prepare(session, 'pulled', opts);
  const { result } = await transfer(session, 'pulled', opts, prepared);
  return result!;
}

/**
 * Pushes a local image (OCI layout, docker-archive, Docker daemon; or a registry image) to a
 * registry with the tags the strategies and the project config's rules decide. Checks tag
 * rules and immutable tags before any blob moves (RuleViolation, nothing pushed); creates
 * the ECR repository with `createRepo`.
 */
export async function push(session: Session, opts: PushOptions): Promise<PushResult> {
  const prepared = await prepare(session, 'pushed', opts);
  const { targetLoc } = prepared;
  if (targetLoc.transport !== 'registry') throw new Error('unreachable: push targets a registry');
  const out = await transfer(
    session,
    'pushed',
    opts,
    prepared,
    pushPlanner(session, prepared, opts, {
      strategies: opts.strategies ?? [],
      semverAliases: opts.semverAliases,
      createRepo: opts.createRepo,
      dryRun: opts.dryRun,
    }),
  );
  return {
    plan: out.plan!,
    repository: `${targetLoc.reference.registry}/${targetLoc.reference.repository}`,
    ...(out.result ? { transfer: out.result } : {}),
  };
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

/** What copyAllTags accepts: `source` is a repository without tag or digest; `target` a repository. */
export type CopyAllTagsOptions = Omit<CopyOptions, 'tags'>;

/** Copies every tag of a source repository to the target repository, one image after another. */
export async function copyAllTags(session: Session, opts: CopyAllTagsOptions): Promise<TransferResult[]> {
  const { source, tags } = await allTags(session, opts.source);
  session.log.info(`copying ${plural(tags.length, 'tag')} from ${source}`);
  const results: TransferResult[] = [];
  for (const tag of tags) results.push(await copy(session, oneTag(opts, source, tag)));
  return results;
}

/** Says what copying every tag of a source repository would do (`copy --all-tags --dry-run`). */
export async function planCopyAllTags(session: Session, opts: CopyAllTagsOptions): Promise<CopyDryRun[]> {
  const { source, tags } = await allTags(session, opts.source);
  const plans: CopyDryRun[] = [];
  for (const tag of tags) plans.push(await planCopy(session, oneTag(opts, source, tag)));
  return plans;
}

/** Returns the options that copy one tag of an --all-tags copy. */
function oneTag(opts: CopyAllTagsOptions, source: string, tag: string): CopyOptions {
  return { ...opts, source: `${source}:${tag}`, target: `${opts.target.replace(/:[^/:@]*$/, '')}:${tag}` };
}

/** Returns a source repository (as written back) and its tags; for --all-tags. */
async function allTags(session: Session, repo: string): Promise<{ source: string; tags: string[] }> {
  const sourceLoc = await resolveLocation(session, parseLocation(repo));
  if (sourceLoc.transport !== 'registry' || sourceLoc.reference.tag || sourceLoc.reference.digest) {
    throw new UsageError('--all-tags takes a repository without a tag or digest', {
      value: repo,
      fix: 'write the source as host/repository',
    });
  }
  const opened = await openLocation(session, sourceLoc, 'source');
  try {
    const tags = await opened.source!.listTags({ signal: session.signal });
    if (tags.length === 0) throw new NotFoundError(`${repo} has no tags`);
    return { source: formatReference(sourceLoc.reference), tags };
  } finally {
    await opened.source?.close?.().catch(() => {});
  }
}

interface InspectHead {
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
}

/** What a manifest holds: an index's platforms, or an image's config and layers. */
export type InspectResult =
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

function imageInfo(head: InspectHead, doc: ImageManifest): InspectResult {
  return {
    ...head,
    kind: 'image',
    ...(doc.artifactType ? { artifactType: doc.artifactType } : {}),
    config: { digest: doc.config.digest, mediaType: doc.config.mediaType, size: doc.config.size },
    layers: doc.layers.map((d) => ({ digest: d.digest, mediaType: d.mediaType, size: d.size })),
    totalSize: doc.layers.reduce((n, d) => n + d.size, doc.config.size),
  };
}

/** Returns a manifest's exact bytes, digest and media type (a registry image, layout or archive). */
export async function getManifest(
  session: Session,
  ref: string,
): Promise<{ bytes: Buffer; digest: string; mediaType: string; reference: string }> {
  const loc = await resolveLocation(session, parseLocation(ref));
  const opened = await openLocation(session, loc, 'source');
  try {
    const m = await opened.source!.getManifest(opened.reference, { signal: session.signal });
    return { bytes: m.bytes, digest: m.digest, mediaType: m.mediaType, reference: formatLocation(loc) };
  } finally {
    await opened.source?.close?.().catch(() => {});
  }
}

/** Returns what a manifest holds (an index's platforms, or an image's config and layers). */
export async function inspect(session: Session, ref: string): Promise<InspectResult> {
  const m = await getManifest(session, ref);
  const doc = parseManifest(m);
  const head = { reference: m.reference, digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
  return manifestKind(m, doc) === 'index'
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
}

/** Returns every tag of a repository (a registry repository, or an OCI layout). */
export async function listTags(session: Session, repo: string): Promise<{ repository: string; tags: string[] }> {
  const loc = await resolveLocation(session, parseLocation(repo));
  if (loc.transport === 'registry' && (loc.reference.tag || loc.reference.digest)) {
    throw new UsageError('tags takes a repository, without a tag or digest', {
      value: repo,
      fix: 'write host/repository',
    });
  }
  const opened = await openLocation(session, loc, 'source');
  try {
    const tags = await opened.source!.listTags({ signal: session.signal });
    return { repository: formatLocation(loc), tags };
  } finally {
    await opened.source?.close?.().catch(() => {});
  }
}

// `ecrctl build`: a base image plus new layers and config changes, written to a registry or a
// local layout without a Docker daemon. New layers are made reproducibly (src/oci/build);
// base blobs are never downloaded here: the copy engine skips, mounts or streams them from
// the base's registry to the target. Tags follow tag-push's plan (strategies, rules,
// immutable tags, --create-repo).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EcrctlError, NotFoundError, UsageError } from '../errors.js';
import {
  type CopySummary,
  copyImage,
  findPlatform,
  formatPlatform,
  manifestKind,
  parseManifest,
  parsePlatform,
} from '../oci/copy.js';
import { sha256Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { ECR_PUT_IMAGE_RATE, pacedTarget, TokenBucket } from '../oci/pacing.js';
import { formatLocation, formatReference, type ImageLocation, parseLocation } from '../oci/reference.js';
import type { ImageSource, ImageTarget } from '../oci/store.js';
import type { Descriptor, ImageIndex, ImageManifest, ManifestBlob, Platform } from '../oci/types.js';
import { type AddSpec, collectAdd, mergeEntries, parseAddSpec } from '../oci/build/collect.js';
import {
  Annotation,
  type ConfigChanges,
  ciAnnotations,
  checkEnv,
  execForm,
  type JsonObject,
  mutateConfig,
} from '../oci/build/config.js';
import { type IgnoreMatcher, parseIgnore } from '../oci/build/ignore.js';
import { type BuiltLayer, buildLayer, prebuiltLayer } from '../oci/build/layer.js';
import { BuiltImageSource } from '../oci/build/source.js';
import { nextEventId, type Session } from '../session.js';
import { isEcrDataPlane } from './ecr.js';
import { openLocation, resolveLocation } from './locations.js';
import { immutableTagRefusal, type PushPlan, planPush } from './push-plan.js';
import { repositoryFull } from './transfer.js';

/** What `build` accepts. */
export interface BuildOptions {
  /** The base image: a registry reference, `oci:DIR[:TAG]` or `docker-archive:FILE`. */
  from: string;
  /** Where the result goes: a registry reference, `oci:DIR[:TAG]` or `docker-archive:FILE[:REF]`. */
  target: string;
  /** `SRC:DEST[:MODE[:UID:GID]]`: a file or directory, one layer each (one in all with `oneLayer`). */
  add?: readonly string[];
  /** Put every `add` into one layer. */
  oneLayer?: boolean;
  /** Prebuilt layers: `FILE.tar[.gz]` for every platform, `os/arch=FILE` for one. */
  layers?: readonly string[];
  /** A `.dockerignore`-style file applied inside every `add` directory. */
  ignoreFile?: string;
  /** A JSON array or a whitespace-separated command (exec form, no shell). */
  entrypoint?: string;
  cmd?: string;
  /** `K=V`, merged with the base's environment. */
  env?: readonly string[];
  workdir?: string;
  user?: string;
  /** `K=V` labels in the config. */
  labels?: readonly string[];
  /** `PORT[/proto]`. */
  expose?: readonly string[];
  /** `K=V` annotations on the manifest (and index). */
  annotations?: readonly string[];
  /** Platforms of an index BASE to build (`linux/amd64`…); default or `all`: every platform. */
  platforms?: readonly string[] | 'all';
  /** RFC 3339 time for `created` and every file's mtime. */
  created?: string;
  /** Seconds since the epoch (as SOURCE_DATE_EPOCH); used when `created` is not given. */
  sourceDateEpoch?: number;
  /** More tags (registry targets), as tag-push. */
  tags?: readonly string[];
  /** Tag strategies, as tag-push. */
  strategies?: readonly string[];
  semverAliases?: boolean;
  createRepo?: boolean;
  /** Build and plan (digest, tags, rules); write nothing. */
  dryRun?: boolean;
  /** Blobs moved at once (default 4). */
  concurrency?: number;
}

/** How one blob reached the target. */
export interface BlobOutcome {
  digest: string;
  size: number;
  /** new: made by this build; base: from the base image. */
  origin: 'new' | 'base';
  /** uploaded (new), skipped (already there), mounted (same registry), streamed (from the base's registry or layout). */
  result: 'uploaded' | 'skipped' | 'mounted' | 'streamed';
}

/** A layer this build made. */
export interface LayerReport {
  digest: string;
  diffId: string;
  size: number;
  createdBy: string;
  /** The platform it was added to, or undefined for all. */
  platform?: string;
}

/** What a build (or rebase) wrote. */
export interface BuildResult extends CopySummary {
  action: 'built' | 'rebased';
  /** The base image as written in the annotations. */
  base: { name: string; digest: string };
  source: string;
  destination: string;
  /** `host/repo@sha256:…` for a registry, else the destination. */
  imageUri: string;
  registry?: string;
  repository?: string;
  layers: LayerReport[];
  /** Counts by outcome: new layers uploaded, base blobs mounted, skipped or streamed. */
  outcome: { new: number; mounted: number; skipped: number; streamed: number };
  /** Every blob and how it reached the target. */
  blobList: BlobOutcome[];
  /** The tag plan (registry targets). */
  plan?: PushPlan;
  dryRun?: boolean;
}

/** One platform image of a base: its manifest and config. */
export interface BasePlatform {
  platform?: Platform;
  manifest: ManifestBlob;
  doc: ImageManifest;
  config: JsonObject;
}

/** A base image read from its location. */
export interface OpenedBase {
  loc: ImageLocation;
  /** The location as written into annotations (`host/repo:tag`, `oci:DIR:TAG`). */
  name: string;
  source: ImageSource;
  root: ManifestBlob;
  kind: 'index' | 'image';
  /** The index document when kind is index. */
  index?: ImageIndex;
  images: BasePlatform[];
}

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Reads a config blob in full and checks its digest. */
export async function readConfig(source: ImageSource, d: Descriptor, signal: AbortSignal): Promise<JsonObject> {
  if (d.size > MAX_CONFIG_BYTES)
    throw new EcrctlError(`config ${d.digest} is ${d.size} bytes, more than a config can be`);
  const chunks: Buffer[] = [];
  for await (const c of await source.openBlob(d, { signal })) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  if (sha256Digest(bytes) !== d.digest) throw new EcrctlError(`config ${d.digest} does not match its digest`);
  return JSON.parse(bytes.toString('utf8')) as JsonObject;
}

/** Returns the location text without a digest, for the base.name annotation. */
function baseName(loc: ImageLocation): string {
  if (loc.transport === 'registry')
    return formatReference({
      ...loc.reference,
      digest: undefined,
      tag: loc.reference.tag ?? (loc.reference.digest ? undefined : 'latest'),
    });
  return formatLocation(loc);
}

/**
 * Opens an image (a base, or an image to rebase) and reads its platform images: every one,
 * or the ones `platforms` names. Attestation entries (`unknown/unknown`) are left out.
 */
export async function openImage(
  session: Session,
  text: string,
  platforms: readonly string[] | 'all' | undefined,
): Promise<OpenedBase> {
  const loc = await resolveLocation(session, parseLocation(text));
  const opened = await openLocation(session, loc, 'source');
  const source = opened.source!;
  const { signal } = session;
  const root = await source.getManifest(opened.reference, { signal });
  const doc = parseManifest(root);
  const kind = manifestKind(root, doc);
  const images: BasePlatform[] = [];
  if (kind === 'image') {
    const image = doc as ImageManifest;
    const config = await readConfig(source, image.config, signal);
    const platform =
      typeof config.os === 'string' && typeof config.architecture === 'string'
        ? {
            os: config.os,
            architecture: config.architecture,
            ...(typeof config.variant === 'string' ? { variant: config.variant } : {}),
          }
        : undefined;
    if (platform && Array.isArray(platforms)) {
      const offered = formatPlatform(platform);
      const wanted = platforms.map((p) => parsePlatform(p));
      if (!findPlatform([{ platform }], wanted[0]!) || wanted.length > 1) {
        throw new NotFoundError(`${text} is a single-platform image (${offered})`, {
          value: platforms.join(','),
          fix: `drop --platform, or ask for ${offered}`,
        });
      }
    }
    images.push({ manifest: root, doc: image, config, ...(platform ? { platform } : {}) });
    return { loc, name: baseName(loc), source, root, kind, images };
  }
  const index = doc as ImageIndex;
  const usable = index.manifests.filter((d) => d.platform && d.platform.os !== 'unknown');
  let chosen: Descriptor[];
  if (platforms === undefined || platforms === 'all') {
    chosen = usable;
  } else {
    chosen = platforms.map((p) => {
      const want = parsePlatform(p);
      const match = findPlatform(usable, want);
      if (!match) {
        throw new NotFoundError(`${text} has no image for ${p}`, {
          value: p,
          fix: `choose from: ${usable.map((d) => formatPlatform(d.platform!)).join(', ')}`,
        });
      }
      return match;
    });
  }
  for (const d of chosen) {
    const m = await source.getManifest(d.digest, { signal });
    const child = parseManifest(m);
    if (manifestKind(m, child) !== 'image')
      throw new EcrctlError(`${text}: nested index ${d.digest} is not supported here`);
    const image = child as ImageManifest;
    images.push({
      platform: d.platform!,
      manifest: m,
      doc: image,
      config: await readConfig(source, image.config, signal),
    });
  }
  return { loc, name: baseName(loc), source, root, kind, index, images };
}

/** Returns a base layer descriptor in OCI terms (Docker media types → OCI; same bytes). */
function ociLayer(d: Descriptor): Descriptor {
  const map: Record<string, string> = {
    [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
    'application/vnd.docker.image.rootfs.diff.tar': MediaType.ociLayer,
  };
  const out: Descriptor = { mediaType: map[d.mediaType] ?? d.mediaType, digest: d.digest, size: d.size };
  if (d.urls) out.urls = d.urls;
  if (d.annotations) out.annotations = d.annotations;
  return out;
}

/** Returns manifest JSON bytes as a ManifestBlob. */
export function manifestBlob(doc: object, mediaType: string): ManifestBlob {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { mediaType, digest: sha256Digest(bytes), bytes };
}

/** Parses `K=V` pairs into a record. */
function pairs(list: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`${flag} ${JSON.stringify(p)} has no KEY=`, { value: p, fix: `write ${flag} KEY=value` });
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** Returns the build time: `created`, else `sourceDateEpoch`, else SOURCE_DATE_EPOCH, else the epoch. */
export function buildTime(
  session: Session,
  opts: Pick<BuildOptions, 'created' | 'sourceDateEpoch'>,
): {
  seconds: number;
  iso: string;
  given: boolean;
} {
  if (opts.created !== undefined) {
    const ms = Date.parse(opts.created);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(opts.created) || Number.isNaN(ms) || ms < 0) {
      throw new UsageError(`--created ${JSON.stringify(opts.created)} is not an RFC 3339 time`, {
        value: opts.created,
        fix: 'write e.g. --created 2026-01-31T12:00:00Z, or set SOURCE_DATE_EPOCH',
      });
    }
    const seconds = Math.floor(ms / 1000);
    return { seconds, iso: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'), given: true };
  }
  const raw = opts.sourceDateEpoch !== undefined ? String(opts.sourceDateEpoch) : session.env.SOURCE_DATE_EPOCH;
  if (raw !== undefined && raw !== '') {
    if (!/^[0-9]{1,12}$/.test(raw)) {
      throw new UsageError(`SOURCE_DATE_EPOCH ${JSON.stringify(raw)} is not a number of seconds`, {
        value: raw,
        fix: 'set it to whole seconds since 1970, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
      });
    }
    const seconds = Number(raw);
    return { seconds, iso: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'), given: true };
  }
  return { seconds: 0, iso: '1970-01-01T00:00:00Z', given: false };
}

/** Returns the layers of the --add and --layer inputs, in order; per-platform layers marked. */
async function makeLayers(
  session: Session,
  opts: BuildOptions,
  mtime: number,
): Promise<Array<BuiltLayer & { platform?: string }>> {
  let ignore: IgnoreMatcher | undefined;
  if (opts.ignoreFile) {
    const file = path.resolve(session.cwd, opts.ignoreFile);
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        throw new NotFoundError(`--ignore-file ${opts.ignoreFile} does not exist`, { value: opts.ignoreFile });
      throw err;
    });
    ignore = parseIgnore(text);
  }
  const specs: AddSpec[] = (opts.add ?? []).map((a) => parseAddSpec(a, session.cwd));
  // The history names SRC as typed (relative, so another checkout gives the same text);
  // an absolute SRC only by its last name, which keeps host paths out of the image.
  const describe = (s: AddSpec) => {
    const [src = '', ...rest] = s.given.split(':');
    const shown = path.isAbsolute(src) ? path.basename(src) : path.posix.normalize(src.replace(/\\/g, '/'));
    return `${shown}:${rest.join(':')}`;
  };
  const out: Array<BuiltLayer & { platform?: string }> = [];
  if (opts.oneLayer && specs.length > 0) {
    const lists = [];
    for (const s of specs) lists.push(await collectAdd(s, ignore));
    out.push(
      await buildLayer(
        mergeEntries(lists),
        mtime,
        `ecrctl build ${specs.map((s) => `--add ${describe(s)}`).join(' ')}`,
      ),
    );
  } else {
    for (const s of specs)
      out.push(await buildLayer(await collectAdd(s, ignore), mtime, `ecrctl build --add ${describe(s)}`));
  }
  for (const l of opts.layers ?? []) {
    const m = /^([a-z0-9._-]+\/[a-z0-9._-]+(?:\/[a-z0-9._-]+)?)=(.+)$/.exec(l);
    const file = m ? m[2]! : l;
    const platform = m ? formatPlatform(parsePlatform(m[1]!)) : undefined;
    const layer = await prebuiltLayer(path.resolve(session.cwd, file), `ecrctl build --layer ${path.basename(file)}`);
    out.push(platform ? { ...layer, platform } : layer);
  }
  return out;
}

/** Returns the created_by text of the config changes: flags and names, never values. */
function configNote(opts: BuildOptions): string | undefined {
  const parts: string[] = [];
  if (opts.entrypoint !== undefined) parts.push('--entrypoint');
  if (opts.cmd !== undefined) parts.push('--cmd');
  for (const e of opts.env ?? []) parts.push(`--env ${e.slice(0, e.indexOf('='))}`);
  if (opts.workdir !== undefined) parts.push('--workdir');
  if (opts.user !== undefined) parts.push('--user');
  for (const l of opts.labels ?? []) parts.push(`--label ${l.slice(0, l.indexOf('='))}`);
  for (const p of opts.expose ?? []) parts.push(`--expose ${p}`);
  return parts.length > 0 ? `ecrctl build ${parts.join(' ')}` : undefined;
}

/** A built (or rebased) image ready to publish. */
export interface MadeImage {
  source: BuiltImageSource;
  root: ManifestBlob;
  platforms: string[];
}

/**
 * Builds an image onto a base and writes it to the target: a registry (with tag-push's tag
 * plan and rules; base blobs skipped, mounted or streamed, only new layers uploaded) or an
 * OCI layout / docker-archive. The same inputs give the same digest.
 *
 * @example
 * const r = await build(session, { from: 'public.ecr.aws/lambda/nodejs:22', add: ['./dist:/var/task'], cmd: '["index.handler"]', target: 'app:v1' });
 */
export async function build(session: Session, opts: BuildOptions): Promise<BuildResult> {
  const time = buildTime(session, opts);
  const changes: ConfigChanges = {
    ...(opts.env ? { env: opts.env.map(checkEnv) } : {}),
    ...(opts.entrypoint !== undefined ? { entrypoint: execForm(opts.entrypoint, '--entrypoint') } : {}),
    ...(opts.cmd !== undefined ? { cmd: execForm(opts.cmd, '--cmd') } : {}),
    ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    ...(opts.labels ? { labels: pairs(opts.labels, '--label') } : {}),
    ...(opts.expose ? { expose: opts.expose } : {}),
  };
  const userAnnotations = pairs(opts.annotations, '--annotation');
  if ((opts.add ?? []).length === 0 && (opts.layers ?? []).length === 0 && configNote(opts) === undefined) {
    throw new UsageError('build needs something to add: --add, --layer, or a config change', {
      fix: 'e.g. --add ./dist:/app --entrypoint \'["node","/app/index.js"]\'',
    });
  }
  const layers = await makeLayers(session, opts, time.seconds);
  const base = await openImage(session, opts.from, opts.platforms);
  try {
    for (const l of layers) {
      if (l.platform && !base.images.some((i) => i.platform && formatPlatform(i.platform) === l.platform)) {
        throw new UsageError(`--layer ${l.platform}=…: the build has no ${l.platform} image`, {
          value: l.platform,
          fix: `build platforms: ${base.images.map((i) => (i.platform ? formatPlatform(i.platform) : '?')).join(', ')}`,
        });
      }
    }
    const annotations: Record<string, string> = {
      ...ciAnnotations(session.env),
      ...(time.given ? { [Annotation.created]: time.iso } : {}),
      ...userAnnotations,
    };
    const made = assemble(base, layers, (img) => ({
      config: mutateConfig(
        img.config,
        layers.filter((l) => !l.platform || (img.platform && formatPlatform(img.platform) === l.platform)),
        changes,
        time.iso,
        configNote(opts),
      ),
      layers: layers
        .filter((l) => !l.platform || (img.platform && formatPlatform(img.platform) === l.platform))
        .map((l) => l.descriptor),
      annotations,
    }));
    const result = await publish(session, made, base, opts, 'built');
    result.layers = layers.map((l) => ({
      digest: l.descriptor.digest,
      diffId: l.diffId,
      size: l.descriptor.size,
      createdBy: l.createdBy,
      ...(l.platform ? { platform: l.platform } : {}),
    }));
    return result;
  } finally {
    await base.source.close?.().catch(() => {});
  }
}

/** What each platform image of the result gets: its config, the layers after the base's, annotations. */
export interface PlatformChange {
  config: JsonObject;
  layers: Descriptor[];
  /** Replaces the base's layers (rebase); default: the base's layers are kept. */
  baseLayers?: Descriptor[];
  annotations: Record<string, string>;
}

/**
 * Returns the new image: per base platform a new config and manifest (base layers, then the
 * new ones), and an index when the base is one; every new blob registered in the source.
 */
export function assemble(
  base: OpenedBase,
  newLayers: ReadonlyArray<{ descriptor: Descriptor; open(): import('node:stream').Readable }>,
  change: (img: BasePlatform) => PlatformChange,
  bases: ImageSource[] = [base.source],
): MadeImage {
  // No registry here: publish() decides whether the engine may mount (see withRegistry).
  const source = new BuiltImageSource(`build onto ${base.name}`, bases);
  for (const l of newLayers) source.addBlob(l.descriptor.digest, { open: () => l.open() });
  const entries: Descriptor[] = [];
  const platforms: string[] = [];
  let single: ManifestBlob | undefined;
  for (const img of base.images) {
    const c = change(img);
    for (const l of c.baseLayers ?? img.doc.layers) source.addOrigin(l.digest, base.source);
    const configBytes = Buffer.from(JSON.stringify(c.config));
    const configDesc: Descriptor = {
      mediaType: MediaType.ociConfig,
      digest: sha256Digest(configBytes),
      size: configBytes.length,
    };
    source.addBlob(configDesc.digest, { bytes: configBytes });
    const manifest = manifestBlob(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: configDesc,
        layers: [...(c.baseLayers ?? img.doc.layers).map(ociLayer), ...c.layers],
        annotations: {
          [Annotation.baseName]: base.name,
          [Annotation.baseDigest]: img.manifest.digest,
          ...c.annotations,
        },
      },
      MediaType.ociManifest,
    );
    source.addManifest(manifest);
    single = manifest;
    if (img.platform) platforms.push(formatPlatform(img.platform));
    entries.push({
      mediaType: MediaType.ociManifest,
      digest: manifest.digest,
      size: manifest.bytes.length,
      ...(img.platform ? { platform: img.platform } : {}),
    });
  }
  if (base.kind === 'image') return { source, root: single!, platforms };
  const annotations = base.images.length > 0 ? change(base.images[0]!).annotations : {};
  const index = manifestBlob(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: entries,
      annotations: { [Annotation.baseName]: base.name, [Annotation.baseDigest]: base.root.digest, ...annotations },
    },
    MediaType.ociIndex,
  );
  source.addManifest(index);
  return { source, root: index, platforms };
}

const putBuckets = new WeakMap<Session, TokenBucket>();

/**
 * Writes a made image to its target with the copy engine (registry: tag plan first, then
 * blobs skipped/mounted/streamed/uploaded; layout or archive: written and committed) and
 * returns what happened to each blob.
 */
export async function publish(
  session: Session,
  made: MadeImage,
  base: OpenedBase,
  opts: Pick<
    BuildOptions,
    'target' | 'tags' | 'strategies' | 'semverAliases' | 'createRepo' | 'dryRun' | 'concurrency'
  >,
  action: BuildResult['action'],
  extraBases: OpenedBase[] = [],
): Promise<BuildResult> {
  const { signal } = session;
  let targetLoc = await resolveLocation(session, parseLocation(opts.target));
  if (targetLoc.transport === 'docker-daemon') {
    throw new UsageError('a build writes to a registry, oci:DIR[:TAG] or docker-archive:FILE', {
      value: opts.target,
      fix: 'write docker-archive:app.tar and run `docker load -i app.tar`',
    });
  }
  if (targetLoc.transport === 'registry' && targetLoc.reference.digest) {
    throw new UsageError('a build target names a tag, not a digest', {
      value: opts.target,
      fix: 'drop the @sha256:… part',
    });
  }
  const ownTag =
    targetLoc.transport === 'registry'
      ? targetLoc.reference.tag
      : targetLoc.transport === 'oci'
        ? targetLoc.tag
        : targetLoc.ref;
  let tags = [...new Set([...(ownTag ? [ownTag] : []), ...(opts.tags ?? [])])];
  if (targetLoc.transport === 'registry')
    targetLoc = { ...targetLoc, reference: { ...targetLoc.reference, tag: undefined } };
  const destination = formatLocation(targetLoc);
  const isNew = (digest: string) => made.source.isNew(digest);

  // Where base blobs come from decides how they move: same repository → present already;
  // same registry → mount; elsewhere → streamed through this process, never to disk.
  const origins = [base, ...extraBases].map((b) => b.loc);
  let mountFrom: { host: string; repository: string } | undefined;
  if (targetLoc.transport === 'registry') {
    const t = targetLoc.reference;
    const sameHost = origins.find((o) => o.transport === 'registry' && o.reference.registry === t.registry);
    if (sameHost?.transport === 'registry' && sameHost.reference.repository !== t.repository) {
      mountFrom = { host: t.registry, repository: sameHost.reference.repository };
    }
  }
  const source = mountFrom ? withRegistry(made.source, mountFrom) : made.source;

  const opened = await openLocation(session, targetLoc, 'target');
  let store: ImageTarget = opened.target!;
  let plan: PushPlan | undefined;
  const id = nextEventId();
  let started = false;
  try {
    if (targetLoc.transport === 'registry') {
      if (await isEcrDataPlane(session, targetLoc.reference.registry)) {
        let bucket = putBuckets.get(session);
        if (!bucket) {
          bucket = new TokenBucket({ ratePerSecond: ECR_PUT_IMAGE_RATE.perSecond * ECR_PUT_IMAGE_RATE.headroom });
          putBuckets.set(session, bucket);
        }
        store = pacedTarget(store, bucket);
      }
      plan = await planPush(session, {
        target: targetLoc,
        targetStore: store,
        source,
        sourceRef: made.root.digest,
        tags,
        strategies: opts.strategies ?? [],
        semverAliases: opts.semverAliases,
        createRepo: opts.createRepo,
        dryRun: opts.dryRun,
      });
      tags = plan.tags;
    }
    const baseInfo = { name: base.name, digest: base.root.digest };
    if (opts.dryRun) {
      await store.abort().catch(() => {});
      return {
        action,
        base: baseInfo,
        source: base.name,
        destination,
        imageUri: targetLoc.transport === 'registry' ? `${destination}@${made.root.digest}` : destination,
        digest: made.root.digest,
        mediaType: made.root.mediaType,
        tags,
        unchangedTags: [],
        platforms: made.platforms,
        blobs: { total: 0, uploaded: 0, skipped: 0, mounted: 0 },
        bytesUploaded: 0,
        bytesTotal: 0,
        manifests: 0,
        durationMs: 0,
        layers: [],
        outcome: { new: 0, mounted: 0, skipped: 0, streamed: 0 },
        blobList: [],
        ...(plan ? { plan } : {}),
        dryRun: true,
      };
    }
    session.emit({
      type: 'transfer-start',
      id,
      label: `${action === 'built' ? 'building' : 'rebasing'} onto ${base.name}`,
      source: base.name,
      destination,
    });
    started = true;
    const blobList: BlobOutcome[] = [];
    const summary = await copyImage(source, made.root.digest, store, {
      tags,
      concurrency: opts.concurrency ?? 4,
      signal,
      ...(plan ? { knownTags: plan.present } : {}),
      onEvent: (event) => {
        session.emit({ type: 'transfer', id, event });
        if (event.kind === 'blob-done') {
          const origin = isNew(event.descriptor.digest) ? 'new' : 'base';
          const result = event.result === 'uploaded' && origin === 'base' ? 'streamed' : event.result;
          blobList.push({ digest: event.descriptor.digest, size: event.descriptor.size, origin, result });
        }
      },
    });
    session.emit({ type: 'transfer-end', id, ok: true });
    started = false;
    blobList.sort((a, b) => (a.digest < b.digest ? -1 : 1));
    const outcome = {
      new: blobList.filter((b) => b.origin === 'new' && b.result === 'uploaded').length,
      mounted: blobList.filter((b) => b.result === 'mounted').length,
      skipped: blobList.filter((b) => b.result === 'skipped').length,
      streamed: blobList.filter((b) => b.result === 'streamed').length,
    };
    return {
      ...summary,
      action,
      base: baseInfo,
      source: base.name,
      destination,
      imageUri: targetLoc.transport === 'registry' ? `${destination}@${summary.digest}` : destination,
      ...(targetLoc.transport === 'registry'
        ? { registry: targetLoc.reference.registry, repository: targetLoc.reference.repository }
        : {}),
      layers: [],
      outcome,
      blobList,
      ...(plan ? { plan } : {}),
    };
  } catch (err) {
    if (started) session.emit({ type: 'transfer-end', id, ok: false });
    await store.abort().catch(() => {});
    if (targetLoc.transport === 'registry') {
      const full = repositoryFull(err, targetLoc.reference.registry, targetLoc.reference.repository);
      if (full) throw full;
      throw immutableTagRefusal(err, targetLoc.reference.repository);
    }
    throw err;
  }
}

/** Returns the source with `registry` set, so the copy engine mounts base blobs from it. */
function withRegistry(source: BuiltImageSource, registry: { host: string; repository: string }): ImageSource {
  return {
    displayName: source.displayName,
    registry,
    getManifest: (r) => source.getManifest(r),
    openBlob: (d, o) => source.openBlob(d, o),
    listTags: () => source.listTags(),
  };
}

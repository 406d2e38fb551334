// OCI artifacts: manifests for files (ORAS style), Helm charts (exactly as `helm push` writes
// them) and OCI 1.1 referrers (`subject`), plus the registry steps around them that the
// registry client does not offer as one call — uploading bytes, listing referrers with the
// tag-schema fallback, adding a referrer to the `sha256-<hex>` tag index, and writing pulled
// files safely inside a directory.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { DigestMismatchError, EcrctlError, HttpStatusError, NotFoundError, RuleViolation } from '../errors.js';
import { MediaType } from './media-types.js';
import type { RegistryRepository } from './registry.js';
import { referrersTag } from './referrers.js';
import type { Descriptor, ImageManifest, ManifestBlob } from './types.js';

/** Media types and annotation keys of artifacts. */
export const ArtifactMediaType = {
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
  helmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  helmProvenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
  /** What a file without a media type is pushed as (ORAS's default too). */
  defaultFile: 'application/octet-stream',
  /** The artifactType of an artifact pushed without one (ORAS's default). */
  defaultArtifact: 'application/vnd.unknown.artifact.v1',
} as const;

/** The annotation that names a file in an artifact. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** The OCI 1.1 empty config (`{}`), for artifacts that have no config of their own. */
export const EMPTY_CONFIG = Buffer.from('{}');

/** Returns the sha256 digest of bytes. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Returns a descriptor for bytes of mediaType (annotations only when given). */
export function describeBytes(bytes: Buffer, mediaType: string, annotations?: Record<string, string>): Descriptor {
  return {
    mediaType,
    digest: sha256Digest(bytes),
    size: bytes.length,
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
}

/** A blob to upload with the manifest that references it. */
export interface ArtifactBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** A manifest ready to PUT, with every blob it references. */
export interface BuiltArtifact {
  manifest: ManifestBlob;
  doc: ImageManifest;
  blobs: ArtifactBlob[];
}

/** What an artifact manifest is made of. */
export interface ArtifactSpec {
  /** The artifactType; default application/vnd.unknown.artifact.v1 when there is no config. */
  artifactType?: string;
  /** The config blob; default: the OCI empty config `{}`. */
  config?: { bytes: Buffer; mediaType: string };
  /** The files, in order: bytes, media type and title (org.opencontainers.image.title). */
  files: readonly { bytes: Buffer; mediaType: string; title?: string; annotations?: Record<string, string> }[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** The manifest this one refers to (OCI 1.1 referrers). */
  subject?: Descriptor;
}

/** Returns an OCI 1.1 image manifest for an artifact (ORAS's layout: files as titled layers). */
export function buildArtifact(spec: ArtifactSpec): BuiltArtifact {
  const config = spec.config
    ? describeBytes(spec.config.bytes, spec.config.mediaType)
    : describeBytes(EMPTY_CONFIG, MediaType.ociEmpty);
  const blobs: ArtifactBlob[] = [{ descriptor: config, bytes: spec.config?.bytes ?? EMPTY_CONFIG }];
  const layers = spec.files.map((f) => {
    const annotations = { ...(f.annotations ?? {}), ...(f.title !== undefined ? { [TITLE_ANNOTATION]: f.title } : {}) };
    const descriptor = describeBytes(f.bytes, f.mediaType, annotations);
    blobs.push({ descriptor, bytes: f.bytes });
    return descriptor;
  });
  // The spec: artifactType is required when the config is the empty one.
  const artifactType = spec.artifactType ?? (spec.config ? undefined : ArtifactMediaType.defaultArtifact);
  const doc: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    ...(artifactType ? { artifactType } : {}),
    config,
    // An empty layers list is allowed; the spec suggests the empty descriptor for "none".
    layers: layers.length > 0 ? layers : [describeBytes(EMPTY_CONFIG, MediaType.ociEmpty)],
    ...(spec.subject
      ? { subject: { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size } }
      : {}),
    ...(spec.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: spec.annotations } : {}),
  };
  if (layers.length === 0) blobs.push({ descriptor: doc.layers[0]!, bytes: EMPTY_CONFIG });
  const bytes = Buffer.from(JSON.stringify(doc));
  return { manifest: { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), bytes }, doc, blobs };
}

// ---- Helm ------------------------------------------------------------------------------

/** Chart.yaml's fields as Helm's Go struct (chart.Metadata) declares them, in its order. */
const HELM_METADATA_FIELDS = [
  'name',
  'home',
  'sources',
  'version',
  'description',
  'keywords',
  'maintainers',
  'icon',
  'apiVersion',
  'condition',
  'tags',
  'appVersion',
  'deprecated',
  'annotations',
  'kubeVersion',
  'dependencies',
  'type',
] as const;
const MAINTAINER_FIELDS = ['name', 'email', 'url'] as const;
const DEPENDENCY_FIELDS = [
  'name',
  'version',
  'repository',
  'condition',
  'tags',
  'enabled',
  'import-values',
  'alias',
] as const;

/**
 * Returns the config blob `helm push` writes: Go's json.Marshal of chart.Metadata — its
 * fields in struct order, empty ones left out (omitempty), map keys sorted, no spaces.
 */
export function helmConfigJson(meta: Readonly<Record<string, unknown>>): Buffer {
  return Buffer.from(goJson(pick(meta, HELM_METADATA_FIELDS, (k, v) => nested(k, v))));
}

function nested(key: string, value: unknown): unknown {
  if (key === 'maintainers' && Array.isArray(value))
    return value.map((m) => pick(asRecord(m), MAINTAINER_FIELDS, (_k, v) => v));
  if (key === 'dependencies' && Array.isArray(value))
    return value.map((d) => pick(asRecord(d), DEPENDENCY_FIELDS, (_k, v) => v));
  return value;
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A Go struct: its fields in declaration order (a plain object would be a map, with sorted keys). */
class Struct {
  constructor(readonly pairs: Array<[string, unknown]>) {}
}

/** Keeps the fields in order, leaves out what Go's omitempty leaves out. */
function pick(
  obj: Readonly<Record<string, unknown>>,
  fields: readonly string[],
  map: (key: string, value: unknown) => unknown,
): Struct {
  const out: Array<[string, unknown]> = [];
  for (const f of fields) {
    const v = obj[f];
    if (v === undefined || v === null || v === '' || v === false || v === 0) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out.push([f, map(f, v)]);
  }
  return new Struct(out);
}

/** Serialises like Go's encoding/json: ordered pairs stay in order, maps get sorted keys, HTML characters escaped. */
function goJson(v: unknown): string {
  if (v instanceof Struct) return `{${v.pairs.map(([k, x]) => `${goString(k)}:${goJson(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${goString(k)}:${goJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  if (typeof v === 'string') return goString(v);
  // YAML numbers in string fields (version: 1.0) are strings to Helm: the caller converts.
  return JSON.stringify(v);
}

function goString(s: string): string {
  // Go escapes <, > and & as \u003c, \u003e, \u0026 (and U+2028/2029).
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The OCI annotations `helm push` puts on the manifest (pkg/registry/chart.go). */
export function helmAnnotations(meta: Readonly<Record<string, unknown>>, created: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: string, v: unknown) => {
    if (typeof v === 'string' && v.trim() !== '') out[k] = v;
  };
  add('org.opencontainers.image.description', meta.description);
  add(TITLE_ANNOTATION, meta.name);
  add('org.opencontainers.image.version', meta.version);
  add('org.opencontainers.image.url', meta.home);
  add('org.opencontainers.image.created', created);
  if (Array.isArray(meta.sources) && meta.sources.length > 0) add('org.opencontainers.image.source', meta.sources[0]);
  if (Array.isArray(meta.maintainers) && meta.maintainers.length > 0) {
    const authors = meta.maintainers
      .map((m) => {
        const r = asRecord(m);
        const name = typeof r.name === 'string' ? r.name : '';
        const email = typeof r.email === 'string' && r.email !== '' ? ` (${r.email})` : '';
        return `${name}${email}`;
      })
      .join(', ');
    add('org.opencontainers.image.authors', authors);
  }
  // The chart's own annotations, except the two Helm keeps for itself.
  const own = asRecord(meta.annotations);
  for (const [k, v] of Object.entries(own)) {
    if (k === TITLE_ANNOTATION || k === 'org.opencontainers.image.version') continue;
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/**
 * Returns the manifest `helm push` writes for a chart: no top-level mediaType (Helm marshals
 * ocispec.Manifest without one; the Content-Type says OCI manifest), the config with Chart.yaml
 * as JSON, one layer with the .tgz, annotations with sorted keys.
 */
export function buildHelmChart(chart: Buffer, meta: Readonly<Record<string, unknown>>, created: string): BuiltArtifact {
  const configBytes = helmConfigJson(meta);
  const config = describeBytes(configBytes, ArtifactMediaType.helmConfig);
  const layer = describeBytes(chart, ArtifactMediaType.helmChart);
  const annotations = helmAnnotations(meta, created);
  const doc: ImageManifest = { schemaVersion: 2, config, layers: [layer], annotations };
  const bytes = Buffer.from(
    goJson(
      new Struct([
        ['schemaVersion', 2],
        ['config', descriptorStruct(config)],
        ['layers', [descriptorStruct(layer)]],
        ['annotations', annotations],
      ]),
    ),
  );
  return {
    manifest: { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), bytes },
    doc,
    blobs: [
      { descriptor: config, bytes: configBytes },
      { descriptor: layer, bytes: chart },
    ],
  };
}

function descriptorStruct(d: Descriptor): Struct {
  return new Struct([
    ['mediaType', d.mediaType],
    ['digest', d.digest],
    ['size', d.size],
  ]);
}

/** Returns the text of `<chart>/Chart.yaml` inside a chart .tgz (the first directory's). */
export function chartYamlOf(tgz: Buffer): string {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz);
  } catch (err) {
    throw new RuleViolation('the chart is not a gzip file', {
      rule: 'a Helm chart is a .tgz made by `helm package`',
      cause: err,
    });
  }
  let longName: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const size = Number.parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 48);
    const prefix = cString(header.subarray(345, 500));
    let name =
      longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    longName = undefined;
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = cString(body);
      continue;
    }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    name = name.replace(/^\.\//, '');
    if ((type === '0' || type === '\0') && /^[^/]+\/Chart\.yaml$/.test(name)) return body.toString('utf8');
  }
  throw new RuleViolation('the chart has no Chart.yaml at its top directory', {
    rule: 'a Helm chart .tgz holds <name>/Chart.yaml',
    fix: 'package the chart with `helm package DIR`',
  });
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

// ---- registry steps --------------------------------------------------------------------

/** Uploads the blobs (skipping those present) and PUTs the manifest under tag (or its digest). */
export async function pushArtifact(
  repo: RegistryRepository,
  built: BuiltArtifact,
  tag: string | undefined,
  signal?: AbortSignal,
): Promise<{ digest: string; uploaded: number; skipped: number }> {
  let uploaded = 0;
  let skipped = 0;
  const seen = new Set<string>();
  for (const b of built.blobs) {
    if (seen.has(b.descriptor.digest)) continue;
    seen.add(b.descriptor.digest);
    const r = await repo.putBlob(b.descriptor, async () => Readable.from([b.bytes]), signal ? { signal } : {});
    if (r === 'skipped') skipped++;
    else uploaded++;
  }
  const digest = await repo.putManifest(built.manifest, tag, signal ? { signal } : {});
  return { digest, uploaded, skipped };
}

/** Statuses with which a registry says it has no referrers API. */
const NO_REFERRERS_API = new Set([400, 404, 405, 501]);

/** The referrers of a subject and how they were found. */
export interface ReferrerListing {
  referrers: Descriptor[];
  /** referrers-api: the registry's API answered; tag-schema: it answered 4xx/501, the sha256-<hex> tag was read. */
  via: 'referrers-api' | 'tag-schema';
  /** The status the referrers API answered, when it was not there. */
  apiStatus?: number;
}

/**
 * Lists the referrers of digest: the referrers API, and where the registry answers it with
 * 400/404/405/501, the `sha256-<hex>` tag index.
 */
export async function listReferrersWithFallback(
  repo: RegistryRepository,
  digest: string,
  opts: { artifactType?: string; signal?: AbortSignal } = {},
): Promise<ReferrerListing> {
  try {
    const referrers = await repo.listReferrers(digest, {
      ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { referrers, via: 'referrers-api' };
  } catch (err) {
    if (!(err instanceof HttpStatusError && NO_REFERRERS_API.has(err.status))) throw err;
    const tagged = (await readReferrersTag(repo, digest, opts.signal)) ?? [];
    const referrers = opts.artifactType ? tagged.filter((d) => d.artifactType === opts.artifactType) : tagged;
    return { referrers, via: 'tag-schema', apiStatus: err.status };
  }
}

/** Returns what the `sha256-<hex>` tag index of subject lists, or undefined when there is no such tag. */
export async function readReferrersTag(
  repo: RegistryRepository,
  subject: string,
  signal?: AbortSignal,
): Promise<Descriptor[] | undefined> {
  try {
    const m = await repo.getManifest(referrersTag(subject), signal ? { signal } : {});
    const list = (JSON.parse(m.bytes.toString('utf8')) as { manifests?: unknown }).manifests;
    return Array.isArray(list) ? (list.filter((d) => d !== null && typeof d === 'object') as Descriptor[]) : [];
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    if (err instanceof SyntaxError)
      throw new EcrctlError(`the referrers tag ${referrersTag(subject)} in ${repo.displayName} is not JSON`);
    throw err;
  }
}

/** Adds descriptor to the `sha256-<hex>` tag index of subject (read, merged, written back). */
export async function addToReferrersTag(
  repo: RegistryRepository,
  subject: string,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<void> {
  const existing = (await readReferrersTag(repo, subject, signal)) ?? [];
  if (existing.some((d) => d.digest === descriptor.digest)) return;
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...existing, descriptor] };
  const bytes = Buffer.from(JSON.stringify(index));
  await repo.putManifest(
    { mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), bytes },
    referrersTag(subject),
    signal ? { signal } : {},
  );
}

// ---- files -----------------------------------------------------------------------------

/**
 * Returns the absolute path a title names inside dir, or throws RuleViolation when it would
 * land outside: absolute titles, `..` segments, empty names, NUL bytes, and a directory on
 * the way that is a symlink leading out of dir.
 */
export async function safeTarget(dir: string, title: string): Promise<string> {
  const refuse = (why: string) =>
    new RuleViolation(`refusing to write '${title}': ${why}`, {
      rule: 'a file title must name a path inside the output directory',
      value: title,
      fix: 'pull into a directory you trust, or fix the artifact: titles are relative paths without ..',
    });
  if (title === '' || title.includes('\0')) throw refuse('the title is empty or has a NUL byte');
  if (path.isAbsolute(title) || /^[a-zA-Z]:/.test(title) || title.startsWith('\\'))
    throw refuse('the title is an absolute path');
  const parts = title.split(/[/\\]/);
  if (parts.some((p) => p === '..')) throw refuse('the title climbs out with ..');
  if (parts.every((p) => p === '' || p === '.')) throw refuse('the title names no file');
  const root = await realpath(dir);
  const target = path.resolve(root, ...parts.filter((p) => p !== '' && p !== '.'));
  if (!target.startsWith(root + path.sep)) throw refuse('the path resolves outside the directory');
  // Every existing parent must really be inside root (a symlinked directory could lead out).
  let parent = path.dirname(target);
  while (parent.length > root.length) {
    try {
      const real = await realpath(parent);
      if (real !== root && !real.startsWith(root + path.sep))
        throw refuse(`${path.relative(root, parent)} leads outside the directory`);
      break;
    } catch (err) {
      if (err instanceof RuleViolation) throw err;
      parent = path.dirname(parent);
    }
  }
  // An existing symlink at the target itself would be followed by a plain open: refuse it.
  try {
    if ((await lstat(target)).isSymbolicLink()) throw refuse('the file exists and is a symlink');
  } catch (err) {
    if (err instanceof RuleViolation) throw err;
  }
  return target;
}

/**
 * Streams a blob into target through a temporary name beside it, checks size and digest,
 * then renames; on any failure the temporary file is removed and target is untouched.
 */
export async function writeBlobFile(
  repo: RegistryRepository,
  descriptor: Descriptor,
  target: string,
  signal?: AbortSignal,
): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.part`);
  const fh = await open(temp, 'wx', 0o644);
  let ok = false;
  try {
    const hash = createHash('sha256');
    let size = 0;
    const body = await repo.openBlob(descriptor, signal ? { signal } : {});
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (size > descriptor.size) break;
      await fh.write(chunk);
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (size !== descriptor.size || (descriptor.digest.startsWith('sha256:') && digest !== descriptor.digest)) {
      throw new DigestMismatchError(
        `${descriptor.digest} from ${repo.displayName} arrived as ${size} bytes hashing to ${digest}; expected ${descriptor.size} bytes`,
      );
    }
    await fh.close();
    await rename(temp, target);
    ok = true;
  } finally {
    if (!ok) {
      await fh.close().catch(() => {});
      await rm(temp, { force: true });
    }
  }
}

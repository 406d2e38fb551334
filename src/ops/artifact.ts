// artifact push / artifact pull / helm push: files and Helm charts as OCI artifacts. Media
// types are checked against ECR's rules before anything is uploaded; pulled files land under
// their titles, inside the directory, through a temporary name.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, RuleViolation, UsageError } from '../errors.js';
import {
  ArtifactMediaType,
  type BuiltArtifact,
  buildArtifact,
  buildHelmChart,
  chartYamlOf,
  pushArtifact,
  safeTarget,
  TITLE_ANNOTATION,
  writeBlobFile,
} from '../oci/artifact.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { formatReference, manifestReference, parseReference, type RegistryReference } from '../oci/reference.js';
import type { RegistryRepository } from '../oci/registry.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import {
  artifactTypeProblems,
  descriptorMediaTypeProblems,
  formatMediaTypeProblems,
  type MediaTypeProblem,
} from '../policy/artifact-media-types.js';
import type { Session } from '../session.js';
import { defaultRegistryHost, registryClient } from './ecr.js';

/** A registry repository opened for a reference, with the reference resolved to its host. */
export interface OpenedRepository {
  repo: RegistryRepository;
  ref: RegistryReference;
}

/** Opens the repository a reference names; a short reference (`team/app:v1`) means the default ECR registry. */
export async function openRepository(session: Session, text: string): Promise<OpenedRepository> {
  const parsed = parseReference(text.replace(/^oci:\/\//, ''));
  const ref = parsed.registry === '' ? { ...parsed, registry: await defaultRegistryHost(session) } : parsed;
  const client = await registryClient(session);
  return { repo: client.repository(ref.registry, ref.repository), ref };
}

/** Throws RuleViolation (exit 3) listing every media-type problem, before anything is uploaded. */
export function checkMediaTypes(problems: readonly MediaTypeProblem[]): void {
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new RuleViolation(`ECR would refuse this artifact: ${first.field} '${first.value}'; nothing was uploaded`, {
    rule: first.rule,
    value: first.value,
    fix: 'use a bare media type such as application/vnd.example.sbom.v1+json (parameters go into annotations)',
    problems: formatMediaTypeProblems(problems),
  });
}

/** One file to push: its path and, optionally, its media type. */
export interface ArtifactFileSpec {
  /** The file (relative to the session's cwd). */
  path: string;
  /** Its media type; default application/octet-stream. */
  mediaType?: string;
  /** Its title; default the file's base name. */
  title?: string;
}

/** What artifactPush accepts. */
export interface ArtifactPushOptions {
  /** Where to push: `repo:tag` (default ECR registry) or `host/repo:tag`. */
  reference: string;
  files: readonly ArtifactFileSpec[];
  /** The manifest's artifactType (default application/vnd.unknown.artifact.v1 without --config). */
  artifactType?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** A config blob of its own (default: the OCI empty config `{}`). */
  config?: { path: string; mediaType: string };
}

/** What a push stored. */
export interface ArtifactPushResult {
  /** The reference pushed, with its registry. */
  reference: string;
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** The manifest exactly as stored. */
  manifest: ImageManifest;
  /** Blobs uploaded and blobs the registry already had. */
  uploaded: number;
  skipped: number;
}

/**
 * Parses `FILE[:MEDIATYPE]`: the part after the last `:` is a media type when it has a `/`
 * (so `C:\x` or `a:b` stay file names).
 */
export function parseFileSpec(text: string): ArtifactFileSpec {
  const colon = text.lastIndexOf(':');
  if (colon > 0 && text.slice(colon + 1).includes('/'))
    return { path: text.slice(0, colon), mediaType: text.slice(colon + 1) };
  return { path: text };
}

/** Pushes files as an OCI artifact (one titled layer per file). */
export async function artifactPush(session: Session, opts: ArtifactPushOptions): Promise<ArtifactPushResult> {
  if (opts.files.length === 0 && !opts.config)
    throw new UsageError('nothing to push', { fix: 'name at least one FILE (or --config)' });
  // Every rule first: nothing leaves this machine when one is broken.
  const problems: MediaTypeProblem[] = [];
  if (opts.artifactType !== undefined) problems.push(...artifactTypeProblems(opts.artifactType));
  if (opts.config) problems.push(...descriptorMediaTypeProblems(opts.config.mediaType, 'config.mediaType'));
  opts.files.forEach((f, i) => {
    problems.push(
      ...descriptorMediaTypeProblems(f.mediaType ?? ArtifactMediaType.defaultFile, `layers[${i}].mediaType`),
    );
  });
  checkMediaTypes(problems);
  const titles = new Set<string>();
  const files = [];
  for (const f of opts.files) {
    const title = f.title ?? path.basename(f.path);
    if (titles.has(title))
      throw new UsageError(`two files would have the title ${title}`, {
        value: title,
        fix: 'push files with distinct names',
      });
    titles.add(title);
    files.push({
      bytes: await readInput(session, f.path),
      mediaType: f.mediaType ?? ArtifactMediaType.defaultFile,
      title,
    });
  }
  const built = buildArtifact({
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    ...(opts.config
      ? { config: { bytes: await readInput(session, opts.config.path), mediaType: opts.config.mediaType } }
      : {}),
    files,
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  });
  const { repo, ref } = await openRepository(session, opts.reference);
  return pushBuilt(session, repo, ref, built);
}

async function pushBuilt(
  session: Session,
  repo: RegistryRepository,
  ref: RegistryReference,
  built: BuiltArtifact,
): Promise<ArtifactPushResult> {
  if (ref.digest !== undefined)
    throw new UsageError('push to a tag, not a digest', { value: formatReference(ref), fix: 'write repo:tag' });
  const tag = ref.tag ?? 'latest';
  session.log.verbose(`pushing ${built.blobs.length} blob(s) and the manifest to ${repo.displayName}:${tag}`);
  const out = await pushArtifact(repo, built, tag, session.signal);
  return {
    reference: formatReference({ ...ref, tag }),
    digest: out.digest,
    mediaType: built.manifest.mediaType,
    ...(built.doc.artifactType ? { artifactType: built.doc.artifactType } : {}),
    manifest: built.doc,
    uploaded: out.uploaded,
    skipped: out.skipped,
  };
}

async function readInput(session: Session, file: string): Promise<Buffer> {
  const full = path.resolve(session.cwd, file);
  try {
    if (!(await stat(full)).isFile()) throw new UsageError(`${file} is not a file`, { value: file });
    return await readFile(full);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${file} does not exist`, { value: file });
    throw err;
  }
}

/** What artifactPull accepts. */
export interface ArtifactPullOptions {
  /** The artifact: `repo:tag`, `repo@digest`, `host/repo:tag`. */
  reference: string;
  /** The directory to write the files into (created when missing). */
  directory: string;
}

/** One file written by a pull. */
export interface PulledFile {
  /** The title it was written under (relative to the directory). */
  title: string;
  /** Its absolute path. */
  path: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** What a pull wrote. */
export interface ArtifactPullResult {
  reference: string;
  digest: string;
  artifactType?: string;
  files: PulledFile[];
  /** Layers without a title, not written (their digests). */
  skipped: string[];
}

/**
 * Pulls an artifact's files into a directory under their titles. Every title is checked
 * before the first byte is written; each file is verified against its digest.
 */
export async function artifactPull(session: Session, opts: ArtifactPullOptions): Promise<ArtifactPullResult> {
  const { repo, ref } = await openRepository(session, opts.reference);
  const m = await repo.getManifest(manifestReference(ref), { signal: session.signal });
  if (isIndexMediaType(m.mediaType))
    throw new UsageError(`${opts.reference} is an image index, not an artifact`, {
      value: opts.reference,
      fix: 'pull one of its manifests by digest',
    });
  const doc = JSON.parse(m.bytes.toString('utf8')) as ImageManifest;
  const dir = path.resolve(session.cwd, opts.directory);
  await mkdir(dir, { recursive: true });
  const plan: { d: Descriptor; title: string; target: string }[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const d of doc.layers ?? []) {
    const title = titleOf(d, doc);
    if (title === undefined) {
      skipped.push(d.digest);
      session.log.warn(`layer ${d.digest} (${d.mediaType}) has no ${TITLE_ANNOTATION}; not written`);
      continue;
    }
    const target = await safeTarget(dir, title);
    if (seen.has(target))
      throw new RuleViolation(`two layers have the title ${title}`, {
        rule: 'titles in one artifact are distinct',
        value: title,
      });
    seen.add(target);
    plan.push({ d, title, target });
  }
  const files: PulledFile[] = [];
  for (const p of plan) {
    await writeBlobFile(repo, p.d, p.target, session.signal);
    files.push({ title: p.title, path: p.target, digest: p.d.digest, size: p.d.size, mediaType: p.d.mediaType });
  }
  return {
    reference: formatReference(ref),
    digest: m.digest,
    ...(doc.artifactType ? { artifactType: doc.artifactType } : {}),
    files,
    skipped,
  };
}

/** A layer's title; a Helm chart's untitled layer gets `<name>-<version>.tgz`, as `helm pull` names it. */
function titleOf(d: Descriptor, doc: ImageManifest): string | undefined {
  const t = d.annotations?.[TITLE_ANNOTATION];
  if (t !== undefined) return t;
  if (d.mediaType === ArtifactMediaType.helmChart) {
    const name = doc.annotations?.[TITLE_ANNOTATION];
    const version = doc.annotations?.['org.opencontainers.image.version'];
    if (name && version) return `${name}-${version}.tgz`;
  }
  return undefined;
}

/** What helmPush accepts. */
export interface HelmPushOptions {
  /** The chart package (.tgz from `helm package`). */
  chart: string;
  /**
   * Where to: a registry namespace as `helm push` takes it (`oci://` optional; the chart's
   * name is appended unless it is already the last path component), e.g. `charts` or
   * `<account>.dkr.ecr.<region>.amazonaws.com/charts`.
   */
  repository: string;
  /** The org.opencontainers.image.created annotation (RFC 3339); default now. */
  created?: string;
}

/** What helmPush stored. */
export interface HelmPushResult extends ArtifactPushResult {
  chart: { name: string; version: string };
}

/** Pushes a Helm chart package exactly as `helm push` does: tag = the chart version. */
export async function helmPush(session: Session, opts: HelmPushOptions): Promise<HelmPushResult> {
  const tgz = await readInput(session, opts.chart);
  const { parse } = await import('yaml');
  let meta: Record<string, unknown>;
  try {
    const parsed: unknown = parse(chartYamlOf(tgz));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a mapping');
    meta = parsed as Record<string, unknown>;
  } catch (err) {
    if (err instanceof RuleViolation) throw err;
    throw new RuleViolation(`Chart.yaml in ${opts.chart} is not valid YAML: ${(err as Error).message}`, {
      rule: 'a Helm chart .tgz holds <name>/Chart.yaml',
      value: opts.chart,
      cause: err,
    });
  }
  // Helm reads these as strings; YAML may have made numbers of them (version: 1.0).
  for (const k of ['name', 'version', 'appVersion', 'kubeVersion', 'apiVersion'])
    if (typeof meta[k] === 'number') meta[k] = String(meta[k]);
  const name = meta.name;
  const version = meta.version;
  if (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '')
    throw new RuleViolation(`Chart.yaml in ${opts.chart} lacks name or version`, {
      rule: 'a chart has a name and a version',
      value: opts.chart,
    });
  const created = opts.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const built = buildHelmChart(tgz, meta, created);
  const base = opts.repository.replace(/^oci:\/\//, '').replace(/\/+$/, '');
  const lastPart = base.split('/').pop();
  if (base.includes('/') && /[:@]/.test(lastPart ?? ''))
    throw new UsageError('give the repository without a tag: the chart version is the tag', {
      value: opts.repository,
      fix: `ecrctl helm push ${opts.chart} ${opts.repository.replace(/[:@][^/]*$/, '')}`,
    });
  const repository = lastPart === name ? base : base === '' ? name : `${base}/${name}`;
  // Helm writes `+` (build metadata) as `_`: tags cannot hold `+`.
  const tag = version.replace(/\+/g, '_');
  const { repo, ref } = await openRepository(session, `${repository}:${tag}`);
  const result = await pushBuilt(session, repo, ref, built);
  return { ...result, chart: { name, version } };
}

// inspect --config: the image configuration behind a manifest — os/arch, entrypoint, cmd,
// env, user, working directory, labels, exposed ports, created and history — for an image,
// or for each platform of an index. Read from a registry, an OCI layout or a docker-archive.
import { createHash } from 'node:crypto';
import { EcrctlError, InterruptedError } from '../errors.js';
import { formatPlatform, manifestKind, parseManifest } from '../oci/copy.js';
import { MediaType } from '../oci/media-types.js';
import { formatLocation, parseLocation } from '../oci/reference.js';
import type { ImageSource } from '../oci/store.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';
import type { Session } from '../session.js';
import { openLocation, resolveLocation } from './locations.js';

/** An image configuration is a small JSON document; a bigger one is refused, not buffered. */
const CONFIG_LIMIT = 8 * 1024 * 1024;

/** One step of an image's history. */
export interface HistoryStep {
  created?: string;
  createdBy?: string;
  comment?: string;
  /** True when the step made no layer (ENV, CMD, LABEL …). */
  emptyLayer: boolean;
}

/** The configuration of one image (one platform). */
export interface ImageConfigView {
  /** `os/architecture[/variant]`. */
  platform: string;
  os: string;
  architecture: string;
  variant?: string;
  /** The image manifest's digest. */
  manifestDigest: string;
  configDigest: string;
  configMediaType: string;
  created?: string;
  author?: string;
  user?: string;
  workingDir?: string;
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  labels: Record<string, string>;
  exposedPorts: string[];
  volumes: string[];
  stopSignal?: string;
  history: HistoryStep[];
  /** The configuration document exactly as parsed from its bytes. */
  config: Record<string, unknown>;
}

/** What inspect --config returns: the top manifest, and one configuration per platform. */
export interface InspectConfigResult {
  reference: string;
  digest: string;
  mediaType: string;
  kind: 'index' | 'image';
  images: ImageConfigView[];
  /** Index entries that are not images (attestations, other artifacts), by digest. */
  skipped: { digest: string; reason: string }[];
}

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.ociConfig, MediaType.dockerConfig]);

/** Returns the image configuration of an image, or of each platform of an index. */
export async function inspectConfig(session: Session, ref: string): Promise<InspectConfigResult> {
  const loc = await resolveLocation(session, parseLocation(ref));
  const opened = await openLocation(session, loc, 'source');
  const source = opened.source!;
  try {
    const top = await source.getManifest(opened.reference, { signal: session.signal });
    const doc = parseManifest(top);
    const result: InspectConfigResult = {
      reference: formatLocation(loc),
      digest: top.digest,
      mediaType: top.mediaType,
      kind: manifestKind(top, doc),
      images: [],
      skipped: [],
    };
    if (result.kind === 'image') {
      const m = doc as ImageManifest;
      if (!IMAGE_CONFIG_TYPES.has(m.config.mediaType)) {
        throw new EcrctlError(`${result.reference} is an artifact, not an image: it has no image configuration`, {
          value: m.config.mediaType,
          fix: `run \`ecrctl inspect ${ref}\` for its layers, or --raw for the manifest`,
        });
      }
      result.images.push(await configView(session, source, top.digest, m));
      return result;
    }
    for (const d of (doc as ImageIndex).manifests) {
      if (session.signal.aborted) throw new InterruptedError();
      const child = await source.getManifest(d.digest, { signal: session.signal });
      const cdoc = parseManifest(child);
      if (manifestKind(child, cdoc) !== 'image') {
        result.skipped.push({ digest: d.digest, reason: 'a nested index' });
        continue;
      }
      const m = cdoc as ImageManifest;
      if (!IMAGE_CONFIG_TYPES.has(m.config.mediaType)) {
        result.skipped.push({ digest: d.digest, reason: `an artifact (config ${m.config.mediaType})` });
        continue;
      }
      const ref = d.annotations?.['vnd.docker.reference.type'];
      if (ref === 'attestation-manifest') {
        result.skipped.push({ digest: d.digest, reason: 'an attestation manifest' });
        continue;
      }
      result.images.push(await configView(session, source, d.digest, m, d));
    }
    return result;
  } finally {
    await source.close?.().catch(() => {});
  }
}

async function configView(
  session: Session,
  source: ImageSource,
  manifestDigest: string,
  m: ImageManifest,
  entry?: Descriptor,
): Promise<ImageConfigView> {
  const bytes = await readBlob(session, source, m.config);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new EcrctlError(`the image configuration ${m.config.digest} is not JSON`, { value: m.config.digest, cause });
  }
  const c = (config.config ?? {}) as Record<string, unknown>;
  const strs = (v: unknown): string[] | undefined =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const keys = (v: unknown): string[] => (v && typeof v === 'object' ? Object.keys(v) : []);
  const os = str(config.os) ?? entry?.platform?.os ?? 'unknown';
  const architecture = str(config.architecture) ?? entry?.platform?.architecture ?? 'unknown';
  const variant = str(config.variant) ?? entry?.platform?.variant;
  const labels: Record<string, string> = {};
  if (c.Labels && typeof c.Labels === 'object') {
    for (const [k, v] of Object.entries(c.Labels as Record<string, unknown>)) labels[k] = String(v);
  }
  const history = Array.isArray(config.history)
    ? (config.history as Record<string, unknown>[]).map((h) => {
        const step: HistoryStep = { emptyLayer: h.empty_layer === true };
        if (str(h.created)) step.created = str(h.created);
        if (str(h.created_by)) step.createdBy = str(h.created_by);
        if (str(h.comment)) step.comment = str(h.comment);
        return step;
      })
    : [];
  const view: ImageConfigView = {
    platform: formatPlatform({ os, architecture, ...(variant ? { variant } : {}) }),
    os,
    architecture,
    ...(variant ? { variant } : {}),
    manifestDigest,
    configDigest: m.config.digest,
    configMediaType: m.config.mediaType,
    env: strs(c.Env) ?? [],
    labels,
    exposedPorts: keys(c.ExposedPorts),
    volumes: keys(c.Volumes),
    history,
    config,
  };
  const set = <K extends keyof ImageConfigView>(k: K, v: ImageConfigView[K] | undefined) => {
    if (v !== undefined) view[k] = v;
  };
  set('created', str(config.created));
  set('author', str(config.author));
  set('user', str(c.User));
  set('workingDir', str(c.WorkingDir));
  set('entrypoint', strs(c.Entrypoint));
  set('cmd', strs(c.Cmd));
  set('stopSignal', str(c.StopSignal));
  return view;
}

/** Reads a small blob whole and checks its digest (the source streams need not verify). */
async function readBlob(session: Session, source: ImageSource, d: Descriptor): Promise<Buffer> {
  if (d.size > CONFIG_LIMIT) {
    throw new EcrctlError(`the image configuration ${d.digest} is ${d.size} bytes, more than ecrctl reads`, {
      value: d.digest,
    });
  }
  const stream = await source.openBlob(d, { signal: session.signal });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    n += b.length;
    if (n > CONFIG_LIMIT) {
      stream.destroy();
      throw new EcrctlError(`the image configuration ${d.digest} is longer than its descriptor says`, {
        value: d.digest,
      });
    }
    chunks.push(b);
  }
  const bytes = Buffer.concat(chunks);
  const [algo, hex] = d.digest.split(':');
  if (algo === 'sha256' || algo === 'sha512') {
    const got = createHash(algo).update(bytes).digest('hex');
    if (got !== hex) {
      throw new EcrctlError(`the image configuration does not match its digest ${d.digest}`, {
        value: `${algo}:${got}`,
        fix: 'the source is corrupt: push the image again',
      });
    }
  }
  return bytes;
}

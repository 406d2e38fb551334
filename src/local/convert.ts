// ECR converts between Docker v2 schema 2 and OCI when a client's Accept header lists only
// the other format: a stored Docker manifest is served as an OCI manifest (and back), a
// manifest list as an OCI index (and back). The converted document is another document, so
// its digest differs from the stored one. Only what maps one to one is converted: a
// manifest whose config or layers have no counterpart (zstd layers, an artifact config, an
// OCI 1.1 subject or artifactType) is served as stored, as is Docker schema 1.
import { createHash } from 'node:crypto';
import { MEDIA_TYPES } from './manifest.js';

/** Docker ↔ OCI media types of configs and layers, Docker's first. */
const PAIRS: readonly (readonly [string, string])[] = [
  ['application/vnd.docker.container.image.v1+json', 'application/vnd.oci.image.config.v1+json'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
  [
    'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ],
  ['application/vnd.docker.image.rootfs.diff.tar', 'application/vnd.oci.image.layer.v1.tar'],
  [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest],
  [MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex],
];
const TO_OCI = new Map(PAIRS.map(([d, o]) => [d, o]));
const TO_DOCKER = new Map(PAIRS.map(([d, o]) => [o, d]));

/** The other format's media type of a manifest or index type, if it has one. */
const COUNTERPART: Readonly<Record<string, string>> = {
  [MEDIA_TYPES.dockerManifest]: MEDIA_TYPES.ociManifest,
  [MEDIA_TYPES.ociManifest]: MEDIA_TYPES.dockerManifest,
  [MEDIA_TYPES.dockerList]: MEDIA_TYPES.ociIndex,
  [MEDIA_TYPES.ociIndex]: MEDIA_TYPES.dockerList,
};

/** Returns the media types an Accept header lists (parameters and q-values dropped). */
export function acceptedTypes(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((part) => (part.split(';')[0] ?? '').trim().toLowerCase())
    .filter((t) => t !== '');
}

/**
 * Returns the media type to serve a stored manifest of storedType as: the counterpart when
 * the client accepts it but not the stored type (no Accept, `*\/*` or the stored type: as
 * stored, undefined).
 */
export function negotiatedType(storedType: string, accepted: readonly string[]): string | undefined {
  if (accepted.length === 0 || accepted.includes(storedType) || accepted.includes('*/*')) return undefined;
  const other = COUNTERPART[storedType];
  return other !== undefined && accepted.includes(other) ? other : undefined;
}

/** A manifest converted to the other format: its bytes, digest and media type. */
export interface ConvertedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

type Json = Record<string, unknown>;

/**
 * Converts a stored manifest or index (bytes) to media type `to`; returns undefined when
 * something in it has no counterpart in the other format (it is then served as stored).
 */
export function convertManifest(bytes: Buffer, to: string): ConvertedManifest | undefined {
  let doc: Json;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    return undefined;
  }
  const toOci = to === MEDIA_TYPES.ociManifest || to === MEDIA_TYPES.ociIndex;
  const map = toOci ? TO_OCI : TO_DOCKER;
  // OCI 1.1 fields have no Docker counterpart.
  if (!toOci && (doc.subject !== undefined || doc.artifactType !== undefined)) return undefined;
  const descriptor = (d: unknown, required: boolean): Json | undefined => {
    if (!d || typeof d !== 'object') return undefined;
    const src = d as Json;
    const mediaType = typeof src.mediaType === 'string' ? map.get(src.mediaType) : undefined;
    if (mediaType === undefined && required) return undefined;
    const out: Json = { mediaType: mediaType ?? src.mediaType, size: src.size, digest: src.digest };
    if (src.urls !== undefined) out.urls = src.urls;
    if (src.platform !== undefined) out.platform = src.platform;
    // Docker's schemas have no annotations; OCI keeps what the Docker document had (none).
    if (toOci && src.annotations !== undefined) out.annotations = src.annotations;
    return out;
  };
  const out: Json = { schemaVersion: 2, mediaType: to };
  if (to === MEDIA_TYPES.ociManifest || to === MEDIA_TYPES.dockerManifest) {
    const config = descriptor(doc.config, true);
    if (!config || !Array.isArray(doc.layers)) return undefined;
    const layers = doc.layers.map((l) => descriptor(l, true));
    if (layers.some((l) => l === undefined)) return undefined;
    out.config = config;
    out.layers = layers;
  } else {
    if (!Array.isArray(doc.manifests)) return undefined;
    // An index entry of a type without a counterpart (an artifact) keeps its media type when
    // converting to OCI; a Docker manifest list can only list Docker manifests and lists.
    const manifests = doc.manifests.map((m) => descriptor(m, !toOci));
    if (manifests.some((m) => m === undefined)) return undefined;
    out.manifests = manifests;
  }
  if (toOci && doc.annotations !== undefined) out.annotations = doc.annotations;
  const converted = Buffer.from(JSON.stringify(out, null, 2));
  return {
    bytes: converted,
    digest: `sha256:${createHash('sha256').update(converted).digest('hex')}`,
    mediaType: to,
  };
}

// Reads the manifests the endpoint accepts (OCI image manifest and index, Docker v2 schema 2
// manifest and manifest list) far enough to store them: what they reference, how big the
// image is by ECR's definition, and the OCI 1.1 fields the referrers API reports. Media
// types ECR refuses (an artifactType with `;` parameters, …) are refused here as well, by
// the same rules the client checks before it uploads (src/policy/artifact-media-types.ts).
import { formatMediaTypeProblems, manifestMediaTypeProblems } from '../policy/artifact-media-types.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** Docker image manifest schema 1, signed (JWS) and unsigned: ECR still stores them. */
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

const SCHEMA1_TYPES = new Set<string>([MEDIA_TYPES.dockerSchema1Signed, MEDIA_TYPES.dockerSchema1]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest, ...SCHEMA1_TYPES]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);

/** Returns true for a media type the endpoint stores as a manifest. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType);
}

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  artifactType?: unknown;
  annotations?: unknown;
}

/** What the store needs to know about a manifest. */
export interface ParsedManifest {
  mediaType: string;
  isIndex: boolean;
  /** Config and layers (for an image manifest). */
  blobs: string[];
  /** Sum of the layer sizes (image manifests; 0 for schema 1, whose references carry no size). */
  layersSize: number;
  /** Docker schema 1: layer sizes must be looked up in the repository's blobs. */
  schema1?: boolean;
  /** Manifests an index lists. */
  manifests: string[];
  artifactMediaType?: string;
  artifactType?: string;
  subject?: string;
  annotations?: Record<string, string>;
}

/** Why a manifest was refused, for the caller to word as its protocol words it. */
export class ManifestProblem extends Error {}

/**
 * Returns the parsed manifest; declaredType is the Content-Type (data plane) or
 * imageManifestMediaType (API), and wins only when the document has no mediaType.
 */
export function parseManifest(bytes: Buffer, declaredType: string | undefined): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    throw new ManifestProblem('Invalid JSON syntax');
  }
  const inner = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const declared = declaredType?.split(';')[0]?.trim() || undefined;
  if (inner && declared && declared !== inner && isManifestMediaType(declared)) {
    throw new ManifestProblem(
      `the manifest's mediaType '${inner}' does not match the declared media type '${declared}'`,
    );
  }
  let mediaType = inner ?? (declared && isManifestMediaType(declared) ? declared : undefined);
  if (!mediaType) {
    // An OCI document without mediaType: its shape tells which one it is.
    if (doc.schemaVersion === 1) {
      mediaType = Array.isArray(doc.signatures) ? MEDIA_TYPES.dockerSchema1Signed : MEDIA_TYPES.dockerSchema1;
    } else if (Array.isArray(doc.manifests)) mediaType = MEDIA_TYPES.ociIndex;
    else if (doc.config && typeof doc.config === 'object') mediaType = MEDIA_TYPES.ociManifest;
    else throw new ManifestProblem('the manifest has no mediaType and none was given');
  }
  if (!isManifestMediaType(mediaType)) throw new ManifestProblem(`unsupported manifest media type '${mediaType}'`);
  if (SCHEMA1_TYPES.has(mediaType)) return parseSchema1(doc, mediaType);
  if (doc.schemaVersion !== 2) throw new ManifestProblem('schemaVersion must be 2');
  const mediaTypeProblems = manifestMediaTypeProblems(doc);
  if (mediaTypeProblems.length > 0) throw new ManifestProblem(formatMediaTypeProblems(mediaTypeProblems).join('; '));

  const isIndex = INDEX_TYPES.has(mediaType);
  const out: ParsedManifest = { mediaType, isIndex, blobs: [], layersSize: 0, manifests: [] };
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw new ManifestProblem('an index needs a manifests array');
    for (const d of doc.manifests as Descriptor[]) out.manifests.push(descriptorDigest(d, 'manifests'));
  } else {
    const config = doc.config as Descriptor | undefined;
    if (!config || typeof config !== 'object') throw new ManifestProblem('an image manifest needs a config descriptor');
    out.blobs.push(descriptorDigest(config, 'config'));
    if (typeof config.mediaType === 'string') out.artifactMediaType = config.mediaType;
    const layers = doc.layers ?? [];
    if (!Array.isArray(layers)) throw new ManifestProblem('layers must be an array');
    for (const d of layers as Descriptor[]) {
      out.blobs.push(descriptorDigest(d, 'layers'));
      out.layersSize += typeof d.size === 'number' ? d.size : 0;
    }
  }
  if (typeof doc.artifactType === 'string') {
    out.artifactType = doc.artifactType;
    out.artifactMediaType = doc.artifactType;
  } else if (!isIndex && out.artifactMediaType && !isImageConfig(out.artifactMediaType)) {
    out.artifactType = out.artifactMediaType;
  }
  const subject = doc.subject as Descriptor | undefined;
  if (subject && typeof subject === 'object') out.subject = descriptorDigest(subject, 'subject');
  if (doc.annotations && typeof doc.annotations === 'object')
    out.annotations = doc.annotations as Record<string, string>;
  return out;
}

function isImageConfig(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.oci.image.config.v1+json' ||
    mediaType === 'application/vnd.docker.container.image.v1+json'
  );
}

function descriptorDigest(d: Descriptor, where: string): string {
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || !/^[a-z0-9]+:[a-zA-Z0-9=_-]+$/.test(d.digest)) {
    throw new ManifestProblem(`a descriptor in ${where} has no valid digest`);
  }
  if (typeof d.size !== 'number' || d.size < 0) throw new ManifestProblem(`a descriptor in ${where} has no valid size`);
  return d.digest;
}

/**
 * Reads a Docker schema 1 manifest (signed or not): its layers are the fsLayers' blobSums,
 * which must exist like any other layer; there is no config blob. The signature is not
 * checked (ECR's check, if any, is not documented).
 */
function parseSchema1(doc: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (doc.schemaVersion !== 1) throw new ManifestProblem('a schema 1 manifest needs schemaVersion 1');
  if (typeof doc.name !== 'string' || doc.name === '') throw new ManifestProblem('a schema 1 manifest needs a name');
  if (!Array.isArray(doc.fsLayers) || doc.fsLayers.length === 0) {
    throw new ManifestProblem('a schema 1 manifest needs fsLayers');
  }
  if (!Array.isArray(doc.history) || doc.history.length !== doc.fsLayers.length) {
    throw new ManifestProblem('a schema 1 manifest needs one history entry per fsLayers entry');
  }
  if (mediaType === MEDIA_TYPES.dockerSchema1Signed && !Array.isArray(doc.signatures)) {
    throw new ManifestProblem('a signed schema 1 manifest needs signatures');
  }
  const blobs: string[] = [];
  for (const layer of doc.fsLayers as { blobSum?: unknown }[]) {
    const sum = layer && typeof layer === 'object' ? layer.blobSum : undefined;
    if (typeof sum !== 'string' || !/^[a-z0-9]+:[a-zA-Z0-9=_-]+$/.test(sum)) {
      throw new ManifestProblem('an fsLayers entry has no valid blobSum');
    }
    if (!blobs.includes(sum)) blobs.push(sum);
  }
  return { mediaType, isIndex: false, blobs, layersSize: 0, manifests: [], schema1: true };
}

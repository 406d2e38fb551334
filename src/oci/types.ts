// The OCI image model: descriptors, manifests, indexes, platforms. Types only, no behaviour.

/** Points at content by digest: what every manifest and index is made of. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI image manifest or Docker v2 schema 2 manifest (same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or Docker manifest list (same shape). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

/** A manifest as bytes plus what we know of them: bytes are kept exact for digests. */
export interface ManifestBlob {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/** The 4 MiB manifest size limit that ECR and most registries enforce. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

// The one interface the copy engine sees: every place an image can come from or go to
// (a registry repository, an OCI layout directory, a docker-archive tar) implements it, so
// that copy.ts treats all sources and destinations alike (the regclient scheme idea).
import type { Readable } from 'node:stream';
import type { Descriptor, ManifestBlob } from './types.js';

export interface OpOptions {
  signal?: AbortSignal;
}

export interface BlobWriteOptions extends OpOptions {
  /** Called with the number of bytes sent so far (monotonic, may be called often). */
  onProgress?: (bytesSent: number) => void;
}

/** How a blob reached the destination. */
export type BlobPutResult = 'uploaded' | 'skipped' | 'mounted';

/** Where an image can be read from. */
export interface ImageSource {
  /** A short name for messages: `127.0.0.1:5000/team/app`, `oci:./out`. */
  readonly displayName: string;
  /** Returns the manifest (or index) for a tag or digest; throws NotFoundError when absent. */
  getManifest(reference: string, opts?: OpOptions): Promise<ManifestBlob>;
  /**
   * Returns a stream of a blob's bytes from offset (default 0). The stream need not be
   * verified here: every ImageTarget.putBlob verifies size and digest as bytes pass, so
   * hashing twice would only cost time.
   */
  openBlob(descriptor: Descriptor, opts?: OpOptions & { offset?: number }): Promise<Readable>;
  /** Returns every tag, in the order the source keeps them. */
  listTags(opts?: OpOptions): Promise<string[]>;
  /** Returns the descriptors of manifests whose subject is digest (OCI 1.1 referrers). */
  listReferrers?(digest: string, opts?: OpOptions): Promise<Descriptor[]>;
  /** Releases files or connections. */
  close?(): Promise<void>;
  /** The registry host and repository when the source is a registry (for mounts). */
  readonly registry?: { host: string; repository: string };
}

/** Where an image can be written to. Writes are not visible until commit(). */
export interface ImageTarget {
  readonly displayName: string;
  /** Returns true when the blob is already present (no upload needed). */
  hasBlob(descriptor: Descriptor, opts?: OpOptions): Promise<boolean>;
  /**
   * Stores a blob whose bytes come from open(); open may be called again to restart after a
   * failure, with the offset to start from (a source that cannot seek may start from 0 and
   * the caller skips bytes). Verifies size and digest.
   */
  putBlob(
    descriptor: Descriptor,
    open: (offset: number) => Promise<Readable>,
    opts?: BlobWriteOptions,
  ): Promise<BlobPutResult>;
  /** Tries a cross-repository mount within one registry; false when the registry declined. */
  mountBlob?(descriptor: Descriptor, fromRepository: string, opts?: OpOptions): Promise<boolean>;
  /** Returns the descriptor of a manifest by tag or digest, or undefined when absent. */
  headManifest(reference: string, opts?: OpOptions): Promise<Descriptor | undefined>;
  /** Stores a manifest by its digest, and under tag when given. Returns the digest. */
  putManifest(manifest: ManifestBlob, tag?: string, opts?: OpOptions): Promise<string>;
  /** Makes everything written visible at once (renames temp output into place). */
  commit(opts?: OpOptions): Promise<void>;
  /** Discards everything written since opening (no half-written output remains). */
  abort(): Promise<void>;
  /** The registry host and repository when the target is a registry (for mounts). */
  readonly registry?: { host: string; repository: string };
}

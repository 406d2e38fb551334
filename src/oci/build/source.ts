// The image a build or rebase made, as an ImageSource for the copy engine: new manifests,
// configs and layers come from memory (or are made again), every other blob is read from the
// base's source — so base layers move registry → target by the engine's skip, mount or
// stream, and never through a file here.
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { NotFoundError } from '../../errors.js';
import type { ImageSource, OpOptions } from '../store.js';
import type { Descriptor, ManifestBlob } from '../types.js';

/** A blob made here: bytes in memory or a function that makes them. */
export type NewBlob = { bytes: Buffer } | { open: () => Readable };

/** Drops the first `n` bytes of a stream (a restarted upload asks for an offset). */
class Skip extends Transform {
  #left: number;
  constructor(n: number) {
    super();
    this.#left = n;
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    if (this.#left >= chunk.length) {
      this.#left -= chunk.length;
      done();
      return;
    }
    const rest = chunk.subarray(this.#left);
    this.#left = 0;
    done(null, rest);
  }
}

/** An ImageSource over new manifests and blobs, falling back to base sources for other blobs. */
export class BuiltImageSource implements ImageSource {
  readonly displayName: string;
  readonly registry?: { host: string; repository: string };
  readonly #manifests = new Map<string, ManifestBlob>();
  readonly #blobs = new Map<string, NewBlob>();
  readonly #bases: ImageSource[];
  readonly #origins = new Map<string, ImageSource>();

  /**
   * `registry` is the base's registry repository when the engine may mount from it; leave it
   * out when base and target are the same repository (the engine would then skip every
   * blob, the new ones included) or different registries.
   */
  constructor(displayName: string, bases: ImageSource[], registry?: { host: string; repository: string }) {
    this.displayName = displayName;
    this.#bases = bases;
    if (registry) this.registry = registry;
  }

  /** Adds a manifest this source serves by digest. */
  addManifest(m: ManifestBlob): void {
    this.#manifests.set(m.digest, m);
  }

  /** Adds a blob made here. */
  addBlob(digest: string, blob: NewBlob): void {
    this.#blobs.set(digest, blob);
  }

  /** Says which source holds a blob that was not made here (saves asking the others first). */
  addOrigin(digest: string, source: ImageSource): void {
    this.#origins.set(digest, source);
  }

  /** Returns true when the blob was made here (not a base blob). */
  isNew(digest: string): boolean {
    return this.#blobs.has(digest);
  }

  async getManifest(reference: string): Promise<ManifestBlob> {
    const m = this.#manifests.get(reference);
    if (!m) throw new NotFoundError(`the built image has no manifest ${reference}`);
    return m;
  }

  async openBlob(descriptor: Descriptor, opts: OpOptions & { offset?: number } = {}): Promise<Readable> {
    const made = this.#blobs.get(descriptor.digest);
    if (made) {
      const offset = opts.offset ?? 0;
      if ('bytes' in made) {
        const s = new PassThrough();
        s.end(made.bytes.subarray(offset));
        return s;
      }
      const s = made.open();
      return offset > 0 ? s.pipe(new Skip(offset)) : s;
    }
    const origin = this.#origins.get(descriptor.digest);
    if (origin) return origin.openBlob(descriptor, opts);
    let last: unknown;
    for (const base of this.#bases) {
      try {
        return await base.openBlob(descriptor, opts);
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new NotFoundError(`blob ${descriptor.digest} is neither new nor in a base image`);
  }

  async listTags(): Promise<string[]> {
    return [];
  }
}

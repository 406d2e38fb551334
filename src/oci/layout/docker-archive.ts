// `docker save` archives, read in place and written atomically.
//
// Two forms exist. The classic one (Docker < 25, skopeo, go-containerregistry) has a
// manifest.json listing each image's Config (`<id>.json`), RepoTags and Layers (uncompressed
// `<id>/layer.tar`); no registry manifest is stored, so one is synthesized. The modern one
// (Docker >= 25) is an OCI image layout inside the tar (`oci-layout`, `index.json`,
// `blobs/sha256/…`) plus the same manifest.json for old readers. The writer produces the
// modern form, which `docker load` (old and new) and skopeo both read.
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { EcrctlError, NotFoundError, UsageError } from '../../errors.js';
import { isDigest, sha256Digest } from '../digest.js';
import { isIndexMediaType, MediaType } from '../media-types.js';
import type { BlobPutResult, BlobWriteOptions, ImageSource, ImageTarget, OpOptions } from '../store.js';
import { type Descriptor, MAX_MANIFEST_BYTES, type ManifestBlob } from '../types.js';
import {
  checkedDescriptor,
  checkedDigest,
  checkedManifestJson,
  BLOB_READ_CHUNK,
  childDigests,
  IMAGE_NAME,
  layoutError,
  manifestMediaType,
  mapDiskFull,
  READ_FLAGS,
  REF_NAME,
  verifyBytes,
  writeVerified,
} from './common.js';
import { removeStaleTemps, siblingTempPattern, tempSuffix } from './stale-temp.js';
import { BLOCK, indexTar, isRegularFile, TAR_END, type TarEntry, tarHeader, tarPadding } from './tar.js';

const MAX_METADATA_BYTES = 64 * 1024 * 1024;
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;

export interface DockerArchiveOptions {
  /** The name used in messages; defaults to `docker-archive:<file as given>`. */
  displayName?: string;
}

/** One image the archive offers: its names and where its manifest comes from. */
interface ArchiveImage {
  /** RepoTags and index.json names, as written in the archive. */
  names: string[];
  /** OCI form: the index.json descriptor. */
  descriptor?: Descriptor;
  /** Classic form: the manifest.json item, synthesized into a manifest on first use. */
  classic?: { config: TarEntry; layers: TarEntry[] };
}

/** Reads images out of a `docker save` tar (classic or OCI form) without unpacking it. */
export class DockerArchiveReader implements ImageSource {
  readonly displayName: string;
  readonly file: string;
  readonly #entries: Map<string, TarEntry>;
  readonly #images: ArchiveImage[];
  /** The reference given to open(): what getManifest('') means. */
  readonly #defaultRef: string;
  /** Classic form: synthesized manifests and the tar entries of their blobs, by digest. */
  readonly #synthesized = new Map<string, ManifestBlob>();
  readonly #blobs = new Map<string, TarEntry>();
  readonly #layerDigests = new Map<TarEntry, string>();

  private constructor(
    file: string,
    name: string,
    entries: Map<string, TarEntry>,
    images: ArchiveImage[],
    defaultRef: string,
  ) {
    this.file = file;
    this.displayName = name;
    this.#entries = entries;
    this.#images = images;
    this.#defaultRef = defaultRef;
  }

  /**
   * Opens an archive and selects the image ref names: a RepoTag (`team/app:v1`), `@N` (the
   * Nth image), a digest, or undefined for the only image. Throws for hostile or broken
   * archives (bad paths, missing layers, truncation) before anything is read from them.
   */
  static async open(file: string, ref?: string, options: DockerArchiveOptions = {}): Promise<DockerArchiveReader> {
    const name = options.displayName ?? `docker-archive:${file}`;
    const abs = path.resolve(file);
    let entries: Map<string, TarEntry>;
    try {
      entries = await indexTar(abs, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`${name}: the file does not exist`, { value: file, fix: 'check the path' });
      }
      throw err;
    }
    const images = entries.has('index.json')
      ? await ociImages(abs, name, entries)
      : await classicImages(abs, name, entries);
    const reader = new DockerArchiveReader(abs, name, entries, images, ref ?? '');
    if (ref !== undefined && !/^sha(256|512):/.test(ref)) reader.#select(ref); // fail early on a wrong name
    return reader;
  }

  /** Returns the names of every image (RepoTags, else index.json names), in archive order. */
  async listTags(_opts?: OpOptions): Promise<string[]> {
    return [...new Set(this.#images.flatMap((i) => i.names))];
  }

  /**
   * Returns a manifest: '' for the image chosen at open, a name or `@N`, or a digest (an
   * image's or a child manifest's). Synthesized for classic archives.
   */
  async getManifest(reference: string, _opts?: OpOptions): Promise<ManifestBlob> {
    if (reference === '' && this.#defaultRef !== '') return this.getManifest(this.#defaultRef);
    if (isDigest(reference) || /^sha(256|512):/.test(reference)) {
      checkedDigest(reference, this.displayName, 'reference', 'digest');
      const synthesized = this.#synthesized.get(reference);
      if (synthesized !== undefined) return synthesized;
      for (const image of this.#images) {
        if (image.classic !== undefined && (await this.#classicManifest(image)).digest === reference) {
          return this.#synthesized.get(reference)!;
        }
      }
      const top = this.#images.find((i) => i.descriptor?.digest === reference)?.descriptor;
      return this.#readManifestBlob(reference, top);
    }
    const index = this.#select(reference);
    const image = this.#images[index]!;
    if (image.classic !== undefined) return this.#classicManifest(image);
    return this.#readManifestBlob(image.descriptor!.digest, image.descriptor);
  }

  /** Returns a stream of a blob's bytes from offset, straight out of the tar (verified by the copy engine). */
  async openBlob(descriptor: Descriptor, opts: OpOptions & { offset?: number } = {}): Promise<Readable> {
    const entry = this.#blobEntry(descriptor.digest);
    return await this.#stream(entry, opts.offset ?? 0);
  }

  /** Nothing to release: every read opens and closes its own file handle. */
  async close(): Promise<void> {}

  // ---- internals --------------------------------------------------------------------

  /** Returns the index of the image a reference selects, or throws listing the choices. */
  #select(reference: string): number {
    const images = this.#images;
    const choices = images.map((img, i) => `${img.names[0] ?? '(untagged)'} (@${i})`).join(', ');
    if (reference === '') {
      if (images.length === 1) return 0;
      throw new UsageError(
        images.length === 0
          ? `${this.displayName}: the archive holds no images`
          : `${this.displayName}: the archive holds ${images.length} images; choose one: ${choices}`,
        {
          rule: 'a docker-archive source with several images names one',
          fix: 'write docker-archive:FILE:NAME:TAG or docker-archive:FILE:@N',
        },
      );
    }
    const at = /^@(\d+)$/.exec(reference);
    if (at) {
      const n = Number(at[1]);
      if (n < images.length) return n;
      throw new NotFoundError(`${this.displayName}: no image @${n}; the archive holds ${images.length}`, {
        value: reference,
        fix: `choices: ${choices}`,
      });
    }
    const wanted = familiar(reference);
    const matches = images
      .map((img, i) => ({ img, i }))
      .filter(({ img }) => img.names.some((n) => n === reference || familiar(n) === wanted));
    if (matches.length === 1) return matches[0]!.i;
    if (matches.length > 1) {
      throw new UsageError(`${this.displayName}: ${JSON.stringify(reference)} names ${matches.length} images`, {
        fix: `choose by position: ${matches.map(({ i }) => `@${i}`).join(', ')}`,
      });
    }
    throw new NotFoundError(`${this.displayName}: no image named ${JSON.stringify(reference)}`, {
      value: reference,
      fix: images.length > 0 ? `choices: ${choices}` : 'the archive holds no images',
    });
  }

  async #classicManifest(image: ArchiveImage): Promise<ManifestBlob> {
    const { config, layers } = image.classic!;
    const configBytes = await readEntry(this.file, config, MAX_CONFIG_BYTES, this.displayName);
    const configDigest = sha256Digest(configBytes);
    this.#blobs.set(configDigest, config);
    const layerDescriptors: Descriptor[] = [];
    for (const layer of layers) {
      const digest = await this.#layerDigest(layer);
      this.#blobs.set(digest, layer);
      layerDescriptors.push({ mediaType: await layerMediaType(this.file, layer), digest, size: layer.size });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers: layerDescriptors,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const blob: ManifestBlob = { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), bytes };
    this.#synthesized.set(blob.digest, blob);
    return blob;
  }

  /** Returns a layer's digest: from its name when it is `blobs/sha256/<hex>`, else by hashing it once. */
  async #layerDigest(layer: TarEntry): Promise<string> {
    const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(layer.name);
    if (named) return `sha256:${named[1]}`;
    const cached = this.#layerDigests.get(layer);
    if (cached !== undefined) return cached;
    const hash = createHash('sha256');
    for await (const chunk of await this.#stream(layer)) hash.update(chunk as Buffer);
    const digest = `sha256:${hash.digest('hex')}`;
    this.#layerDigests.set(layer, digest);
    return digest;
  }

  async #readManifestBlob(digest: string, desc: Descriptor | undefined): Promise<ManifestBlob> {
    const entry = this.#blobEntry(digest);
    if (entry.size > MAX_MANIFEST_BYTES) {
      throw layoutError(
        this.displayName,
        entry.name,
        `manifest is ${entry.size} bytes; the limit is ${MAX_MANIFEST_BYTES} (4 MiB)`,
        {
          rule: 'manifests are at most 4 MiB',
        },
      );
    }
    const bytes = await readEntry(this.file, entry, MAX_MANIFEST_BYTES, this.displayName);
    verifyBytes(bytes, digest, desc?.size, this.displayName, entry.name);
    const json = checkedManifestJson(bytes, this.displayName, entry.name);
    return { mediaType: manifestMediaType(json, desc?.mediaType), digest, bytes };
  }

  #blobEntry(digest: string): TarEntry {
    const { algorithm, hex } = checkedDigest(digest, this.displayName, 'blob', 'digest');
    const known = this.#blobs.get(digest);
    if (known !== undefined) return known;
    const name = `blobs/${algorithm}/${hex}`;
    const entry = this.#entries.get(name);
    if (entry === undefined) {
      throw new NotFoundError(`${this.displayName}: blob ${digest} is not in the archive (${name})`, {
        value: digest,
        fix: 'the archive is incomplete; save the image again',
      });
    }
    checkRegular(entry, this.displayName, name, name);
    return entry;
  }

  async #stream(entry: TarEntry, from = 0): Promise<Readable> {
    if (entry.size <= from) return Readable.from([]);
    const fh = await open(this.file, READ_FLAGS);
    // autoClose (the default) closes fh when the stream ends, fails or is destroyed.
    return fh.createReadStream({
      start: entry.offset + from,
      end: entry.offset + entry.size - 1,
      highWaterMark: BLOB_READ_CHUNK,
    });
  }
}

/** Writes a `docker load`-able archive that is also an OCI layout, atomically. */
export class DockerArchiveWriter implements ImageTarget {
  readonly displayName: string;
  readonly file: string;
  readonly #temp: string;
  readonly #ref: string | undefined;
  #fh: FileHandle | undefined;
  #pos = 0;
  #state: 'open' | 'committed' | 'aborted' = 'open';
  /** Serializes tar writes: entries go one after another. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #written = new Map<string, number>();
  readonly #manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  readonly #untagged: string[] = [];
  /** Tags by RepoTag (or bare ref name when there is no image name), in order. */
  readonly #tags = new Map<string, { repoTag: string | undefined; refName: string; digest: string }>();

  private constructor(file: string, temp: string, fh: FileHandle, ref: string | undefined, name: string) {
    this.file = file;
    this.#temp = temp;
    this.#fh = fh;
    this.#ref = ref;
    this.displayName = name;
  }

  /**
   * Starts writing an archive at file (via a temp file next to it, renamed on commit). ref is
   * the image name (`team/app:v1`) that bare tags given to putManifest are combined with.
   */
  static async create(file: string, ref?: string, options: DockerArchiveOptions = {}): Promise<DockerArchiveWriter> {
    const name = options.displayName ?? `docker-archive:${file}`;
    if (ref !== undefined && (ref.startsWith('@') || isDigest(ref))) {
      throw new UsageError(`${name}: an archive is written under a name, not ${JSON.stringify(ref)}`, {
        rule: 'a docker-archive destination is FILE or FILE:NAME[:TAG]',
        value: ref,
        fix: 'write e.g. docker-archive:./app.tar:team/app:v1',
      });
    }
    const abs = path.resolve(file);
    await mkdir(path.dirname(abs), { recursive: true });
    await removeStaleTemps(path.dirname(abs), siblingTempPattern(path.basename(abs)));
    const temp = path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${tempSuffix()}`);
    const fh = await open(temp, 'wx+', 0o644);
    const writer = new DockerArchiveWriter(abs, temp, fh, ref, name);
    try {
      const layout = Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }));
      await writer.#append(tarHeader('blobs/', 0, '5'));
      await writer.#append(tarHeader('blobs/sha256/', 0, '5'));
      await writer.#appendFile('oci-layout', layout);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  /** Returns true when the blob was already written into this archive. */
  async hasBlob(descriptor: Descriptor, _opts?: OpOptions): Promise<boolean> {
    return this.#written.get(descriptor.digest) === descriptor.size;
  }

  /** Streams a blob into the tar as `blobs/<alg>/<hex>`, verifying it; a failed blob is cut off again. */
  async putBlob(
    descriptor: Descriptor,
    openSource: (offset: number) => Promise<Readable>,
    opts: BlobWriteOptions = {},
  ): Promise<BlobPutResult> {
    return this.#serial(async () => {
      this.#assertOpen();
      const { algorithm, hex } = checkedDigest(descriptor.digest, this.displayName, 'blob', 'descriptor digest');
      if (this.#written.has(descriptor.digest)) return 'skipped';
      if (algorithm !== 'sha256') {
        throw new UsageError(`${this.displayName}: docker-archive stores sha256 blobs only`, {
          value: descriptor.digest,
        });
      }
      const start = this.#pos;
      const fh = this.#fh!;
      const pad = tarPadding(descriptor.size);
      try {
        await mapDiskFull(this.displayName, this.file, BLOCK + descriptor.size + pad.length, async () => {
          await fh.write(tarHeader(`blobs/sha256/${hex}`, descriptor.size), 0, BLOCK, start);
          await writeVerified(fh, start + BLOCK, descriptor, openSource, opts);
          if (pad.length > 0) await fh.write(pad, 0, pad.length, start + BLOCK + descriptor.size);
        });
      } catch (err) {
        // Cut the half-written entry off so the next blob starts on a clean boundary.
        if (this.#state === 'open') await fh.truncate(start).catch(() => undefined);
        throw err;
      }
      this.#pos = start + BLOCK + descriptor.size + tarPadding(descriptor.size).length;
      this.#written.set(descriptor.digest, descriptor.size);
      return 'uploaded';
    });
  }

  /** Returns the descriptor written under a tag or digest in this archive, or undefined. */
  async headManifest(reference: string, _opts?: OpOptions): Promise<Descriptor | undefined> {
    const digest = isDigest(reference) ? reference : this.#tags.get(this.#tagKey(reference))?.digest;
    const m = digest === undefined ? undefined : this.#manifests.get(digest);
    return m === undefined || digest === undefined
      ? undefined
      : { mediaType: m.mediaType, digest, size: m.bytes.length };
  }

  /**
   * Stores a manifest as a blob and, with a tag, names the image: a tag with a name
   * (`team/app:v1`) is a RepoTag; a bare tag (`v1`) joins the name given to create().
   */
  async putManifest(manifest: ManifestBlob, tag?: string, _opts?: OpOptions): Promise<string> {
    verifyBytes(manifest.bytes, manifest.digest, undefined, this.displayName, `manifest ${manifest.digest}`);
    if (tag !== undefined && isIndexMediaType(manifest.mediaType)) {
      throw new UsageError(`${this.displayName}: a docker-archive holds single-platform images, not an index`, {
        rule: 'docker load reads one image manifest per name',
        value: tag,
        fix: 'choose one platform (e.g. --platform linux/amd64), or pull into oci:DIR to keep all platforms',
      });
    }
    if (!this.#manifests.has(manifest.digest)) {
      await this.putBlob(
        { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length },
        async () => Readable.from([manifest.bytes]),
      );
      this.#manifests.set(manifest.digest, { mediaType: manifest.mediaType, bytes: manifest.bytes });
    }
    if (tag === undefined) {
      this.#untagged.push(manifest.digest);
    } else {
      const repoTag = this.#repoTag(tag);
      const key = repoTag ?? tag;
      this.#tags.delete(key);
      this.#tags.set(key, {
        repoTag,
        refName: repoTag === undefined ? tag : tagPart(repoTag),
        digest: manifest.digest,
      });
    }
    return manifest.digest;
  }

  /** Writes index.json, manifest.json and repositories, ends the tar and renames it into place. */
  async commit(_opts?: OpOptions): Promise<void> {
    await this.#serial(async () => {
      this.#assertOpen();
      const children = new Set([...this.#manifests.values()].flatMap((m) => childDigests(m.bytes)));
      const roots = [...new Set([...[...this.#tags.values()].map((t) => t.digest), ...this.#untagged])].filter(
        (d) => !children.has(d) || [...this.#tags.values()].some((t) => t.digest === d),
      );
      const index: Descriptor[] = [];
      const items: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
      const repositories: Record<string, Record<string, string>> = {};
      for (const digest of roots) {
        const m = this.#manifests.get(digest)!;
        const base = { mediaType: m.mediaType, digest, size: m.bytes.length };
        const tags = [...this.#tags.values()].filter((t) => t.digest === digest);
        if (tags.length === 0) index.push(base);
        for (const t of tags) {
          const annotations: Record<string, string> = { [REF_NAME]: t.refName };
          if (t.repoTag !== undefined) annotations[IMAGE_NAME] = qualified(t.repoTag);
          index.push({ ...base, annotations });
        }
        if (isIndexMediaType(m.mediaType)) continue;
        const json = JSON.parse(m.bytes.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
        const blobs = [json.config, ...(json.layers ?? [])];
        for (const d of blobs) {
          if (d === undefined || !this.#written.has(d.digest)) {
            throw new EcrctlError(
              `${this.displayName}: manifest ${digest} names blob ${d?.digest ?? '(no config)'} that was never written`,
              {
                fix: 'this is a bug in the caller: blobs are written before their manifest',
              },
            );
          }
        }
        const repoTags = tags.map((t) => t.repoTag).filter((t): t is string => t !== undefined);
        items.push({
          Config: blobPath(json.config!.digest),
          RepoTags: repoTags,
          Layers: (json.layers ?? []).map((l) => blobPath(l.digest)),
        });
        const top = json.layers?.at(-1)?.digest.slice('sha256:'.length);
        for (const t of repoTags) {
          if (top === undefined) continue;
          const repo = t.slice(0, t.length - tagPart(t).length - 1);
          repositories[repo] = { ...repositories[repo], [tagPart(t)]: top };
        }
      }
      await this.#appendFile(
        'index.json',
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index })),
      );
      await this.#appendFile('manifest.json', Buffer.from(JSON.stringify(items)));
      if (Object.keys(repositories).length > 0)
        await this.#appendFile('repositories', Buffer.from(JSON.stringify(repositories)));
      await this.#append(TAR_END);
      const fh = this.#fh!;
      await fh.truncate(this.#pos);
      await mapDiskFull(this.displayName, this.file, this.#pos, () => fh.sync());
      await fh.close();
      this.#fh = undefined;
      await rename(this.#temp, this.file);
      this.#state = 'committed';
    });
  }

  /** Deletes the temp file; the destination is untouched. */
  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    await rm(this.#temp, { force: true });
  }

  // ---- internals --------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#state !== 'open')
      throw new EcrctlError(`${this.displayName}: cannot write: the archive is ${this.#state}`);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #append(bytes: Buffer): Promise<void> {
    const fh = this.#fh!;
    await mapDiskFull(this.displayName, this.file, bytes.length, () => fh.write(bytes, 0, bytes.length, this.#pos));
    this.#pos += bytes.length;
  }

  async #appendFile(name: string, bytes: Buffer): Promise<void> {
    await this.#append(Buffer.concat([tarHeader(name, bytes.length), bytes, tarPadding(bytes.length)]));
  }

  /** Returns the RepoTag for a tag: itself when it names an image, else joined to create()'s name. */
  #repoTag(tag: string): string | undefined {
    if (tag === this.#ref || tag.includes('/') || tag.includes(':')) return withTag(tag);
    if (this.#ref === undefined) return undefined;
    const name = withTag(this.#ref);
    return `${name.slice(0, name.length - tagPart(name).length - 1)}:${tag}`;
  }

  #tagKey(tag: string): string {
    return this.#repoTag(tag) ?? tag;
  }
}

// ---- reading helpers ------------------------------------------------------------------

async function ociImages(file: string, place: string, entries: Map<string, TarEntry>): Promise<ArchiveImage[]> {
  const indexEntry = entries.get('index.json')!;
  checkRegular(indexEntry, place, 'index.json', 'index.json');
  const json = checkedManifestJson(await readEntry(file, indexEntry, MAX_METADATA_BYTES, place), place, 'index.json');
  if (!Array.isArray(json.manifests)) throw layoutError(place, 'index.json', 'has no manifests array');
  const descriptors = json.manifests.map((d, i) => checkedDescriptor(d, place, 'index.json', `manifests[${i}]`));
  // manifest.json's RepoTags name images in their familiar form; link them by config digest.
  const repoTagsByConfig = new Map<string, string[]>();
  const manifestJson = entries.get('manifest.json');
  if (manifestJson !== undefined) {
    for (const item of await readManifestJson(file, place, manifestJson)) {
      const config = /^blobs\/(sha256)\/([a-f0-9]{64})$/.exec(typeof item.Config === 'string' ? item.Config : '');
      if (config && Array.isArray(item.RepoTags))
        repoTagsByConfig.set(
          `sha256:${config[2]}`,
          item.RepoTags.filter((t) => typeof t === 'string'),
        );
    }
  }
  const images: ArchiveImage[] = [];
  for (const d of descriptors) {
    const names: string[] = [];
    if (repoTagsByConfig.size > 0 && !isIndexMediaType(d.mediaType)) {
      const { algorithm, hex } = checkedDigest(d.digest, place, 'index.json', 'digest');
      const entry = entries.get(`blobs/${algorithm}/${hex}`);
      if (entry !== undefined && isRegularFile(entry) && entry.size <= MAX_MANIFEST_BYTES) {
        const bytes = await readEntry(file, entry, MAX_MANIFEST_BYTES, place);
        verifyBytes(bytes, d.digest, d.size, place, entry.name);
        const config = (checkedManifestJson(bytes, place, entry.name).config as Descriptor | undefined)?.digest;
        if (config !== undefined) names.push(...(repoTagsByConfig.get(config) ?? []));
      }
    }
    // Annotations are not checked by checkedDescriptor: a name that is not a string is ignored.
    const full: unknown = d.annotations?.[IMAGE_NAME];
    if (typeof full === 'string') names.push(full);
    const refName: unknown = d.annotations?.[REF_NAME];
    if (typeof refName === 'string') names.push(refName);
    // Docker writes one index.json entry per tag; several tags of one image are one choice.
    const same = images.find((i) => i.descriptor?.digest === d.digest);
    if (same !== undefined) same.names = [...new Set([...same.names, ...names])];
    else images.push({ names: [...new Set(names)], descriptor: d });
  }
  return images;
}

interface ManifestItem {
  Config?: unknown;
  RepoTags?: unknown[] | null;
  Layers?: unknown;
}

async function readManifestJson(file: string, place: string, entry: TarEntry): Promise<ManifestItem[]> {
  checkRegular(entry, place, 'manifest.json', 'manifest.json');
  const bytes = await readEntry(file, entry, MAX_METADATA_BYTES, place);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw layoutError(place, 'manifest.json', `is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json)) throw layoutError(place, 'manifest.json', 'is not a JSON array');
  for (const [i, item] of json.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw layoutError(place, 'manifest.json', `[${i}] is not an object`);
  }
  return json as ManifestItem[];
}

async function classicImages(file: string, place: string, entries: Map<string, TarEntry>): Promise<ArchiveImage[]> {
  const manifestJson = entries.get('manifest.json');
  if (manifestJson === undefined) {
    throw layoutError(
      place,
      'manifest.json',
      'is missing: not a docker-archive (neither manifest.json nor index.json found)',
      {
        fix: 'use a file written by `docker save`, `skopeo copy … docker-archive:` or `ecrctl pull … docker-archive:`',
      },
    );
  }
  const items = await readManifestJson(file, place, manifestJson);
  return items.map((item, i) => {
    const config = resolveEntry(entries, place, item.Config, `[${i}].Config`);
    if (!Array.isArray(item.Layers)) throw layoutError(place, 'manifest.json', `[${i}].Layers is not an array`);
    const layers = item.Layers.map((l, j) => resolveEntry(entries, place, l, `[${i}].Layers[${j}]`));
    const names = Array.isArray(item.RepoTags) ? item.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { names, classic: { config, layers } };
  });
}

/** Returns the tar entry a manifest.json path names, refusing paths that leave the archive, links and missing entries. */
function resolveEntry(entries: Map<string, TarEntry>, place: string, value: unknown, field: string): TarEntry {
  if (typeof value !== 'string' || value === '')
    throw layoutError(place, 'manifest.json', `${field} is missing or not a string`);
  const shown = `${field} ${JSON.stringify(value)}`;
  if (value.startsWith('/'))
    throw layoutError(place, 'manifest.json', `${shown} is an absolute path; paths are relative to the archive`);
  const parts = value.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw layoutError(place, 'manifest.json', `${shown} leaves the archive with ".."`);
  const entry = entries.get(parts.join('/'));
  if (entry === undefined) throw layoutError(place, 'manifest.json', `${shown} is missing from the archive`);
  checkRegular(entry, place, 'manifest.json', shown);
  return entry;
}

function checkRegular(entry: TarEntry, place: string, where: string, shown: string): void {
  if (isRegularFile(entry)) return;
  const what =
    entry.type === '2'
      ? `is a symbolic link (to ${JSON.stringify(entry.linkName)})`
      : entry.type === '1'
        ? `is a hard link (to ${JSON.stringify(entry.linkName)})`
        : entry.type === '5'
          ? 'is a directory'
          : `is a tar entry of type ${JSON.stringify(entry.type)}`;
  throw layoutError(place, where, `${shown} ${what}; it must be a regular file in the archive`);
}

async function readEntry(file: string, entry: TarEntry, cap: number, place: string): Promise<Buffer> {
  if (entry.size > cap) throw layoutError(place, entry.name, `is ${entry.size} bytes; the limit is ${cap}`);
  const fh = await open(file, READ_FLAGS);
  try {
    const buf = Buffer.alloc(entry.size);
    let done = 0;
    while (done < entry.size) {
      const { bytesRead } = await fh.read(buf, done, entry.size - done, entry.offset + done);
      if (bytesRead === 0) throw layoutError(place, entry.name, 'truncated archive: the entry ends early');
      done += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/** Returns the OCI layer media type that a layer's first bytes reveal (gzip, zstd or plain tar). */
async function layerMediaType(file: string, entry: TarEntry): Promise<string> {
  const head = Buffer.alloc(4);
  const fh = await open(file, READ_FLAGS);
  try {
    await fh.read(head, 0, Math.min(4, entry.size), entry.offset);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
  if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}

// ---- names ----------------------------------------------------------------------------

/** Returns the tag part of `name:tag` ('' when there is none). */
function tagPart(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : '';
}

/** Returns name with `:latest` added when it has no tag. */
function withTag(name: string): string {
  return tagPart(name) === '' && !name.includes('@') ? `${name}:latest` : name;
}

/** Returns a name in Docker's short form: no `docker.io/`, no `library/`, with a tag. */
function familiar(name: string): string {
  let n = withTag(name);
  if (n.startsWith('docker.io/')) n = n.slice('docker.io/'.length);
  if (n.startsWith('library/') && n.indexOf('/', 'library/'.length) < 0) n = n.slice('library/'.length);
  return n;
}

/** Returns a name in the fully qualified form containerd writes (`docker.io/library/app:v1`). */
function qualified(name: string): string {
  const first = name.split('/')[0]!;
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return name;
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}

function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

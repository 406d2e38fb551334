// An OCI image layout directory (image-spec image-layout.md) as both a source and a target.
// Reads never trust the directory: every digest is parsed before a path is built from it,
// blobs must be regular files inside the layout, manifests are size-capped and verified.
// Writes are atomic: a new layout is built in a sibling temp dir and renamed into place on
// commit(); an existing layout gets blobs in place (content-addressed) and a new index.json
// by write-temp-then-rename.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readlink, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EcrctlError, NotFoundError, UsageError } from '../../errors.js';
import { isDigest, VerifyingStream } from '../digest.js';
import { MediaType } from '../media-types.js';
import type { BlobPutResult, BlobWriteOptions, ImageSource, ImageTarget, OpOptions } from '../store.js';
import { type Descriptor, MAX_MANIFEST_BYTES, type ManifestBlob } from '../types.js';
import {
  checkedDescriptor,
  checkedDigest,
  checkedManifestJson,
  BLOB_READ_CHUNK,
  childDigests,
  layoutError,
  manifestMediaType,
  mapDiskFull,
  READ_FLAGS,
  REF_NAME,
  verifyBytes,
  writeVerified,
} from './common.js';
import {
  BLOB_TEMP_PATTERN,
  INDEX_TEMP_PATTERN,
  removeStaleTemps,
  siblingTempPattern,
  tempSuffix,
} from './stale-temp.js';
import { plural } from '../../text.js';

/** index.json lists every tag; allow far more than a manifest, but still refuse absurd sizes. */
const MAX_INDEX_JSON_BYTES = 64 * 1024 * 1024;
const LAYOUT_VERSION = '1.0.0';

export interface OciLayoutOptions {
  /** The name used in messages; defaults to `oci:<dir as given>`. */
  displayName?: string;
}

interface IndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  [key: string]: unknown;
}

type State = 'read' | 'open' | 'committed' | 'aborted';

/** An OCI image layout directory, readable as an ImageSource and writable as an ImageTarget. */
export class OciLayout implements ImageSource, ImageTarget {
  readonly displayName: string;
  /** The directory the user named (absolute). */
  readonly dir: string;
  /** Where reads and writes happen now: dir itself, or the sibling temp dir of a new layout. */
  #root: string;
  #realRoot: string;
  #isNew: boolean;
  #state: State;
  #index: IndexJson;
  /** Tags written in this session, applied to index.json on commit (in order). */
  readonly #tagged = new Map<string, Descriptor>();
  /** Manifests written without a tag; those no other written manifest points at become roots. */
  readonly #untagged = new Map<string, Descriptor>();
  readonly #children = new Set<string>();
  /** Blobs verified in this session: putBlob skips them without hashing again. */
  readonly #verified = new Set<string>();
  readonly #tempFiles = new Set<string>();

  private constructor(
    dir: string,
    root: string,
    realRoot: string,
    isNew: boolean,
    state: State,
    index: IndexJson,
    name: string,
  ) {
    this.dir = dir;
    this.#root = root;
    this.#realRoot = realRoot;
    this.#isNew = isNew;
    this.#state = state;
    this.#index = index;
    this.displayName = name;
  }

  /** Opens an existing layout for reading; throws NotFoundError when dir is not a layout. */
  static async open(dir: string, options: OciLayoutOptions = {}): Promise<OciLayout> {
    const name = options.displayName ?? `oci:${dir}`;
    const abs = path.resolve(dir);
    const kind = await probe(abs);
    if (kind !== 'layout') {
      throw new NotFoundError(
        `${name}: not an OCI image layout (${kind === 'missing' ? 'the directory does not exist' : 'no oci-layout file'})`,
        {
          value: dir,
          fix: 'point at a directory written by `ecrctl pull … oci:DIR`, skopeo or another OCI tool',
        },
      );
    }
    await checkLayoutFile(abs, name);
    const index = await readIndexJson(abs, name);
    return new OciLayout(abs, abs, await realpath(abs), false, 'read', index, name);
  }

  /**
   * Opens dir as a write target: a new layout when dir is missing or an empty directory
   * (built in a sibling temp dir, renamed into place on commit), else an existing layout
   * (new tags added, entries with other ref names kept). Also readable.
   */
  static async create(dir: string, options: OciLayoutOptions = {}): Promise<OciLayout> {
    const name = options.displayName ?? `oci:${dir}`;
    const abs = path.resolve(dir);
    const kind = await probe(abs);
    if (kind === 'layout') {
      await checkLayoutFile(abs, name);
      await removeStaleTemps(abs, INDEX_TEMP_PATTERN);
      await removeStaleTemps(path.join(abs, 'blobs'), BLOB_TEMP_PATTERN);
      // Refuse before downloading anything: a symlinked blobs/ would receive every blob.
      for (const alg of ['sha256', 'sha512']) await realDirs(abs, ['blobs', alg], name, false);
      const index = await readIndexJson(abs, name);
      return new OciLayout(abs, abs, await realpath(abs), false, 'open', index, name);
    }
    if (kind === 'file' || kind === 'other') {
      throw new UsageError(`${name}: ${dir} exists and is not an OCI image layout`, {
        rule: 'an oci: destination is a new directory, an empty one, or an existing OCI layout',
        value: dir,
        fix: 'choose a new or empty directory, or remove the existing one',
      });
    }
    const parent = path.dirname(abs);
    await mkdir(parent, { recursive: true });
    await removeStaleTemps(parent, siblingTempPattern(path.basename(abs)));
    const temp = path.join(parent, `.${path.basename(abs)}.tmp-${tempSuffix()}`);
    await mapDiskFull(name, abs, 4096, () => mkdir(temp));
    const index: IndexJson = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    return new OciLayout(abs, temp, await realpath(temp), true, 'open', index, name);
  }

  // ---- ImageSource ------------------------------------------------------------------

  /**
   * Returns the manifest for a tag (ref.name annotation), a digest, or '' for the only image
   * in the layout. The bytes are size-capped at 4 MiB and verified against the digest.
   */
  async getManifest(reference: string, _opts?: OpOptions): Promise<ManifestBlob> {
    const desc = this.#resolve(reference);
    return this.#readManifest(desc.digest, desc);
  }

  /** Returns a stream of a blob file from offset (not verified: the copy engine verifies). */
  async openBlob(descriptor: Descriptor, opts: OpOptions & { offset?: number } = {}): Promise<Readable> {
    const file = await this.#blobFile(descriptor.digest, 'blob', true);
    if (file === undefined) throw this.#missing(descriptor.digest);
    const fh = await open(file.path, READ_FLAGS);
    return fh.createReadStream({ start: opts.offset ?? 0, highWaterMark: BLOB_READ_CHUNK });
  }

  /** Returns every tag in index.json order (then tags written in this session). */
  async listTags(_opts?: OpOptions): Promise<string[]> {
    const tags: string[] = [];
    for (const d of this.#index.manifests) {
      const tag = d.annotations?.[REF_NAME];
      if (tag !== undefined && !tags.includes(tag)) tags.push(tag);
    }
    for (const tag of this.#tagged.keys()) if (!tags.includes(tag)) tags.push(tag);
    return tags;
  }

  /** Returns the index.json entries whose manifest has subject digest (OCI 1.1 referrers). */
  async listReferrers(digest: string, _opts?: OpOptions): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of [...this.#index.manifests, ...this.#untagged.values()]) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      const m = await this.#readManifest(d.digest, d);
      const json = JSON.parse(m.bytes.toString('utf8')) as Record<string, unknown>;
      const subject = json.subject as Descriptor | undefined;
      if (subject?.digest !== digest) continue;
      const config = json.config as Descriptor | undefined;
      const artifactType = typeof json.artifactType === 'string' ? json.artifactType : config?.mediaType;
      const referrer: Descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
      if (artifactType !== undefined) referrer.artifactType = artifactType;
      if (json.annotations !== undefined) referrer.annotations = json.annotations as Record<string, string>;
      found.push(referrer);
    }
    return found;
  }

  // ---- ImageTarget ------------------------------------------------------------------

  /** Returns true when a blob of the descriptor's digest and size is in the layout. */
  async hasBlob(descriptor: Descriptor, _opts?: OpOptions): Promise<boolean> {
    const file = await this.#blobFile(descriptor.digest, 'blob', false);
    return file !== undefined && file.size === descriptor.size;
  }

  /** Stores a blob under a temp name in blobs/ and renames it once verified. */
  async putBlob(
    descriptor: Descriptor,
    openSource: (offset: number) => Promise<Readable>,
    opts: BlobWriteOptions = {},
  ): Promise<BlobPutResult> {
    this.#assertWritable();
    const { algorithm, hex } = checkedDigest(descriptor.digest, this.displayName, 'blob', 'descriptor digest');
    if (this.#verified.has(descriptor.digest)) return 'skipped';
    const existing = await this.#blobFile(descriptor.digest, 'blob', false);
    if (
      existing !== undefined &&
      existing.size === descriptor.size &&
      (await this.#verifyFile(existing.path, descriptor))
    ) {
      this.#verified.add(descriptor.digest);
      return 'skipped';
    }
    const shown = path.join(this.dir, 'blobs', algorithm, hex);
    const temp = path.join(
      this.#root,
      'blobs',
      `.tmp-${process.pid}-${hex.slice(0, 12)}-${randomBytes(6).toString('hex')}`,
    );
    this.#tempFiles.add(temp);
    try {
      return await mapDiskFull(this.displayName, shown, descriptor.size, async () => {
        // Checked again per blob: the directories may have been swapped since create().
        const dir = await realDirs(this.#root, ['blobs', algorithm], this.displayName, true);
        const fh = await open(temp, 'wx+', 0o644);
        try {
          await writeVerified(fh, 0, descriptor, openSource, opts);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await realDirs(this.#root, ['blobs', algorithm], this.displayName, false);
        await rename(temp, path.join(dir, hex));
        this.#verified.add(descriptor.digest);
        return 'uploaded' as const;
      });
    } finally {
      this.#tempFiles.delete(temp);
      await rm(temp, { force: true });
    }
  }

  /** Returns the descriptor for a tag or digest (including writes of this session), or undefined. */
  async headManifest(reference: string, _opts?: OpOptions): Promise<Descriptor | undefined> {
    const pending = this.#tagged.get(reference);
    if (pending !== undefined) return pending;
    const entry = this.#findTag(reference);
    if (entry !== undefined) return entry;
    if (!isDigest(reference)) return undefined;
    const file = await this.#blobFile(reference, 'manifest', false);
    if (file === undefined) return undefined;
    const m = await this.#readManifest(reference, undefined);
    return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
  }

  /** Stores manifest bytes as a blob and, with a tag, records the tag for index.json. */
  async putManifest(manifest: ManifestBlob, tag?: string, _opts?: OpOptions): Promise<string> {
    this.#assertWritable();
    checkedDigest(manifest.digest, this.displayName, 'manifest', 'digest');
    verifyBytes(manifest.bytes, manifest.digest, undefined, this.displayName, `manifest ${manifest.digest}`);
    if (manifest.bytes.length > MAX_MANIFEST_BYTES)
      throw tooBig(this.displayName, `manifest ${manifest.digest}`, manifest.bytes.length);
    if (tag !== undefined && tag.length === 0) {
      throw new UsageError(`${this.displayName}: empty tag`, {
        rule: 'a tag is not empty',
        value: tag,
        fix: 'use oci:DIR:TAG',
      });
    }
    if (!this.#verified.has(manifest.digest)) {
      await this.putBlob(
        { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length },
        async () => Readable.from([manifest.bytes]),
      );
    }
    for (const child of childDigests(manifest.bytes)) this.#children.add(child);
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.bytes.length,
    };
    if (tag === undefined) {
      this.#untagged.set(manifest.digest, descriptor);
    } else {
      this.#tagged.delete(tag); // re-adding moves the tag to the end, like a fresh write
      this.#tagged.set(tag, { ...descriptor, annotations: { [REF_NAME]: tag } });
    }
    return manifest.digest;
  }

  /** Writes index.json (temp then rename) and, for a new layout, renames the temp dir into place. */
  async commit(_opts?: OpOptions): Promise<void> {
    this.#assertWritable();
    // Re-read index.json so that tags another process added meanwhile are kept.
    const index = this.#isNew ? this.#index : await readIndexJson(this.#root, this.displayName);
    const manifests = [...index.manifests];
    for (const [tag, desc] of this.#tagged) {
      const at = manifests.findIndex((d) => d.annotations?.[REF_NAME] === tag);
      if (at >= 0) manifests[at] = desc;
      else manifests.push(desc);
    }
    for (const desc of this.#untagged.values()) {
      if (this.#children.has(desc.digest)) continue;
      if (manifests.some((d) => d.digest === desc.digest)) continue;
      manifests.push(desc);
    }
    const next: IndexJson = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
    const indexText = JSON.stringify(next);
    await mapDiskFull(this.displayName, path.join(this.dir, 'index.json'), Buffer.byteLength(indexText), async () => {
      if (this.#isNew) {
        await writeFileAtomic(
          path.join(this.#root, 'oci-layout'),
          JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }),
        );
      }
      await writeFileAtomic(path.join(this.#root, 'index.json'), indexText);
    });
    if (this.#isNew) {
      try {
        await rename(this.#root, this.dir);
      } catch (err) {
        throw new EcrctlError(
          `${this.displayName}: cannot move the finished layout into place: ${(err as Error).message}`,
          {
            value: this.dir,
            fix: 'the directory was created by something else meanwhile; choose another one',
            cause: err,
          },
        );
      }
      this.#root = this.dir;
      this.#realRoot = await realpath(this.dir);
    }
    this.#index = next;
    this.#state = 'committed';
  }

  /** Removes the temp dir of a new layout, or the temp files of writes in progress. */
  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    if (this.#isNew) {
      await rm(this.#root, { recursive: true, force: true });
      return;
    }
    await Promise.all([...this.#tempFiles].map((f) => rm(f, { force: true })));
  }

  // ---- internals --------------------------------------------------------------------

  #assertWritable(): void {
    if (this.#state !== 'open') {
      throw new EcrctlError(
        `${this.displayName}: cannot write: the layout is ${this.#state === 'read' ? 'open for reading only' : this.#state}`,
      );
    }
  }

  #findTag(tag: string): Descriptor | undefined {
    return this.#index.manifests.find((d) => d.annotations?.[REF_NAME] === tag);
  }

  #resolve(reference: string): { digest: string } & Partial<Descriptor> {
    if (reference === '') {
      const all = this.#index.manifests;
      if (all.length === 1) return all[0]!;
      const choices = all.map((d) => d.annotations?.[REF_NAME] ?? d.digest);
      throw new UsageError(
        all.length === 0
          ? `${this.displayName}: the layout holds no images`
          : `${this.displayName}: the layout holds ${plural(all.length, 'image')}; name one: ${choices.join(', ')}`,
        { rule: 'an oci: source without a tag must hold exactly one image', fix: 'use oci:DIR:TAG or oci:DIR@DIGEST' },
      );
    }
    const pending = this.#tagged.get(reference);
    if (pending !== undefined) return pending;
    const entry = this.#findTag(reference);
    if (entry !== undefined) return entry;
    if (/^sha(256|512):/.test(reference)) {
      checkedDigest(reference, this.displayName, 'reference', 'digest');
      return this.#index.manifests.find((d) => d.digest === reference) ?? { digest: reference };
    }
    const tags = this.#index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t) => t !== undefined);
    throw new NotFoundError(`${this.displayName}: no image tagged ${JSON.stringify(reference)}`, {
      value: reference,
      fix:
        tags.length > 0 ? `tags in this layout: ${tags.join(', ')}` : 'the layout has no tagged images; use a digest',
    });
  }

  async #readManifest(digest: string, desc: Partial<Descriptor> | undefined): Promise<ManifestBlob> {
    const file = await this.#blobFile(digest, 'manifest', true);
    if (file === undefined) throw this.#missing(digest);
    const entry = `blobs/${digest.replace(':', '/')}`;
    if (file.size > MAX_MANIFEST_BYTES) throw tooBig(this.displayName, entry, file.size);
    const bytes = await readExactly(file.path, file.size);
    verifyBytes(bytes, digest, desc?.size, this.displayName, entry);
    const json = checkedManifestJson(bytes, this.displayName, entry);
    return { mediaType: manifestMediaType(json, desc?.mediaType), digest, bytes };
  }

  /**
   * Returns the path and size of a blob after checking that the digest is well-formed and the
   * file is a regular file inside the layout, or undefined when it does not exist.
   */
  async #blobFile(digest: string, what: string, strict: boolean): Promise<{ path: string; size: number } | undefined> {
    const { algorithm, hex } = checkedDigest(digest, this.displayName, what, 'digest');
    const file = path.join(this.#root, 'blobs', algorithm, hex);
    const entry = `blobs/${algorithm}/${hex}`;
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
        return undefined;
      throw err;
    }
    if (!info.isFile()) {
      if (!strict) return undefined;
      throw layoutError(
        this.displayName,
        entry,
        info.isSymbolicLink() ? 'is a symbolic link; blobs must be regular files' : 'is not a regular file',
      );
    }
    const real = await realpath(file);
    if (!real.startsWith(this.#realRoot + path.sep)) {
      throw layoutError(this.displayName, entry, `resolves outside the layout (${real})`);
    }
    return { path: file, size: info.size };
  }

  async #verifyFile(file: string, descriptor: Descriptor): Promise<boolean> {
    try {
      await hashFile(file, descriptor);
      return true;
    } catch {
      return false;
    }
  }

  #missing(digest: string): NotFoundError {
    return new NotFoundError(`${this.displayName}: blob ${digest} is missing (blobs/${digest.replace(':', '/')})`, {
      value: digest,
      fix: 'the layout is incomplete; copy the image into it again',
    });
  }
}

function tooBig(place: string, entry: string, size: number): EcrctlError {
  return layoutError(place, entry, `manifest is ${size} bytes; the limit is ${MAX_MANIFEST_BYTES} (4 MiB)`, {
    rule: 'manifests are at most 4 MiB',
    value: String(size),
  });
}

/**
 * Returns root/parts… after checking that each of its components below root is a real
 * directory (lstat: not a symbolic link, not a file), creating missing ones when create is
 * set; without create, a missing component ends the check. Throws naming the component.
 */
async function realDirs(root: string, parts: string[], place: string, create: boolean): Promise<string> {
  let dir = root;
  for (const [i, part] of parts.entries()) {
    dir = path.join(dir, part);
    const rel = parts.slice(0, i + 1).join('/');
    let info = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (info === undefined) {
      if (!create) return dir;
      await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      info = await lstat(dir);
    }
    if (info.isDirectory()) continue;
    const link = info.isSymbolicLink();
    const what = link ? `is a symbolic link (to ${await readlink(dir).catch(() => '?')})` : 'is not a directory';
    throw new EcrctlError(`${place}: ${rel} ${what}; the layout's directories must be real directories inside it`, {
      rule: 'ecrctl writes into an OCI layout only through real directories, so no blob lands outside it',
      value: dir,
      fix: link
        ? `replace ${dir} with a real directory (move what it points at into it), or pull into a new directory`
        : `move ${dir} away, or pull into a new directory`,
    });
  }
  return dir;
}

/** Returns what is at abs: a layout, an empty or missing dir, a file, or another dir. */
async function probe(abs: string): Promise<'layout' | 'missing' | 'empty' | 'file' | 'other'> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  if (!info.isDirectory()) return 'file';
  const names = await readdir(abs);
  if (names.length === 0) return 'empty';
  return names.includes('oci-layout') ? 'layout' : 'other';
}

async function checkLayoutFile(dir: string, place: string): Promise<void> {
  const bytes = await readCapped(path.join(dir, 'oci-layout'), 64 * 1024, place, 'oci-layout');
  let version: unknown;
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch {
    version = undefined;
  }
  if (version !== LAYOUT_VERSION) {
    throw layoutError(
      place,
      'oci-layout',
      `imageLayoutVersion is ${JSON.stringify(version)}, expected "${LAYOUT_VERSION}"`,
    );
  }
}

async function readIndexJson(dir: string, place: string): Promise<IndexJson> {
  const bytes = await readCapped(path.join(dir, 'index.json'), MAX_INDEX_JSON_BYTES, place, 'index.json');
  const json = checkedManifestJson(bytes, place, 'index.json');
  if (!Array.isArray(json.manifests)) throw layoutError(place, 'index.json', 'has no manifests array');
  const manifests = json.manifests.map((d, i) => checkedDescriptor(d, place, 'index.json', `manifests[${i}]`));
  return { ...json, schemaVersion: 2, manifests } as IndexJson;
}

/** Reads a small file, refusing it (by size, before reading) when over cap. */
async function readCapped(file: string, cap: number, place: string, entry: string): Promise<Buffer> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${place}: ${entry} is missing`, {
        fix: 'the layout is incomplete or not an OCI layout',
      });
    }
    throw err;
  }
  if (!info.isFile()) throw layoutError(place, entry, 'is not a regular file');
  if (info.size > cap) throw layoutError(place, entry, `is ${info.size} bytes; the limit is ${cap}`);
  return readExactly(file, info.size);
}

async function readExactly(file: string, size: number): Promise<Buffer> {
  const fh = await open(file, READ_FLAGS);
  try {
    const buf = Buffer.alloc(size);
    let pos = 0;
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, pos, size - pos, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
    return buf.subarray(0, pos);
  } finally {
    await fh.close();
  }
}

async function hashFile(file: string, descriptor: Descriptor): Promise<void> {
  const fh = await open(file, READ_FLAGS);
  await pipeline(
    fh.createReadStream({ highWaterMark: BLOB_READ_CHUNK }),
    new VerifyingStream(descriptor.digest, descriptor.size),
    new Writable({ write: (_chunk, _enc, done) => done() }),
  );
}

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.tmp-${tempSuffix()}`;
  try {
    const fh = await open(temp, 'wx+', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

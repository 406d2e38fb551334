// The OCI distribution API over HTTP: one RegistryRepository per (registry, repository)
// implements both ImageSource and ImageTarget, so the copy engine treats a registry like an
// OCI layout. This file builds requests; the transport owns URLs, auth, retries, redirects.
import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  DigestMismatchError,
  EcrctlError,
  HttpStatusError,
  InterruptedError,
  NotFoundError,
  RateLimitedError,
  RuleViolation,
  UsageError,
} from '../errors.js';
import { CountingStream, isDigest, parseDigest } from './digest.js';
import { MANIFEST_ACCEPT, MediaType } from './media-types.js';
import type { BlobPutResult, BlobWriteOptions, ImageSource, ImageTarget, OpOptions } from './store.js';
import { repositoryScope } from './transport/auth.js';
import {
  isExpiredTokenError,
  RegistryTransport,
  readLimited,
  type TransportOptions,
  type TransportRequest,
  type TransportResponse,
} from './transport/http.js';
import { nextLinkUrl } from './transport/link.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableNetworkError,
  isRetryableStatus,
  type RetryPolicy,
  sleep,
} from './transport/retry.js';
import { type Descriptor, MAX_MANIFEST_BYTES, type ManifestBlob } from './types.js';

export interface RegistryClientOptions extends TransportOptions {
  /** Tags asked for per page when listing (default and maximum 1000). */
  tagPageSize?: number;
}

/** Buffering between a download and its consumer: enough to keep the socket busy. */
const STREAM_HIGH_WATER = 256 * 1024;
/** The most a tag list or referrers page may weigh before we stop reading it. */
const LIST_BODY_LIMIT = 32 * 1024 * 1024;
/** Manifest bytes kept per repository object (an image's are a few KiB; the cap bounds hostile ones). */
const MANIFEST_CACHE_BYTES = 8 * 1024 * 1024;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Talks to OCI registries; holds one connection pool and the auth state for all of them. */
export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly #opts: RegistryClientOptions;

  constructor(opts: RegistryClientOptions = {}) {
    this.#opts = opts;
    this.transport = new RegistryTransport(opts);
  }

  /** Returns the repository `name` on registry `host` (`host[:port]`, e.g. `127.0.0.1:5000`). */
  repository(host: string, name: string): RegistryRepository {
    return new RegistryRepository(this.transport, host, name, {
      tagPageSize: this.#opts.tagPageSize,
      retry: { ...DEFAULT_RETRY, ...this.#opts.retry },
      log: this.#opts.log,
      random: this.#opts.random,
    });
  }

  /** Checks that host speaks the distribution API and accepts our credentials (GET /v2/). */
  async ping(host: string, opts: OpOptions = {}): Promise<void> {
    const res = await this.transport.request({
      method: 'GET',
      host,
      path: '/v2/',
      what: 'the registry API',
      signal: opts.signal,
    });
    await res.body.dump();
  }

  /**
   * Returns the name of every repository on host (GET /v2/_catalog, following
   * `Link: <…>; rel="next"` pages of at most pageSize names). Registries that do not offer
   * the catalog answer 404 or 401/403 (Docker Hub, GHCR, ECR): that failure is thrown.
   */
  async catalog(host: string, opts: OpOptions & { pageSize?: number } = {}): Promise<string[]> {
    const n = Math.max(1, Math.min(1000, opts.pageSize ?? 1000));
    const what = `the repository catalog of ${host}`;
    const names: string[] = [];
    const seen = new Set<string>();
    let path = `/v2/_catalog?n=${n}`;
    for (;;) {
      const res = await this.transport.request({
        method: 'GET',
        host,
        path,
        scopes: ['registry:catalog:*'],
        what,
        signal: opts.signal,
      });
      seen.add(res.url.href);
      const bytes = await readLimited(res.body, LIST_BODY_LIMIT);
      if (bytes === undefined) throw new EcrctlError(`${what}: a page is larger than 32 MiB`);
      let page: unknown;
      try {
        page = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new EcrctlError(`${what}: the registry answered something that is not JSON`);
      }
      const list = (page as { repositories?: unknown }).repositories;
      if (Array.isArray(list)) for (const r of list) if (typeof r === 'string') names.push(r);
      const next = nextLinkUrl(res.header('link'), res.url);
      if (next === undefined) return names;
      if (seen.has(next.href)) throw new EcrctlError(`${what}: the registry's pages link back to a page already read`);
      path = next.href;
    }
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}

interface RepositoryOptions {
  tagPageSize?: number;
  retry: RetryPolicy;
  log?: (message: string) => void;
  random?: () => number;
}

/** One repository of one registry, readable and writable. */
export class RegistryRepository implements ImageSource, ImageTarget {
  readonly displayName: string;
  readonly registry: { host: string; repository: string };
  readonly #t: RegistryTransport;
  readonly #host: string;
  readonly #name: string;
  readonly #opts: RepositoryOptions;
  /** Upload sessions a declined mount opened, kept for the putBlob that follows. */
  readonly #pendingUploads = new Map<string, string>();
  /** Blobs a HEAD just found absent: the putBlob that follows need not ask again. */
  readonly #absent = new Set<string>();
  /** Manifests read by digest or seen with their digest: content-addressed, so never stale. */
  readonly #manifests = new Map<string, ManifestBlob>();
  #manifestBytes = 0;
  /** Referrer listings started early (beside a copy's blobs), taken by the next listReferrers. */
  readonly #prefetched = new Map<string, Promise<Descriptor[]>>();

  constructor(transport: RegistryTransport, host: string, name: string, opts: RepositoryOptions) {
    this.#t = transport;
    this.#host = host;
    this.#name = name;
    this.#opts = opts;
    this.displayName = `${host}/${name}`;
    this.registry = { host, repository: name };
  }

  get #pull(): string[] {
    return [repositoryScope(this.#name, ['pull'])];
  }

  get #push(): string[] {
    return [repositoryScope(this.#name, ['pull', 'push'])];
  }

  #request(req: Omit<TransportRequest, 'host'>): Promise<TransportResponse> {
    return this.#t.request({ ...req, host: this.#host });
  }

  // ---- blobs -------------------------------------------------------------------------

  /** Returns true when the registry has the blob (HEAD). */
  hasBlob(descriptor: Descriptor, opts: OpOptions = {}): Promise<boolean> {
    return this.#headBlob(descriptor, this.#pull, opts.signal);
  }

  /**
   * Asks for every blob at once (HEAD, with the push scope the uploads will need: one token)
   * and returns the digests present. The absent ones are remembered, so their putBlob goes
   * straight to the upload: the existence checks of a push take one parallel round.
   */
  async checkBlobs(descriptors: readonly Descriptor[], opts: OpOptions = {}): Promise<Set<string>> {
    const present = new Set<string>();
    await Promise.all(
      descriptors.map(async (d) => {
        if (await this.#headBlob(d, this.#push, opts.signal)) present.add(d.digest);
        else this.#absent.add(d.digest);
      }),
    );
    return present;
  }

  async #headBlob(descriptor: Descriptor, scopes: string[], signal: AbortSignal | undefined): Promise<boolean> {
    const res = await this.#request({
      method: 'HEAD',
      path: `/v2/${this.#name}/blobs/${checkDigest(descriptor.digest)}`,
      scopes,
      allow: [404],
      what: `blob ${descriptor.digest} in ${this.displayName}`,
      signal,
    });
    await res.body.dump().catch(() => {});
    return res.status !== 404;
  }

  /**
   * Returns a stream of the blob's bytes. A dropped connection is resumed with a Range
   * request; the stream continues seamlessly. Bytes are not verified here.
   */
  async openBlob(descriptor: Descriptor, opts: OpOptions & { offset?: number } = {}): Promise<Readable> {
    const digest = checkDigest(descriptor.digest);
    const start = opts.offset ?? 0;
    const first = await this.#getBlob(digest, start, opts.signal);
    // A registry that ignores Range answers 200 with the whole blob: skip what we have.
    const range = first.status === 206 ? parseContentRange(first.header('content-range')) : undefined;
    if (start > 0 && first.status === 206 && range?.start !== start) {
      first.body.destroy();
      throw new EcrctlError(`${this.displayName} answered the wrong range for ${digest} (asked from ${start})`);
    }
    const out = new BlobStream();
    void this.#pump(digest, first, out, opts.signal, start, first.status === 206 ? 0 : start);
    return out;
  }

  #getBlob(digest: string, offset: number, signal: AbortSignal | undefined): Promise<TransportResponse> {
    return this.#request({
      method: 'GET',
      path: `/v2/${this.#name}/blobs/${digest}`,
      scopes: this.#pull,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      what: `blob ${digest} in ${this.displayName}`,
      signal,
    });
  }

  async #pump(
    digest: string,
    first: TransportResponse,
    out: BlobStream,
    signal: AbortSignal | undefined,
    start: number,
    initialSkip: number,
  ): Promise<void> {
    let current = first;
    let offset = start;
    let skip = initialSkip;
    const onClose = () => current.body.destroy();
    out.once('close', onClose);
    try {
      for (let retry = 0; ; ) {
        try {
          // Each network read is pushed on as it arrives ('data', not for-await: read()
          // concatenates whatever is buffered into a new Buffer, a copy of every byte), and
          // the body pauses while the consumer is behind. A push into a plain Readable is one
          // stream hop; piping into a PassThrough was two (its Writable and Readable sides).
          const body = current.body;
          const onData = (chunk: Buffer) => {
            let buf = chunk;
            if (skip > 0) {
              // A registry that ignored Range resends what we have: drop it.
              const n = Math.min(skip, buf.length);
              skip -= n;
              if (n === buf.length) return;
              buf = buf.subarray(n);
            }
            offset += buf.length;
            if (!out.push(buf)) body.pause();
          };
          out.source = body;
          body.on('data', onData);
          try {
            await finished(body);
          } finally {
            body.off('data', onData);
            out.source = undefined;
          }
          if (out.destroyed) return;
          out.push(null);
          return;
        } catch (err) {
          if (out.destroyed) return;
          if (signal?.aborted) throw new InterruptedError();
          if (!isRetryableNetworkError(err) || retry >= this.#opts.retry.maxRetries) throw err;
          const wait = backoffDelay(retry, this.#opts.retry, this.#opts.random);
          retry++;
          this.#opts.log?.(`download of ${digest} dropped after ${offset} bytes; resuming in ${wait} ms`);
          await sleep(wait, signal);
          current = await this.#getBlob(digest, offset, signal);
          if (offset === 0) continue;
          const range = current.status === 206 ? parseContentRange(current.header('content-range')) : undefined;
          if (current.status === 206 && range?.start === offset) skip = 0;
          else if (current.status === 200) skip = offset;
          else {
            // A 206 for the wrong range: start over without Range and skip what was sent.
            current.body.destroy();
            current = await this.#getBlob(digest, 0, signal);
            skip = offset;
          }
        }
      }
    } catch (err) {
      out.destroy(
        err instanceof EcrctlError
          ? err
          : new EcrctlError(`download of ${digest} from ${this.displayName} failed: ${(err as Error).message}`, {
              cause: err,
            }),
      );
    } finally {
      out.off('close', onClose);
    }
  }

  /**
   * Uploads a blob unless present: POST a session, then ONE PUT with the whole streamed
   * body and its Content-Length (ECR drops chunked PATCHes). Bytes are counted as they pass
   * and hashed by the registry, which refuses a wrong digest before storing anything; either
   * failure cancels the session and throws DigestMismatchError. A dropped upload
   * restarts from byte 0 (the only offset a monolithic PUT ever confirms).
   */
  async putBlob(
    descriptor: Descriptor,
    open: (offset: number) => Promise<Readable>,
    opts: BlobWriteOptions = {},
  ): Promise<BlobPutResult> {
    const digest = checkDigest(descriptor.digest);
    const { signal } = opts;
    // The push token covers the HEAD too: one token per upload, not two.
    if (
      !this.#pendingUploads.has(digest) &&
      !this.#absent.delete(digest) &&
      (await this.#headBlob(descriptor, this.#push, signal))
    )
      return 'skipped';
    const knownSize = Number.isSafeInteger(descriptor.size) && descriptor.size >= 0;
    for (let retry = 0; ; retry++) {
      let location = this.#pendingUploads.get(digest);
      this.#pendingUploads.delete(digest);
      if (location !== undefined) this.#opts.log?.(`uploading ${digest} into the session the declined mount opened`);
      location ??= await this.#startUpload(signal);
      let verifier: CountingStream | undefined;
      let source: Readable | undefined;
      try {
        source = await open(0);
        // Counted, not hashed: the registry hashes the bytes and refuses a wrong digest.
        verifier = new CountingStream(digest, knownSize ? descriptor.size : undefined);
        verifier.onBytes = opts.onProgress;
        const body = pipeline(source, verifier, () => {});
        const what = `upload of blob ${digest} to ${this.displayName}`;
        if (knownSize) {
          const res = await this.#request({
            method: 'PUT',
            path: withQuery(location, { digest }),
            scopes: this.#push,
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
            body,
            what,
            signal,
          });
          await res.body.dump().catch(() => {});
        } else {
          // Size unknown: one streamed PATCH, then the closing PUT without a body.
          const patched = await this.#request({
            method: 'PATCH',
            path: location,
            scopes: this.#push,
            headers: { 'content-type': 'application/octet-stream' },
            body,
            what,
            signal,
          });
          await patched.body.dump().catch(() => {});
          location = resolveLocation(patched, location);
          const res = await this.#request({
            method: 'PUT',
            path: withQuery(location, { digest }),
            scopes: this.#push,
            headers: { 'content-length': '0' },
            body: Buffer.alloc(0),
            retry: false,
            what,
            signal,
          });
          await res.body.dump().catch(() => {});
        }
        if (verifier.errored) throw verifier.errored;
        return 'uploaded';
      } catch (err) {
        source?.destroy();
        await this.#cancelUpload(location);
        if (verifier?.errored instanceof DigestMismatchError) throw verifier.errored;
        if (err instanceof DigestMismatchError) throw err;
        if (signal?.aborted) throw new InterruptedError();
        if (
          err instanceof HttpStatusError &&
          err.status === 400 &&
          /DIGEST_INVALID|SIZE_INVALID/.test(err.value ?? '')
        ) {
          throw new DigestMismatchError(
            `${this.displayName} refused blob ${digest}: its bytes do not match its digest (${err.message})`,
            {
              cause: err,
              value: digest,
              fix: 'the source holds a corrupt or altered copy of this blob; recreate the image from a trusted source',
            },
          );
        }
        const transient =
          isRetryableNetworkError(err) ||
          // The token expired while the bytes were on their way: start over with a fresh one.
          isExpiredTokenError(err) ||
          err instanceof RateLimitedError ||
          (err instanceof HttpStatusError && isRetryableStatus(err.status));
        if (transient && retry < this.#opts.retry.maxRetries) {
          const wait = backoffDelay(retry, this.#opts.retry, this.#opts.random);
          this.#opts.log?.(`upload of ${digest} failed (${(err as Error).message}); restarting in ${wait} ms`);
          await sleep(wait, signal);
          continue;
        }
        throw err;
      }
    }
  }

  async #startUpload(signal: AbortSignal | undefined): Promise<string> {
    const res = await this.#request({
      method: 'POST',
      path: `/v2/${this.#name}/blobs/uploads/`,
      scopes: this.#push,
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      // Retrying a POST only opens another session, which expires on its own.
      retry: true,
      what: `a blob upload to ${this.displayName}`,
      signal,
    });
    await res.body.dump().catch(() => {});
    return resolveLocation(res, undefined);
  }

  async #cancelUpload(location: string): Promise<void> {
    try {
      const res = await this.#request({
        method: 'DELETE',
        path: location,
        scopes: this.#push,
        retry: false,
        allow: [400, 404, 405],
      });
      await res.body.dump().catch(() => {});
    } catch {
      // Best effort: an abandoned session expires on the registry by itself.
    }
  }

  /**
   * Asks the registry to mount a blob from another repository of the same registry.
   * Returns false when it declined (202): the upload session it opened instead is kept and
   * used by the next putBlob of that digest.
   */
  async mountBlob(descriptor: Descriptor, fromRepository: string, opts: OpOptions = {}): Promise<boolean> {
    const digest = checkDigest(descriptor.digest);
    const query = new URLSearchParams({ mount: digest, from: fromRepository });
    const res = await this.#request({
      method: 'POST',
      path: `/v2/${this.#name}/blobs/uploads/?${query}`,
      scopes: [...this.#push, repositoryScope(fromRepository, ['pull'])],
      headers: { 'content-length': '0' },
      body: Buffer.alloc(0),
      retry: true,
      what: `a mount of ${digest} from ${fromRepository} into ${this.displayName}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    if (res.status === 201) return true;
    const previous = this.#pendingUploads.get(digest);
    if (previous !== undefined) await this.#cancelUpload(previous);
    this.#pendingUploads.set(digest, resolveLocation(res, undefined));
    this.#opts.log?.(`${this.#host} declined to mount ${digest} from ${fromRepository}; it will be uploaded`);
    return false;
  }

  // ---- manifests ---------------------------------------------------------------------

  /**
   * Returns a manifest or index by tag or digest, its bytes exactly as stored. The bytes
   * must hash to the digest asked for and to Docker-Content-Digest; more than 4 MiB is refused.
   */
  async getManifest(reference: string, opts: OpOptions = {}): Promise<ManifestBlob> {
    const ref = checkReference(reference);
    // By digest, a manifest read before in this run is the same bytes: no second round trip.
    const known = isDigest(ref) ? this.#manifests.get(ref) : undefined;
    if (known) return known;
    const what = `manifest ${this.#describe(ref)}`;
    const res = await this.#request({
      method: 'GET',
      path: `/v2/${this.#name}/manifests/${ref}`,
      scopes: this.#pull,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      what,
      signal: opts.signal,
    });
    const bytes = await readLimited(res.body, MAX_MANIFEST_BYTES);
    if (bytes === undefined) {
      throw new EcrctlError(`${what} is larger than 4 MiB; refusing to read it`, {
        rule: 'manifests are at most 4 MiB',
        value: this.#describe(ref),
      });
    }
    const digest = verifyManifestDigest(
      bytes,
      isDigest(ref) ? ref : undefined,
      res.header('docker-content-digest'),
      what,
    );
    const manifest = { mediaType: manifestMediaType(bytes, res.header('content-type')), digest, bytes };
    if (this.#manifestBytes + bytes.length <= MANIFEST_CACHE_BYTES && !this.#manifests.has(digest)) {
      this.#manifests.set(digest, manifest);
      this.#manifestBytes += bytes.length;
    }
    return manifest;
  }

  /** Returns the descriptor of a manifest by tag or digest (HEAD), or undefined when absent. */
  async headManifest(reference: string, opts: OpOptions = {}): Promise<Descriptor | undefined> {
    const ref = checkReference(reference);
    const res = await this.#request({
      method: 'HEAD',
      path: `/v2/${this.#name}/manifests/${ref}`,
      scopes: this.#pull,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      allow: [404],
      what: `manifest ${this.#describe(ref)}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    if (res.status === 404) return undefined;
    const digest = res.header('docker-content-digest');
    const size = Number(res.header('content-length'));
    const mediaType = res.header('content-type')?.split(';')[0]?.trim();
    if (digest === undefined || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) {
      // Some registries leave the digest out of HEAD answers: fetch and hash instead.
      const m = await this.getManifest(ref, opts);
      return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    }
    if (isDigest(ref) && digest !== ref) {
      throw new DigestMismatchError(`${this.displayName} answered ${digest} for manifest ${ref}`);
    }
    return { mediaType, digest, size };
  }

  /**
   * Stores a manifest under tag (or under its digest when no tag is given), with its media
   * type as Content-Type; returns the digest, checked against the registry's answer.
   */
  async putManifest(manifest: ManifestBlob, tag?: string, opts: OpOptions = {}): Promise<string> {
    if (manifest.bytes.length > MAX_MANIFEST_BYTES) {
      throw new RuleViolation(
        `the manifest ${manifest.digest} is ${manifest.bytes.length} bytes; registries take at most 4 MiB`,
        {
          rule: 'manifests are at most 4 MiB',
          value: manifest.digest,
          fix: 'split the image index or remove annotations',
        },
      );
    }
    const algorithm = manifest.digest && isDigest(manifest.digest) ? parseDigest(manifest.digest).algorithm : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(manifest.bytes).digest('hex')}`;
    if (manifest.digest && manifest.digest !== digest) {
      throw new DigestMismatchError(`manifest bytes hash to ${digest}, not to ${manifest.digest}`);
    }
    const ref = tag === undefined ? digest : checkReference(tag);
    const res = await this.#request({
      method: 'PUT',
      path: `/v2/${this.#name}/manifests/${ref}`,
      scopes: this.#push,
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      what: `manifest ${this.#describe(ref)}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    const answered = res.header('docker-content-digest');
    if (
      answered !== undefined &&
      isDigest(answered) &&
      parseDigest(answered).algorithm === algorithm &&
      answered !== digest
    ) {
      throw new DigestMismatchError(
        `${this.displayName} stored manifest ${this.#describe(ref)} as ${answered}, but its bytes hash to ${digest}`,
      );
    }
    return digest;
  }

  /** Deletes a manifest by digest (every tag pointing at it goes with it). */
  async deleteManifest(digest: string, opts: OpOptions = {}): Promise<void> {
    const cached = this.#manifests.get(digest);
    if (cached) {
      this.#manifests.delete(digest);
      this.#manifestBytes -= cached.bytes.length;
    }
    const res = await this.#request({
      method: 'DELETE',
      path: `/v2/${this.#name}/manifests/${checkDigest(digest)}`,
      scopes: [repositoryScope(this.#name, ['pull', 'push', 'delete'])],
      what: `manifest ${this.#describe(digest)}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
  }

  // ---- tags and referrers ------------------------------------------------------------

  /** Returns every tag, following `Link: <…>; rel="next"` pages of at most pageSize tags. */
  async listTags(opts: OpOptions & { pageSize?: number } = {}): Promise<string[]> {
    const n = Math.max(1, Math.min(1000, opts.pageSize ?? this.#opts.tagPageSize ?? 1000));
    const tags: string[] = [];
    for await (const page of this.#pages(
      `/v2/${this.#name}/tags/list?n=${n}`,
      `tags of ${this.displayName}`,
      {},
      opts.signal,
    )) {
      const list = (page as { tags?: unknown }).tags;
      if (Array.isArray(list)) for (const t of list) if (typeof t === 'string') tags.push(t);
    }
    return tags;
  }

  /**
   * Returns the descriptors of manifests whose subject is digest: the referrers API, or the
   * `sha256-<hex>` tag when the registry has no such API (404).
   */
  async listReferrers(digest: string, opts: OpOptions & { artifactType?: string } = {}): Promise<Descriptor[]> {
    const d = checkDigest(digest);
    const early = opts.artifactType ? undefined : this.#prefetched.get(d);
    if (early) {
      this.#prefetched.delete(d);
      return early;
    }
    return this.#listReferrers(d, opts);
  }

  /**
   * Starts listing the referrers of digest now (the API, or the tag fallback) so that the
   * listReferrers that follows — after a copy's blobs — finds the answer already there.
   */
  prefetchReferrers(digest: string, opts: OpOptions = {}): void {
    const d = checkDigest(digest);
    if (this.#prefetched.has(d)) return;
    const listing = this.#listReferrers(d, opts);
    // Not awaited until asked for: an early failure must not surface as an unhandled rejection.
    listing.catch(() => {});
    this.#prefetched.set(d, listing);
  }

  async #listReferrers(d: string, opts: OpOptions & { artifactType?: string }): Promise<Descriptor[]> {
    const query = opts.artifactType ? `?${new URLSearchParams({ artifactType: opts.artifactType })}` : '';
    const first = await this.#request({
      method: 'GET',
      path: `/v2/${this.#name}/referrers/${d}${query}`,
      scopes: this.#pull,
      headers: { accept: MediaType.ociIndex },
      allow: [404],
      what: `referrers of ${this.#describe(d)}`,
      signal: opts.signal,
    });
    let found: Descriptor[] = [];
    let filtered = false;
    if (first.status === 404) {
      await first.body.dump().catch(() => {});
      const tag = d.replace(':', '-');
      this.#opts.log?.(`${this.#host} has no referrers API; reading the tag ${tag}`);
      try {
        const index = await this.getManifest(tag, opts);
        found = manifestsOf(JSON.parse(index.bytes.toString('utf8')));
      } catch (err) {
        if (err instanceof NotFoundError) return [];
        if (err instanceof SyntaxError)
          throw new EcrctlError(`the referrers tag ${tag} in ${this.displayName} is not JSON`);
        throw err;
      }
    } else {
      filtered =
        first
          .header('oci-filters-applied')
          ?.split(',')
          .map((s) => s.trim())
          .includes('artifactType') ?? false;
      for await (const page of this.#pages(
        first,
        `referrers of ${this.#describe(d)}`,
        { accept: MediaType.ociIndex },
        opts.signal,
      )) {
        found.push(...manifestsOf(page));
      }
    }
    return opts.artifactType && !filtered ? found.filter((x) => x.artifactType === opts.artifactType) : found;
  }

  /** Yields the parsed JSON of each page of a paged list (tags, referrers). */
  async *#pages(
    start: string | TransportResponse,
    what: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<unknown> {
    let res =
      typeof start === 'string'
        ? await this.#request({ method: 'GET', path: start, scopes: this.#pull, headers, what, signal })
        : start;
    const seen = new Set<string>([res.url.href]);
    for (;;) {
      const bytes = await readLimited(res.body, LIST_BODY_LIMIT);
      if (bytes === undefined) throw new EcrctlError(`${what}: a page is larger than 32 MiB`);
      try {
        yield JSON.parse(bytes.toString('utf8')) as unknown;
      } catch (err) {
        if (err instanceof SyntaxError)
          throw new EcrctlError(`${what}: the registry answered something that is not JSON`);
        throw err;
      }
      const next = nextLinkUrl(res.header('link'), res.url);
      if (next === undefined) return;
      if (seen.has(next.href)) throw new EcrctlError(`${what}: the registry's pages link back to a page already read`);
      seen.add(next.href);
      res = await this.#request({ method: 'GET', path: next.href, scopes: this.#pull, headers, what, signal });
    }
  }

  // ---- ImageTarget lifecycle ----------------------------------------------------------

  /** A registry makes each write visible as it happens: nothing to do. */
  async commit(): Promise<void> {}

  /** Cancels upload sessions opened by declined mounts and not used since. */
  async abort(): Promise<void> {
    const sessions = [...this.#pendingUploads.values()];
    this.#pendingUploads.clear();
    await Promise.all(sessions.map((l) => this.#cancelUpload(l)));
  }

  #describe(ref: string): string {
    return isDigest(ref) ? `${this.displayName}@${ref}` : `${this.displayName}:${ref}`;
  }
}

/**
 * A blob download as the copy engine reads it: #pump pushes the network reads in, and a read
 * from the consumer resumes the body #pump paused when the consumer fell behind.
 */
class BlobStream extends Readable {
  /** The response body being read now (another one after a resumed download). */
  source: Readable | undefined;

  constructor() {
    super({ highWaterMark: STREAM_HIGH_WATER });
  }

  override _read(): void {
    if (this.source?.isPaused()) this.source.resume();
  }
}

/** Returns `{start, end, total}` of a `Content-Range: bytes a-b/c` header, or undefined. */
export function parseContentRange(
  value: string | undefined,
): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function checkDigest(digest: string): string {
  parseDigest(digest);
  return digest;
}

function checkReference(reference: string): string {
  if (isDigest(reference) || TAG.test(reference)) return reference;
  throw new UsageError(`invalid tag or digest: ${JSON.stringify(reference)}`, {
    rule: 'a tag is 1-128 letters, digits, _ . - (not starting with . or -); a digest is sha256:<64 hex>',
    value: reference,
    fix: 'check the image reference',
  });
}

function resolveLocation(res: TransportResponse, fallback: string | undefined): string {
  const location = res.header('location');
  if (location === undefined) {
    if (fallback !== undefined) return fallback;
    throw new HttpStatusError(`the registry answered ${res.status} without a Location for the upload`, res.status);
  }
  return new URL(location, res.url).href;
}

function withQuery(location: string, params: Record<string, string>): string {
  const url = new URL(location);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

function verifyManifestDigest(
  bytes: Buffer,
  asked: string | undefined,
  header: string | undefined,
  what: string,
): string {
  const hash = (algorithm: string) => `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
  if (asked !== undefined) {
    const actual = hash(parseDigest(asked).algorithm);
    if (actual !== asked) throw new DigestMismatchError(`${what}: the registry sent bytes that hash to ${actual}`);
  }
  if (header !== undefined && isDigest(header)) {
    const actual = hash(parseDigest(header).algorithm);
    if (actual !== header) {
      throw new DigestMismatchError(`${what}: Docker-Content-Digest says ${header}, the bytes hash to ${actual}`);
    }
  }
  return asked ?? (header !== undefined && isDigest(header) ? header : hash('sha256'));
}

function manifestMediaType(bytes: Buffer, contentType: string | undefined): string {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof parsed.mediaType === 'string' && parsed.mediaType !== '') return parsed.mediaType;
  } catch {
    // Not JSON: the Content-Type is all we have.
  }
  return contentType?.split(';')[0]?.trim() || MediaType.ociManifest;
}

function manifestsOf(index: unknown): Descriptor[] {
  const list = (index as { manifests?: unknown } | null)?.manifests;
  return Array.isArray(list) ? (list.filter((d) => d !== null && typeof d === 'object') as Descriptor[]) : [];
}

/** Returns the OCI error codes (MANIFEST_UNKNOWN, …) a registry error carries, for callers that branch on them. */
export function registryErrorCodes(err: unknown): string[] {
  return err instanceof NotFoundError || err instanceof HttpStatusError ? (err.value?.split(',') ?? []) : [];
}

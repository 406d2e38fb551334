// The OCI distribution API of one registry (one listener per private (account, region) and
// one for the account's public registry), behaving as ECR's data plane does: repositories
// must exist, HTTP Basic auth with a GetAuthorizationToken password (user AWS) on private
// registries and the Docker bearer-token flow (a /token/ endpoint) on the public one, tag
// lists paged as ECR pages them (100 by default, at most 1,000, opaque `last` tokens,
// unsorted), manifests of at most 4 MiB, blobs verified on upload, immutable tags refused
// with TAG_INVALID. Cross-repository mounts answer 201 only when ECR would mount
// (BLOB_MOUNTING enabled, same encryption, not from a pull-through cache repository, a blob
// a manifest of the source repository references);
// otherwise a normal upload starts (202). Requests are paced at ECR's rates (429
// TOOMANYREQUESTS, throttle.ts), manifests asked for by tag are converted Docker v2 ↔ OCI by
// Accept (convert.ts), and manifest GETs record pulls as the password's principal.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findRepository, type LocalContext, takeFault, type UploadSession } from '../context.js';
import { blobMountingEnabled } from '../ecr-api/account-settings.js';
import { deleteImageOrTag } from '../ecr-api/images.js';
import { settleReplication } from '../ecr-api/replication.js';
import { ARCHIVED_MESSAGE, settle } from '../ecr-api/storage.js';
import { createOnPush } from '../ecr-api/templates.js';
import { acceptedTypes, convertManifest, negotiatedType } from '../convert.js';
import { OciError } from '../errors.js';
import { BodyTooLarge, readBody, send } from '../http.js';
import { ImageProblem, MAX_MANIFEST_BYTES, putManifest, recordPull, resolveImage } from '../images.js';
import { MEDIA_TYPES, parseManifest } from '../manifest.js';
import { ANY_DIGEST, API_TAG, SHA256_DIGEST } from '../rules.js';
import { dataPlaneRetryAfterSeconds, takeDataPlaneToken } from '../throttle.js';
import type { RegistryRecord, RepositoryRecord } from '../store.js';
import {
  mintBearerToken,
  mintTagPageToken,
  readBearerToken,
  readDownloadToken,
  readPassword,
  readTagPageToken,
} from '../tokens.js';
import { abortUpload, appendStream, commitUpload, startUpload, uploadDigest } from '../uploads.js';
import { presignedBlobUrl, sendBlob } from './blob-host.js';

const MAX_TAGS_PAGE = 1000;
/** ECR's answer to an expired, forged or foreign token (403, no challenge). */
export const TOKEN_EXPIRED = 'Your authorization token has expired. Reauthenticate and try again.';
/** ECR Public's answer to a token it cannot use (400). */
export const PUBLIC_TOKEN_INVALID = 'Your Authorization Token is invalid.';

interface Route {
  name: string;
  kind: 'manifests' | 'blobs' | 'uploads' | 'tags' | 'referrers';
  ref: string;
}

function route(pathname: string): Route | 'base' | undefined {
  if (pathname === '/v2/' || pathname === '/v2') return 'base';
  let m = /^\/v2\/(.+)\/tags\/list$/.exec(pathname);
  if (m) return { name: m[1] as string, kind: 'tags', ref: '' };
  m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(pathname);
  if (m) return { name: m[1] as string, kind: 'manifests', ref: m[2] as string };
  m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(pathname);
  if (m) return { name: m[1] as string, kind: 'uploads', ref: m[2] as string };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(pathname);
  if (m) return { name: m[1] as string, kind: 'blobs', ref: m[2] as string };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(pathname);
  if (m) return { name: m[1] as string, kind: 'referrers', ref: m[2] as string };
  return undefined;
}

const COMMON = { 'Docker-Distribution-API-Version': 'registry/2.0' };

function ociBody(code: string, message: string, detail?: unknown): string {
  // ECR leaves `detail` out when it has none (the spec makes it optional).
  return JSON.stringify({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] });
}

/** Returns the request handler of one registry's data plane. */
export function dataPlaneHandler(ctx: LocalContext, registry: RegistryRecord, endpoint: () => string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const head = method === 'HEAD';
    try {
      const logo = /^\/logo\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (logo && registry.kind === 'public' && (method === 'GET' || method === 'HEAD')) {
        await servePublicLogo(ctx, registry, logo[1] as string, res, head);
        return;
      }
      if (registry.kind === 'public' && (url.pathname === '/token/' || url.pathname === '/token')) {
        serveBearerToken(ctx, registry, req, res, url, method);
        return;
      }
      const r = route(url.pathname);
      if (r === undefined) throw new OciError('NOT_FOUND', 'the requested path is not part of the registry API', 404);
      const principal = authorize(ctx, registry, req, url, r, endpoint());
      if (r === 'base') {
        if (method !== 'GET' && method !== 'HEAD') throw unsupported();
        send(res, 200, { ...COMMON, 'Content-Type': 'application/json' }, '{}', head);
        return;
      }
      // Replicas whose replication has run its course land before anything reads them.
      if (registry.kind === 'private') await settleReplication(ctx);
      const repoName = repositoryName(registry, r.name);
      let repo = repoName === undefined ? undefined : findRepository(registry, repoName);
      // A push (upload start or manifest PUT) may create the repository from a
      // CREATE_ON_PUSH repository creation template, as ECR does.
      const pushStart =
        (r.kind === 'uploads' && method === 'POST' && r.ref === '') || (r.kind === 'manifests' && method === 'PUT');
      if (!repo && repoName !== undefined && pushStart) repo = await createOnPush(ctx, registry, repoName);
      if (!repo || repoName === undefined) {
        throw new OciError(
          'NAME_UNKNOWN',
          `The repository with name '${repoName ?? r.name}' does not exist in the registry with id '${registry.account}'`,
          404,
        );
      }
      const call = `registry:${method} ${r.kind}`;
      ctx.calls.push(call);
      ctx.requests.push({ call, at: Date.now(), repository: repo.name });
      const fault = takeFault(ctx, call);
      if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 0));
      if (fault?.kind === 'expire-tokens') ctx.advanceClock(ctx.tokenTtlMs + 1000);
      if (fault?.kind === 'throttle') {
        await readBody(req, Number.MAX_SAFE_INTEGER).catch(() => undefined);
        throw new OciError('TOOMANYREQUESTS', 'Rate exceeded', 429);
      }
      // ECR's rates (throttle.ts): the layer operations per account and region, manifest
      // PUTs (PutImage) per repository, shared with the API's buckets as ECR meters both
      // alike. ECR Public's rates are not published; its data plane is not throttled.
      const kind = `${method} ${r.kind}`;
      if (
        registry.kind === 'private' &&
        !takeDataPlaneToken(ctx, kind, { account: registry.account, region: registry.region, repository: repo.name })
      ) {
        await readBody(req, Number.MAX_SAFE_INTEGER).catch(() => undefined);
        throw new OciError('TOOMANYREQUESTS', 'Rate exceeded', 429, undefined, {
          'Retry-After': String(dataPlaneRetryAfterSeconds(ctx, kind)),
        });
      }
      switch (r.kind) {
        case 'manifests':
          await manifests(ctx, registry, repo, r, req, res, method, principal);
          break;
        case 'blobs':
          await blobs(ctx, registry, repo, r, req, res, method, url.searchParams.has('download-token'));
          break;
        case 'uploads':
          await uploads(ctx, registry, repo, r, req, res, method, url);
          break;
        case 'tags':
          tagsList(ctx, repo, r, res, method, url);
          break;
        case 'referrers':
          referrers(repo, r, res, method, url);
          break;
      }
      ctx.log(`registry ${method} ${url.pathname} ${res.statusCode}`);
    } catch (err) {
      let e: OciError;
      if (err instanceof OciError) e = err;
      else if (err instanceof BodyTooLarge)
        e = new OciError('MANIFEST_INVALID', `manifest exceeds the ${MAX_MANIFEST_BYTES}-byte limit`, 413);
      else {
        ctx.log(
          `registry ${method} ${url.pathname} 500 ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
        e = new OciError('UNKNOWN', 'an internal error occurred in the local registry', 500);
      }
      if (!res.headersSent) {
        if (err instanceof BodyTooLarge) res.setHeader('Connection', 'close');
        send(
          res,
          e.status,
          { ...COMMON, 'Content-Type': 'application/json', ...e.headers },
          ociBody(e.code, e.message, e.detail),
          head,
        );
      } else {
        res.destroy();
      }
      ctx.log(`registry ${method} ${url.pathname} ${e.status} ${e.code}`);
    }
  };
}

/** Returns the repository name a path names (the public registry prefixes its alias). */
function repositoryName(registry: RegistryRecord, name: string): string | undefined {
  if (registry.kind === 'private') return name;
  const prefix = `${registry.alias ?? 'local'}/`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
}

function unsupported(): OciError {
  return new OciError('UNSUPPORTED', 'the operation is unsupported', 405);
}

/**
 * Checks a request's credentials (throws the OciError ECR would answer) and returns the
 * principal a private registry's password carries, if any.
 */
function authorize(
  ctx: LocalContext,
  registry: RegistryRecord,
  req: IncomingMessage,
  url: URL,
  r: Route | 'base',
  endpoint: string,
): string | undefined {
  const challenge = {
    'WWW-Authenticate': `Basic realm="${endpoint}/",service="${registry.kind === 'public' ? 'ecr-public' : 'ecr'}.amazonaws.com"`,
  };
  // No credentials at all: the Basic challenge. Credentials that are not a current token of
  // this registry: ECR answers 403 DENIED (ECR Public 400 DENIED) with no challenge, so a
  // client that re-authenticates only on 401 is caught here as it would be on ECR.
  const challenged = () => new OciError('UNAUTHORIZED', 'Not Authorized', 401, undefined, challenge);
  const badToken = () =>
    registry.kind === 'public'
      ? new OciError('DENIED', PUBLIC_TOKEN_INVALID, 400)
      : new OciError('DENIED', TOKEN_EXPIRED, 403);
  const readOnly = req.method === 'GET' || req.method === 'HEAD';
  // A GetDownloadUrlForLayer URL carries its own short-lived grant instead of Basic auth.
  const downloadToken = url.searchParams.get('download-token');
  if (downloadToken !== null && r !== 'base' && r.kind === 'blobs' && readOnly) {
    const claims = readDownloadToken(ctx.store.secret, downloadToken);
    if (
      claims &&
      claims.exp > ctx.now() &&
      claims.registry === `${registry.kind}/${registry.account}/${registry.region}` &&
      claims.repository === r.name &&
      claims.digest === r.ref
    ) {
      return undefined;
    }
    throw new OciError('DENIED', 'the download URL is invalid or has expired', 403);
  }
  if (registry.kind === 'public') {
    authorizePublic(ctx, registry, req, r, endpoint, readOnly);
    return undefined;
  }
  const header = req.headers.authorization;
  if (!header) throw challenged();
  const m = /^Basic\s+(.+)$/i.exec(header);
  if (!m) throw challenged();
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  if (colon < 0 || user !== 'AWS') throw badToken();
  const claims = readPassword(ctx.store.secret, password);
  if (!claims) throw badToken();
  if (
    claims.kind !== registry.kind ||
    claims.account !== registry.account ||
    (registry.kind === 'private' && claims.region !== registry.region)
  ) {
    throw badToken();
  }
  if (claims.exp <= ctx.now()) throw badToken();
  return claims.principal;
}

/** How long ECR Public's bearer tokens last (about an hour); --token-ttl shortens it. */
const PUBLIC_BEARER_TTL_MS = 3600_000;

// ECR Public's data plane speaks the Docker bearer-token flow, even for anonymous pulls:
// every request without a bearer token of this registry (none, or Basic) is answered 401
// with a challenge naming the token endpoint; a token that is expired, forged or of
// another registry is 400 DENIED with no challenge; a token without the push grant a
// write needs is 401 insufficient_scope (the client asks the token endpoint again).
function authorizePublic(
  ctx: LocalContext,
  registry: RegistryRecord,
  req: IncomingMessage,
  r: Route | 'base',
  endpoint: string,
  readOnly: boolean,
): void {
  const need = readOnly ? ['pull'] : ['pull', 'push'];
  const challenge = (scopeError: boolean) =>
    new OciError('UNAUTHORIZED', 'Not Authorized', 401, undefined, {
      'WWW-Authenticate': `Bearer realm="${endpoint}/token/",service="public.ecr.aws"${
        scopeError && r !== 'base' ? `,scope="repository:${r.name}:${need.join(',')}",error="insufficient_scope"` : ''
      }`,
    });
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) throw challenge(false);
  const claims = readBearerToken(ctx.store.secret, m[1] as string);
  if (!claims || claims.account !== registry.account || claims.exp <= ctx.now()) {
    throw new OciError('DENIED', PUBLIC_TOKEN_INVALID, 400);
  }
  if (r === 'base') return;
  const granted = new Set([...(claims.access['*'] ?? []), ...(claims.access[r.name] ?? [])]);
  if (!need.every((a) => granted.has(a))) throw challenge(true);
}

// ECR Public's token endpoint (`<registry>/token/?service=public.ecr.aws&scope=…`): anyone
// gets a token that pulls every repository; with HTTP Basic `AWS:<password>` from ECR
// Public's GetAuthorizationToken the token also pushes to the repositories the `scope`
// parameters name. The answer is `{"token": …}` with no expires_in, as ECR Public's is.
function serveBearerToken(
  ctx: LocalContext,
  registry: RegistryRecord,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): void {
  if (method !== 'GET') throw unsupported();
  ctx.calls.push('registry:GET token');
  ctx.requests.push({ call: 'registry:GET token', at: Date.now() });
  let canPush = false;
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Basic\s+(.+)$/i.exec(header);
    const decoded = m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const claims = colon > 0 ? readPassword(ctx.store.secret, decoded.slice(colon + 1)) : undefined;
    if (
      decoded.slice(0, colon) !== 'AWS' ||
      !claims ||
      claims.kind !== 'public' ||
      claims.account !== registry.account ||
      claims.exp <= ctx.now()
    ) {
      throw new OciError('DENIED', PUBLIC_TOKEN_INVALID, 401);
    }
    canPush = true;
  }
  const access: Record<string, string[]> = { '*': ['pull'] };
  for (const scope of url.searchParams.getAll('scope').flatMap((s) => s.split(' '))) {
    const sm = /^repository:(.+):([a-z,*]+)$/.exec(scope);
    if (!sm || !canPush) continue;
    const actions = (sm[2] as string).split(',');
    if (actions.includes('push') || actions.includes('*')) access[sm[1] as string] = ['pull', 'push'];
  }
  const token = mintBearerToken(ctx.store.secret, {
    account: registry.account,
    access,
    exp: ctx.now() + Math.min(PUBLIC_BEARER_TTL_MS, ctx.tokenTtlMs),
  });
  send(res, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, JSON.stringify({ token }));
}

function problemToOci(err: unknown, repo: RepositoryRecord): unknown {
  if (!(err instanceof ImageProblem)) return err;
  switch (err.kind) {
    case 'repository-not-found':
      return new OciError('NAME_UNKNOWN', err.message, 404);
    case 'invalid':
      return new OciError('MANIFEST_INVALID', `manifest invalid: ${err.message}`, 400);
    case 'too-large':
      return new OciError('MANIFEST_INVALID', err.message, 413);
    case 'blobs-missing':
    case 'manifests-missing':
      return new OciError('MANIFEST_BLOB_UNKNOWN', err.message, 400, { digests: err.items });
    case 'digest-mismatch':
      return new OciError('DIGEST_INVALID', err.message, 400);
    case 'tag-immutable':
      return new OciError('TAG_INVALID', err.message, 400, { tag: err.items[0], repository: repo.name });
    case 'limit-exceeded':
      return new OciError('DENIED', err.message, 403);
    default:
      return new OciError('MANIFEST_INVALID', err.message, 400);
  }
}

async function manifests(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  r: Route,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  principal: string | undefined,
): Promise<void> {
  const byDigest = ANY_DIGEST.test(r.ref) && r.ref.includes(':');
  // The data plane takes the tags the API takes (ECR's model: up to 300 characters), so a tag
  // PutImage set can be pulled; the OCI spec's 128 is the client's rule (ECR-FACTS.md).
  if (!byDigest && !API_TAG.test(r.ref)) throw new OciError('TAG_INVALID', `invalid tag '${r.ref}'`, 400);
  const id = byDigest ? { imageDigest: r.ref } : { imageTag: r.ref };
  if (method === 'GET' || method === 'HEAD') {
    // A restore that has run its course is over whoever looks first (not only an API read).
    await settle(ctx, repo);
    const image = resolveImage(repo, id);
    if (!image || image === 'mismatch') {
      throw new OciError('MANIFEST_UNKNOWN', `Requested image not found`, 404, id);
    }
    // ECR answers 404 for an archived image (user guide, "Archiving an image").
    if (image.imageStatus === 'ARCHIVED') throw new OciError('MANIFEST_UNKNOWN', ARCHIVED_MESSAGE, 404, id);
    let served = { bytes: await ctx.store.readBlob(image.digest), digest: image.digest, mediaType: image.mediaType };
    // ECR converts Docker v2 ↔ OCI when the Accept header lists only the other format (a
    // different document, so another digest). A request by digest names one document and
    // gets it as stored: a converted answer could never match the digest asked for.
    const target = byDigest ? undefined : negotiatedType(image.mediaType, acceptedTypes(req.headers.accept));
    const converted = target === undefined ? undefined : convertManifest(served.bytes, target);
    if (converted) served = converted;
    send(
      res,
      200,
      {
        ...COMMON,
        'Content-Type': served.mediaType,
        'Docker-Content-Digest': served.digest,
        ETag: `"${served.digest}"`,
      },
      served.bytes,
      method === 'HEAD',
    );
    // A manifest GET is a BatchGetImage underneath: a pull, unless the token's principal is
    // on the registry's pull-time update exclusion list.
    if (method === 'GET' && recordPull(ctx, registry, [image], principal)) {
      ctx.store.persist().catch((err: unknown) => ctx.log(`could not record the pull time: ${String(err)}`));
    }
    return;
  }
  if (method === 'PUT') {
    const bytes = await readBody(req, MAX_MANIFEST_BYTES);
    if (byDigest && !SHA256_DIGEST.test(r.ref))
      throw new OciError('DIGEST_INVALID', `unsupported digest '${r.ref}': ECR stores sha256 only`, 400);
    const contentType = req.headers['content-type'];
    try {
      const { image } = await putManifest(ctx, {
        registry,
        repository: repo.name,
        bytes,
        ...(contentType ? { declaredType: contentType } : {}),
        ...(byDigest ? { expectedDigest: r.ref } : { tag: r.ref }),
        refuseNoop: false,
      });
      const headers: Record<string, string> = {
        ...COMMON,
        Location: `/v2/${r.name}/manifests/${image.digest}`,
        'Docker-Content-Digest': image.digest,
      };
      if (image.subject) headers['OCI-Subject'] = image.subject;
      send(res, 201, headers);
    } catch (err) {
      throw problemToOci(err, repo);
    }
    return;
  }
  if (method === 'DELETE') {
    const result = await ctx.store.mutate(() => {
      const image = resolveImage(repo, id);
      if (!image || image === 'mismatch') throw new OciError('MANIFEST_UNKNOWN', 'Requested image not found', 404, id);
      return deleteImageOrTag(repo, image, id.imageTag);
    });
    if (result.referencedBy) {
      throw new OciError(
        'DENIED',
        `Requested image referenced by manifest list: [${result.referencedBy.join(', ')}]`,
        409,
      );
    }
    send(res, 202, COMMON);
    return;
  }
  throw unsupported();
}

async function blobs(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  r: Route,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  withDownloadToken: boolean,
): Promise<void> {
  if (method === 'DELETE') throw unsupported();
  if (method !== 'GET' && method !== 'HEAD') throw unsupported();
  if (!ANY_DIGEST.test(r.ref)) throw new OciError('DIGEST_INVALID', `invalid digest '${r.ref}'`, 400);
  if (!Object.hasOwn(repo.blobs, r.ref) || !SHA256_DIGEST.test(r.ref)) {
    throw new OciError('BLOB_UNKNOWN', `blob unknown to registry`, 404, { digest: r.ref });
  }
  // ECR sends blob bytes from S3: a GET is answered 307 with a short-lived presigned URL on
  // another host (HEAD is answered here). The client must follow it without credentials.
  if (method === 'GET' && ctx.blobHostEndpoint && !withDownloadToken) {
    const location = presignedBlobUrl(ctx, await ctx.blobHostEndpoint(), registry, repo.name, r.ref);
    send(res, 307, { ...COMMON, Location: location, 'Docker-Content-Digest': r.ref });
    return;
  }
  await sendBlob(
    ctx,
    r.ref,
    repo.blobs[r.ref] as number,
    req,
    res,
    method,
    {
      ...COMMON,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': r.ref,
      ETag: `"${r.ref}"`,
    },
    (size) => ({
      headers: { ...COMMON, 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/json' },
      body: ociBody('BLOB_UNKNOWN', 'requested range not satisfiable'),
    }),
  );
}

/** Returns true when ECR would mount digest from repository `from` into repo. */
async function mountAllowed(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  digest: string,
  from: string,
): Promise<boolean> {
  if (registry.kind !== 'private' || !blobMountingEnabled(registry)) return false;
  if (!SHA256_DIGEST.test(digest) || from === repo.name) return false;
  const source = findRepository(registry, from);
  if (!source || !Object.hasOwn(source.blobs, digest) || !ctx.store.hasBlobFile(digest)) return false;
  if (isPullThroughCacheRepository(registry, source.name)) return false;
  if (
    source.encryption.encryptionType !== repo.encryption.encryptionType ||
    (source.encryption.kmsKey ?? '') !== (repo.encryption.kmsKey ?? '')
  ) {
    return false;
  }
  return referencedByAManifest(ctx, source, digest);
}

/**
 * Returns true when an image manifest of repo names digest as its config or a layer. ECR
 * keeps layers per repository and mounts only those "referenced by a manifest in the source
 * repository": a blob uploaded but never named by a pushed manifest is not mountable.
 */
async function referencedByAManifest(ctx: LocalContext, repo: RepositoryRecord, digest: string): Promise<boolean> {
  for (const image of Object.values(repo.images)) {
    let blobs: string[];
    try {
      blobs = parseManifest(await ctx.store.readBlob(image.digest), image.mediaType).blobs;
    } catch {
      continue; // a manifest this endpoint stored always parses; a missing file mounts nothing
    }
    if (blobs.includes(digest)) return true;
  }
  return false;
}

/** Returns true when a pull-through cache rule's prefix owns the repository name. */
function isPullThroughCacheRepository(registry: RegistryRecord, name: string): boolean {
  const rules = (registry.settings?.pullThroughCacheRules as { ecrRepositoryPrefix: string }[] | undefined) ?? [];
  return rules.some((rule) => rule.ecrRepositoryPrefix === 'ROOT' || name.startsWith(`${rule.ecrRepositoryPrefix}/`));
}

function uploadLocation(r: Route, id: string): string {
  return `/v2/${r.name}/blobs/uploads/${id}`;
}

async function uploads(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  r: Route,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  url: URL,
): Promise<void> {
  const finish = async (session: UploadSession, digest: string | null) => {
    if (!digest || !ANY_DIGEST.test(digest)) {
      await abortUpload(ctx, session);
      throw new OciError('DIGEST_INVALID', `the digest parameter '${digest ?? ''}' is missing or invalid`, 400);
    }
    const actual = uploadDigest(session);
    if (actual !== digest) {
      await abortUpload(ctx, session);
      throw new OciError(
        'DIGEST_INVALID',
        `provided digest did not match uploaded content: uploaded ${actual}, expected ${digest}`,
        400,
        {
          expected: digest,
          actual,
        },
      );
    }
    const size = session.size;
    await commitUpload(ctx, session, actual);
    await ctx.store.mutate(() => {
      const current = findRepository(registry, repo.name);
      if (!current)
        throw new OciError(
          'NAME_UNKNOWN',
          `The repository with name '${repo.name}' does not exist in the registry with id '${registry.account}'`,
          404,
        );
      current.blobs[actual] = size;
    });
    send(res, 201, { ...COMMON, Location: `/v2/${r.name}/blobs/${actual}`, 'Docker-Content-Digest': actual });
  };

  if (method === 'POST' && r.ref === '') {
    // `?mount=&from=`: ECR mounts only when BLOB_MOUNTING is ENABLED, from a repository of
    // the same registry with the same encryption (type and key), never from a pull-through
    // cache repository. Otherwise (ECR's default) a normal upload starts below.
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    if (mount !== null && from !== null && (await mountAllowed(ctx, registry, repo, mount, from))) {
      await readBody(req, 0).catch(() => undefined);
      await ctx.store.mutate(() => {
        const source = findRepository(registry, from);
        const current = findRepository(registry, repo.name);
        if (!current || !source || !Object.hasOwn(source.blobs, mount)) {
          throw new OciError('BLOB_UNKNOWN', 'blob unknown to registry', 404, { digest: mount });
        }
        current.blobs[mount] = source.blobs[mount] as number;
      });
      send(res, 201, { ...COMMON, Location: `/v2/${r.name}/blobs/${mount}`, 'Docker-Content-Digest': mount });
      return;
    }
    const session = await startUpload(ctx, registry, repo.name);
    const digest = url.searchParams.get('digest');
    if (digest !== null) {
      await appendOrAbort(ctx, session, req);
      await finish(session, digest);
      return;
    }
    // A declined mount (or a plain POST) opens a normal upload session.
    await readBody(req, 0).catch(() => undefined);
    send(res, 202, {
      ...COMMON,
      Location: uploadLocation(r, session.id),
      'Docker-Upload-UUID': session.id,
      Range: '0-0',
    });
    return;
  }
  const session = ctx.uploads.get(r.ref);
  if (!session || session.registry !== registry || session.repository !== repo.name) {
    throw new OciError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', 404);
  }
  // ECR's Range stops advancing after the first chunk (containers-roadmap #2831): later
  // PATCHes are stored, but every answer reports the end of the first one. A client that
  // trusts Range to resume or to place its next chunk fails here as it does on ECR.
  const reported = () => firstChunkEnd.get(session) ?? session.size;
  const progress = () => ({
    ...COMMON,
    Location: uploadLocation(r, session.id),
    'Docker-Upload-UUID': session.id,
    Range: `0-${Math.max(0, reported() - 1)}`,
  });
  if (session.busy) throw new OciError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', 416);
  switch (method) {
    case 'GET':
      send(res, 204, progress());
      return;
    case 'DELETE':
      await abortUpload(ctx, session);
      send(res, 204, COMMON);
      return;
    case 'PATCH': {
      const range = req.headers['content-range'];
      if (range) {
        const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(String(range).trim());
        if (!m || Number(m[1]) !== session.size) {
          await readBody(req, Number.MAX_SAFE_INTEGER).catch(() => undefined);
          send(
            res,
            416,
            { ...progress(), 'Content-Type': 'application/json' },
            ociBody('BLOB_UPLOAD_INVALID', `the chunk must start at byte ${session.size}`),
          );
          return;
        }
      }
      await appendOrAbort(ctx, session, req);
      if (!firstChunkEnd.has(session)) firstChunkEnd.set(session, session.size);
      // ECR answers an intermediate PATCH with 201 (the distribution spec says 202).
      send(res, 201, progress());
      return;
    }
    case 'PUT':
      await appendOrAbort(ctx, session, req);
      await finish(session, url.searchParams.get('digest'));
      return;
    default:
      throw unsupported();
  }
}

/** Where each upload's first PATCH ended: the Range every later answer reports, as ECR's. */
const firstChunkEnd = new WeakMap<UploadSession, number>();

/** Appends a request body; a body cut short leaves the session unusable, so it is ended. */
async function appendOrAbort(ctx: LocalContext, session: UploadSession, req: IncomingMessage): Promise<void> {
  try {
    await appendStream(ctx, session, req);
  } catch (err) {
    await abortUpload(ctx, session);
    throw err;
  }
}

/** ECR's page size when a tag list request has no `n`. */
const DEFAULT_TAGS_PAGE = 100;

/** Returns ECR's validation message for an `n` outside 1–1000. */
function maxResultsMessage(n: string, rule: string): string {
  return `1 validation error detected: Value '${n}' at 'maxResults' failed to satisfy constraint: Member must have value ${rule}`;
}

/**
 * Orders tags the way this registry lists them: by a hash of the name, then the name. ECR
 * does not sort tag lists; a fixed, visibly unsorted order keeps pages stable while tags
 * come and go, and catches a client that assumes sorted pages.
 */
function tagOrderKey(tag: string): string {
  return `${createHash('sha256').update(tag).digest('hex').slice(0, 16)}\u0000${tag}`;
}

function tagsList(
  ctx: LocalContext,
  repo: RepositoryRecord,
  r: Route,
  res: ServerResponse,
  method: string,
  url: URL,
): void {
  if (method !== 'GET' && method !== 'HEAD') throw unsupported();
  const nParam = url.searchParams.get('n');
  let n = DEFAULT_TAGS_PAGE;
  if (nParam !== null) {
    if (!/^-?\d+$/.test(nParam))
      throw new OciError('PAGINATION_NUMBER_INVALID', `invalid number of results requested: '${nParam}'`, 400);
    n = Number(nParam);
    if (n > MAX_TAGS_PAGE)
      throw new OciError('UNSUPPORTED', maxResultsMessage(nParam, `less than or equal to ${MAX_TAGS_PAGE}`), 400);
    if (n < 1) throw new OciError('UNSUPPORTED', maxResultsMessage(nParam, 'greater than or equal to 1'), 400);
  }
  const lastParam = url.searchParams.get('last');
  let afterKey: string | undefined;
  if (lastParam !== null) {
    const lastTag = readTagPageToken(ctx.store.secret, repo.name, lastParam);
    if (lastTag === undefined) {
      throw new OciError(
        'UNSUPPORTED',
        "Invalid parameter at 'last': not a token from this repository's Link header; follow the Link of the previous page",
        400,
      );
    }
    afterKey = tagOrderKey(lastTag);
  }
  const ordered = Object.keys(repo.tags)
    .map((tag) => ({ tag, key: tagOrderKey(tag) }))
    .filter((t) => afterKey === undefined || t.key > afterKey)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tags = ordered.slice(0, n).map((t) => t.tag);
  const headers: Record<string, string> = { ...COMMON, 'Content-Type': 'application/json' };
  if (ordered.length > n && tags.length > 0) {
    const token = mintTagPageToken(ctx.store.secret, repo.name, tags[tags.length - 1] as string);
    const query = nParam === null ? '' : `n=${n}&`;
    headers.Link = `</v2/${r.name}/tags/list?${query}last=${encodeURIComponent(token)}>; rel="next"`;
  }
  send(res, 200, headers, JSON.stringify({ name: r.name, tags }), method === 'HEAD');
}

async function servePublicLogo(
  ctx: LocalContext,
  registry: RegistryRecord,
  digest: string,
  res: ServerResponse,
  head: boolean,
): Promise<void> {
  // Catalog logos are public: the gallery shows them to anyone.
  const known = Object.values(registry.repositories).some((r) => r.catalogData?.logoDigest === digest);
  if (!known) throw new OciError('BLOB_UNKNOWN', 'logo not found', 404);
  send(res, 200, { 'Content-Type': 'image/png' }, await ctx.store.readBlob(digest), head);
}

function referrers(repo: RepositoryRecord, r: Route, res: ServerResponse, method: string, url: URL): void {
  if (method !== 'GET' && method !== 'HEAD') throw unsupported();
  if (!ANY_DIGEST.test(r.ref)) throw new OciError('DIGEST_INVALID', `invalid digest '${r.ref}'`, 400);
  const artifactType = url.searchParams.get('artifactType');
  const manifests = Object.values(repo.images)
    .filter((i) => i.subject === r.ref && (artifactType === null || i.artifactType === artifactType))
    .sort((a, b) => a.pushedAt - b.pushedAt)
    .map((i) => ({
      mediaType: i.mediaType,
      digest: i.digest,
      size: i.manifestSize,
      ...(i.artifactType ? { artifactType: i.artifactType } : {}),
      ...(i.annotations ? { annotations: i.annotations } : {}),
    }));
  const headers: Record<string, string> = { ...COMMON, 'Content-Type': MEDIA_TYPES.ociIndex };
  if (artifactType !== null) headers['OCI-Filters-Applied'] = 'artifactType';
  send(
    res,
    200,
    headers,
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }),
    method === 'HEAD',
  );
}

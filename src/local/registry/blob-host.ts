// The emulator's stand-in for the S3 bucket behind ECR's data plane. ECR answers a blob GET
// with 307 to a presigned S3 URL on another host; so does the local registry, to this
// listener (another port, and another name: `localhost` for a registry on 127.0.0.1, so
// that clients which drop credentials only across host names — Go's, Python's — drop them
// here too). As S3 does, it answers a request that carries an Authorization header besides
// the signed query with 400 InvalidArgument "Only one auth mechanism allowed", an expired URL
// with 403 AccessDenied "Request has expired", and serves Range requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findRepository, type LocalContext, takeFault } from '../context.js';
import { send } from '../http.js';
import { SHA256_DIGEST } from '../rules.js';
import { type RegistryRecord, registryKey } from '../store.js';
import { mintDownloadToken, readDownloadToken } from '../tokens.js';

/** The bucket-like path prefix of blob URLs. */
const PREFIX = '/ecr-local-layer-bucket/';
/** How long a redirect or GetDownloadUrlForLayer URL works unless the server is told otherwise. */
export const DEFAULT_BLOB_URL_TTL_SECONDS = 600;

/** Returns a presigned-looking URL on the blob host for one blob of one repository. */
export function presignedBlobUrl(
  ctx: LocalContext,
  base: string,
  registry: RegistryRecord,
  repository: string,
  digest: string,
): string {
  const now = ctx.now();
  const ttlMs = urlTtlMs(ctx);
  const ttlSeconds = Math.max(1, Math.round(ttlMs / 1000));
  const token = mintDownloadToken(ctx.store.secret, {
    registry: registryKey(registry.kind, registry.account, registry.region),
    repository,
    digest,
    exp: now + ttlMs,
  });
  const amzDate = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Date': amzDate,
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Expires': String(ttlSeconds),
    'X-Amz-Signature': token,
  });
  return `${base}${PREFIX}${digest}?${query.toString()}`;
}

function urlTtlMs(ctx: LocalContext): number {
  return ctx.blobUrlTtlMs ?? DEFAULT_BLOB_URL_TTL_SECONDS * 1000;
}

function s3Error(res: ServerResponse, status: number, code: string, message: string, head: boolean, extra = ''): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>ECRLOCAL</RequestId></Error>`;
  send(res, status, { 'Content-Type': 'application/xml' }, body, head);
}

/** Returns the request handler of the blob host. */
export function blobHostHandler(ctx: LocalContext) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    req.resume();
    if (method !== 'GET' && method !== 'HEAD') {
      s3Error(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', head);
      return;
    }
    const call = `s3:${method} blob`;
    ctx.calls.push(call);
    ctx.requests.push({ call, at: Date.now() });
    // A drop fault waits for a blob large enough to cut (see LocalFault); others apply now.
    const dropping = ctx.faults.some((f) => f.operation === call && f.kind === 'drop');
    const fault = dropping ? undefined : takeFault(ctx, call);
    if (fault?.kind === 'expire-tokens') ctx.advanceClock(urlTtlMs(ctx) + 1000);
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 0));
    if (fault?.kind === 'throttle') {
      s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.', head);
      return;
    }
    const digest = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : '';
    const signature = url.searchParams.get('X-Amz-Signature');
    if (req.headers.authorization !== undefined && signature !== null) {
      s3Error(
        res,
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        head,
        '<ArgumentName>Authorization</ArgumentName>',
      );
      ctx.log(`blob host: refused a request with an Authorization header (${digest})`);
      return;
    }
    const claims = signature === null ? undefined : readDownloadToken(ctx.store.secret, signature);
    if (!claims || claims.digest !== digest || !SHA256_DIGEST.test(digest)) {
      s3Error(
        res,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
        head,
      );
      return;
    }
    if (claims.exp <= ctx.now()) {
      s3Error(
        res,
        403,
        'AccessDenied',
        'Request has expired',
        head,
        `<Expires>${new Date(claims.exp).toISOString()}</Expires><ServerTime>${new Date(ctx.now()).toISOString()}</ServerTime>`,
      );
      return;
    }
    const registry = Object.hasOwn(ctx.store.state.registries, claims.registry)
      ? ctx.store.state.registries[claims.registry]
      : undefined;
    const repo = registry ? findRepository(registry, claims.repository) : undefined;
    if (!repo || !Object.hasOwn(repo.blobs, digest)) {
      s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.', head);
      return;
    }
    const size = repo.blobs[digest] as number;
    const drop = ctx.faults.find(
      (f) =>
        f.operation === call &&
        f.kind === 'drop' &&
        (f.times === undefined || f.times > 0) &&
        size > (f.afterBytes ?? 0) &&
        method === 'GET',
    );
    if (drop) {
      if (drop.times !== undefined) drop.times--;
      ctx.advanceClock(urlTtlMs(ctx) + 1000);
      ctx.log(`blob host: cutting ${digest} off after ${drop.afterBytes ?? 0} bytes (fault)`);
    }
    await sendBlob(
      ctx,
      digest,
      size,
      req,
      res,
      method,
      { 'Content-Type': 'application/octet-stream', ETag: `"${digest.slice(7, 39)}"` },
      undefined,
      drop ? (drop.afterBytes ?? 0) : undefined,
    );
  };
}

/**
 * Sends a stored blob: the whole (200) or the `Range` asked for (206; 416 when it cannot be
 * satisfied), streamed from the store.
 */
export async function sendBlob(
  ctx: LocalContext,
  digest: string,
  size: number,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  base: Record<string, string | number>,
  notSatisfiable: (size: number) => { headers: Record<string, string>; body: string } = (n) => ({
    headers: { 'Content-Range': `bytes */${n}`, 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message></Error>',
  }),
  cutAfterBytes?: number,
): Promise<void> {
  const headers: Record<string, string | number> = { ...base, 'Accept-Ranges': 'bytes' };
  const rangeHeader = req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (rangeHeader && method === 'GET') {
    const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= size) {
        const answer = notSatisfiable(size);
        send(res, 416, answer.headers, answer.body);
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
  if (method === 'HEAD' || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  res.writeHead(status, headers);
  if (cutAfterBytes !== undefined) {
    // Test fault: send the first bytes, then drop the connection mid-body.
    const part = ctx.store.blobStream(digest, { start, end: Math.min(end, start + cutAfterBytes - 1) });
    for await (const chunk of part) res.write(chunk);
    await new Promise((r) => setTimeout(r, 20));
    res.destroy();
    return;
  }
  const stream = ctx.store.blobStream(digest, { start, end });
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
}

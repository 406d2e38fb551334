// ECR's answer to an expired or invalid token is not a 401 challenge: private ECR answers 403
// DENIED "Your authorization token has expired", ECR Public 400 DENIED "Your Authorization
// Token is invalid.", and a HEAD gets the status with no body. The transport refreshes the
// credential once on those answers (and only those), against scripted loopback servers.
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../src/errors.js';
import type { RegistryCredential, RegistryCredentialProvider } from '../../../src/oci/transport/credentials.js';
import { transportFixture } from './scripted-server.js';

const EXPIRED = JSON.stringify({
  errors: [{ code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' }],
});
const PUBLIC_INVALID = JSON.stringify({
  errors: [{ code: 'DENIED', message: 'Your Authorization Token is invalid.' }],
});
const IAM_DENIED = JSON.stringify({
  errors: [
    {
      code: 'DENIED',
      message:
        'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:123456789012:repository/app',
    },
  ],
});

const { serve, transport } = transportFixture();

/** An ECR-like credential source: each fetch (first use, and after invalidate) mints a new token. */
function tokenSource(opts: { failAfter?: number } = {}) {
  let current: RegistryCredential | undefined;
  const source = {
    fetches: 0,
    invalidations: 0,
    async get(): Promise<RegistryCredential | undefined> {
      if (current === undefined) {
        source.fetches++;
        if (opts.failAfter !== undefined && source.fetches > opts.failAfter) {
          throw new AuthError('GetAuthorizationToken: the security token included in the request is expired');
        }
        current = { username: 'AWS', password: `token-${source.fetches}` };
      }
      return current;
    },
    invalidate() {
      source.invalidations++;
      current = undefined;
    },
  } satisfies RegistryCredentialProvider & { fetches: number; invalidations: number };
  return source;
}

function basic(password: string): string {
  return `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
}

/** Answers like ECR: 403 DENIED-expired to every token in `expired`, 200 to others. */
function ecrLike(expired: readonly string[], body = EXPIRED) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (expired.some((t) => req.headers.authorization === basic(t))) {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"app","tags":["v1"]}');
  };
}

describe('an expired ECR token (403 DENIED, no challenge)', () => {
  it('refreshes the credential once and completes the request', async () => {
    const registry = await serve(ecrLike(['token-1']));
    const source = tokenSource();
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const res = await t.request({ method: 'GET', host: registry.host, path: '/v2/app/tags/list' });
    expect(await res.body.json()).toEqual({ name: 'app', tags: ['v1'] });
    expect(source.fetches).toBe(2);
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([basic('token-1'), basic('token-2')]);
  });

  it('refreshes on a bodiless 403 to HEAD (ECR sends no error body there)', async () => {
    const registry = await serve(ecrLike(['token-1']));
    const source = tokenSource();
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const res = await t.request({ method: 'HEAD', host: registry.host, path: '/v2/app/blobs/sha256:abc' });
    expect(res.status).toBe(200);
    expect(source.fetches).toBe(2);
    expect(registry.requests).toHaveLength(2);
  });

  it('does not refresh on a permission 403: the IAM advice stays, one request, one token', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(IAM_DENIED);
    });
    const source = tokenSource();
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const err = await t
      .request({ method: 'GET', host: registry.host, path: '/v2/app/manifests/v1', what: 'manifest app:v1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toContain('not authorized to perform: ecr:BatchGetImage');
    expect((err as AuthError).fix).toMatch(/IAM policy/);
    expect(source.fetches).toBe(1);
    expect(registry.requests).toHaveLength(1);
  });

  it('says the token expired and a fresh one was refused when the registry keeps refusing', async () => {
    const registry = await serve(ecrLike(['token-1', 'token-2', 'token-3']));
    const source = tokenSource();
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const err = await t
      .request({ method: 'GET', host: registry.host, path: '/v2/app/manifests/v1', what: 'manifest app:v1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toContain(
      'the registry token has expired (or is invalid) and a fresh one was refused',
    );
    expect((err as AuthError).message).not.toMatch(/token-\d/);
    expect((err as AuthError).fix).toContain('ecrctl login');
    expect((err as AuthError).fix).not.toMatch(/IAM policy/);
    expect(source.fetches).toBe(2);
    expect(registry.requests).toHaveLength(2);
  });

  it('says the token expired and a fresh one was refused when the refresh itself fails', async () => {
    const registry = await serve(ecrLike(['token-1']));
    const source = tokenSource({ failAfter: 1 });
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const err = await t
      .request({ method: 'GET', host: registry.host, path: '/v2/app/tags/list' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toContain(
      'the registry token has expired (or is invalid) and a fresh one was refused',
    );
    expect((err as AuthError).message).toContain('GetAuthorizationToken');
    expect(source.fetches).toBe(2);
    expect(registry.requests).toHaveLength(1);
  });
});

describe('an invalid ECR Public token (400 DENIED)', () => {
  it('fetches a new bearer token once and completes the request', async () => {
    let issued = 0;
    const server = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/token/') {
        issued++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: `bearer-${issued}`, expires_in: 3600 }));
        return;
      }
      const auth = req.headers.authorization;
      if (auth === undefined) {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${req.headers.host}/token/",service="public.ecr.aws",scope="repository:app:pull"`,
        });
        res.end();
        return;
      }
      if (auth === 'Bearer bearer-1') {
        res.writeHead(400, { 'content-type': 'application/json' }).end(PUBLIC_INVALID);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"app","tags":["v1"]}');
    });
    const source = tokenSource();
    const t = transport({ credentials: source });
    const res = await t.request({
      method: 'GET',
      host: server.host,
      path: '/v2/app/tags/list',
      scopes: ['repository:app:pull'],
    });
    expect(await res.body.json()).toEqual({ name: 'app', tags: ['v1'] });
    expect(issued).toBe(2);
    expect(server.requests.filter((r) => r.url.startsWith('/v2/')).map((r) => r.headers.authorization)).toEqual([
      undefined,
      'Bearer bearer-1',
      'Bearer bearer-2',
    ]);
  });
});

describe('bodiless and streamed answers', () => {
  it('refreshes once on a HEAD 403, then reports a second 403 as the permission problem it is', async () => {
    const registry = await serve((_req, res) => {
      res.writeHead(403).end();
    });
    const source = tokenSource();
    const t = transport({ credentials: source, basicAuthHosts: () => true });
    const err = await t
      .request({ method: 'HEAD', host: registry.host, path: '/v2/app/blobs/sha256:abc' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toContain('denied access');
    expect((err as AuthError).fix).toMatch(/IAM policy/);
    expect(source.fetches).toBe(2);
    expect(registry.requests).toHaveLength(2);
  });

  it('a blob upload whose token expires while its body streams starts over with a fresh token', async () => {
    const { Readable } = await import('node:stream');
    const { RegistryClient } = await import('../../../src/oci/registry.js');
    const { createHash } = await import('node:crypto');
    const bytes = Buffer.from('layer bytes');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    let puts = 0;
    const registry = await serve((req, res) => {
      if (req.method === 'HEAD') return void res.writeHead(404).end();
      if (req.method === 'POST') {
        return void res.writeHead(202, { location: `/v2/app/blobs/uploads/${puts}` }).end();
      }
      if (req.method === 'PUT') {
        puts++;
        if (req.headers.authorization === basic('token-1')) {
          return void res.writeHead(403, { 'content-type': 'application/json' }).end(EXPIRED);
        }
        return void res.writeHead(201, { location: `/v2/app/blobs/${digest}` }).end();
      }
      res.writeHead(204).end();
    });
    const source = tokenSource();
    const client = new RegistryClient({ credentials: source, basicAuthHosts: () => true, retry: { baseDelayMs: 5 } });
    try {
      const result = await client
        .repository(registry.host, 'app')
        .putBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, async () =>
          Readable.from([bytes]),
        );
      expect(result).toBe('uploaded');
      expect(puts).toBe(2);
      expect(source.fetches).toBe(2);
    } finally {
      await client.close();
    }
  });
});

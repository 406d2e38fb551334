// The transport against scripted loopback servers: redirects, retries, timeouts, errors.
import net from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  EcrctlError,
  HttpStatusError,
  InterruptedError,
  NotFoundError,
  RateLimitedError,
} from '../../../src/errors.js';
import { StaticCredentials } from '../../../src/oci/transport/credentials.js';
import { transportFixture } from './scripted-server.js';

const { serve, transport } = transportFixture();

describe('redirects', () => {
  it('follows a redirect to storage on another host without sending Authorization there', async () => {
    const storage = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('blob bytes');
    });
    const registry = await serve((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
        return;
      }
      res.writeHead(307, { location: `${storage.url}/bucket/blob?X-Signature=secret` }).end();
    });
    const t = transport({
      credentials: new StaticCredentials({ [registry.host]: { username: 'u', password: 'p4ssword!' } }),
    });
    const res = await t.request({ method: 'GET', host: registry.host, path: '/v2/app/blobs/sha256:abc' });
    expect(await res.body.text()).toBe('blob bytes');
    expect(res.url.host).toBe(storage.host);
    expect(registry.requests.at(-1)?.headers.authorization).toBe(
      `Basic ${Buffer.from('u:p4ssword!').toString('base64')}`,
    );
    expect(storage.requests).toHaveLength(1);
    expect(storage.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('stops a redirect loop with a clear error', async () => {
    const a = await serve((req, res) => {
      res.writeHead(302, { location: req.url === '/v2/x' ? '/v2/y' : '/v2/x' }).end();
    });
    const err = await transport()
      .request({ method: 'GET', host: a.host, path: '/v2/x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrctlError);
    expect((err as Error).message).toMatch(/redirected in a loop/);
  });

  it('stops after 5 hops', async () => {
    const a = await serve((req, res) => {
      const n = Number(req.url?.split('/').pop());
      res.writeHead(302, { location: `/hop/${n + 1}` }).end();
    });
    await expect(transport().request({ method: 'GET', host: a.host, path: '/hop/0' })).rejects.toThrow(
      /redirected more than 5 times/,
    );
    expect(a.requests).toHaveLength(6);
  });
});

describe('retries', () => {
  it('retries 503 honouring Retry-After', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 0) res.writeHead(503, { 'retry-after': '1' }).end();
      else res.writeHead(200).end('ok');
    });
    const started = Date.now();
    const res = await transport().request({ method: 'GET', host: s.host, path: '/v2/' });
    expect(await res.body.text()).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(s.requests).toHaveLength(2);
  });

  it('gives up on 429 after the retry count with RateLimitedError', async () => {
    const s = await serve((_req, res) => {
      res
        .writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
    });
    const err = await transport()
      .request({ method: 'GET', host: s.host, path: '/v2/app/tags/list' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as Error).message).toContain('TOOMANYREQUESTS: slow down');
    expect(s.requests).toHaveLength(4);
  });

  it('gives up when Retry-After asks for longer than the total time allowed', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': '3600' }).end();
    });
    const err = await transport({ retry: { maxTotalMs: 2000 } })
      .request({ method: 'GET', host: s.host, path: '/v2/' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).status).toBe(503);
    expect(s.requests).toHaveLength(1);
  });

  it('retries a dropped connection', async () => {
    const s = await serve((req, res, n) => {
      if (n === 0) req.socket.destroy();
      else res.writeHead(200).end('ok');
    });
    const res = await transport().request({ method: 'GET', host: s.host, path: '/v2/' });
    expect(await res.body.text()).toBe('ok');
    expect(s.requests).toHaveLength(2);
  });

  it('never retries a streamed body or a POST', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503).end();
    });
    const t = transport();
    await expect(
      t.request({ method: 'PUT', host: s.host, path: '/up', body: Readable.from([Buffer.from('x')]) }),
    ).rejects.toBeInstanceOf(HttpStatusError);
    await expect(t.request({ method: 'POST', host: s.host, path: '/up' })).rejects.toBeInstanceOf(HttpStatusError);
    expect(s.requests).toHaveLength(2);
  });

  it('times out a registry that never answers', async () => {
    const s = await serve(() => {
      // never answers
    });
    const err = await transport({ headersTimeoutMs: 200, retry: { maxRetries: 1, baseDelayMs: 1 } })
      .request({ method: 'GET', host: s.host, path: '/v2/' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/stopped answering/);
    expect(s.requests).toHaveLength(2);
  });

  it('throws InterruptedError when the signal aborts, also while waiting to retry', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(503, { 'retry-after': '30' }).end();
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(
      transport().request({ method: 'GET', host: s.host, path: '/v2/', signal: ac.signal }),
    ).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe('errors', () => {
  it('maps 404 to NotFoundError with the OCI codes and messages', async () => {
    const s = await serve((_req, res) => {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
    });
    const err = await transport()
      .request({ method: 'GET', host: s.host, path: '/v2/app/tags/list', what: 'tags of app' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(
      `tags of app: not found on ${s.host} (NAME_UNKNOWN: repository name not known to registry)`,
    );
  });

  it('maps 403 to AuthError and other statuses to HttpStatusError', async () => {
    const s = await serve((req, res) => {
      res
        .writeHead(req.url === '/403' ? 403 : 400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: req.url === '/403' ? 'DENIED' : 'TAG_INVALID', message: 'no' }] }));
    });
    const t = transport();
    const denied = await t.request({ method: 'GET', host: s.host, path: '/403' }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthError);
    expect((denied as Error).message).toContain(`${s.host} denied access`);
    const bad = await t.request({ method: 'PUT', host: s.host, path: '/400', body: '{}' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(HttpStatusError);
    expect((bad as HttpStatusError).status).toBe(400);
    expect((bad as Error).message).toContain('TAG_INVALID: no');
  });

  it('says which host refused a connection', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const err = await transport()
      .request({ method: 'GET', host: `127.0.0.1:${port}`, path: '/v2/' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: connection refused`);
  });
});

describe('proxies', () => {
  it('sends requests through HTTP_PROXY when the environment sets one', async () => {
    const target = await serve((_req, res) => {
      res.writeHead(200).end('through the proxy');
    });
    const tunnels: string[] = [];
    const sockets = new Set<net.Socket>();
    const { default: http } = await import('node:http');
    const proxyServer = http.createServer();
    proxyServer.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [h, p] = (req.url ?? '').split(':');
      sockets.add(client as net.Socket);
      const upstream = net.connect(Number(p), h, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxyServer.listen(0, '127.0.0.1', r));
    try {
      const port = (proxyServer.address() as net.AddressInfo).port;
      const t = transport({ env: { HTTP_PROXY: `http://127.0.0.1:${port}` } });
      const res = await t.request({ method: 'GET', host: target.host, path: '/v2/' });
      expect(await res.body.text()).toBe('through the proxy');
      expect(tunnels).toEqual([target.host]);
      // NO_PROXY exempts the host.
      const direct = transport({ env: { HTTP_PROXY: `http://127.0.0.1:${port}`, NO_PROXY: '127.0.0.1' } });
      await (await direct.request({ method: 'GET', host: target.host, path: '/v2/' })).body.dump();
      expect(tunnels).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      proxyServer.closeAllConnections();
      await new Promise((r) => proxyServer.close(r));
    }
  });
});

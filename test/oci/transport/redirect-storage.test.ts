// Blob downloads redirected to storage, as ECR redirects to S3 (issue 19 #2): credentials
// never follow the redirect, an expired presigned URL (403 from the storage host) sends the
// client back to the registry once for a fresh one, and the small-response deadline does
// not apply to a blob download whatever the storage URL looks like.
import { describe, expect, it } from 'vitest';
import { transportFixture } from './scripted-server.js';

const { serve, transport } = transportFixture();
const BLOB = '/v2/app/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000';

describe('blob redirects to storage', () => {
  it('asks the registry again when the presigned URL it was sent to answers 403, once', async () => {
    const storage = await serve((_req, res, n) => {
      if (n === 0) {
        res.writeHead(403, { 'Content-Type': 'application/xml' });
        res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
        return;
      }
      res.writeHead(200, { 'Content-Length': 5 });
      res.end('bytes');
    });
    let issued = 0;
    const registry = await serve((_req, res) => {
      issued++;
      res.writeHead(307, {
        Location: `http://localhost:${storage.host.split(':')[1]}/bucket/key?X-Amz-Signature=s${issued}`,
      });
      res.end();
    });
    const t = transport();
    const res = await t.request({ method: 'GET', host: registry.host, path: BLOB });
    expect(await res.body.text()).toBe('bytes');
    expect(registry.requests.length).toBe(2);
    expect(storage.requests.map((r) => r.url)).toEqual([
      '/bucket/key?X-Amz-Signature=s1',
      '/bucket/key?X-Amz-Signature=s2',
    ]);
  });

  it('never sends the registry credentials to the storage host', async () => {
    const storage = await serve((req, res) => {
      if (req.headers.authorization !== undefined) {
        res.writeHead(400);
        res.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
        return;
      }
      res.writeHead(200, { 'Content-Length': 2 });
      res.end('ok');
    });
    const registry = await serve((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'WWW-Authenticate': `Basic realm="${'x'}"` });
        res.end();
        return;
      }
      res.writeHead(307, { Location: `http://localhost:${storage.host.split(':')[1]}/bucket/key?sig=1` });
      res.end();
    });
    const t = transport({ credentials: { get: async () => ({ username: 'AWS', password: 'secret-password' }) } });
    const res = await t.request({ method: 'GET', host: registry.host, path: BLOB });
    expect(await res.body.text()).toBe('ok');
    expect(storage.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('does not hold a redirected blob download to the small-response deadline', async () => {
    const storage = await serve(async (_req, res) => {
      res.writeHead(200, { 'Content-Length': 4 });
      res.write('sl');
      await new Promise((r) => setTimeout(r, 600));
      res.end('ow');
    });
    const registry = await serve((_req, res) => {
      res.writeHead(307, { Location: `http://localhost:${storage.host.split(':')[1]}/bucket/key` });
      res.end();
    });
    const t = transport({ requestTimeoutMs: 300 });
    const res = await t.request({ method: 'GET', host: registry.host, path: BLOB });
    expect(await res.body.text()).toBe('slow');
  });
});

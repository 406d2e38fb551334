// Authentication and TLS against real registries on loopback: htpasswd Basic, a Bearer
// token server (scope caching, refresh), and HTTPS with a CA made at test time.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, isEcrctlError } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { type RegistryCredential, StaticCredentials } from '../../src/oci/transport/credentials.js';
import { buildImage, type FixtureImage } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { startFaultProxy } from '../resilience/fault-proxy.js';

const root = path.resolve(import.meta.dirname, '../..');

async function pushImage(client: RegistryClient, host: string, repoName: string, image: FixtureImage, tag: string) {
  const repo = client.repository(host, repoName);
  for (const b of [image.config, ...image.layers]) {
    await repo.putBlob(b.descriptor, async () => Readable.from([b.bytes]));
  }
  return repo.putManifest(image.manifest, tag);
}

describe('Basic auth (htpasswd)', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'basic' });
  });
  afterAll(() => reg?.stop());

  it('pushes and pulls with the right credentials', async () => {
    const secrets: string[] = [];
    const client = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
      onSecret: (s) => secrets.push(s),
    });
    try {
      const image = buildImage(20, { layers: 1 });
      expect(await pushImage(client, reg.host, 'basic/app', image, 'v1')).toBe(image.manifest.digest);
      expect((await client.repository(reg.host, 'basic/app').getManifest('v1')).digest).toBe(image.manifest.digest);
      expect(secrets).toContain(reg.password);
    } finally {
      await client.close();
    }
  });

  it('sends Basic with the first request to a host presumed to take it (ECR): no anonymous try, no 401', async () => {
    const proxy = await startFaultProxy(reg.host);
    const credentials = new StaticCredentials({ [proxy.host]: { username: reg.username!, password: reg.password! } });
    const anonymousFirst = new RegistryClient({ credentials });
    const basicFirst = new RegistryClient({ credentials, basicAuthHosts: (host) => host === proxy.host });
    try {
      const image = buildImage(21, { layers: 2 });
      await pushImage(anonymousFirst, proxy.host, 'basic/first', image, 'v1');
      expect(proxy.requests[0]!.status).toBe(401); // the usual way: asked, challenged, answered
      const before = proxy.requests.length;
      expect(await basicFirst.repository(proxy.host, 'basic/first').listTags()).toEqual(['v1']);
      expect((await basicFirst.repository(proxy.host, 'basic/first').getManifest('v1')).digest).toBe(
        image.manifest.digest,
      );
      const sent = proxy.requests.slice(before);
      expect(sent.map((q) => q.status)).toEqual([200, 200]);
    } finally {
      await Promise.all([anonymousFirst.close(), basicFirst.close()]);
      await proxy.stop();
    }
  });

  it('says that the registry needs credentials when there are none', async () => {
    const client = new RegistryClient();
    try {
      const err = await client
        .repository(reg.host, 'basic/app')
        .listTags()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).message).toContain(`${reg.host} requires authentication`);
      expect((err as AuthError).fix).toContain('ecrctl login');
    } finally {
      await client.close();
    }
  });

  it('refreshes a refused credential once (onUnauthorized), then succeeds', async () => {
    let calls = 0;
    let invalidated = 0;
    const provider = {
      async get(): Promise<RegistryCredential> {
        calls++;
        // The first answer is an expired token, as ECR's are after 12 hours.
        return { username: reg.username!, password: invalidated === 0 ? 'expired' : reg.password! };
      },
      invalidate() {
        invalidated++;
      },
    };
    const client = new RegistryClient({ credentials: provider });
    try {
      await client.ping(reg.host);
      expect(invalidated).toBe(1);
      expect(calls).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('gives up with AuthError when the refreshed credential is refused too', async () => {
    let invalidated = 0;
    const client = new RegistryClient({
      credentials: { get: async () => ({ username: 'tester', password: 'wrong' }), invalidate: () => invalidated++ },
    });
    try {
      const err = await client.ping(reg.host).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toContain('refused the credentials');
      expect((err as Error).message).not.toContain('wrong');
      expect(invalidated).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('Bearer tokens', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', anonymousPull: true });
  });
  afterAll(() => reg?.stop());

  it('fetches a token per scope and reuses it until it expires', async () => {
    const client = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
    });
    try {
      const image = buildImage(21, { layers: 2 });
      await pushImage(client, reg.host, 'bearer/app', image, 'v1');
      const repo = client.repository(reg.host, 'bearer/app');
      await repo.getManifest('v1');
      await repo.getManifest('v1');
      await repo.listTags();
      const requests = reg.tokenServer!.requests;
      // One token for pushing, one for pulling: never one per request.
      expect(requests.map((r) => r.scopes.join(' '))).toEqual([
        'repository:bearer/app:pull,push',
        'repository:bearer/app:pull',
      ]);
      expect(requests.every((r) => r.user === 'tester' && r.service === 'ecrctl-test-registry')).toBe(true);
      expect(client.transport.authenticator.cachedTokenCount).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('pulls anonymously when the token server allows it, and asks for a mount scope', async () => {
    const writer = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
    });
    const anonymous = new RegistryClient();
    try {
      const image = buildImage(22, { layers: 1 });
      await pushImage(writer, reg.host, 'bearer/src', image, 'v1');
      const before = reg.tokenServer!.requests.length;
      expect(await writer.repository(reg.host, 'bearer/dst').mountBlob(image.layers[0]!.descriptor, 'bearer/src')).toBe(
        true,
      );
      expect(reg.tokenServer!.requests[before]?.scopes).toEqual([
        'repository:bearer/dst:pull,push',
        'repository:bearer/src:pull',
      ]);
      expect((await anonymous.repository(reg.host, 'bearer/src').getManifest('v1')).digest).toBe(image.manifest.digest);
      const err = await pushImage(anonymous, reg.host, 'bearer/src', image, 'v2').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
    } finally {
      await writer.close();
      await anonymous.close();
    }
  });

  it('exchanges an identity token for access tokens (refresh-token grant)', async () => {
    const client = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { identityToken: reg.refreshToken! } }),
    });
    try {
      const image = buildImage(25, { layers: 1 });
      expect(await pushImage(client, reg.host, 'bearer/identity', image, 'v1')).toBe(image.manifest.digest);
      expect(reg.tokenServer!.requests.at(-1)).toEqual({
        scopes: ['repository:bearer/identity:pull,push'],
        service: 'ecrctl-test-registry',
        user: 'tester',
      });
    } finally {
      await client.close();
    }
  });

  it('reports refused credentials at the token server as AuthError', async () => {
    const client = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: 'tester', password: 'nope' } }),
    });
    try {
      const err = await client
        .repository(reg.host, 'bearer/app')
        .listTags()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as Error).message).toContain('token server');
    } finally {
      await client.close();
    }
  });
});

describe('Bearer tokens in access_token, expiring quickly', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', tokenField: 'access_token', tokenExpiresInSeconds: 1 });
  });
  afterAll(() => reg?.stop());

  it('reads access_token and fetches a new token once the old one expired', async () => {
    const client = new RegistryClient({
      credentials: new StaticCredentials({ [reg.host]: { username: reg.username!, password: reg.password! } }),
    });
    try {
      const image = buildImage(23, { layers: 1 });
      await pushImage(client, reg.host, 'short/app', image, 'v1');
      const n = reg.tokenServer!.requests.length;
      await new Promise((r) => setTimeout(r, 1100));
      await client.repository(reg.host, 'short/app').headManifest('v1');
      expect(reg.tokenServer!.requests.length).toBeGreaterThan(n);
    } finally {
      await client.close();
    }
  });
});

describe('TLS with a CA made at test time', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ tls: true });
  });
  afterAll(() => reg?.stop());

  it('trusts the registry with caFile', async () => {
    const client = new RegistryClient({ httpsLoopback: true, caFile: reg.caFile });
    try {
      const image = buildImage(24, { layers: 1 });
      expect(await pushImage(client, reg.host, 'tls/app', image, 'v1')).toBe(image.manifest.digest);
    } finally {
      await client.close();
    }
  });

  it('refuses an unknown CA with a message that says what to do', async () => {
    const client = new RegistryClient({ httpsLoopback: true, retry: { maxRetries: 0 } });
    try {
      const err = await client.ping(reg.host).catch((e: unknown) => e);
      expect(isEcrctlError(err)).toBe(true);
      expect((err as Error).message).toContain(`cannot verify the TLS certificate of ${reg.host}`);
      expect((err as { fix?: string }).fix).toContain('--ca-file /path/to/ca.pem (or AWS_CA_BUNDLE=/path/to/ca.pem)');
    } finally {
      await client.close();
    }
  });

  it('skips verification with insecure', async () => {
    const client = new RegistryClient({ httpsLoopback: true, insecure: true });
    try {
      await client.ping(reg.host);
    } finally {
      await client.close();
    }
  });

  it('trusts NODE_EXTRA_CA_CERTS in a fresh process', async () => {
    const script = `
      const { RegistryClient } = await import(${JSON.stringify(path.join(root, 'src/oci/registry.ts'))});
      const c = new RegistryClient({ httpsLoopback: true, retry: { maxRetries: 0 } });
      try { await c.ping(${JSON.stringify(reg.host)}); console.log('ok'); }
      catch (e) { console.log('failed: ' + e.message); }
      finally { await c.close(); }`;
    const run = (env: NodeJS.ProcessEnv) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', script],
          { cwd: root, env, encoding: 'utf8' },
          (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout.trim())),
        );
      });
    const { NODE_EXTRA_CA_CERTS: _, ...base } = process.env;
    expect(await run({ ...base, NODE_EXTRA_CA_CERTS: reg.caFile })).toBe('ok');
    expect(await run(base)).toMatch(/^failed: cannot verify the TLS certificate/);
  });
});

describe('insecure and plain HTTP', () => {
  let reg: StartedRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(() => reg?.stop());

  it('falls back from HTTPS to plain HTTP with insecure', async () => {
    const logs: string[] = [];
    const client = new RegistryClient({ httpsLoopback: true, insecure: true, log: (m) => logs.push(m) });
    try {
      await client.ping(reg.host);
      expect(logs.join('\n')).toContain('does not speak TLS');
      expect(client.transport.baseUrl(reg.host)).toBe(`http://${reg.host}`);
    } finally {
      await client.close();
    }
  });
});

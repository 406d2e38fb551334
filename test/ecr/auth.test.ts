// The ECR credential provider in-process against ecrctl local: what the registry client gets
// for a host, how often it calls GetAuthorizationToken, and that secrets are announced first.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsSettings } from '../../src/ecr/aws-config.js';
import { createEcrCredentialProvider, resolveDefaultRegistry, TokenSource } from '../../src/ecr/auth.js';
import { TokenCache } from '../../src/ecr/token-cache.js';
import { type LocalServer, startLocalServer } from '../../src/local/server.js';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, type TempHome, tempHome } from './env.js';

let server: LocalServer;
let h: TempHome;

beforeAll(async () => {
  h = tempHome('ecrctl-auth-');
  // The SDK's default chain reads process.env (each test file runs in its own process).
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
  process.env.AWS_CONFIG_FILE = h.env.AWS_CONFIG_FILE;
  process.env.AWS_SHARED_CREDENTIALS_FILE = h.env.AWS_SHARED_CREDENTIALS_FILE;
  delete process.env.AWS_PROFILE;
  server = await startLocalServer({ port: 0, dataDir: path.join(h.dir, 'local'), tokenTtlSeconds: 60 });
});
afterAll(async () => {
  await server.close();
  h.remove();
});

const tokenCalls = () => server.calls.filter((c) => c === 'ecr:GetAuthorizationToken').length;

function settings(extra: Partial<AwsSettings> = {}, cacheName = 'cache'): AwsSettings {
  return {
    env: { ...h.env, XDG_CACHE_HOME: path.join(h.dir, cacheName) },
    endpointUrl: server.url,
    region: 'us-east-1',
    ...extra,
  };
}

describe('ECR credential provider', () => {
  it('resolves the default registry from the proxyEndpoint and serves it from the cache', async () => {
    const before = tokenCalls();
    const host = await resolveDefaultRegistry(settings({}, 'c1'));
    expect(host).toBe(new URL(await server.registryEndpoint('us-east-1')).host);
    expect(await resolveDefaultRegistry(settings({}, 'c1'))).toBe(host);
    expect(tokenCalls() - before).toBe(1);
    // --registry-id picks another account's registry
    const other = await resolveDefaultRegistry(settings({}, 'c1'), { registryId: '210987654321' });
    expect(other).toBe(new URL(await server.registryEndpoint('us-east-1', '210987654321')).host);
  });

  it('gives Basic credentials for ECR hosts and proxy hosts, nothing for other hosts', async () => {
    const s = settings({}, 'c2');
    const provider = createEcrCredentialProvider(s);
    const ecrHost = await provider.get('123456789012.dkr.ecr.eu-central-1.amazonaws.com');
    expect(ecrHost?.username).toBe('AWS');
    const proxy = new URL(await server.registryEndpoint('eu-central-1', '123456789012')).host;
    const before = tokenCalls();
    // the proxy host is known from the token just fetched: no new call
    expect(await provider.get(proxy)).toEqual(ecrHost);
    expect(await provider.get('docker.io')).toBeUndefined();
    expect(await provider.get('ghcr.io')).toBeUndefined();
    expect(tokenCalls()).toBe(before);
  });

  it('makes one call for many concurrent asks, and a new one after invalidate', async () => {
    const s = settings({}, 'c3');
    const provider = createEcrCredentialProvider(s);
    const before = tokenCalls();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => provider.get('123456789012.dkr.ecr.us-west-2.amazonaws.com')),
    );
    expect(new Set(answers.map((a) => a?.password)).size).toBe(1);
    expect(tokenCalls() - before).toBe(1);
    provider.invalidate(new URL(await server.registryEndpoint('us-west-2', '123456789012')).host);
    const fresh = await provider.get('123456789012.dkr.ecr.us-west-2.amazonaws.com');
    expect(tokenCalls() - before).toBe(2);
    expect(fresh?.password).not.toBe(answers[0]?.password);
  });

  it('fetches a new token once half of the lifetime has passed', async () => {
    const cache = new TokenCache({}, path.join(h.dir, 'c4', 'ecrctl'));
    let now = Date.now();
    const s = settings({}, 'c4');
    const first = await new TokenSource(s, { cache, now: () => now }).privateToken();
    const before = tokenCalls();
    now += 29_000; // the token lives 60 s
    expect((await new TokenSource(s, { cache, now: () => now }).privateToken()).password).toBe(first.password);
    now += 2_000;
    const second = await new TokenSource(s, { cache, now: () => now }).privateToken();
    expect(tokenCalls() - before).toBe(1);
    expect(second.password).not.toBe(first.password);
  });

  it('announces the password as a secret before logging anything about it, and never logs it', async () => {
    const events: string[] = [];
    const s = settings({ log: (m) => events.push(`log:${m}`), onSecret: (x) => events.push(`secret:${x}`) }, 'c5');
    const token = await new TokenSource(s).privateToken();
    const secretAt = events.indexOf(`secret:${token.password}`);
    const newAt = events.findIndex((e) => e.startsWith('log:token for'));
    expect(secretAt).toBeGreaterThanOrEqual(0);
    expect(secretAt).toBeLessThan(newAt);
    // the AWS secret key is registered too
    expect(events).toContain(`secret:${SECRET_ACCESS_KEY}`);
    for (const e of events.filter((x) => x.startsWith('log:'))) {
      expect(e).not.toContain(token.password);
      expect(e).not.toContain(SECRET_ACCESS_KEY);
    }
  });

  it('keys the cache by credentials: another access key does not get the token', async () => {
    const s1 = settings({}, 'c6');
    const t1 = await new TokenSource(s1).privateToken();
    const s2 = settings({ env: { ...s1.env, AWS_ACCESS_KEY_ID: 'AKIDOTHEREXAMPLE0001' } }, 'c6');
    s2.env.XDG_CACHE_HOME = s1.env.XDG_CACHE_HOME;
    const before = tokenCalls();
    const t2 = await new TokenSource(s2).privateToken();
    expect(tokenCalls() - before).toBe(1);
    expect(t2.password).not.toBe(t1.password);
  });

  it('renews a proxy-host token past half-life from the endpoint that issued it, with no endpoint configured', async () => {
    const cache = new TokenCache({}, path.join(h.dir, 'c7', 'ecrctl'));
    let now = Date.now();
    const withEndpoint = settings({}, 'c7');
    const first = await new TokenSource(withEndpoint, { cache, now: () => now }).privateToken();
    // Docker runs the helper with neither --endpoint-url nor a region
    const bare: AwsSettings = { env: withEndpoint.env };
    now += 10_000;
    const cached = await new TokenSource(bare, { cache, now: () => now }).tokenForHost(first.host);
    expect(cached?.password).toBe(first.password);
    now += 25_000;
    const before = tokenCalls();
    const renewed = await new TokenSource(bare, { cache, now: () => now }).tokenForHost(first.host);
    expect(tokenCalls() - before).toBe(1);
    expect(renewed?.host).toBe(first.host);
    expect(renewed?.password).not.toBe(first.password);
  });

  it('does not use a planted cache entry: a mode-0666 file or a world-writable directory means a new token', async () => {
    const lines: string[] = [];
    const s = settings({ log: (m) => lines.push(m) }, 'c8');
    const dir = path.join(h.dir, 'c8', 'ecrctl');
    const real = await new TokenSource(s).privateToken();
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    const file = path.join(dir, name as string);
    // What an attacker would write: their registry on another loopback port, their password.
    const planted = JSON.parse(readFileSync(file, 'utf8'));
    Object.assign(planted, { password: 'planted-password', issuedAt: Date.now() });
    for (const plant of ['file 0666', 'directory 0777'] as const) {
      writeFileSync(file, JSON.stringify(planted));
      chmodSync(file, plant === 'file 0666' ? 0o666 : 0o600);
      chmodSync(dir, plant === 'directory 0777' ? 0o777 : 0o700);
      lines.length = 0;
      const before = tokenCalls();
      const token = await new TokenSource(s).privateToken();
      expect(tokenCalls() - before, plant).toBe(1);
      expect(token.password).not.toBe('planted-password');
      expect(token.host).toBe(real.host);
      const why =
        plant === 'file 0666'
          ? `${file}: it is writable by group or others (mode 0666)`
          : `${dir}: it is writable by group or others (mode 0777)`;
      expect(lines, plant).toContain(`token cache: ignoring ${why}`);
      // the new token replaced the planted one, privately
      expect(JSON.parse(readFileSync(file, 'utf8')).password).toBe(token.password);
    }
  });

  it('does not send a cached token to a host other than the registry it was issued for', async () => {
    const s = settings({}, 'c9');
    const dir = path.join(h.dir, 'c9', 'ecrctl');
    await new TokenSource(s).privateToken({ registryId: '123456789012', region: 'eu-west-1' });
    const [name] = readdirSync(dir).filter((n) => n.endsWith('.json'));
    const file = path.join(dir, name as string);
    // The entry names another account's ECR host (a file of ours, edited or swapped).
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    entry.host = '210987654321.dkr.ecr.eu-west-1.amazonaws.com';
    entry.proxyEndpoint = `https://${entry.host}`;
    entry.password = 'for-another-registry';
    writeFileSync(file, JSON.stringify(entry), { mode: 0o600 });
    const before = tokenCalls();
    const provider = createEcrCredentialProvider(s);
    const got = await provider.get('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(tokenCalls() - before).toBe(1);
    expect(got?.password).not.toBe('for-another-registry');
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CachedToken, cacheDir, isFresh, TokenCache, type TokenKey } from '../../src/ecr/token-cache.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-token-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 1);
const key: TokenKey = {
  kind: 'private',
  region: 'eu-west-1',
  registryKey: '123456789012',
  identity: 'abcdef0123456789',
};

function token(over: Partial<CachedToken> = {}): CachedToken {
  return {
    ...key,
    registryId: '123456789012',
    host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    proxyEndpoint: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    username: 'AWS',
    password: 'p'.repeat(2000),
    issuedAt: T0,
    expiresAt: T0 + 12 * HOUR,
    ...over,
  };
}

function freshDir(name: string): string {
  return path.join(root, name, 'ecrctl');
}

describe('token cache', () => {
  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/ecrctl');
    expect(cacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/ecrctl');
  });

  it('serves a token until half its lifetime has passed', () => {
    const t = token();
    expect(isFresh(t, T0 + 6 * HOUR - 1)).toBe(true);
    expect(isFresh(t, T0 + 6 * HOUR)).toBe(false);
    const cache = new TokenCache({}, freshDir('half'));
    expect(cache.put(t)).toBe(true);
    expect(cache.get(key, T0 + 1000)?.password).toBe(t.password);
    expect(cache.get(key, T0 + 6 * HOUR - 1)?.host).toBe(t.host);
    expect(cache.get(key, T0 + 6 * HOUR)).toBeUndefined();
    // half of a short lifetime too (ecrctl local's tokenTtlSeconds)
    cache.put(token({ issuedAt: T0, expiresAt: T0 + 10_000 }));
    expect(cache.get(key, T0 + 4_999)).toBeDefined();
    expect(cache.get(key, T0 + 5_000)).toBeUndefined();
  });

  it('keys entries by region, registry, identity and endpoint', () => {
    const cache = new TokenCache({}, freshDir('keys'));
    cache.put(token());
    cache.put(token({ endpoint: 'http://127.0.0.1:1', password: 'q'.repeat(100) }));
    expect(cache.get({ ...key, region: 'us-east-1' }, T0)).toBeUndefined();
    expect(cache.get({ ...key, registryKey: 'default' }, T0)).toBeUndefined();
    expect(cache.get({ ...key, identity: 'other' }, T0)).toBeUndefined();
    expect(cache.get({ ...key, endpoint: 'http://127.0.0.1:1' }, T0)?.password).toBe('q'.repeat(100));
    expect(cache.get(key, T0)?.password).toBe('p'.repeat(2000));
    expect(cache.entries(T0)).toHaveLength(2);
  });

  it('makes the directory 0700 and files 0600, and leaves no temporary files', () => {
    const dir = freshDir('modes');
    const cache = new TokenCache({}, dir);
    cache.put(token());
    cache.put(token({ password: 'r'.repeat(50) }));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    for (const f of files) {
      expect(f).toMatch(/^token-[0-9a-f]{40}\.json$/);
      expect(statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    }
  });

  it('ignores a corrupt entry and rewrites it on the next put', () => {
    const dir = freshDir('corrupt');
    const cache = new TokenCache({}, dir);
    cache.put(token());
    const [file] = readdirSync(dir);
    const full = path.join(dir, file as string);
    for (const garbage of ['', '{', '{"format":1}', 'null', JSON.stringify({ format: 99, ...token() })]) {
      writeFileSync(full, garbage);
      expect(cache.get(key, T0)).toBeUndefined();
      expect(cache.entries(T0)).toEqual([]);
    }
    cache.put(token());
    expect(cache.get(key, T0)?.username).toBe('AWS');
    expect(JSON.parse(readFileSync(full, 'utf8')).format).toBe(1);
  });

  it('is disabled by ECRCTL_NO_CACHE=1', () => {
    const dir = freshDir('off');
    const cache = new TokenCache({ ECRCTL_NO_CACHE: '1' }, dir);
    expect(cache.enabled).toBe(false);
    expect(cache.put(token())).toBe(false);
    expect(cache.get(key, T0)).toBeUndefined();
    expect(() => readdirSync(dir)).toThrow();
  });

  it('delete removes the entry', () => {
    const cache = new TokenCache({}, freshDir('delete'));
    cache.put(token());
    cache.delete(key);
    expect(cache.get(key, T0)).toBeUndefined();
  });
});

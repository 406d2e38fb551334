import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
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

  it('refuses every entry in a directory writable by group or others, and says so', () => {
    const dir = freshDir('open-dir');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m) });
    cache.put(token());
    chmodSync(dir, 0o777);
    expect(cache.get(key, T0)).toBeUndefined();
    expect(cache.entries(T0)).toEqual([]);
    expect(lines.join('\n')).toContain(`token cache: ignoring ${dir}: it is writable by group or others (mode 0777)`);
    // The next write makes the directory private again (it is ours), and its entries count.
    expect(cache.put(token())).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(lines).toContain(
      `token cache: ${dir} was writable by group or others (mode 0777): made it 0700 and removed the 1 entries it held`,
    );
    expect(cache.get(key, T0)?.password).toBe('p'.repeat(2000));
  });

  it('refuses an entry file writable by group or others, and says so', () => {
    const dir = freshDir('open-file');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m) });
    cache.put(token());
    const file = path.join(dir, readdirSync(dir)[0] as string);
    chmodSync(file, 0o666);
    expect(cache.get(key, T0)).toBeUndefined();
    expect(cache.entries(T0)).toEqual([]);
    expect(lines).toContain(`token cache: ignoring ${file}: it is writable by group or others (mode 0666)`);
    // a put replaces it with a private file
    cache.put(token());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(cache.get(key, T0)).toBeDefined();
  });

  it('refuses entries and a directory owned by another user', () => {
    const dir = freshDir('owner');
    new TokenCache({}, dir).put(token());
    const me = process.getuid?.() ?? 0;
    const lines: string[] = [];
    // The cache as another user would see it: the same files, owned by someone else.
    const theirs = new TokenCache({}, dir, { uid: me + 1, log: (m) => lines.push(m) });
    expect(theirs.get(key, T0)).toBeUndefined();
    expect(theirs.entries(T0)).toEqual([]);
    expect(lines).toContain(`token cache: ignoring ${dir}: it is owned by uid ${me}, not by you (uid ${me + 1})`);
    expect(theirs.put(token())).toBe(false);
  });

  it('refuses an entry whose file is a symbolic link', () => {
    const dir = freshDir('file-link');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m) });
    cache.put(token());
    const file = path.join(dir, readdirSync(dir)[0] as string);
    const elsewhere = path.join(root, 'file-link-target.json');
    writeFileSync(elsewhere, readFileSync(file), { mode: 0o600 });
    rmSync(file);
    symlinkSync(elsewhere, file);
    expect(cache.get(key, T0)).toBeUndefined();
    expect(lines).toContain(`token cache: ignoring ${file}: it is not a regular file`);
  });

  it('uses an entry only for the registry it was issued for, on an ECR host or a loopback endpoint', () => {
    const lines: string[] = [];
    const cache = new TokenCache({}, freshDir('binding'), { log: (m) => lines.push(m) });
    const local = { endpoint: 'http://127.0.0.1:4566', host: '127.0.0.1:5001', proxyEndpoint: 'http://127.0.0.1:5001' };
    const bad: [Partial<CachedToken>, string][] = [
      // another account's host under this registry's key
      [
        {
          host: '210987654321.dkr.ecr.eu-west-1.amazonaws.com',
          proxyEndpoint: 'https://210987654321.dkr.ecr.eu-west-1.amazonaws.com',
        },
        'it was issued for registry 123456789012 in eu-west-1 but names 210987654321.dkr.ecr.eu-west-1.amazonaws.com',
      ],
      // another region's host
      [
        {
          host: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
          proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
        },
        'it was issued for registry 123456789012 in eu-west-1 but names 123456789012.dkr.ecr.us-east-1.amazonaws.com',
      ],
      // an attacker's registry on another loopback port, with no endpoint in play
      [
        { host: '127.0.0.1:6666', proxyEndpoint: 'http://127.0.0.1:6666' },
        'its registry 127.0.0.1:6666 is not an ECR host, and no --endpoint-url issued it',
      ],
      [
        { host: 'evil.example', proxyEndpoint: 'https://evil.example', endpoint: 'http://127.0.0.1:4566' },
        'its registry evil.example is not an ECR host, and no --endpoint-url issued it',
      ],
      // plain HTTP to a non-loopback host
      [
        { proxyEndpoint: 'http://123456789012.dkr.ecr.eu-west-1.amazonaws.com' },
        'its proxyEndpoint http://123456789012.dkr.ecr.eu-west-1.amazonaws.com is plain HTTP to a non-loopback host',
      ],
      // proxyEndpoint and host disagree
      [
        { proxyEndpoint: 'https://210987654321.dkr.ecr.eu-west-1.amazonaws.com' },
        'its host 123456789012.dkr.ecr.eu-west-1.amazonaws.com is not the host of its proxyEndpoint',
      ],
      [
        { kind: 'public' },
        'it is an ECR Public token for 123456789012.dkr.ecr.eu-west-1.amazonaws.com, not public.ecr.aws',
      ],
    ];
    for (const [over, why] of bad) {
      lines.length = 0;
      const entry = token(over);
      cache.put(entry);
      expect(
        cache.get({ ...key, kind: entry.kind, ...(entry.endpoint ? { endpoint: entry.endpoint } : {}) }, T0),
      ).toBeUndefined();
      expect(lines.join('\n')).toContain(why);
      cache.delete({ ...key, kind: entry.kind, ...(entry.endpoint ? { endpoint: entry.endpoint } : {}) });
    }
    // ecrctl local: a loopback data plane of the endpoint that issued the token
    cache.put(token({ ...local, registryKey: 'default' }));
    expect(cache.get({ ...key, registryKey: 'default', endpoint: local.endpoint }, T0)?.host).toBe('127.0.0.1:5001');
    // the caller's own registry ('default') on a real ECR host
    cache.put(token({ registryKey: 'default' }));
    expect(cache.get({ ...key, registryKey: 'default' }, T0)?.host).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
  });

  it('refuses a symlinked cache directory: no chmod of its target, nothing written through it', () => {
    const target = path.join(root, 'link-target');
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    const parent = path.join(root, 'link');
    mkdirSync(parent);
    const dir = path.join(parent, 'ecrctl');
    symlinkSync(target, dir);
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m) });
    expect(cache.put(token())).toBe(false);
    expect(statSync(target).mode & 0o777).toBe(0o755);
    expect(readdirSync(target)).toEqual([]);
    expect(lstatSync(dir).isSymbolicLink()).toBe(true);
    expect(lines.join('\n')).toContain(`token cache: ignoring ${dir}: it is a symbolic link`);
    // an entry someone put in the target is not read through the link either
    const honest = new TokenCache({}, path.join(root, 'link-honest', 'ecrctl'));
    honest.put(token());
    const [name] = readdirSync(path.join(root, 'link-honest', 'ecrctl'));
    writeFileSync(
      path.join(target, name as string),
      readFileSync(path.join(root, 'link-honest', 'ecrctl', name as string)),
      {
        mode: 0o600,
      },
    );
    chmodSync(target, 0o700);
    expect(cache.get(key, T0)).toBeUndefined();
    expect(cache.entries(T0)).toEqual([]);
  });
});

describe("token cache deleteHost (the helper's erase)", () => {
  it('removes the entries of one registry, fresh or stale, however Docker spells its address', () => {
    const cache = new TokenCache({}, freshDir('erase'));
    const other = token({
      registryKey: '210987654321',
      registryId: '210987654321',
      host: '210987654321.dkr.ecr.eu-west-1.amazonaws.com',
      proxyEndpoint: 'https://210987654321.dkr.ecr.eu-west-1.amazonaws.com',
    });
    const publicToken = token({
      kind: 'public',
      region: 'us-east-1',
      registryKey: 'public',
      host: 'public.ecr.aws',
      proxyEndpoint: 'https://public.ecr.aws',
    });
    cache.put(token());
    cache.put(token({ identity: 'someone-else', issuedAt: T0 - 24 * HOUR, expiresAt: T0 - 12 * HOUR }));
    cache.put(other);
    cache.put(publicToken);
    expect(cache.deleteHost('https://123456789012.dkr.ecr.eu-west-1.amazonaws.com:443/v2/')).toBe(2);
    expect(
      cache
        .entries(T0, { includeStale: true })
        .map((e) => e.host)
        .sort(),
    ).toEqual(['210987654321.dkr.ecr.eu-west-1.amazonaws.com', 'public.ecr.aws']);
    expect(cache.deleteHost('public.ecr.aws')).toBe(1);
    expect(cache.deleteHost('ghcr.io')).toBe(0);
    expect(cache.entries(T0).map((e) => e.host)).toEqual(['210987654321.dkr.ecr.eu-west-1.amazonaws.com']);
  });
});

describe('token cache refresh lock', () => {
  const lockOf = (dir: string) => {
    const names = readdirSync(dir).filter((n) => n.endsWith('.lock'));
    return names.length === 1 ? path.join(dir, names[0] as string) : undefined;
  };

  it('lets one refresh run at a time, and removes its lock file afterwards', async () => {
    const dir = freshDir('lock-one');
    const a = new TokenCache({}, dir);
    const b = new TokenCache({}, dir);
    const order: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = a.withLock(key, async () => {
      order.push('a in');
      await held;
      order.push('a out');
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = b.withLock(key, async () => {
      order.push('b in');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual(['a in']);
    expect(lockOf(dir)).toBeDefined();
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['a in', 'a out', 'b in']);
    expect(lockOf(dir)).toBeUndefined();
  });

  it('removes a lock whose process is gone, and says so', async () => {
    const dir = freshDir('lock-dead');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m) });
    // take the lock, then hand it to a process that has exited
    let file = '';
    await cache.withLock(key, async () => {
      file = lockOf(dir) as string;
    });
    const gone = spawnSync(process.execPath, ['-e', '']).pid as number;
    writeFileSync(file, JSON.stringify({ pid: gone, nonce: 'x' }), { mode: 0o600 });
    const started = Date.now();
    let ran = false;
    await cache.withLock(key, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines).toContain(`token cache: removing the stale lock ${file} (process ${gone} is gone)`);
    expect(lockOf(dir)).toBeUndefined();
  });

  it('removes a lock older than lockStaleMs even when its process lives', async () => {
    const dir = freshDir('lock-old');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m), lockStaleMs: 30_000 });
    let file = '';
    await cache.withLock(key, async () => {
      file = lockOf(dir) as string;
    });
    writeFileSync(file, JSON.stringify({ pid: process.pid, nonce: 'x' }), { mode: 0o600 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    let ran = false;
    await cache.withLock(key, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(lines).toContain(`token cache: removing the stale lock ${file} (60 s old)`);
  });

  it('refreshes anyway after lockTimeoutMs when a live lock is not released', async () => {
    const dir = freshDir('lock-timeout');
    const lines: string[] = [];
    const cache = new TokenCache({}, dir, { log: (m) => lines.push(m), lockTimeoutMs: 300 });
    let file = '';
    await cache.withLock(key, async () => {
      file = lockOf(dir) as string;
    });
    writeFileSync(file, JSON.stringify({ pid: process.pid, nonce: 'someone-else' }), { mode: 0o600 });
    const started = Date.now();
    let ran = false;
    await cache.withLock(key, async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(lines).toContain(`token cache: ${file} is still held after 300 ms: refreshing without waiting for it`);
    // not ours to remove
    expect(JSON.parse(readFileSync(file, 'utf8')).nonce).toBe('someone-else');
  });
});

// `local serve` against a hostile neighbour (issue 20): DNS rebinding through the Host
// header, requests that would open a listener per made-up account, the lock file and the
// modes of the data directory, and a scanner fed a layer built to exhaust memory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import {
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  CreateRepositoryCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { ecrClient, start, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

/** Sends a raw request with the Host header given; resolves with status and body. */
function raw(
  url: string,
  host: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const u = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: init.method ?? 'GET',
        headers: { ...init.headers, Host: host },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('the Host header (DNS rebinding)', () => {
  let server: LocalServer;
  let registry: string;
  beforeAll(async () => {
    server = await start(path.join(tmp.dir, 'host'));
    registry = await server.registryEndpoint('us-east-1');
  });
  afterAll(() => server.close());

  const api = {
    method: 'POST',
    headers: {
      'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
      'Content-Type': 'application/x-amz-json-1.1',
      Authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=00',
    },
    body: '{}',
  };

  it.each(['attacker.example', 'attacker.example:80', '10.0.0.1', '[fe80::1]:8080', 'localhost.attacker.example'])(
    'refuses Host: %s on the API and the data plane with 403 and says why',
    async (host) => {
      const a = await raw(server.url, host, api);
      expect(a.status).toBe(403);
      expect(a.body).toContain(`Host header '${host}'`);
      expect(a.body).toContain('loopback');
      const r = await raw(`${registry}/v2/`, host);
      expect(r.status).toBe(403);
      expect(r.body).toContain(`Host header '${host}'`);
    },
  );

  it.each(['127.0.0.1', 'localhost', '[::1]', '127.1.2.3'])('serves Host: %s (loopback)', async (name) => {
    const port = new URL(server.url).port;
    expect((await raw(server.url, `${name}:${port}`, api)).status).toBe(200);
    expect((await raw(`${registry}/v2/`, name)).status).toBe(401); // reached the registry: it asks for credentials
  });
});

describe('registries made up by requests', () => {
  let server: LocalServer;
  const log: string[] = [];
  const dir = path.join(tmp.dir, 'registries');
  beforeAll(async () => {
    server = await start(dir, { log: (l) => log.push(l) });
  });
  afterAll(() => server.close());
  const listening = () => log.filter((l) => /^registry .* listening on /.test(l)).length;
  const account = (i: number) => String(100000000000 + i);

  it('reads of 60 made-up accounts open no listener and leave nothing in state.json', async () => {
    const ecr = ecrClient(server);
    for (let i = 0; i < 60; i++) {
      const out = await ecr.send(new DescribeRepositoriesCommand({ registryId: account(i) }));
      expect(out.repositories).toEqual([]);
    }
    expect(listening()).toBe(0);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'real' })); // a write: state.json is rewritten
    const state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as { registries: object };
    expect(Object.keys(state.registries)).toEqual(['private/123456789012/us-east-1']);
    expect(listening()).toBe(1);
  });

  it('60 logins to made-up accounts open at most 16 listeners; the rest get LimitExceededException', async () => {
    const ecr = ecrClient(server);
    const endpoints = new Set<string>();
    const refused: string[] = [];
    for (let i = 0; i < 60; i++) {
      try {
        const out = await ecr.send(new GetAuthorizationTokenCommand({ registryIds: [account(i)] }));
        endpoints.add(out.authorizationData?.[0]?.proxyEndpoint ?? '');
      } catch (err) {
        expect((err as Error).name).toBe('LimitExceededException');
        refused.push((err as Error).message);
      }
    }
    expect(endpoints.size).toBe(15); // 16 registries, one of them the default one
    expect(listening()).toBe(16);
    expect(refused).toHaveLength(45);
    expect(refused[0]).toContain('at most 16 registries');
    expect(refused[0]).toContain('--max-registries');
    // The registries that exist keep working.
    await ecrClient(server).send(new CreateRepositoryCommand({ repositoryName: 'still-fine' }));
  });

  it('takes a different limit', async () => {
    const small = await start(path.join(tmp.dir, 'small'), { maxRegistries: 2 });
    try {
      const ecr = ecrClient(small);
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'aa' }));
      await ecrClient(small, 'eu-west-1').send(new CreateRepositoryCommand({ repositoryName: 'bb' }));
      const third = ecrClient(small, 'ap-northeast-2').send(new CreateRepositoryCommand({ repositoryName: 'cc' }));
      await expect(third).rejects.toThrow(/at most 2 registries/);
    } finally {
      await small.close();
    }
  });
});

describe('the data directory', () => {
  const modeOf = (p: string) => statSync(p).mode & 0o777;

  it('is readable only by its owner, even under umask 000', async () => {
    const dir = path.join(tmp.dir, 'modes', 'data');
    const before = process.umask(0);
    try {
      const server = await start(dir);
      try {
        const ecr = ecrClient(server);
        await ecr.send(new CreateRepositoryCommand({ repositoryName: 'modes' }));
        const t = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
        const blob = Buffer.from('private bytes\n');
        const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
        const put = await fetch(`${t?.proxyEndpoint}/v2/modes/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          headers: { Authorization: `Basic ${t?.authorizationToken}` },
          body: blob,
        });
        expect(put.status).toBe(201);
        expect(modeOf(path.join(dir, 'lock'))).toBe(0o600);
      } finally {
        await server.close();
      }
    } finally {
      process.umask(before);
    }
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(path.join(tmp.dir, 'modes'))).toBe(0o700);
    for (const d of ['blobs', 'blobs/sha256', 'uploads']) expect([d, modeOf(path.join(dir, d))]).toEqual([d, 0o700]);
    for (const f of ['state.json', 'secret']) expect([f, modeOf(path.join(dir, f))]).toEqual([f, 0o600]);
    const blobs = readdirSync(path.join(dir, 'blobs', 'sha256'));
    expect(blobs.length).toBeGreaterThan(0);
    for (const b of blobs) expect([b, modeOf(path.join(dir, 'blobs', 'sha256', b))]).toEqual([b, 0o600]);
  });

  it('tightens the modes of a data directory an older version left open', async () => {
    const dir = path.join(tmp.dir, 'loose');
    mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o755 });
    chmodSync(path.join(dir, 'blobs'), 0o755);
    chmodSync(path.join(dir, 'blobs', 'sha256'), 0o755);
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ version: 1, registries: {} }), { mode: 0o644 });
    chmodSync(path.join(dir, 'state.json'), 0o644);
    const server = await start(dir);
    await server.close();
    expect(modeOf(path.join(dir, 'blobs'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'blobs', 'sha256'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'state.json'))).toBe(0o600);
  });

  describe('the lock file', () => {
    let sleeper: ChildProcess;
    beforeAll(() => {
      sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    });
    afterAll(() => {
      sleeper.kill('SIGKILL');
    });

    /** Returns the lock a running server wrote, then stops that server. */
    async function lockOfStoppedServer(dir: string): Promise<Record<string, unknown>> {
      const server = await start(dir);
      const lock = JSON.parse(readFileSync(path.join(dir, 'lock'), 'utf8')) as Record<string, unknown>;
      await server.close();
      expect(existsSync(path.join(dir, 'lock'))).toBe(false);
      return lock;
    }

    it('is recovered when its process is gone', async () => {
      const dir = path.join(tmp.dir, 'lock-gone');
      const lock = await lockOfStoppedServer(dir);
      const gone = spawnSync('true').pid;
      writeFileSync(path.join(dir, 'lock'), JSON.stringify({ ...lock, pid: gone }));
      const server = await start(dir);
      expect(JSON.parse(readFileSync(path.join(dir, 'lock'), 'utf8')).pid).toBe(process.pid);
      await server.close();
    });

    it('is recovered when its pid now belongs to another process (start time differs)', async () => {
      const dir = path.join(tmp.dir, 'lock-reused');
      const lock = await lockOfStoppedServer(dir);
      // The server that wrote it is gone and its pid went to an unrelated process.
      writeFileSync(path.join(dir, 'lock'), JSON.stringify({ ...lock, pid: sleeper.pid }));
      const server = await start(dir);
      await server.close();
    });

    it('keeps out a second server while the process that holds it runs', async () => {
      const dir = path.join(tmp.dir, 'lock-held');
      const lock = await lockOfStoppedServer(dir);
      const stat = readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8');
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      writeFileSync(path.join(dir, 'lock'), JSON.stringify({ ...lock, pid: sleeper.pid, start: startTicks }));
      await expect(start(dir)).rejects.toThrow(`the data directory ${dir} is in use by process ${sleeper.pid}`);
      expect(JSON.parse(readFileSync(path.join(dir, 'lock'), 'utf8')).pid).toBe(sleeper.pid);
    });

    it('keeps out a second server with an old-style lock (a bare pid) of a live process', async () => {
      const dir = path.join(tmp.dir, 'lock-old');
      await lockOfStoppedServer(dir);
      writeFileSync(path.join(dir, 'lock'), `${sleeper.pid}\n`);
      await expect(start(dir)).rejects.toThrow(/is in use by process/);
    });
  });
});

// ecrctl's own registry client honours the project config's `registries:` aliases: a custom
// domain mapped to an ECR registry (match + account + region) gets that registry's ECR token,
// and ECR's pre-checks (repository exists, immutable tags) apply to it. The alias must not be
// loopback to show this, so `registry.example.test` is reached through a forward proxy on
// loopback (HTTPS_PROXY, CONNECT) that terminates TLS with a certificate for that name
// (trusted with --ca-file) and forwards each request to `ecrctl local`'s data plane, noting
// the Authorization header it carried.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type FixtureImage, writeOciLayout } from '../helpers/fixtures.js';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

const ALIAS = 'registry.example.test';

let env: RepoTestEnv;
let proxy: Server;
let proxyUrl: string;
/** The data plane of the emulator's default registry (123456789012, us-east-1). */
let dataPlane: URL;
let caFile: string;
let imageA: FixtureImage;
let imageB: FixtureImage;
let srcA: string;
let srcB: string;
/** A directory whose .ecrctl.yaml maps the alias to the emulator's registry. */
let proj: string;
/** A directory with no .ecrctl.yaml. */
let plain: string;
/** Every request the proxy forwarded for the alias: method, path, Authorization. */
const seen: { method: string; path: string; authorization?: string }[] = [];
/** CONNECT targets the proxy was asked for. */
const connects: string[] = [];

/** Forwards one request (already decrypted) to the data plane; rewrites its absolute Locations to the alias. */
function forward(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, target: URL): void {
  seen.push({
    method: req.method ?? '',
    path: req.url ?? '',
    ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
  });
  const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (up) => {
      const out = { ...up.headers };
      if (typeof out.location === 'string' && out.location.startsWith(target.origin)) {
        out.location = `https://${ALIAS}${out.location.slice(target.origin.length)}`;
      }
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

beforeAll(async () => {
  env = await startRepoEnv();
  dataPlane = new URL(await env.server.registryEndpoint('us-east-1'));
  // A certificate for the alias name (openssl is one of the test tools; missing, this fails).
  const tls = path.join(env.dir, 'alias-tls');
  mkdirSync(tls);
  caFile = path.join(tls, 'cert.pem');
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    path.join(tls, 'key.pem'),
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    `/CN=${ALIAS}`,
    '-addext',
    `subjectAltName=DNS:${ALIAS}`,
  ]);
  const key = readFileSync(path.join(tls, 'key.pem'));
  const cert = readFileSync(caFile);
  const inner = createServer((req, res) => forward(req, res, dataPlane));
  proxy = createServer((_req, res) => {
    // Only CONNECT is served: plain-HTTP forwarding would carry credentials in the clear.
    res.writeHead(502).end();
  });
  proxy.on('connect', (req, socket: Socket) => {
    connects.push(req.url ?? '');
    if (req.url !== `${ALIAS}:443`) {
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    inner.emit('connection', new TLSSocket(socket, { isServer: true, key, cert }));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  imageA = buildImage(881, { layers: 2, layerSize: 2000 });
  imageB = buildImage(882, { layers: 1, layerSize: 2000 });
  srcA = path.join(env.dir, 'srcA');
  srcB = path.join(env.dir, 'srcB');
  writeOciLayout(srcA, [{ image: imageA, tag: 'latest' }]);
  writeOciLayout(srcB, [{ image: imageB, tag: 'latest' }]);
  proj = path.join(env.dir, 'proj');
  plain = path.join(env.dir, 'plain');
  mkdirSync(proj);
  mkdirSync(plain);
  writeFileSync(
    path.join(proj, '.ecrctl.yaml'),
    ['registries:', `  - match: ${ALIAS}`, `    account: '${env.server.account}'`, '    region: us-east-1', ''].join(
      '\n',
    ),
  );
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/locked', imageTagMutability: 'IMMUTABLE' }));
});
afterAll(async () => {
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await env?.close();
});

/** Runs ecrctl through the proxy, trusting the alias's certificate, with an empty Docker config. */
function cli(args: string[], cwd: string) {
  return env.cli(['--ca-file', caFile, ...args], {
    cwd,
    env: {
      HTTPS_PROXY: proxyUrl,
      NO_PROXY: '127.0.0.1,localhost',
      DOCKER_CONFIG: path.join(env.dir, 'no-docker-config'),
    },
  });
}

async function tagsOf(repo: string): Promise<Record<string, string>> {
  const out = await env.ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
  const map: Record<string, string> = {};
  for (const d of out.imageDetails ?? []) for (const t of d.imageTags ?? []) map[t] = d.imageDigest ?? '';
  return map;
}

describe('a registries: alias in ecrctl’s own client', () => {
  it('tag-push to the alias sends the ECR token of the mapped registry; the image lands there', async () => {
    const from = seen.length;
    const r = await cli(['tag-push', `oci:${srcA}:latest`, `${ALIAS}/team/app:v1`, '-o', 'json'], proj);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'pushed', digest: imageA.manifest.digest, tags: ['v1'] });
    expect(await tagsOf('team/app')).toEqual({ v1: imageA.manifest.digest });
    expect(connects).toContain(`${ALIAS}:443`);

    // The requests to the alias carried one credential, Basic AWS:<token>.
    const mine = seen.slice(from);
    expect(mine.some((s) => s.method === 'PUT' && s.path === '/v2/team/app/manifests/v1')).toBe(true);
    const auths = new Set(mine.map((s) => s.authorization).filter((a) => a !== undefined));
    expect(auths.size).toBe(1);
    const auth = [...auths][0] ?? '';
    expect(auth).toMatch(/^Basic /);
    const decoded = Buffer.from(auth.slice('Basic '.length), 'base64').toString();
    expect(decoded).toMatch(/^AWS:.+/);
    // The token is the emulator's ECR token for that registry: its data plane accepts it, not a forgery.
    const direct = await fetch(new URL('/v2/', dataPlane), { headers: { authorization: auth } });
    expect(direct.status).toBe(200);
    const forged = await fetch(new URL('/v2/', dataPlane), {
      headers: { authorization: `Basic ${Buffer.from('AWS:forged').toString('base64')}` },
    });
    expect([401, 403]).toContain(forged.status);
  });

  it('pull, inspect and tags through the alias use the same token', async () => {
    const out = path.join(env.dir, 'pulled');
    const pull = await cli(['pull', `${ALIAS}/team/app:v1`, `oci:${out}:v1`], proj);
    expect(pull.code, pull.stderr).toBe(0);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(imageA.manifest.digest);
    const tags = await cli(['tags', `${ALIAS}/team/app`, '-o', 'json'], proj);
    expect(tags.code, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout).tags).toEqual(['v1']);
    const inspect = await cli(['inspect', `${ALIAS}/team/app:v1`, '-o', 'json'], proj);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain(imageA.manifest.digest);
  });

  it('a missing repository behind the alias exits 6 before any blob moves (ECR pre-check)', async () => {
    const from = seen.length;
    const r = await cli(['tag-push', `oci:${srcA}:latest`, `${ALIAS}/team/missing:v1`], proj);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/repository team\/missing does not exist in registry\.example\.test \(region us-east-1\)/);
    expect(seen.slice(from).filter((s) => s.method !== 'GET' && s.method !== 'HEAD')).toEqual([]);
  });

  it('--create-repo at the alias creates the repository through the mapped registry’s API', async () => {
    const r = await cli(['tag-push', `oci:${srcB}:latest`, `${ALIAS}/team/made:v1`, '--create-repo'], proj);
    expect(r.code, r.stderr).toBe(0);
    const repos = await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/made'] }));
    expect(repos.repositories?.[0]?.registryId).toBe(env.server.account);
    expect(await tagsOf('team/made')).toEqual({ v1: imageB.manifest.digest });
  });

  it('copy onto an immutable tag at another image exits 3 with both digests, nothing written', async () => {
    const first = await cli(['copy', `oci:${srcA}:latest`, `${ALIAS}/team/locked:v1`], proj);
    expect(first.code, first.stderr).toBe(0);
    const from = seen.length;
    const r = await cli(['copy', `oci:${srcB}:latest`, `${ALIAS}/team/locked:v1`], proj);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(imageA.manifest.digest);
    expect(r.stderr).toContain(imageB.manifest.digest);
    expect(seen.slice(from).filter((s) => s.method !== 'GET' && s.method !== 'HEAD')).toEqual([]);
    expect(await tagsOf('team/locked')).toEqual({ v1: imageA.manifest.digest });
  });

  it('without the registries: entry the alias is just another registry: Docker config, no credentials, exit 5', async () => {
    const from = seen.length;
    const r = await cli(['tag-push', `oci:${srcB}:latest`, `${ALIAS}/team/app:v2`], plain);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/registry\.example\.test/);
    expect(seen.slice(from).every((s) => s.authorization === undefined)).toBe(true);
    expect(await tagsOf('team/app')).toEqual({ v1: imageA.manifest.digest });
  });
});

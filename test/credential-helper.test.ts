// docker-credential-ecrctl as Docker and skopeo run it: the server URL on stdin, the answer
// on stdout. ecrctl local is the ECR endpoint; skopeo reads through the helper by name.
// Then the same binary as the kubelet runs it (`kubelet`: a CredentialProviderRequest on
// stdin), and hosts that `.ecrctl.yaml`'s registries: entries map to an ECR registry.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../src/local/server.js';
import { builtEntry, runCli } from './helpers/cli.js';
import { buildImage, writeOciLayout } from './helpers/fixtures.js';
import { ACCESS_KEY_ID, filesUnder, run, SECRET_ACCESS_KEY, type TempHome, tempHome } from './ecr/env.js';

let server: LocalServer;
let h: TempHome;

beforeAll(async () => {
  h = tempHome('ecrctl-helper-');
  server = await startLocalServer({ port: 0, dataDir: path.join(h.dir, 'local') });
});
afterAll(async () => {
  await server.close();
  h.remove();
});

const helper = (args: string[], input: string, env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { bin: 'docker-credential-ecrctl', input, env: { ...h.env, ...env } });

describe('docker-credential-ecrctl', () => {
  it('get answers for a private ECR host with the token of that account and region', async () => {
    const r = await helper(['get'], 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com\n', {
      AWS_ENDPOINT_URL: server.url,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout);
    expect(answer.ServerURL).toBe('https://123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(answer.Username).toBe('AWS');
    expect(answer.Secret.length).toBeGreaterThan(1000);
    expect(r.stderr).toBe('');
  });

  it('get answers for public.ecr.aws with the ECR Public token', async () => {
    const r = await helper(['get'], 'public.ecr.aws', { AWS_ENDPOINT_URL: server.url });
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ServerURL: 'public.ecr.aws', Username: 'AWS' });
  });

  it('answers "credentials not found" with exit 1 for other hosts', async () => {
    for (const url of ['https://index.docker.io/v1/', 'ghcr.io', '127.0.0.1:1']) {
      const r = await helper(['get'], url);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('credentials not found in native keychain\n');
    }
  });

  it('store accepts input and keeps nothing; erase of an unknown host succeeds; version and list answer', async () => {
    const store = await helper(['store'], JSON.stringify({ ServerURL: 'x', Username: 'u', Secret: 's' }));
    expect([store.code, store.stdout]).toEqual([0, '']);
    const erase = await helper(['erase'], 'x');
    expect([erase.code, erase.stdout]).toEqual([0, '']);
    const version = await helper(['version'], '');
    expect(version.stdout).toMatch(/^docker-credential-ecrctl \(ecrctl \d+\.\d+\.\d+/);
    const empty = tempHome('ecrctl-helper-empty-');
    try {
      const list = await runCli(['list'], { bin: 'docker-credential-ecrctl', env: empty.env });
      expect([list.code, list.stdout]).toEqual([0, '{}\n']);
    } finally {
      empty.remove();
    }
    const list = await helper(['list'], '');
    // keyed by where each registry is reached: ecrctl local's data plane for the private one
    const listed = JSON.parse(list.stdout) as Record<string, string>;
    expect(listed['public.ecr.aws']).toBe('AWS');
    expect(Object.keys(listed).filter((k) => /^127\.0\.0\.1:\d+$/.test(k))).toHaveLength(1);
  });

  it('erase removes the cached token of that registry only, so the next get asks AWS again', async () => {
    const home = tempHome('ecrctl-helper-erase-');
    try {
      const env = { ...home.env, AWS_ENDPOINT_URL: server.url };
      const run1 = (cmd: string, input: string, extra: NodeJS.ProcessEnv = {}) =>
        runCli([cmd], { bin: 'docker-credential-ecrctl', input, env: { ...env, ...extra } });
      const gone = 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com';
      const kept = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';
      const first = JSON.parse((await run1('get', gone)).stdout).Secret as string;
      const other = JSON.parse((await run1('get', kept)).stdout).Secret as string;
      const cached = () => filesUnder(home.cache).map((f) => f.text);
      expect(cached().some((t) => t.includes(first))).toBe(true);

      // what `docker logout 123456789012.dkr.ecr.eu-west-1.amazonaws.com` sends
      const erase = await run1('erase', '123456789012.dkr.ecr.eu-west-1.amazonaws.com\n', { ECRCTL_VERBOSE: '1' });
      expect([erase.code, erase.stdout]).toEqual([0, '']);
      expect(erase.stderr).toBe(
        'docker-credential-ecrctl: erase 123456789012.dkr.ecr.eu-west-1.amazonaws.com: removed 1 cached token\n',
      );
      expect(cached().some((t) => t.includes(first))).toBe(false);
      expect(cached().some((t) => t.includes(other))).toBe(true);

      const before = server.calls.filter((c) => c === 'ecr:GetAuthorizationToken').length;
      const again = JSON.parse((await run1('get', gone)).stdout).Secret as string;
      expect(server.calls.filter((c) => c === 'ecr:GetAuthorizationToken').length - before).toBe(1);
      expect(again).not.toBe(first);
      // the other registry is still served from the cache
      const still = JSON.parse((await run1('get', kept)).stdout).Secret as string;
      expect(still).toBe(other);
      expect(server.calls.filter((c) => c === 'ecr:GetAuthorizationToken').length - before).toBe(1);
    } finally {
      home.remove();
    }
  });

  it('ten parallel gets on an empty cache make one GetAuthorizationToken call and share its token', async () => {
    const home = tempHome('ecrctl-helper-lock-');
    try {
      const env = { ...home.env, AWS_ENDPOINT_URL: server.url };
      const calls = () => server.calls.filter((c) => c === 'ecr:GetAuthorizationToken').length;
      const before = calls();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          runCli(['get'], {
            bin: 'docker-credential-ecrctl',
            input: '123456789012.dkr.ecr.ap-southeast-2.amazonaws.com',
            env,
          }),
        ),
      );
      for (const a of answers) expect(a.code, a.stdout + a.stderr).toBe(0);
      expect(new Set(answers.map((a) => JSON.parse(a.stdout).Secret)).size).toBe(1);
      expect(calls() - before).toBe(1);
      // the lock is gone afterwards: only the token file is left
      expect(filesUnder(home.cache).map((f) => path.basename(f.name))).toEqual([
        expect.stringMatching(/^token-[0-9a-f]{40}\.json$/),
      ]);
    } finally {
      home.remove();
    }
  });

  it('a cached get loads no AWS SDK module and needs no endpoint', async () => {
    // Fill the cache through login; then the endpoint is not even given to the helper.
    const login = await runCli(['login', '--helper', '-o', 'json'], {
      env: { ...h.env, AWS_ENDPOINT_URL: server.url },
    });
    expect(login.code, login.stderr).toBe(0);
    const host = JSON.parse(login.stdout).registries[0].registry as string;

    const spy = path.join(h.dir, 'sdk-loads.txt');
    writeFileSync(spy, '');
    const hook = path.join(h.dir, 'spy-hook.mjs');
    writeFileSync(
      hook,
      `import { register } from 'node:module';\n` +
        `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(
          `import { appendFileSync } from 'node:fs';\n` +
            `export async function resolve(s, c, next) { if (s.includes('@aws-sdk/')) appendFileSync(${JSON.stringify(spy)}, s + '\\n'); return next(s, c); }`,
        )}));\n`,
    );
    const spied = await run(process.execPath, ['--import', hook, builtEntry('docker-credential-ecrctl'), 'get'], {
      input: host,
      env: { ...process.env, ...h.env, AWS_ENDPOINT_URL: undefined },
    });
    expect(spied.code, spied.stdout + spied.stderr).toBe(0);
    expect(JSON.parse(spied.stdout).ServerURL).toBe(host);
    expect(readFileSync(spy, 'utf8')).toBe('');

    // How fast a cached get answers is measured outside the tests (notes/auth.md): here the
    // outcome that makes it fast — no AWS SDK module is loaded — is what is asserted.
  });

  it('skopeo reads through the helper named in credHelpers, and the token never reaches argv', async () => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'helper/app' }));
    ecr.destroy();
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    const bin = path.join(h.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const argvLog = path.join(h.dir, 'helper-argv.txt');
    const shim = path.join(bin, 'docker-credential-ecrctl');
    writeFileSync(
      shim,
      `#!/bin/sh\necho "$@" >> '${argvLog}'\nexec '${process.execPath}' '${builtEntry('docker-credential-ecrctl')}' "$@"\n`,
    );
    chmodSync(shim, 0o755);
    const authfile = path.join(h.dir, 'helper-config.json');
    writeFileSync(authfile, JSON.stringify({ credHelpers: { [host]: 'ecrctl' } }));
    const env = {
      ...process.env,
      ...h.env,
      AWS_ENDPOINT_URL: server.url,
      PATH: `${bin}:${process.env.PATH}`,
      ECRCTL_NO_CACHE: '1',
    };
    const out = await run(
      'skopeo',
      ['list-tags', '--authfile', authfile, '--tls-verify=false', `docker://${host}/helper/app`],
      { env },
    );
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).Tags).toEqual([]);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv.trim().split('\n')).toContain('get');
    const got = await run(shim, ['get'], { input: host, env: { ...env, ECRCTL_NO_CACHE: undefined } });
    const password = JSON.parse(got.stdout).Secret as string;
    expect(readFileSync(argvLog, 'utf8')).not.toContain(password.slice(0, 40));
  });
});

// An account and region that only the registries: map leads to.
const MAPPED_ACCOUNT = '210987654321';
const MAPPED_REGION = 'eu-central-1';
const CONFIG = `registries:
  - match: registry.example.test
    account: '${MAPPED_ACCOUNT}'
    region: ${MAPPED_REGION}
  - match: docker.io
    account: '${MAPPED_ACCOUNT}'
    region: ${MAPPED_REGION}
    prefix: docker-hub
`;

/** Writes .ecrctl.yaml into a new directory under the test home and returns its path. */
function projectDir(name: string, text = CONFIG): string {
  const dir = path.join(h.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '.ecrctl.yaml'), text);
  return dir;
}

/** Returns the status of GET /v2/ on a data plane with Basic AWS:password. */
async function v2Status(endpoint: string, password: string): Promise<number> {
  const res = await fetch(`${endpoint}/v2/`, {
    headers: { authorization: `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('docker-credential-ecrctl with registries: aliases (.ecrctl.yaml)', () => {
  it('get registry.example.test answers with the mapped account’s token, found via ECRCTL_CONFIG or upward from cwd', async () => {
    const dir = projectDir('alias-get');
    const viaEnv = await helper(['get'], 'registry.example.test\n', {
      AWS_ENDPOINT_URL: server.url,
      ECRCTL_CONFIG: path.join(dir, '.ecrctl.yaml'),
    });
    expect(viaEnv.code, viaEnv.stdout + viaEnv.stderr).toBe(0);
    const answer = JSON.parse(viaEnv.stdout);
    expect(answer).toMatchObject({ ServerURL: 'registry.example.test', Username: 'AWS' });
    // The token is the mapped registry's: its data plane takes it, another account's refuses it.
    const mapped = await server.registryEndpoint(MAPPED_REGION, MAPPED_ACCOUNT);
    expect(await v2Status(mapped, answer.Secret)).toBe(200);
    expect(await v2Status(await server.registryEndpoint(MAPPED_REGION), answer.Secret)).toBe(403);

    const nested = path.join(dir, 'sub', 'dir');
    mkdirSync(nested, { recursive: true });
    const viaCwd = await runCli(['get'], {
      bin: 'docker-credential-ecrctl',
      input: 'https://registry.example.test/v2/',
      cwd: nested,
      env: { ...h.env, AWS_ENDPOINT_URL: server.url },
    });
    expect(viaCwd.code, viaCwd.stdout).toBe(0);
    expect(await v2Status(mapped, JSON.parse(viaCwd.stdout).Secret)).toBe(200);
  });

  it('docker.io in any of its names maps to the pull-through cache registry; unmapped hosts are still not found', async () => {
    const dir = projectDir('alias-hub');
    const env = { AWS_ENDPOINT_URL: server.url, ECRCTL_CONFIG: path.join(dir, '.ecrctl.yaml') };
    const mapped = await server.registryEndpoint(MAPPED_REGION, MAPPED_ACCOUNT);
    // what Docker, containerd and a Docker Hub URL send
    for (const url of ['https://index.docker.io/v1/', 'docker.io', 'registry-1.docker.io']) {
      const r = await helper(['get'], url, env);
      expect(r.code, `${url}: ${r.stdout}`).toBe(0);
      const answer = JSON.parse(r.stdout);
      expect(answer.ServerURL).toBe(url);
      expect(await v2Status(mapped, answer.Secret)).toBe(200);
    }
    for (const url of ['ghcr.io', 'registry.example.test.evil.example', 'quay.io/x']) {
      const r = await helper(['get'], url, env);
      expect([r.code, r.stdout]).toEqual([1, 'credentials not found in native keychain\n']);
    }
  });

  it('a broken registries: entry answers with its file:line on stdout and exit 1', async () => {
    const dir = projectDir('alias-broken', "registries:\n  - match: registry.example.test\n    account: '1234'\n");
    const r = await helper(['get'], 'registry.example.test', { ECRCTL_CONFIG: path.join(dir, '.ecrctl.yaml') });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('.ecrctl.yaml:3: registries[0].account is a 12-digit account id');
    expect(r.stdout.split('\n')).toHaveLength(2);
  });

  it('skopeo pulls through the alias host with the helper’s token for the mapped registry', async () => {
    const dir = projectDir('alias-skopeo');
    const ecr = new ECRClient({
      region: MAPPED_REGION,
      endpoint: server.url,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'mirror/app', registryId: MAPPED_ACCOUNT }));
    ecr.destroy();
    const dataPlane = new URL(await server.registryEndpoint(MAPPED_REGION, MAPPED_ACCOUNT));
    const envBase = { ...process.env, ...h.env, AWS_ENDPOINT_URL: server.url };

    // Push an image straight to the mapped registry (credentials from the helper, in a file).
    const got = await helper(['get'], dataPlane.host, { AWS_ENDPOINT_URL: server.url });
    const pushAuth = path.join(h.dir, 'alias-push-auth.json');
    const secret = JSON.parse(got.stdout).Secret as string;
    writeFileSync(
      pushAuth,
      JSON.stringify({ auths: { [dataPlane.host]: { auth: Buffer.from(`AWS:${secret}`).toString('base64') } } }),
    );
    const layout = path.join(h.dir, 'alias-layout');
    const image = buildImage(31);
    writeOciLayout(layout, [{ image, tag: 'v1' }]);
    const push = await run(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--dest-authfile',
        pushAuth,
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${dataPlane.host}/mirror/app:v1`,
      ],
      { env: envBase },
    );
    expect(push.code, push.stderr).toBe(0);

    // registry.example.test resolves to loopback through a forward proxy of our own: it sends
    // every request for that name to the mapped registry's data plane and refuses the rest.
    const seen: { host: string; auth: string | undefined }[] = [];
    const proxy = http.createServer((req, res) => {
      const target = new URL(req.url ?? '/', 'http://invalid');
      seen.push({ host: target.host, auth: req.headers.authorization });
      if (target.host !== 'registry.example.test') {
        res.writeHead(502).end();
        return;
      }
      const headers = { ...req.headers, host: dataPlane.host };
      const upstream = http.request(
        {
          host: dataPlane.hostname,
          port: dataPlane.port,
          method: req.method,
          path: target.pathname + target.search,
          headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    // https first: a CONNECT is refused, so skopeo (--src-tls-verify=false) falls back to http.
    proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const bin = path.join(h.dir, 'alias-bin');
      mkdirSync(bin, { recursive: true });
      const argvLog = path.join(h.dir, 'alias-argv.txt');
      const shim = path.join(bin, 'docker-credential-ecrctl');
      writeFileSync(
        shim,
        `#!/bin/sh\necho "$@" >> '${argvLog}'\nexec '${process.execPath}' '${builtEntry('docker-credential-ecrctl')}' "$@"\n`,
      );
      chmodSync(shim, 0o755);
      const authfile = path.join(h.dir, 'alias-helper.json');
      writeFileSync(authfile, JSON.stringify({ credHelpers: { 'registry.example.test': 'ecrctl' } }));
      const out = path.join(h.dir, 'alias-pulled');
      const pull = await run(
        'skopeo',
        [
          'copy',
          '--quiet',
          '--src-authfile',
          authfile,
          '--src-tls-verify=false',
          'docker://registry.example.test/mirror/app:v1',
          `oci:${out}:v1`,
        ],
        {
          env: {
            ...envBase,
            PATH: `${bin}:${process.env.PATH}`,
            HTTP_PROXY: proxyUrl,
            HTTPS_PROXY: proxyUrl,
            NO_PROXY: '',
            ECRCTL_CONFIG: path.join(dir, '.ecrctl.yaml'),
          },
        },
      );
      expect(pull.code, pull.stderr).toBe(0);
      const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
      expect(index.manifests[0].digest).toBe(image.manifest.digest);
      // Every request went to the alias name, with the helper's Basic credentials.
      const viaAlias = seen.filter((s) => s.host === 'registry.example.test');
      expect(viaAlias.some((s) => s.auth?.startsWith('Basic '))).toBe(true);
      const basic = viaAlias.find((s) => s.auth)?.auth ?? '';
      expect(Buffer.from(basic.slice(6), 'base64').toString().startsWith('AWS:')).toBe(true);
      expect(readFileSync(argvLog, 'utf8').trim().split('\n')).toContain('get');
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

// The kubelet's credentialprovider.kubelet.k8s.io/v1 types (kubernetes
// staging/src/k8s.io/kubelet/pkg/apis/credentialprovider/v1/types.go) as a JSON schema:
// TypeMeta inline; cacheKeyType required and one of three; cacheDuration a metav1.Duration
// (Go duration text); auth a map of match key → AuthConfig {username, password}.
const RESPONSE_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'cacheKeyType'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'credentialprovider.kubelet.k8s.io/v1' },
    kind: { const: 'CredentialProviderResponse' },
    cacheKeyType: { enum: ['Image', 'Registry', 'Global'] },
    cacheDuration: { type: 'string', pattern: '^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$' },
    serviceAccountTokenCacheType: { enum: ['ServiceAccount', 'Pod'] },
    auth: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['username', 'password'],
        additionalProperties: false,
        properties: { username: { type: 'string' }, password: { type: 'string' } },
      },
    },
  },
} as const;
const validResponse = new Ajv({ allErrors: true }).compile(RESPONSE_SCHEMA);

/** Returns seconds of a Go duration such as 5h59m59s. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9.]+)(h|m|s)/g))
    total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h'];
  return total;
}

const request = (image: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    kind: 'CredentialProviderRequest',
    image,
    ...extra,
  });

describe('docker-credential-ecrctl kubelet (image credential provider)', () => {
  it('answers an ECR image with auth for its registry and a cacheDuration under the token’s lifetime', async () => {
    for (const image of [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1',
      '123456789012.dkr-ecr.us-east-1.on.aws/team/app@sha256:' + 'a'.repeat(64),
    ]) {
      const r = await helper(['kubelet'], request(image), { AWS_ENDPOINT_URL: server.url });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const response = JSON.parse(r.stdout);
      expect(validResponse(response), JSON.stringify(validResponse.errors)).toBe(true);
      const host = image.slice(0, image.indexOf('/'));
      expect(Object.keys(response.auth)).toEqual([host]);
      expect(response.auth[host].username).toBe('AWS');
      expect(await v2Status(await server.registryEndpoint('us-east-1'), response.auth[host].password)).toBe(200);
      expect(response.cacheKeyType).toBe('Registry');
      // ecrctl local issues 12-hour tokens, as ECR does; the kubelet keeps them at most half that.
      expect(seconds(response.cacheDuration)).toBeGreaterThan(60);
      expect(seconds(response.cacheDuration)).toBeLessThanOrEqual(6 * 3600);
    }
  });

  it('answers an image on a mapped host (docker.io short names too) with the mapped registry’s token', async () => {
    const dir = projectDir('kubelet-map');
    const env = { AWS_ENDPOINT_URL: server.url, ECRCTL_CONFIG: path.join(dir, '.ecrctl.yaml') };
    const mapped = await server.registryEndpoint(MAPPED_REGION, MAPPED_ACCOUNT);
    for (const [image, key] of [
      ['nginx:1.27', 'docker.io'],
      ['docker.io/library/nginx:1.27', 'docker.io'],
      ['registry.example.test/team/app:v1', 'registry.example.test'],
    ] as const) {
      const r = await helper(['kubelet'], request(image, { serviceAccountToken: 'not-used' }), env);
      expect(r.code, r.stderr).toBe(0);
      const response = JSON.parse(r.stdout);
      expect(validResponse(response), JSON.stringify(validResponse.errors)).toBe(true);
      expect(Object.keys(response.auth)).toEqual([key]);
      expect(response.serviceAccountTokenCacheType).toBe('ServiceAccount');
      expect(await v2Status(mapped, response.auth[key].password)).toBe(200);
    }
  });

  it('answers an unmapped image with an empty auth and exit 0; a bad request is exit 1 with the reason on stderr', async () => {
    const r = await helper(['kubelet'], request('ghcr.io/owner/app:v1'), { AWS_ENDPOINT_URL: server.url });
    expect(r.code, r.stderr).toBe(0);
    const response = JSON.parse(r.stdout);
    expect(validResponse(response), JSON.stringify(validResponse.errors)).toBe(true);
    expect(response.auth).toEqual({});

    const bad = await helper(
      ['kubelet'],
      JSON.stringify({ apiVersion: 'v9', kind: 'CredentialProviderRequest', image: 'x' }),
    );
    expect([bad.code, bad.stdout]).toEqual([1, '']);
    expect(bad.stderr).toContain('unsupported apiVersion "v9"');
    const notJson = await helper(['kubelet'], 'nope');
    expect([notJson.code, notJson.stdout]).toEqual([1, '']);
    expect(notJson.stderr).toContain('is not JSON');
  });
});

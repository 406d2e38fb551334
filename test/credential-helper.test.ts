// docker-credential-ecrctl as Docker and skopeo run it: the server URL on stdin, the answer
// on stdout. ecrctl local is the ECR endpoint; skopeo reads through the helper by name.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../src/local/server.js';
import { builtEntry, runCli } from './helpers/cli.js';
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

// `ecrctl local serve --tls` (issue 19 #15): ECR is HTTPS, so the emulator can be. The CA it
// makes is trusted by ecrctl (--ca-file / AWS_CA_BUNDLE), the AWS CLI (AWS_CA_BUNDLE) and
// skopeo (--cert-dir), and push, pull, copy and login work over TLS end to end.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { run, tempHome, type TempHome } from '../ecr/env.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { ecrClient, start } from './helpers.js';

let server: LocalServer;
let home: TempHome;
let caFile: string;
let registry: string;

beforeAll(async () => {
  home = tempHome('ecrctl-tls-');
  server = await start(path.join(home.dir, 'data'), { tls: true });
  caFile = server.tls?.caFile ?? '';
  registry = new URL(await server.registryEndpoint('us-east-1')).host;
  const ecr = ecrClient(server);
  // The SDK in this process has not been told about the CA.
  await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: 'tls/app' }))).rejects.toThrow(
    /self[- ]signed|unable to verify|certificate/i,
  );
  ecr.destroy();
});
afterAll(async () => {
  await server.close();
  home.remove();
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...home.env, AWS_ENDPOINT_URL: server.url, ...extra };
}

describe('local serve --tls', () => {
  it('`ecrctl local serve --tls --output env` prints the endpoint and the CA to trust, and how', async () => {
    const dataDir = path.join(home.dir, 'cli-data');
    const { main } = await import('../../src/cli/main.js');
    const stop = new AbortController();
    let stdout = '';
    let stderr = '';
    const code = await main(['local', 'serve', '--tls', '--data', dataDir, '--port', '0', '--output', 'env'], {
      env: home.env,
      cwd: home.dir,
      signal: stop.signal,
      stdout: {
        isTTY: false,
        write: (t: string) => {
          stdout += t;
        },
      },
      stderr: {
        isTTY: false,
        write: (t: string) => {
          stderr += t;
          // The instructions come once the endpoint listens: stop it as Ctrl-C would.
          if (stderr.includes('Press Ctrl-C')) stop.abort();
        },
      },
    });
    const r = { code, stderr };
    const caPath = path.join(dataDir, 'tls', 'ca.crt');
    expect(stdout).toMatch(/^AWS_ENDPOINT_URL=https:\/\/127\.0\.0\.1:\d+$/m);
    expect(stdout).toContain(`AWS_CA_BUNDLE=${caPath}`);
    expect(stdout).toContain(`NODE_EXTRA_CA_CERTS=${caPath}`);
    expect(r.stderr).toContain(`export AWS_CA_BUNDLE=${caPath}`);
    expect(r.stderr).toContain(`--cert-dir ${path.join(dataDir, 'tls')}`);
  });

  it('serves HTTPS on the API and the data plane with a CA kept in <data>/tls', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await server.registryEndpoint('us-east-1')).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const dir = path.join(home.dir, 'data', 'tls');
    expect(server.tls?.dir).toBe(dir);
    expect(caFile).toBe(path.join(dir, 'ca.crt'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'server-key.pem')).mode & 0o777).toBe(0o600);
    const ca = new X509Certificate(readFileSync(caFile));
    const leaf = new X509Certificate(readFileSync(path.join(dir, 'server.pem')));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    // openssl agrees, in strict mode (what Python's ssl, i.e. the AWS CLI, may use)
    const verify = await run('openssl', ['verify', '-x509_strict', '-CAfile', caFile, path.join(dir, 'server.pem')]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('keeps the CA across a restart, so a client trusts it once', async () => {
    const h = tempHome('ecrctl-tls-restart-');
    try {
      const first = await start(path.join(h.dir, 'data'), { tls: true });
      const ca1 = readFileSync(first.tls?.caFile ?? '', 'utf8');
      await first.close();
      const second = await start(path.join(h.dir, 'data'), { tls: true });
      expect(readFileSync(second.tls?.caFile ?? '', 'utf8')).toBe(ca1);
      await second.close();
    } finally {
      h.remove();
    }
  });

  it('ecrctl logs in, pushes, pulls and copies over TLS with --ca-file; AWS_CA_BUNDLE works too', async () => {
    const layout = path.join(home.dir, 'layout');
    const image = buildImage(31);
    writeOciLayout(layout, [{ image, tag: 'v1' }]);

    const login = await runCli(['login', '--ca-file', caFile, '-o', 'json'], { env: env() });
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout).registries[0].registry).toBe(registry);

    for (const name of ['tls/app', 'tls/copy']) {
      const created = await runCli(['create-repo', name, '--ca-file', caFile], { env: env() });
      expect(created.code, created.stderr).toBe(0);
    }
    const push = await runCli(['--ca-file', caFile, 'tag-push', `oci:${layout}:v1`, `${registry}/tls/app:v1`], {
      env: env(),
    });
    expect(push.code, push.stderr).toBe(0);

    const out = path.join(home.dir, 'out');
    const pull = await runCli(['pull', `${registry}/tls/app:v1`, `oci:${out}:v1`], {
      env: env({ AWS_CA_BUNDLE: caFile }),
    });
    expect(pull.code, pull.stderr).toBe(0);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.descriptor.digest);

    const copy = await runCli(['copy', `${registry}/tls/app:v1`, `${registry}/tls/copy:v1`], {
      env: env({ AWS_CA_BUNDLE: caFile }),
    });
    expect(copy.code, copy.stderr).toBe(0);
    const tags = await runCli(['tags', `${registry}/tls/copy`, '-o', 'json'], { env: env({ AWS_CA_BUNDLE: caFile }) });
    expect(tags.code, tags.stderr).toBe(0);
    expect(tags.stdout).toContain('v1');
  });

  it('without the CA, ecrctl refuses the certificate and says how to trust it', async () => {
    const r = await runCli(['repos'], { env: env() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/certificate/i);
    // Told to try HTTPS on loopback (a CA file given, but not this one): verification fails.
    const other = path.join(home.dir, 'other-ca.pem');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      other,
      readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8').split('-----END CERTIFICATE-----')[0] +
        '-----END CERTIFICATE-----\n',
    );
    const wrong = await runCli(['--ca-file', other, 'tags', `${registry}/tls/app`], {
      env: env({ AWS_CA_BUNDLE: undefined }),
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`cannot verify the TLS certificate of ${registry}`);
    expect(wrong.stderr).toContain('--ca-file');
  });

  it('the AWS CLI trusts the CA through AWS_CA_BUNDLE', async () => {
    const r = await run(
      '/usr/bin/aws',
      ['--endpoint-url', server.url, '--output', 'json', 'ecr', 'describe-repositories'],
      {
        env: { ...env(), AWS_CA_BUNDLE: caFile, PATH: process.env.PATH ?? '' },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const names = JSON.parse(r.stdout).repositories.map((x: { repositoryName: string }) => x.repositoryName);
    expect(names).toContain('tls/app');
    const refused = await run('/usr/bin/aws', ['--endpoint-url', server.url, 'ecr', 'describe-repositories'], {
      env: { ...env(), PATH: process.env.PATH ?? '' },
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/SSL|certificate/i);
  });

  it('skopeo verifies the registry with --cert-dir and pulls what ecrctl pushed', async () => {
    const configFile = path.join(home.dir, '.docker', 'config.json');
    const inspect = await run('skopeo', [
      'inspect',
      '--raw',
      '--authfile',
      configFile,
      '--cert-dir',
      server.tls?.dir ?? '',
      `docker://${registry}/tls/app:v1`,
    ]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).schemaVersion).toBe(2);
    const pushed = await run('skopeo', [
      'copy',
      '--quiet',
      '--authfile',
      configFile,
      '--src-cert-dir',
      server.tls?.dir ?? '',
      '--dest-cert-dir',
      server.tls?.dir ?? '',
      `docker://${registry}/tls/app:v1`,
      `docker://${registry}/tls/copy:from-skopeo`,
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const untrusted = await run('skopeo', [
      'inspect',
      '--raw',
      '--authfile',
      configFile,
      `docker://${registry}/tls/app:v1`,
    ]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate/i);
  });
});

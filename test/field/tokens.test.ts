// Issue 12: registry tokens in the field — one that expires during a long run is refreshed
// once and the request retried; tokens longer than 2,048 characters survive login, the
// Docker config, skopeo and the credential helper untruncated.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtEntry, runCli } from '../helpers/cli.js';
import { skopeo } from '../helpers/registry.js';
import { type FieldEnv, requestsOf, startField } from './field-env.js';

let f: FieldEnv;
let host: string;

beforeAll(async () => {
  f = await startField('tokens');
  host = await f.host();
  await f.createRepo('field/long');
  await f.createRepo('field/expiry');
});
afterAll(async () => {
  await f.close();
});

describe('a token that expires during a run', () => {
  it('is refreshed once when the registry answers 403 DENIED "authorization token has expired", and the push completes', async () => {
    const { ref, image } = f.layout('expiry-src', 7, { layers: 4 });
    // After the first blob lands, the endpoint's clock jumps past the token lifetime: every
    // later request with the token the CLI holds gets ECR's 403 DENIED "token has expired"
    // (no challenge, as ECR answers).
    f.server.faults.push({ operation: 'registry:PUT uploads', kind: 'expire-tokens', times: 1 });
    const tokensBefore = requestsOf(f.server, 'ecr:GetAuthorizationToken').length;
    const r = await f.cli([
      'tag-push',
      ref,
      `${host}/field/expiry:v1`,
      '--endpoint-url',
      f.server.url,
      '--concurrency',
      '1',
      '--verbose',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(requestsOf(f.server, 'ecr:GetAuthorizationToken').length - tokensBefore).toBe(2);
    expect(r.stderr).toContain('says our token has expired or is invalid (403); refreshing it once');
    expect(r.stderr.match(/token for [^:]+:\d+: new/g)).toHaveLength(2);
    const images = await f.ecr().send(new DescribeImagesCommand({ repositoryName: 'field/expiry' }));
    expect(images.imageDetails?.map((d) => d.imageDigest)).toEqual([image.manifest.digest]);
    expect(images.imageDetails?.[0]?.imageTags).toEqual(['v1']);
  });
});

describe('tokens longer than 2,048 characters', () => {
  it('login writes the whole token to config.json and skopeo authenticates with it', async () => {
    const dockerDir = path.join(f.dir, 'docker-long');
    const r = await f.cli(['login', '--endpoint-url', f.server.url], { env: { DOCKER_CONFIG: dockerDir } });
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(path.join(dockerDir, 'config.json'), 'utf8'));
    const auth = Buffer.from(config.auths[host].auth, 'base64').toString('utf8');
    const password = auth.slice('AWS:'.length);
    expect(auth.startsWith('AWS:')).toBe(true);
    expect(password.length).toBe(2500); // the emulator's tokens, like ECR's, are over 2,048
    const tags = await skopeo([
      'list-tags',
      '--tls-verify=false',
      '--authfile',
      path.join(dockerDir, 'config.json'),
      `docker://${host}/field/long`,
    ]);
    expect(JSON.parse(tags.stdout).Tags).toEqual([]);
  });

  it('--password-stdout prints the whole token', async () => {
    const r = await f.cli(['login', '--password-stdout', '--endpoint-url', f.server.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\n$/, '').length).toBe(2500);
  });

  it('docker-credential-ecrctl returns the whole token, and skopeo pushes through the helper with it', async () => {
    const dockerDir = path.join(f.dir, 'docker-helper');
    const env = { DOCKER_CONFIG: dockerDir, AWS_ENDPOINT_URL: f.server.url };
    const login = await f.cli(['login', '--helper'], { env });
    expect(login.code, login.stderr).toBe(0);
    const got = await runCli(['get'], { bin: 'docker-credential-ecrctl', env: { ...f.env, ...env }, input: host });
    expect(got.code, got.stdout).toBe(0);
    const answer = JSON.parse(got.stdout) as { Username: string; Secret: string };
    expect(answer.Username).toBe('AWS');
    expect(answer.Secret.length).toBe(2500);

    // skopeo runs docker-credential-ecrctl from PATH, as Docker and Podman do.
    const bin = path.join(f.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const shim = path.join(bin, 'docker-credential-ecrctl');
    writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${builtEntry('docker-credential-ecrctl')}" "$@"\n`);
    chmodSync(shim, 0o755);
    const { ref } = f.layout('helper-src', 9);
    const layoutDir = ref.slice('oci:'.length, -':latest'.length);
    await skopeo(
      [
        'copy',
        '--dest-tls-verify=false',
        '--authfile',
        path.join(dockerDir, 'config.json'),
        `oci:${layoutDir}:latest`,
        `docker://${host}/field/long:helper`,
      ],
      { env: { ...process.env, ...f.env, ...env, PATH: `${bin}:${process.env.PATH}` } },
    );
    const images = await f.ecr().send(new DescribeImagesCommand({ repositoryName: 'field/long' }));
    expect(images.imageDetails?.flatMap((d) => d.imageTags ?? [])).toContain('helper');
  });
});

// The Docker config reader: auths in every key form, identity tokens, credential helpers
// (run for real, from a temporary PATH), and what wins when several apply.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrctlError, UsageError } from '../../../src/errors.js';
import {
  chainCredentials,
  DockerConfigCredentials,
  dockerConfigKeyToHost,
  StaticCredentials,
} from '../../../src/oci/transport/credentials.js';

let dir: string;
let binDir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-creds-'));
  binDir = path.join(dir, 'bin');
  mkdirSync(binDir);
  // A credential helper that logs its argv and stdin, and knows one server.
  writeFileSync(
    path.join(binDir, 'docker-credential-fake'),
    `#!/bin/sh
input=$(cat)
echo "$@" >> "${dir}/helper-argv.log"
echo "$input" >> "${dir}/helper-stdin.log"
case "$input" in
  helper.example.com) echo '{"ServerURL":"helper.example.com","Username":"hu","Secret":"helper-secret-1"}' ;;
  token.example.com) echo '{"ServerURL":"token.example.com","Username":"<token>","Secret":"refresh-token-1"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"hub-secret-1"}' ;;
  broken.example.com) echo 'the keychain is locked'; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`,
  );
  chmodSync(path.join(binDir, 'docker-credential-fake'), 0o755);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function provider(config: unknown, name: string, secrets?: string[]): DockerConfigCredentials {
  const configDir = path.join(dir, name);
  mkdirSync(configDir, { recursive: true });
  writeFileSync(path.join(configDir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return new DockerConfigCredentials({
    env: { DOCKER_CONFIG: configDir, PATH: `${binDir}:${process.env.PATH}` },
    onSecret: (s) => secrets?.push(s),
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('dockerConfigKeyToHost', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['http://127.0.0.1:5000/v1/', '127.0.0.1:5000'],
    ['https://123.dkr.ecr.us-east-1.amazonaws.com', '123.dkr.ecr.us-east-1.amazonaws.com'],
    ['Public.ECR.aws', 'public.ecr.aws'],
  ])('%s → %s', (key, host) => {
    expect(dockerConfigKeyToHost(key)).toBe(host);
  });
});

describe('DockerConfigCredentials', () => {
  it('reads auths in every key form, and reports each secret', async () => {
    const secrets: string[] = [];
    const p = provider(
      {
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass:word') },
          'http://127.0.0.1:5000/v1/': { username: 'local', password: 'local-password' },
          'id.example.com': { identitytoken: 'identity-token-123' },
          'empty.example.com': {},
        },
      },
      'auths',
      secrets,
    );
    expect(await p.get('docker.io')).toEqual({ username: 'hubuser', password: 'hub:pass:word' });
    expect(await p.get('127.0.0.1:5000')).toEqual({ username: 'local', password: 'local-password' });
    expect(await p.get('id.example.com')).toEqual({ identityToken: 'identity-token-123' });
    expect(await p.get('empty.example.com')).toBeUndefined();
    expect(await p.get('other.example.com')).toBeUndefined();
    expect(secrets).toEqual(expect.arrayContaining(['hub:pass:word', 'local-password', 'identity-token-123']));
  });

  it('runs credential helpers with the server URL on stdin, never in argv', async () => {
    const secrets: string[] = [];
    const p = provider(
      { credHelpers: { 'helper.example.com': 'fake', 'token.example.com': 'fake' }, credsStore: 'fake' },
      'helpers',
      secrets,
    );
    expect(await p.get('helper.example.com')).toEqual({ username: 'hu', password: 'helper-secret-1' });
    expect(await p.get('token.example.com')).toEqual({ identityToken: 'refresh-token-1' });
    expect(await p.get('docker.io')).toEqual({ username: 'hub', password: 'hub-secret-1' });
    expect(await p.get('unknown.example.com')).toBeUndefined();
    const argv = readFileSync(path.join(dir, 'helper-argv.log'), 'utf8').trim().split('\n');
    expect(new Set(argv)).toEqual(new Set(['get']));
    expect(readFileSync(path.join(dir, 'helper-stdin.log'), 'utf8')).toContain('https://index.docker.io/v1/');
    expect(secrets).toEqual(expect.arrayContaining(['helper-secret-1', 'refresh-token-1', 'hub-secret-1']));
  });

  it('prefers credHelpers, then the store, then auths', async () => {
    const p = provider(
      {
        auths: {
          'helper.example.com': { auth: b64('file:filepass') },
          'file.example.com': { auth: b64('f:filepass2') },
        },
        credHelpers: { 'helper.example.com': 'fake' },
        credsStore: 'fake',
      },
      'order',
    );
    expect(await p.get('helper.example.com')).toEqual({ username: 'hu', password: 'helper-secret-1' });
    // The store has nothing for this host: the file entry applies.
    expect(await p.get('file.example.com')).toEqual({ username: 'f', password: 'filepass2' });
  });

  it('reports a failing helper, a missing helper and a broken config clearly', async () => {
    const broken = provider({ credHelpers: { 'broken.example.com': 'fake', 'x.example.com': 'absent' } }, 'broken');
    await expect(broken.get('broken.example.com')).rejects.toThrow(
      /docker-credential-fake failed for broken.example.com/,
    );
    const missing = await broken.get('x.example.com').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(EcrctlError);
    expect((missing as Error).message).toMatch(/docker-credential-absent: not found on PATH/);
    const bad = provider('{ not json', 'badjson');
    await expect(bad.get('x')).rejects.toBeInstanceOf(UsageError);
  });

  it('answers undefined when there is no config file', async () => {
    const p = new DockerConfigCredentials({ env: { DOCKER_CONFIG: path.join(dir, 'nowhere') } });
    expect(await p.get('docker.io')).toBeUndefined();
  });
});

describe('chainCredentials', () => {
  it('takes the first answer and invalidates the provider that gave it', async () => {
    const invalidated: string[] = [];
    const first = { get: async () => undefined, invalidate: () => invalidated.push('first') };
    const second = {
      get: async () => ({ username: 'u', password: 'p' }),
      invalidate: (h: string) => invalidated.push(`second ${h}`),
    };
    const chain = chainCredentials(first, second, new StaticCredentials({}));
    expect(await chain.get('h')).toEqual({ username: 'u', password: 'p' });
    chain.invalidate?.('h');
    expect(invalidated).toEqual(['second h']);
  });
});

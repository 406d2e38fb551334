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
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  authUsername,
  containersAuthPath,
  dockerConfigPath,
  encodeAuth,
  setAuth,
  setHelper,
  updateDockerConfig,
} from '../../src/ecr/docker-config.js';
import { removeLoginEntries } from '../../src/ecr/login.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-docker-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

function dir(name: string): string {
  const d = path.join(root, name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('docker config paths', () => {
  it('follows --docker-config, DOCKER_CONFIG, then ~/.docker', () => {
    expect(dockerConfigPath({ HOME: '/h' })).toBe('/h/.docker/config.json');
    expect(dockerConfigPath({ HOME: '/h', DOCKER_CONFIG: '/d' })).toBe('/d/config.json');
    expect(dockerConfigPath({ HOME: '/h', DOCKER_CONFIG: '/d' }, '/flag')).toBe('/flag/config.json');
  });
  it('follows --authfile, REGISTRY_AUTH_FILE, then XDG_RUNTIME_DIR', () => {
    expect(containersAuthPath({ HOME: '/h', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/run/user/1/containers/auth.json');
    expect(containersAuthPath({ HOME: '/h' })).toBe('/h/.config/containers/auth.json');
    expect(containersAuthPath({ REGISTRY_AUTH_FILE: '/r.json', XDG_RUNTIME_DIR: '/run' })).toBe('/r.json');
    expect(containersAuthPath({ REGISTRY_AUTH_FILE: '/r.json' }, '/f.json')).toBe('/f.json');
  });
});

describe('updateDockerConfig', () => {
  it('keeps every other key and entry, writes mode 0600 and leaves no temporary file', () => {
    const d = dir('keep');
    const file = path.join(d, 'config.json');
    const before = {
      auths: {
        'ghcr.io': { auth: encodeAuth('me', 'ghp_secret') },
        [`https://${HOST}`]: { auth: encodeAuth('AWS', 'old') },
      },
      credHelpers: { 'gcr.io': 'gcloud' },
      psFormat: 'table {{.ID}}',
      plugins: { buildx: { x: 1 } },
    };
    writeFileSync(file, JSON.stringify(before), { mode: 0o644 });
    updateDockerConfig(file, (c) => {
      setAuth(c, HOST, 'AWS', 'new-password');
      setHelper(c, 'public.ecr.aws');
    });
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(after.psFormat).toBe(before.psFormat);
    expect(after.plugins).toEqual(before.plugins);
    expect(after.auths['ghcr.io']).toEqual(before.auths['ghcr.io']);
    // the old scheme-keyed entry of the same registry is replaced, not duplicated
    expect(Object.keys(after.auths).sort()).toEqual([HOST, 'ghcr.io']);
    expect(Buffer.from(after.auths[HOST].auth, 'base64').toString()).toBe('AWS:new-password');
    expect(after.credHelpers).toEqual({ 'gcr.io': 'gcloud', 'public.ecr.aws': 'ecrctl' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['config.json']);
  });

  it('creates the file and its directory when missing', () => {
    const file = path.join(root, 'new', 'sub', 'config.json');
    updateDockerConfig(file, (c) => setAuth(c, HOST, 'AWS', 'pw-123456'));
    expect(JSON.parse(readFileSync(file, 'utf8')).auths[HOST].auth).toBe(encodeAuth('AWS', 'pw-123456'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses to rewrite a file that is not JSON, and leaves it as it was', () => {
    const file = path.join(dir('bad'), 'config.json');
    writeFileSync(file, '{"auths": {');
    expect(() => updateDockerConfig(file, (c) => setAuth(c, HOST, 'AWS', 'x'))).toThrow(/not valid JSON/);
    expect(readFileSync(file, 'utf8')).toBe('{"auths": {');
  });

  it('writes through a symlinked config file', () => {
    const d = dir('link');
    const real = path.join(d, 'real.json');
    writeFileSync(real, '{"keep":true}', { mode: 0o600 });
    symlinkSync(real, path.join(d, 'config.json'));
    updateDockerConfig(path.join(d, 'config.json'), (c) => setAuth(c, HOST, 'AWS', 'pw'));
    expect(JSON.parse(readFileSync(real, 'utf8'))).toMatchObject({ keep: true, auths: { [HOST]: {} } });
  });

  it("keeps a symlinked file's mode (0644) for entries without a secret, and the link stays a link", () => {
    const d = dir('link-mode');
    const real = path.join(d, 'real.json');
    writeFileSync(real, '{"keep":true}');
    chmodSync(real, 0o644);
    const link = path.join(d, 'config.json');
    symlinkSync(real, link);
    updateDockerConfig(link, (c) => setHelper(c, HOST));
    expect(statSync(real).mode & 0o777).toBe(0o644);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual({ keep: true, credHelpers: { [HOST]: 'ecrctl' } });
    expect(readdirSync(d).sort()).toEqual(['config.json', 'real.json']);
  });

  it('refuses to write a password through a symlink to a file others can read, and says how to fix it', () => {
    const d = dir('link-secret');
    const real = path.join(d, 'real.json');
    writeFileSync(real, '{"keep":true}');
    chmodSync(real, 0o644);
    const link = path.join(d, 'config.json');
    symlinkSync(real, link);
    let message = '';
    try {
      updateDockerConfig(link, (c) => setAuth(c, HOST, 'AWS', 'pw-secret'));
    } catch (err) {
      message = `${(err as Error).message} / ${(err as { fix?: string }).fix}`;
    }
    expect(message).toBe(
      `${link} is a symlink to ${real} (mode 0644, readable by others): ecrctl keeps a linked file's mode, ` +
        `so it will not write a registry password there / run chmod 600 ${real}, or register the helper with ` +
        '`ecrctl login --helper` so no password is stored',
    );
    expect(readFileSync(real, 'utf8')).toBe('{"keep":true}');
    expect(statSync(real).mode & 0o777).toBe(0o644);
    // once the target is private, the password goes in and the mode stays 0600
    chmodSync(real, 0o600);
    updateDockerConfig(link, (c) => setAuth(c, HOST, 'AWS', 'pw-secret'));
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(real, 'utf8')).auths[HOST].auth).toBe(encodeAuth('AWS', 'pw-secret'));
  });

  it('the old file stays whole when the change throws (atomic)', () => {
    const file = path.join(dir('atomic'), 'config.json');
    writeFileSync(file, '{"a":1}');
    expect(() =>
      updateDockerConfig(file, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}');
  });
});

describe('removeLoginEntries', () => {
  it('removes only AWS auths entries of ECR hosts and ecrctl helper entries', () => {
    const file = path.join(dir('logout'), 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          [HOST]: { auth: encodeAuth('AWS', 'pw') },
          '210987654321.dkr.ecr.eu-west-1.amazonaws.com': { auth: encodeAuth('someone', 'pw') },
          '127.0.0.1:5000': { auth: encodeAuth('AWS', 'pw') },
          'ghcr.io': { auth: encodeAuth('me', 'pw') },
        },
        credHelpers: { 'public.ecr.aws': 'ecrctl', '111122223333.dkr.ecr.us-east-1.amazonaws.com': 'ecr-login' },
        other: 1,
      }),
    );
    const removed = removeLoginEntries(file);
    expect(removed).toEqual([
      { registry: HOST, kind: 'auths' },
      { registry: 'public.ecr.aws', kind: 'credHelpers' },
    ]);
    const after = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(after.auths).sort()).toEqual([
      '127.0.0.1:5000',
      '210987654321.dkr.ecr.eu-west-1.amazonaws.com',
      'ghcr.io',
    ]);
    expect(after.credHelpers).toEqual({ '111122223333.dkr.ecr.us-east-1.amazonaws.com': 'ecr-login' });
    expect(after.other).toBe(1);
    // a named loopback registry (ecrctl local) goes when asked for
    expect(removeLoginEntries(file, ['http://127.0.0.1:5000'])).toEqual([
      { registry: '127.0.0.1:5000', kind: 'auths' },
    ]);
    expect(removeLoginEntries(file, ['ghcr.io'])).toEqual([]);
  });

  it('authUsername reads the user of an auth value', () => {
    expect(authUsername(encodeAuth('AWS', 'a:b'))).toBe('AWS');
    expect(authUsername('!!')).toBeUndefined();
    expect(authUsername(undefined)).toBeUndefined();
  });
});

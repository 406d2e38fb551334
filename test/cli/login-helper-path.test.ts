// `login --helper` warns when Docker will not find docker-credential-ecrctl on PATH (issue 21
// #16), naming where the package installed it and how to put it on PATH; after doing what the
// warning says (a link in a PATH directory) there is no warning. PATH is controlled per run.
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
beforeAll(async () => {
  env = await startRepoEnv();
});
afterAll(async () => {
  await env.close();
});

const installed = path.resolve(import.meta.dirname, '../../bin/docker-credential-ecrctl.js');

function dirs(name: string): { docker: string; bin: string } {
  const docker = path.join(env.dir, name, 'docker');
  const bin = path.join(env.dir, name, 'bin');
  mkdirSync(docker, { recursive: true });
  mkdirSync(bin, { recursive: true });
  return { docker, bin };
}

describe('login --helper and PATH', () => {
  it('warns when docker-credential-ecrctl is not on PATH, naming where it is and how to link it', async () => {
    const { docker, bin } = dirs('missing');
    // a file of that name that is not executable does not count: Docker could not run it
    writeFileSync(path.join(bin, 'docker-credential-ecrctl'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'docker-credential-ecrctl'), 0o644);
    const r = await env.cli(['login', '--helper'], { env: { DOCKER_CONFIG: docker, PATH: bin } });
    expect(r.code, r.stderr).toBe(0);
    const configFile = path.join(docker, 'config.json');
    expect(r.stderr).toContain(
      `warning: docker-credential-ecrctl is not on PATH, so Docker cannot run the helper registered in ${configFile} ` +
        `("executable file not found in $PATH"). It is installed at ${installed}; put it on PATH, e.g. ` +
        `\`ln -s ${installed} ~/.local/bin/docker-credential-ecrctl\` (with ~/.local/bin on PATH), ` +
        'or install ecrctl with `npm install -g`, which puts both commands on PATH',
    );
    // the helper is registered all the same
    expect(Object.values(JSON.parse(readFileSync(configFile, 'utf8')).credHelpers)).toEqual(['ecrctl']);
  });

  it('says nothing once it is on PATH (linked as the warning says)', async () => {
    const { docker, bin } = dirs('linked');
    symlinkSync(installed, path.join(bin, 'docker-credential-ecrctl'));
    const r = await env.cli(['login', '--helper'], {
      env: { DOCKER_CONFIG: docker, PATH: [path.join(env.dir, 'nowhere'), bin].join(path.delimiter) },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
    expect(r.stdout).toContain('Registered docker-credential-ecrctl for ');
  });

  it('a plain login (tokens in the config) does not look for the helper', async () => {
    const { docker, bin } = dirs('plain');
    const r = await env.cli(['login'], { env: { DOCKER_CONFIG: docker, PATH: bin } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('docker-credential-ecrctl');
  });
});

// `ecrctl push` (the docker habit) is `ecrctl tag-push`: the same command, and --help says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';

let reg: StartedRegistry;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-push-alias-'));
});
afterAll(async () => {
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ecrctl push', () => {
  it('pushes as tag-push does, with the same JSON result', async () => {
    const image = buildImage(51);
    writeOciLayout(path.join(tmp, 'src'), [{ image, tag: 'v1' }]);
    const env = { DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp };
    const r = await runCli(
      ['push', `oci:${path.join(tmp, 'src')}:v1`, `${reg.host}/alias/app:v1`, '-t', 'x', '-o', 'json'],
      {
        env,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'pushed', digest: image.manifest.digest, tags: ['v1', 'x'] });
    const tags = await runCli(['tags', `${reg.host}/alias/app`, '-o', 'json'], { env });
    expect(JSON.parse(tags.stdout).tags.sort()).toEqual(['v1', 'x']);
  });

  it('is listed with tag-push in --help, and `push --help` is the tag-push help', async () => {
    const top = await runCli(['--help']);
    expect(top.stdout).toMatch(/^ {2}tag-push\|push\b/m);
    const help = await runCli(['push', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ecrctl tag-push\|push \[options\] <source> <target>/m);
  });
});

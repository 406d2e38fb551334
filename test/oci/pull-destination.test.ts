// The hardened layout writer seen from the command line: `ecrctl pull` into a layout whose
// blobs/sha256 is a symbolic link, and into a destination beside which a killed pull left a
// temp dir; `tag-push docker-daemon:-…`. Against Debian's docker-registry on loopback.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';

let reg: StartedRegistry;
let tmp: string;
const env = () => ({ DOCKER_CONFIG: path.join(tmp, 'no-docker-config'), HOME: tmp, PATH: process.env.PATH });

beforeAll(async () => {
  reg = await startRegistry();
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-pull-destination-'));
  const image = buildImage(71, { layers: 2, layerSize: 10_000 });
  const src = path.join(tmp, 'src');
  writeOciLayout(src, [{ image, tag: 'v1' }]);
  const r = await runCli(['tag-push', `oci:${src}:v1`, `${reg.host}/hard/app:v1`], { env: env() });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await reg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('pull destinations', () => {
  it('refuses an existing layout whose blobs/sha256 is a symbolic link, writing nothing through it', async () => {
    const out = path.join(tmp, 'linked');
    writeOciLayout(out, []);
    const elsewhere = mkdtempSync(path.join(tmp, 'elsewhere-'));
    rmSync(path.join(out, 'blobs', 'sha256'), { recursive: true });
    symlinkSync(elsewhere, path.join(out, 'blobs', 'sha256'));
    const r = await runCli(['pull', `${reg.host}/hard/app:v1`, `oci:${out}`], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `blobs/sha256 is a symbolic link (to ${elsewhere}); the layout's directories must be real directories inside it`,
    );
    expect(r.stderr).toContain(`replace ${path.join(out, 'blobs', 'sha256')} with a real directory`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('removes the temp dir a killed pull left beside the destination, and keeps a fresh one', async () => {
    const parent = path.join(tmp, 'killed');
    mkdirSync(parent);
    const stale = path.join(parent, '.out.tmp-0123456789ab');
    const fresh = path.join(parent, '.out.tmp-ba9876543210');
    for (const dir of [stale, fresh]) {
      mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
      writeFileSync(path.join(dir, 'blobs', '.tmp-0123456789ab-0123456789ab'), 'partial');
    }
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const p of [path.join(stale, 'blobs', '.tmp-0123456789ab-0123456789ab'), path.join(stale, 'blobs', 'sha256')])
      utimesSync(p, old, old);
    utimesSync(path.join(stale, 'blobs'), old, old);
    utimesSync(stale, old, old);
    const r = await runCli(['pull', `${reg.host}/hard/app:v1`, `oci:${path.join(parent, 'out')}`], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(parent).sort()).toEqual(['.out.tmp-ba9876543210', 'out']);
  });
});

describe('docker-daemon: sources', () => {
  it('refuses an image name starting with "-" with exit 2, before running docker', async () => {
    const r = await runCli(['tag-push', 'docker-daemon:--output=/tmp/x', `${reg.host}/hard/app:v2`], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('docker-daemon: the image name "--output=/tmp/x" starts with "-"');
    expect(r.stderr).not.toContain('needs the docker command');
  });
});

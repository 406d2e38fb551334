// `ecrctl account-setting get|set` against `ecrctl local`, and what BLOB_MOUNTING changes
// for `ecrctl copy` between two repositories of one registry: mounted blobs in the summary
// and no blob bytes sent (counted in the emulator's recorded data-plane calls).
import path from 'node:path';
import { CreateRepositoryCommand, GetAccountSettingCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { type LocalCliEnv, startLocalCliEnv } from './replicate-fixtures.js';

let t: LocalCliEnv;

beforeAll(async () => {
  t = await startLocalCliEnv('ecrctl-account-setting-');
});
afterAll(async () => {
  await t.close();
});

describe('ecrctl account-setting', () => {
  it('reads a default, sets a value, reads it back (text, json and env)', async () => {
    let r = await t.cli(['account-setting', 'get', 'BLOB_MOUNTING']);
    expect(r).toMatchObject({ code: 0, stdout: 'DISABLED\n' });
    r = await t.cli(['account-setting', 'set', 'blob_mounting', 'enabled']);
    expect(r).toMatchObject({ code: 0, stdout: 'BLOB_MOUNTING=ENABLED\n' });
    expect((await t.ecr.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' }))).value).toBe('ENABLED');
    r = await t.cli(['-o', 'json', 'account-setting', 'get', 'BLOB_MOUNTING']);
    expect(JSON.parse(r.stdout)).toEqual({ name: 'BLOB_MOUNTING', value: 'ENABLED', region: 'us-east-1' });
    r = await t.cli(['-o', 'env', 'account-setting', 'get', 'REGISTRY_POLICY_SCOPE']);
    expect(r.stdout).toBe('SETTING_NAME=REGISTRY_POLICY_SCOPE\nSETTING_VALUE=V2\nREGION=us-east-1\n');
    r = await t.cli(['account-setting', 'set', 'BLOB_MOUNTING', 'DISABLED']);
    expect(r.code).toBe(0);
  });

  it('refuses an unknown name or value before calling ECR (exit 2)', async () => {
    const before = t.server.calls.length;
    let r = await t.cli(['account-setting', 'get', 'MOUNTING']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown account setting: MOUNTING');
    r = await t.cli(['account-setting', 'set', 'BLOB_MOUNTING', 'yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('yes is not a value of BLOB_MOUNTING');
    expect(r.stderr).toContain('ENABLED or DISABLED');
    expect(t.server.calls.slice(before).filter((c) => c.startsWith('ecr:'))).toEqual([]);
  });
});

describe('ecrctl copy between repositories of one registry', () => {
  const image = buildImage(41, { layers: 2, layerSize: 4096 });
  let copies = 0;

  beforeAll(async () => {
    const dir = path.join(t.dir, 'layout');
    writeOciLayout(dir, [{ image, tag: 'latest' }]);
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: 'mnt/src' }));
    const r = await t.cli(['tag-push', `oci:${dir}:latest`, 'mnt/src:v1']);
    expect(r.code, r.stderr).toBe(0);
  });

  async function copy(): Promise<{ blobs: Record<string, number>; calls: string[] }> {
    const target = `mnt/dst${++copies}`;
    await t.ecr.send(new CreateRepositoryCommand({ repositoryName: target }));
    const before = t.server.calls.length;
    const r = await t.cli(['-o', 'json', 'copy', 'mnt/src:v1', `${target}:v1`]);
    expect(r.code, r.stderr).toBe(0);
    return { blobs: JSON.parse(r.stdout).blobs, calls: t.server.calls.slice(before) };
  }

  it('uploads every blob while BLOB_MOUNTING is DISABLED (the mounts are declined)', async () => {
    const { blobs, calls } = await copy();
    expect(blobs).toEqual({ total: 3, uploaded: 3, skipped: 0, mounted: 0 });
    expect(calls.filter((c) => c === 'registry:PUT uploads' || c === 'registry:PATCH uploads').length).toBe(3);
  });

  it('mounts every blob once BLOB_MOUNTING is ENABLED and sends no blob bytes', async () => {
    expect((await t.cli(['account-setting', 'set', 'BLOB_MOUNTING', 'ENABLED'])).code).toBe(0);
    const { blobs, calls } = await copy();
    expect(blobs).toEqual({ total: 3, uploaded: 0, skipped: 0, mounted: 3 });
    expect(calls.filter((c) => c === 'registry:POST uploads').length).toBe(3);
    expect(calls.filter((c) => c === 'registry:PUT uploads' || c === 'registry:PATCH uploads')).toEqual([]);
    expect(calls.filter((c) => c.includes('GET blob'))).toEqual([]);
    // The mounted image is whole: the registry serves the copy's manifest with every blob present.
    const r = await t.cli(['-o', 'json', 'inspect', `mnt/dst${copies}:v1`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(image.manifest.digest);
  });
});

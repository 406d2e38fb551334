// Cross-repository blob mounts against `ecrctl local`, as ECR decides them: 201 only when
// the BLOB_MOUNTING account setting is ENABLED, the source is a repository of the same
// registry with the same encryption type and key, and it is not a pull-through cache
// repository; 202 with a normal upload session otherwise. Also GetAccountSetting /
// PutAccountSetting's values and errors.
import {
  CreatePullThroughCacheRuleCommand,
  CreateRepositoryCommand,
  type ECRClient,
  GetAccountSettingCommand,
  GetAuthorizationTokenCommand,
  PutAccountSettingCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { basicAuth, ecrClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let ecr: ECRClient;
let endpoint: string;
let auth: string;
const tmp = tempDir('ecrctl-mount-');
const image = tinyImage('mount');

beforeAll(async () => {
  server = await start(tmp.dir);
  ecr = ecrClient(server);
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
  auth = basicAuth(token.authorizationData?.[0]?.authorizationToken as string);
  await ecr.send(
    new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'cache', upstreamRegistryUrl: 'public.ecr.aws' }),
  );
  for (const name of ['m/src', 'm/dst', 'cache/src']) {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  }
  await ecr.send(
    new CreateRepositoryCommand({ repositoryName: 'm/kms', encryptionConfiguration: { encryptionType: 'KMS' } }),
  );
  for (const name of ['m/src', 'cache/src']) {
    expect((await pushImage(endpoint, auth, name, image, 'v1')).status).toBe(201);
  }
});
afterAll(async () => {
  await server?.close();
  tmp.remove();
});

function mount(into: string, from: string, digest = image.layerDigest): Promise<Response> {
  return fetch(`${endpoint}/v2/${into}/blobs/uploads/?mount=${digest}&from=${from}`, {
    method: 'POST',
    headers: { Authorization: auth },
  });
}

function head(repo: string, digest = image.layerDigest): Promise<Response> {
  return fetch(`${endpoint}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers: { Authorization: auth } });
}

describe('account settings', () => {
  it('reads the defaults of an account that never set them', async () => {
    const read = async (name: string) => (await ecr.send(new GetAccountSettingCommand({ name }))).value;
    expect(await read('BLOB_MOUNTING')).toBe('DISABLED');
    expect(await read('BASIC_SCAN_TYPE_VERSION')).toBe('AWS_NATIVE');
    expect(await read('REGISTRY_POLICY_SCOPE')).toBe('V2');
  });

  it('refuses unknown names and values with ValidationException', async () => {
    await expect(ecr.send(new GetAccountSettingCommand({ name: 'NOPE' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ON' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('ENABLED, DISABLED'),
    });
  });

  it('keeps a setting per region', async () => {
    const out = await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    expect(out).toMatchObject({ name: 'BLOB_MOUNTING', value: 'ENABLED' });
    const west = ecrClient(server, 'eu-west-1');
    expect((await west.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' }))).value).toBe('DISABLED');
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'DISABLED' }));
  });
});

describe('cross-repository mounts', () => {
  it('answers 202 with an upload session while BLOB_MOUNTING is DISABLED (the default)', async () => {
    const res = await mount('m/dst', 'm/src');
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(/^\/v2\/m\/dst\/blobs\/uploads\/./);
    expect((await head('m/dst')).status).toBe(404);
  });

  it('mounts with 201 once BLOB_MOUNTING is ENABLED, and the blob is then in the target', async () => {
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    const res = await mount('m/dst', 'm/src');
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/v2/m/dst/blobs/${image.layerDigest}`);
    expect(res.headers.get('docker-content-digest')).toBe(image.layerDigest);
    const h = await head('m/dst');
    expect(h.status).toBe(200);
    expect(h.headers.get('content-length')).toBe(String(image.layer.length));
  });

  it('answers 202 across encryption types, from a pull-through cache repository, or for a blob the source lacks', async () => {
    expect((await mount('m/kms', 'm/src', image.configDigest)).status).toBe(202);
    expect((await mount('m/dst', 'cache/src', image.configDigest)).status).toBe(202);
    expect((await mount('m/dst', 'm/nothing-here', image.configDigest)).status).toBe(202);
    expect((await mount('m/dst', 'm/kms', image.configDigest)).status).toBe(202);
    expect((await head('m/kms', image.configDigest)).status).toBe(404);
    expect((await head('m/dst', image.configDigest)).status).toBe(404);
    // The same mount within the rules succeeds.
    expect((await mount('m/dst', 'm/src', image.configDigest)).status).toBe(201);
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'DISABLED' }));
    expect((await mount('m/kms', 'm/src')).status).toBe(202);
  });

  it('keeps the setting across a restart', async () => {
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    await server.close();
    server = await start(tmp.dir);
    ecr = ecrClient(server);
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    endpoint = token.authorizationData?.[0]?.proxyEndpoint as string;
    expect((await ecr.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' }))).value).toBe('ENABLED');
    expect((await mount('m/dst', 'm/src')).status).toBe(201);
  });

  it('answers 202 for a blob the source holds but no manifest of the source references, 201 once one does', async () => {
    await ecr.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' }));
    const later = tinyImage('mount-unreferenced');
    const upload = await fetch(`${endpoint}/v2/m/src/blobs/uploads/?digest=${later.layerDigest}`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' },
      body: later.layer,
    });
    expect(upload.status).toBe(201);
    expect((await head('m/src', later.layerDigest)).status).toBe(200);
    // Uploaded, never named by a manifest: ECR does not mount it.
    const declined = await mount('m/dst', 'm/src', later.layerDigest);
    expect(declined.status).toBe(202);
    expect(declined.headers.get('location')).toMatch(/^\/v2\/m\/dst\/blobs\/uploads\/./);
    expect((await head('m/dst', later.layerDigest)).status).toBe(404);
    // A blob mounted into m/dst is not referenced there either: it cannot be mounted onwards.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'm/other' }));
    expect((await head('m/dst', image.layerDigest)).status).toBe(200);
    expect((await mount('m/other', 'm/dst', image.layerDigest)).status).toBe(202);
    expect((await mount('m/other', 'm/src', image.layerDigest)).status).toBe(201);
    // Once a manifest of m/src names the layer, it mounts.
    expect((await pushImage(endpoint, auth, 'm/src', later, 'v2')).status).toBe(201);
    expect((await mount('m/dst', 'm/src', later.layerDigest)).status).toBe(201);
    expect((await head('m/dst', later.layerDigest)).status).toBe(200);
  });
});

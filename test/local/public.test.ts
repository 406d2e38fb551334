// ECR Public on the local endpoint, through @aws-sdk/client-ecr-public, and its data plane.
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeImageTagsCommand,
  DescribeRegistriesCommand,
  DescribeRepositoriesCommand,
  type ECRPUBLICClient,
  GetAuthorizationTokenCommand,
  GetRepositoryCatalogDataCommand,
  PutRepositoryCatalogDataCommand,
} from '@aws-sdk/client-ecr-public';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { publicClient, pushImage, start, tempDir, tinyImage } from './helpers.js';

let server: LocalServer;
let pub: ECRPUBLICClient;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(tmp.dir);
  pub = publicClient(server);
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { name: string; message: string };
  }
  throw new Error('expected the call to fail');
}

// A 1×1 PNG (signature + IHDR + IDAT + IEND).
const png = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5ad0d6b0000000049454e44ae426082',
  'hex',
);

describe('ECR Public API', () => {
  it('creates a repository with catalog data and describes it under the registry alias', async () => {
    const out = await pub.send(
      new CreateRepositoryCommand({
        repositoryName: 'tools/cli',
        catalogData: {
          description: 'A CLI',
          architectures: ['x86-64', 'ARM 64'],
          operatingSystems: ['Linux'],
          aboutText: '# About',
          logoImageBlob: png,
        },
        tags: [{ Key: 'team', Value: 'tools' }],
      }),
    );
    const host = new URL(await server.publicRegistryEndpoint()).host;
    expect(out.repository).toMatchObject({
      repositoryArn: 'arn:aws:ecr-public::123456789012:repository/tools/cli',
      registryId: '123456789012',
      repositoryName: 'tools/cli',
      repositoryUri: `${host}/local/tools/cli`,
    });
    expect(out.catalogData).toMatchObject({
      description: 'A CLI',
      architectures: ['x86-64', 'ARM 64'],
      operatingSystems: ['Linux'],
      aboutText: '# About',
    });
    const logo = await fetch(out.catalogData?.logoUrl ?? '');
    expect(logo.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await logo.arrayBuffer())).toEqual(png);
    const listed = await pub.send(new DescribeRepositoriesCommand({}));
    expect(listed.repositories).toEqual([out.repository]);
    const regs = await pub.send(new DescribeRegistriesCommand({}));
    expect(regs.registries?.[0]).toMatchObject({
      registryId: '123456789012',
      registryUri: `${host}/local`,
      aliases: [{ name: 'local', status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
    });
  });

  it('updates catalog data and refuses a logo that is not a PNG', async () => {
    await pub.send(
      new PutRepositoryCatalogDataCommand({
        repositoryName: 'tools/cli',
        catalogData: { description: 'Better', usageText: 'run it' },
      }),
    );
    const got = await pub.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'tools/cli' }));
    expect(got.catalogData).toEqual({ description: 'Better', usageText: 'run it', marketplaceCertified: false });
    const err = await failure(
      pub.send(
        new PutRepositoryCatalogDataCommand({
          repositoryName: 'tools/cli',
          catalogData: { logoImageBlob: Buffer.from('GIF89a') },
        }),
      ),
    );
    expect(err.name).toBe('InvalidParameterException');
    const missing = await failure(pub.send(new GetRepositoryCatalogDataCommand({ repositoryName: 'nope' })));
    expect(missing.name).toBe('RepositoryNotFoundException');
  });

  it('gives authorization tokens in us-east-1 only', async () => {
    const err = await failure(publicClient(server, 'eu-west-1').send(new GetAuthorizationTokenCommand({})));
    expect(err.name).toBe('UnsupportedCommandException');
    const ok = await pub.send(new GetAuthorizationTokenCommand({}));
    expect(
      Buffer.from(ok.authorizationData?.authorizationToken ?? '', 'base64')
        .toString()
        .startsWith('AWS:'),
    ).toBe(true);
    expect(ok.authorizationData?.expiresAt).toBeInstanceOf(Date);
  });
});

describe('ECR Public data plane', () => {
  /** Asks the registry's token endpoint for a token (anonymously unless basic is given). */
  async function bearer(endpoint: string, scope: string, basic?: string): Promise<Response> {
    const url = `${endpoint}/token/?service=public.ecr.aws&scope=${encodeURIComponent(scope)}`;
    return fetch(url, basic ? { headers: { Authorization: `Basic ${basic}` } } : {});
  }
  async function tokenOf(res: Response): Promise<string> {
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string };
    expect(Object.keys(body)).toEqual(['token']);
    return body.token;
  }

  it('refuses an expired public bearer token with 400 DENIED "Your Authorization Token is invalid."', async () => {
    const dir = tempDir();
    const short = await start(dir.dir, { tokenTtlSeconds: 1 });
    try {
      const endpoint = await short.publicRegistryEndpoint();
      const password = (await publicClient(short).send(new GetAuthorizationTokenCommand({}))).authorizationData
        ?.authorizationToken as string;
      const token = await tokenOf(await bearer(endpoint, 'repository:local/none:pull,push', password));
      const url = `${endpoint}/v2/local/none/blobs/uploads/`;
      const fresh = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      expect(fresh.status).toBe(404); // the token is good; the repository does not exist
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await res.json()).toEqual({
        errors: [{ code: 'DENIED', message: 'Your Authorization Token is invalid.' }],
      });
      // The expired registry password no longer buys a token at the token endpoint either.
      expect((await bearer(endpoint, 'repository:local/none:pull,push', password)).status).toBe(401);
    } finally {
      await short.close();
      dir.remove();
    }
  });

  it('challenges every request without a bearer token, anonymous pulls included, with the token endpoint', async () => {
    const endpoint = await server.publicRegistryEndpoint();
    const challenge = `Bearer realm="${endpoint}/token/",service="public.ecr.aws"`;
    for (const path of ['/v2/', '/v2/local/tools/cli/manifests/v1', '/v2/local/tools/cli/tags/list']) {
      const res = await fetch(`${endpoint}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(challenge);
    }
    // Basic credentials on the data plane itself are not the flow: the same challenge.
    const basic = await fetch(`${endpoint}/v2/`, { headers: { Authorization: 'Basic QVdTOng=' } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe(challenge);
    // A bad password at the token endpoint is refused (401); no password is an anonymous token.
    expect((await bearer(endpoint, 'repository:local/tools/cli:pull', 'QVdTOng=')).status).toBe(401);
    const anonymous = await tokenOf(await bearer(endpoint, 'repository:local/tools/cli:pull'));
    const base = await fetch(`${endpoint}/v2/`, { headers: { Authorization: `Bearer ${anonymous}` } });
    expect(base.status).toBe(200);
  });

  it('takes a push with a token bought with the public password, serves anonymous pulls, and describes images and tags', async () => {
    const endpoint = await server.publicRegistryEndpoint();
    const password = (await pub.send(new GetAuthorizationTokenCommand({}))).authorizationData
      ?.authorizationToken as string;
    const image = tinyImage('public');
    const scope = 'repository:local/tools/cli:pull,push';
    const anonymous = await tokenOf(await bearer(endpoint, scope));
    const anonymousPush = await pushImage(endpoint, `Bearer ${anonymous}`, 'local/tools/cli', image, 'v1').catch(
      (e: Error) => e.message,
    );
    expect(anonymousPush).toMatch(/blob push failed: 401/);
    const scoped = await fetch(`${endpoint}/v2/local/tools/cli/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${anonymous}` },
    });
    expect(scoped.headers.get('www-authenticate')).toBe(
      `Bearer realm="${endpoint}/token/",service="public.ecr.aws",scope="${scope}",error="insufficient_scope"`,
    );
    const pushToken = await tokenOf(await bearer(endpoint, scope, password));
    const put = await pushImage(endpoint, `Bearer ${pushToken}`, 'local/tools/cli', image, 'v1');
    expect(put.status).toBe(201);
    const pulled = await fetch(`${endpoint}/v2/local/tools/cli/manifests/v1`, {
      headers: { Authorization: `Bearer ${anonymous}` },
    });
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    const otherAlias = await fetch(`${endpoint}/v2/other-alias/tools/cli/manifests/v1`, {
      headers: { Authorization: `Bearer ${anonymous}` },
    });
    expect(otherAlias.status).toBe(404);
    const forged = await fetch(`${endpoint}/v2/local/tools/cli/tags/list`, {
      headers: { Authorization: `Bearer ${anonymous.slice(0, -4)}AAAA` },
    });
    // ECR Public answers a token it cannot use with 400 DENIED (ECR-FACTS.md), no challenge.
    expect(forged.status).toBe(400);
    expect(forged.headers.get('www-authenticate')).toBeNull();
    expect(await forged.json()).toEqual({
      errors: [{ code: 'DENIED', message: 'Your Authorization Token is invalid.' }],
    });

    const images = await pub.send(new DescribeImagesCommand({ repositoryName: 'tools/cli' }));
    expect(images.imageDetails?.[0]).toMatchObject({
      registryId: '123456789012',
      repositoryName: 'tools/cli',
      imageDigest: image.manifestDigest,
      imageTags: ['v1'],
      imageSizeInBytes: image.layer.length,
      imageManifestMediaType: image.mediaType,
    });
    const tags = await pub.send(new DescribeImageTagsCommand({ repositoryName: 'tools/cli' }));
    expect(tags.imageTagDetails?.[0]).toMatchObject({
      imageTag: 'v1',
      imageDetail: { imageDigest: image.manifestDigest, imageSizeInBytes: image.layer.length },
    });
    expect(tags.imageTagDetails?.[0]?.createdAt).toBeInstanceOf(Date);

    const notEmpty = await failure(pub.send(new DeleteRepositoryCommand({ repositoryName: 'tools/cli' })));
    expect(notEmpty.name).toBe('RepositoryNotEmptyException');
    const deleted = await pub.send(new DeleteRepositoryCommand({ repositoryName: 'tools/cli', force: true }));
    expect(deleted.repository?.repositoryName).toBe('tools/cli');
    expect(server.calls).toContain('ecr-public:DeleteRepository');
  });
});

describe('clients on the bearer-token flow of the public data plane', () => {
  const run = promisify(execFile);

  it('ecrctl pushes with the public password through the token endpoint; ecrctl and skopeo pull anonymously', async () => {
    await pub.send(new CreateRepositoryCommand({ repositoryName: 'tools/flow' }));
    const endpoint = await server.publicRegistryEndpoint();
    const host = new URL(endpoint).host;
    const password = (await pub.send(new GetAuthorizationTokenCommand({}))).authorizationData
      ?.authorizationToken as string;
    const image = buildImage(77, { layers: 2, layerSize: 2048 });
    const layout = path.join(tmp.dir, 'flow-layout');
    writeOciLayout(layout, [{ image, tag: 'latest' }]);
    // The pusher's Docker config holds the ECR Public login for this host (what `docker
    // login` leaves); the puller has none.
    const pusher = path.join(tmp.dir, 'pusher');
    mkdirSync(pusher, { recursive: true });
    writeFileSync(path.join(pusher, 'config.json'), JSON.stringify({ auths: { [host]: { auth: password } } }));
    const anonymous = path.join(tmp.dir, 'anonymous');
    mkdirSync(anonymous, { recursive: true });
    const env = (config: string) => ({ DOCKER_CONFIG: config, HOME: tmp.dir, AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' });

    const before = server.calls.length;
    const pushed = await runCli(['tag-push', `oci:${layout}:latest`, `${host}/local/tools/flow:v1`], {
      env: env(pusher),
    });
    expect(pushed.code, pushed.stderr).toBe(0);
    const pushCalls = server.calls.slice(before);
    expect(pushCalls).toContain('registry:GET token');
    expect(pushCalls).toContain('registry:PUT manifests');

    const pulledDir = path.join(tmp.dir, 'flow-pulled');
    const pulled = await runCli(['pull', `${host}/local/tools/flow:v1`, `oci:${pulledDir}:v1`], {
      env: env(anonymous),
    });
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout + pulled.stderr).toContain(image.manifest.digest);

    const skopeoEnv = { PATH: process.env.PATH, HOME: anonymous, XDG_RUNTIME_DIR: anonymous };
    const raw = await run(
      '/usr/bin/skopeo',
      [
        '--insecure-policy',
        'inspect',
        '--raw',
        '--no-creds',
        '--tls-verify=false',
        `docker://${host}/local/tools/flow:v1`,
      ],
      { env: skopeoEnv },
    );
    expect(JSON.parse(raw.stdout).config.digest).toBe(image.config.descriptor.digest);
    const skopeoDir = path.join(tmp.dir, 'flow-skopeo');
    await run(
      '/usr/bin/skopeo',
      [
        '--insecure-policy',
        'copy',
        '--src-no-creds',
        '--src-tls-verify=false',
        `docker://${host}/local/tools/flow:v1`,
        `oci:${skopeoDir}:v1`,
      ],
      { env: skopeoEnv },
    );
  });
});

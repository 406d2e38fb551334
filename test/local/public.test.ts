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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
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
  it('refuses an expired public token with 400 DENIED "Your Authorization Token is invalid."', async () => {
    const dir = tempDir();
    const short = await start(dir.dir, { tokenTtlSeconds: 1 });
    try {
      const endpoint = await short.publicRegistryEndpoint();
      const token = (await publicClient(short).send(new GetAuthorizationTokenCommand({}))).authorizationData
        ?.authorizationToken;
      const url = `${endpoint}/v2/local/none/blobs/uploads/`;
      const fresh = await fetch(url, { method: 'POST', headers: { Authorization: `Basic ${token}` } });
      expect(fresh.status).toBe(404); // the token is good; the repository does not exist
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(url, { method: 'POST', headers: { Authorization: `Basic ${token}` } });
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toBeNull();
      expect(await res.json()).toEqual({
        errors: [{ code: 'DENIED', message: 'Your Authorization Token is invalid.' }],
      });
    } finally {
      await short.close();
      dir.remove();
    }
  });

  it('takes a push with the public token, serves anonymous pulls, and describes images and tags', async () => {
    const endpoint = await server.publicRegistryEndpoint();
    const token = (await pub.send(new GetAuthorizationTokenCommand({}))).authorizationData?.authorizationToken;
    const image = tinyImage('public');
    const anonymousPush = await pushImage(endpoint, '', 'local/tools/cli', image, 'v1').catch((e: Error) => e.message);
    expect(anonymousPush).toMatch(/blob push failed: 401/);
    const put = await pushImage(endpoint, `Basic ${token}`, 'local/tools/cli', image, 'v1');
    expect(put.status).toBe(201);
    const pulled = await fetch(`${endpoint}/v2/local/tools/cli/manifests/v1`);
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect((await fetch(`${endpoint}/v2/other-alias/tools/cli/manifests/v1`)).status).toBe(404);
    const privateToken = await fetch(`${endpoint}/v2/local/tools/cli/tags/list`, {
      headers: { Authorization: 'Basic QVdTOng=' },
    });
    // ECR Public answers a token it cannot use with 400 DENIED (ECR-FACTS.md), no challenge.
    expect(privateToken.status).toBe(400);
    expect(privateToken.headers.get('www-authenticate')).toBeNull();
    expect(await privateToken.json()).toEqual({
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

// Independent clients against the local endpoint: skopeo pushes to and pulls from the data
// plane, and the AWS CLI v2 (Debian's, /usr/bin/aws) drives the API. What they see must
// match what @aws-sdk/client-ecr sees.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { digestOf, ecrClient, start, tempDir, tinyImage } from './helpers.js';

const run = promisify(execFile);
let server: LocalServer;
let ecr: ECRClient;
const tmp = tempDir();

beforeAll(async () => {
  server = await start(path.join(tmp.dir, 'data'));
  ecr = ecrClient(server);
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

/** Writes an OCI image layout holding image under tag, as a build tool would. */
function writeOciLayout(dir: string, image: ReturnType<typeof tinyImage>, tag: string): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [image.layer, image.config, image.manifest]) {
    writeFileSync(path.join(dir, 'blobs', 'sha256', digestOf(blob).slice(7)), blob);
  }
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: image.mediaType,
          digest: image.manifestDigest,
          size: image.manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

function awsEnv(): NodeJS.ProcessEnv {
  const empty = path.join(tmp.dir, 'aws-empty');
  writeFileSync(empty, '');
  return {
    PATH: process.env.PATH,
    HOME: tmp.dir,
    AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: empty,
    AWS_SHARED_CREDENTIALS_FILE: empty,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

/** Runs Debian's AWS CLI v2 against the server; resolves with exit code and output. */
async function aws(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('/usr/bin/aws', ['--endpoint-url', server.url, '--output', 'json', ...args], {
      env: awsEnv(),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every argument list skopeo ran with (to check no password ever reached an argv). */
const skopeoArgv: string[][] = [];

function skopeo(args: string[]) {
  skopeoArgv.push(args);
  return run('/usr/bin/skopeo', ['--insecure-policy', ...args], {
    env: { PATH: process.env.PATH, HOME: tmp.dir, XDG_RUNTIME_DIR: tmp.dir },
    maxBuffer: 16 * 1024 * 1024,
  });
}

describe('AWS CLI v2', () => {
  it('creates and describes repositories as the SDK sees them', async () => {
    const created = await aws([
      'ecr',
      'create-repository',
      '--repository-name',
      'cli/made',
      '--image-tag-mutability',
      'IMMUTABLE',
      '--image-scanning-configuration',
      'scanOnPush=true',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const repo = (JSON.parse(created.stdout) as { repository: Record<string, unknown> }).repository;
    const sdk = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['cli/made'] }))).repositories?.[0];
    expect(repo).toMatchObject({
      repositoryArn: sdk?.repositoryArn,
      registryId: '123456789012',
      repositoryName: 'cli/made',
      repositoryUri: sdk?.repositoryUri,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
    expect(new Date(repo.createdAt as string).getTime()).toBe(sdk?.createdAt?.getTime());

    const described = await aws(['ecr', 'describe-repositories', '--repository-names', 'cli/made']);
    expect((JSON.parse(described.stdout) as { repositories: unknown[] }).repositories).toEqual([repo]);
  });

  it('prints ECR error messages the way AWS does', async () => {
    const r = await aws(['ecr', 'describe-repositories', '--repository-names', 'nope']);
    expect(r.code).toBe(254);
    expect(r.stderr.trim()).toBe(
      "An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: The repository with name 'nope' does not exist in the registry with id '123456789012'",
    );
    const bad = await aws(['ecr', 'create-repository', '--repository-name', 'Bad_Name']);
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain('(InvalidParameterException) when calling the CreateRepository operation');
  });
});

describe('skopeo and the AWS CLI on one image', () => {
  it('pushes with skopeo, inspects, pulls back to an OCI layout, and describes it alike from CLI and SDK', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'skopeo/app' }));
    const login = await aws(['ecr', 'get-login-password']);
    expect(login.code, login.stderr).toBe(0);
    const password = login.stdout.trim();
    expect(password.length).toBeGreaterThan(2048);
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const host = new URL(token?.proxyEndpoint ?? '').host;

    // The password goes to skopeo in a 0600 auth file, never in argv (where `ps` shows it).
    const authfile = path.join(tmp.dir, 'skopeo-auth.json');
    writeFileSync(
      authfile,
      JSON.stringify({ auths: { [host]: { auth: Buffer.from(`AWS:${password}`).toString('base64') } } }),
      { mode: 0o600, flag: 'wx' },
    );
    expect(statSync(authfile).mode & 0o777).toBe(0o600);

    const image = tinyImage('skopeo');
    const src = path.join(tmp.dir, 'src-layout');
    writeOciLayout(src, image, 'v1');
    await skopeo([
      'copy',
      '--dest-authfile',
      authfile,
      '--dest-tls-verify=false',
      `oci:${src}:v1`,
      `docker://${host}/skopeo/app:v1`,
    ]);

    const raw = await skopeo([
      'inspect',
      '--raw',
      '--authfile',
      authfile,
      '--tls-verify=false',
      `docker://${host}/skopeo/app:v1`,
    ]);
    expect(digestOf(raw.stdout)).toBe(image.manifestDigest);

    const out = path.join(tmp.dir, 'out-layout');
    await skopeo([
      'copy',
      '--src-authfile',
      authfile,
      '--src-tls-verify=false',
      `docker://${host}/skopeo/app:v1`,
      `oci:${out}:v1`,
    ]);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(image.manifestDigest);
    expect(readFileSync(path.join(out, 'blobs', 'sha256', image.layerDigest.slice(7)))).toEqual(image.layer);
    expect(skopeoArgv.flat().join(' ')).not.toContain(password.slice(0, 40));

    const cli = await aws(['ecr', 'describe-images', '--repository-name', 'skopeo/app']);
    expect(cli.code, cli.stderr).toBe(0);
    const cliDetail = (JSON.parse(cli.stdout) as { imageDetails: Record<string, unknown>[] }).imageDetails[0];
    const sdkDetail = (await ecr.send(new DescribeImagesCommand({ repositoryName: 'skopeo/app' }))).imageDetails?.[0];
    expect(cliDetail).toMatchObject({
      registryId: '123456789012',
      repositoryName: 'skopeo/app',
      imageDigest: image.manifestDigest,
      imageTags: ['v1'],
      imageSizeInBytes: image.layer.length,
      imageManifestMediaType: image.mediaType,
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
    });
    expect(sdkDetail).toMatchObject({
      imageDigest: cliDetail?.imageDigest,
      imageTags: cliDetail?.imageTags,
      imageSizeInBytes: cliDetail?.imageSizeInBytes,
    });
    expect(new Date(cliDetail?.imagePushedAt as string).getTime()).toBe(sdkDetail?.imagePushedAt?.getTime());
    expect(new Date(cliDetail?.lastRecordedPullTime as string).getTime()).toBe(
      sdkDetail?.lastRecordedPullTime?.getTime(),
    );
  });
});

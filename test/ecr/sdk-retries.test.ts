// The SDK clients ecrctl builds (src/ecr/clients.ts) against `ecrctl local`: ECR's
// LimitExceededException is a daily limit or a quota, not throttling, so it is answered after
// one request instead of six adaptive retries; real throttling is still retried. And
// `ecrctl scan` twice within 24 hours: the second run sends one StartImageScan and reuses
// the result it has.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecrClient as ecrctlClient, retrySettings } from '../../src/ecr/clients.js';
import type { LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { ecrClient as plainClient, start, tempDir } from '../local/helpers.js';
import { dpkgStatus, pushImage } from '../local/scanning-fixtures.js';

let server: LocalServer;
let tmp: { dir: string; remove: () => void };
let home: string;

const ENV = { AWS_ACCESS_KEY_ID: 'AKIDRETRY', AWS_SECRET_ACCESS_KEY: 'test' };
const DEBIAN = { 'var/lib/dpkg/status': dpkgStatus([['bash', '5.2.15-2']]) };

beforeAll(async () => {
  tmp = tempDir('ecrctl-sdk-retries-');
  home = path.join(tmp.dir, 'home');
  mkdirSync(home, { recursive: true });
  server = await start(path.join(tmp.dir, 'data'), { imagesPerRepositoryLimit: 1 });
  const ecr = plainClient(server);
  for (const repo of ['limits/scan', 'limits/quota', 'limits/odd']) {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
  }
  await pushImage(ecr, 'limits/scan', [DEBIAN], { tag: 'v1' });
  await pushImage(ecr, 'limits/quota', [DEBIAN], { tag: 'v1' });
  // A layer the scanner cannot read: its scan ends FAILED, which no later read calls recent.
  await pushImage(ecr, 'limits/odd', [Buffer.from([0x1f, 0x8b, 8, 0, 9, 9, 9, 9])], { tag: 'broken' });
});
afterAll(async () => {
  await server?.close();
  tmp?.remove();
});

function count(operation: string): number {
  return server.calls.filter((c) => c === operation).length;
}

async function client() {
  return ecrctlClient({ env: ENV, endpointUrl: server.url }, 'us-east-1');
}

describe('LimitExceededException is not retried', () => {
  it('keeps six attempts in adaptive mode for everything else', () => {
    expect(retrySettings({})).toEqual({ maxAttempts: 6, retryMode: 'adaptive' });
  });

  it('answers a second StartImageScan within 24 hours after one request', async () => {
    const ecr = await client();
    const scan = () =>
      ecr.send(new StartImageScanCommand({ repositoryName: 'limits/scan', imageId: { imageTag: 'v1' } }));
    await scan();
    const before = count('ecr:StartImageScan');
    const err = (await scan().catch((e: unknown) => e)) as { name: string; $metadata: { attempts?: number } };
    expect(err.name).toBe('LimitExceededException');
    expect(count('ecr:StartImageScan') - before).toBe(1);
    expect(err.$metadata.attempts).toBe(1);
  });

  it('answers the images-per-repository quota on PutImage after one request', async () => {
    const ecr = await client();
    const before = count('ecr:PutImage');
    const err = (await pushImage(ecr, 'limits/quota', [{ 'etc/other': 'x' }], { tag: 'v2', label: 'v2' }).catch(
      (e: unknown) => e,
    )) as { name: string; $metadata: { attempts?: number } };
    expect(err.name).toBe('LimitExceededException');
    expect(count('ecr:PutImage') - before).toBe(1);
    expect(err.$metadata.attempts).toBe(1);
  });

  it('still retries ThrottlingException', async () => {
    const ecr = await client();
    server.faults.push({ operation: 'ecr:DescribeRepositories', kind: 'throttle', times: 1 });
    const before = count('ecr:DescribeRepositories');
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['limits/scan'] }));
    expect(out.repositories?.[0]?.repositoryName).toBe('limits/scan');
    expect(count('ecr:DescribeRepositories') - before).toBe(2);
  });
});

describe('ecrctl scan twice within 24 hours', () => {
  const cli = (args: readonly string[]) =>
    runCli(['--endpoint-url', server.url, ...args], {
      cwd: tmp.dir,
      env: { ...ENV, AWS_REGION: 'us-east-1', HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') },
    });

  it('sends one StartImageScan the second time and reports the result it already has, saying why', async () => {
    const fast = ['--wait', '--poll-interval', '50ms', '--confirm-delay', '50ms'];
    const first = await cli(['scan', 'limits/odd:broken', ...fast]);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toContain(': FAILED');
    const before = count('ecr:StartImageScan');
    const second = await cli(['scan', 'limits/odd:broken', ...fast]);
    expect(count('ecr:StartImageScan') - before).toBe(1);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(': FAILED');
    expect(second.stderr).toContain('ECR allows one scan per image per day, so that result is used');
    expect(second.stderr).toContain('ScanFailed: layer sha256:');
  });
});

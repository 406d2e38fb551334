// `ecrctl local serve` as a real process: prints the URL, answers the SDK, stops on Ctrl-C.
import type { ChildProcess } from 'node:child_process';
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { credentials, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

/** Starts `ecrctl local serve` and resolves with the first stdout line and the child. */
function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  let child!: ChildProcess;
  let firstLine!: Promise<string>;
  const done = runCli(['local', 'serve', ...args], {
    env,
    onSpawn: (c) => {
      child = c;
      firstLine = new Promise((resolve, reject) => {
        let buf = '';
        c.stdout?.on('data', (d: Buffer) => {
          buf += d.toString();
          const nl = buf.indexOf('\n');
          if (nl >= 0) resolve(buf.slice(0, nl));
        });
        c.on('close', () => reject(new Error(`exited before printing: ${buf}`)));
      });
    },
  });
  return { done, child: () => child, firstLine: () => firstLine };
}

describe('ecrctl local serve', () => {
  it('prints the endpoint, serves the API, keeps state across runs and stops cleanly on SIGINT', async () => {
    const dataDir = `${tmp.dir}/state`;
    const run1 = serve(['--port', '0', '--data', dataDir, '--account', '111122223333']);
    const url = await run1.firstLine();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ecr = new ECRClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'from-cli' }));
    expect(created.repository?.registryId).toBe('111122223333');
    run1.child().kill('SIGINT');
    const r1 = await run1.done;
    expect(r1.code).toBe(0);
    expect(r1.stderr).toContain(`export AWS_ENDPOINT_URL=${url}`);
    expect(r1.stderr).toContain('export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1');
    expect(r1.stderr).toContain('ecrctl local: stopped');

    const run2 = serve(['--data', dataDir, '--account', '111122223333', '--output', 'env']);
    const line = await run2.firstLine();
    expect(line).toMatch(/^AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+$/);
    const ecr2 = new ECRClient({
      endpoint: line.slice('AWS_ENDPOINT_URL='.length),
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    });
    const repos = await ecr2.send(new DescribeRepositoriesCommand({}));
    expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['from-cli']);
    run2.child().kill('SIGTERM');
    expect((await run2.done).code).toBe(0);
  });

  it('uses $XDG_DATA_HOME/ecrctl/local by default', async () => {
    const run = serve(['--port', '0', '--output', 'json'], { XDG_DATA_HOME: `${tmp.dir}/xdg` });
    let json = '';
    const done = run.done;
    await run.firstLine();
    run.child().kill('SIGINT');
    json = (await done).stdout;
    const doc = JSON.parse(json) as { endpointUrl: string; dataDir: string; account: string };
    expect(doc.dataDir).toBe(`${tmp.dir}/xdg/ecrctl/local`);
    expect(doc.account).toBe('123456789012');
  });

  it('--token-ttl makes tokens expire: an expired one gets 403 DENIED, as on ECR', async () => {
    const run = serve(['--port', '0', '--data', `${tmp.dir}/ttl`, '--token-ttl', '1s']);
    const url = await run.firstLine();
    try {
      const ecr = new ECRClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
      const data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
      expect((data?.expiresAt?.getTime() ?? 0) - Date.now()).toBeLessThanOrEqual(1000);
      const auth = { Authorization: `Basic ${data?.authorizationToken}` };
      expect((await fetch(`${data?.proxyEndpoint}/v2/`, { headers: auth })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(`${data?.proxyEndpoint}/v2/`, { headers: auth });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('Your authorization token has expired. Reauthenticate and try again.');
    } finally {
      run.child().kill('SIGINT');
      expect((await run.done).code).toBe(0);
    }
  });

  it.each([
    [['--port', 'eighty'], /--port must be a port number/],
    [['--account', '12345'], /--account must be a 12-digit AWS account id/],
    [['--token-ttl', 'soon'], /--token-ttl takes a duration/],
    [['--token-ttl', '0s'], /--token-ttl must be at least 1 second/],
    [['--max-registries', '0'], /--max-registries must be a whole number from 1 to 1000/],
  ])('refuses %j as a usage error (exit 2)', async (args, message) => {
    const r = await runCli(['local', 'serve', '--data', `${tmp.dir}/bad`, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

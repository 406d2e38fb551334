// `ecrctl sync` with repository.lifecycle in the config, as a user runs it: a bad preset
// parameter is a file:line problem with exit 3 and no call at the registry; plan -o json
// names the policy each created repository gets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { ecrClient, start } from '../local/helpers.js';

let server: LocalServer;
let tmp: string;
let host: string;

const cli = (args: readonly string[]) =>
  runCli(['--endpoint-url', server.url, ...args], {
    cwd: tmp,
    env: {
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      HOME: tmp,
      DOCKER_CONFIG: path.join(tmp, 'no-docker-config'),
    },
  });

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-cli-sync-settings-'));
  server = await start(path.join(tmp, 'data'));
  host = new URL(await server.registryEndpoint('us-east-1')).host;
  const ecr = ecrClient(server);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'src/a' }));
  ecr.destroy();
});
afterAll(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('sync repository.lifecycle (CLI)', () => {
  it('refuses a bad preset parameter at its line with exit 3, calling nothing', async () => {
    writeFileSync(
      path.join(tmp, 'bad.yaml'),
      `sync:
  - source: ${host}/src/a
    target: ${host}/mirror/a
    repository:
      lifecycle: "preset:keep-last-n-tagged,prefix=v,count=none"
`,
    );
    const mark = server.calls.length;
    const r = await cli(['sync', 'apply', '-f', 'bad.yaml']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'bad.yaml:5: sync[0].repository.lifecycle: preset keep-last-n-tagged: parameter count must be a whole number from 1 up',
    );
    expect(server.calls.slice(mark)).toEqual([]);
  });

  it('plan -o json names the lifecycle policy of each repository to create', async () => {
    writeFileSync(
      path.join(tmp, 'good.yaml'),
      `defaults:
  repository: { lifecycle: "preset:expire-untagged,days=3" }
sync:
  - source: ${host}/src/a
    target: ${host}/mirror/a
`,
    );
    const r = await cli(['-o', 'json', 'sync', 'plan', '-f', 'good.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { repositories: { target: string; create: boolean; lifecycle?: string }[] };
    expect(plan.repositories).toEqual([
      expect.objectContaining({ target: `${host}/mirror/a`, create: true, lifecycle: 'preset:expire-untagged,days=3' }),
    ]);
  });
});

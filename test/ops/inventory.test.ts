// The inventory op in-process (src/ops/inventory.ts): accounts through --profiles (each
// profile's credentials from the shared files), --regions all over the rate table's regions,
// and the same (account, region) reached twice counted once.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../src/local/server.js';
import { inventory } from '../../src/ops/inventory.js';
import { createSession } from '../../src/session.js';
import { ecrClient, pushImage, start, tempDir, tinyImage } from '../local/helpers.js';

const ACCOUNT = '111111111111';
let server: LocalServer;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir('ecrctl-inventory-op-');
  server = await start(path.join(tmp.dir, 'data'), { account: ACCOUNT });
  for (const [region, names] of [
    ['us-east-1', ['team/a', 'team/b']],
    ['eu-west-1', ['team/c']],
  ] as const) {
    const ecr = ecrClient(server, region);
    for (const n of names) await ecr.send(new CreateRepositoryCommand({ repositoryName: n }));
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const auth = `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
    const res = await pushImage(await server.registryEndpoint(region), auth, names[0], tinyImage(`${region}-x`), 'v1');
    expect(res.status).toBe(201);
  }
  writeFileSync(
    path.join(tmp.dir, 'config'),
    '[profile p1]\naws_access_key_id = AKIDONE\naws_secret_access_key = one\n\n[profile p2]\naws_access_key_id = AKIDTWO\naws_secret_access_key = two\n',
  );
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

function session() {
  return createSession({
    endpointUrl: server.url,
    region: 'us-east-1',
    cwd: tmp.dir,
    env: {
      HOME: tmp.dir,
      AWS_CONFIG_FILE: path.join(tmp.dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(tmp.dir, 'no-credentials'),
    },
  });
}

describe('inventory (op)', () => {
  it('reads each profile with its own credentials and counts one (account, region) once', async () => {
    const before = server.requests.length;
    const inv = await inventory(session(), { profiles: ['p1', 'p2'], regions: ['us-east-1', 'eu-west-1'] });
    expect(inv.targets).toEqual([
      { account: ACCOUNT, region: 'eu-west-1' },
      { account: ACCOUNT, region: 'us-east-1' },
    ]);
    expect(inv.repositories.map((r) => `${r.region}/${r.name}`)).toEqual([
      'eu-west-1/team/c',
      'us-east-1/team/a',
      'us-east-1/team/b',
    ]);
    expect(inv.totals.images).toBe(2);
    const keys = new Set(server.requests.slice(before).map((r) => r.accessKeyId));
    expect(keys).toEqual(new Set(['AKIDONE', 'AKIDTWO']));
  });

  it('--regions all walks the ECR regions and finds the repositories where they are', async () => {
    const inv = await inventory(session(), { regions: 'all', profiles: ['p1'] });
    expect(inv.targets.map((t) => t.region)).toEqual(['eu-west-1', 'us-east-1']);
    expect(inv.totals.repositories).toBe(3);
    expect(inv.repositories.find((r) => r.name === 'team/a')?.quota).toEqual({
      limit: 10_000,
      used: 1,
      headroom: 9_999,
      usedPercent: 0.01,
    });
  });
});

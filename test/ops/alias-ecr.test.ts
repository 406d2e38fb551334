// Which hosts src/ops/ecr.ts treats as an ECR registry because a `registries:` entry maps
// them to one (match + account + region): ecrTarget names that registry, isEcrDataPlane says
// yes, aliasEntryFor returns the entry. A `prefix:` entry (a pull-through mirror) and
// entries without account/region are not aliases for the client.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliasEntryFor, ecrTarget, isEcrDataPlane } from '../../src/ops/ecr.js';
import { createSession, type Session } from '../../src/session.js';

let dir: string;
let ctx: Session;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-alias-ecr-'));
  writeFileSync(
    path.join(dir, '.ecrctl.yaml'),
    [
      'registries:',
      '  - match: registry.example.com',
      "    account: '111122223333'",
      '    region: eu-west-1',
      '    profile: pusher',
      '  - match: docker.io',
      "    account: '111122223333'",
      '    region: eu-west-1',
      '    prefix: docker-hub',
      "  - match: '*.internal.example'",
      '    profile: other',
      '',
    ].join('\n'),
  );
  ctx = createSession({ cwd: dir, env: { AWS_EC2_METADATA_DISABLED: 'true' } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registries: aliases in the registry client', () => {
  it('an alias host is ECR: its entry, the mapped account and region, a data plane', async () => {
    const entry = await aliasEntryFor(ctx, 'registry.example.com');
    expect(entry).toMatchObject({ match: 'registry.example.com', account: '111122223333', profile: 'pusher' });
    expect(await ecrTarget(ctx, 'registry.example.com')).toEqual({
      region: 'eu-west-1',
      registryId: '111122223333',
      access: entry,
    });
    expect(await isEcrDataPlane(ctx, 'REGISTRY.example.com')).toBe(true);
  });

  it('a prefix (pull-through mirror) entry is left to the credential helper', async () => {
    expect(await aliasEntryFor(ctx, 'docker.io')).toBeUndefined();
    expect(await ecrTarget(ctx, 'docker.io')).toBeUndefined();
    expect(await isEcrDataPlane(ctx, 'docker.io')).toBe(false);
  });

  it('an entry without account and region, or an unmapped host, is not an alias', async () => {
    expect(await aliasEntryFor(ctx, 'a.internal.example')).toBeUndefined();
    expect(await ecrTarget(ctx, 'a.internal.example')).toBeUndefined();
    expect(await isEcrDataPlane(ctx, 'ghcr.io')).toBe(false);
  });

  it('ECR hosts keep their own account and region', async () => {
    const host = '444455556666.dkr.ecr.us-east-2.amazonaws.com';
    expect(await aliasEntryFor(ctx, host)).toBeUndefined();
    expect(await ecrTarget(ctx, host)).toEqual({ region: 'us-east-2', registryId: '444455556666' });
  });
});

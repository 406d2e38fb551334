// The registries: map of .ecrctl.yaml as aliases: a host that is not ECR's own name mapped to
// an account and region (with a pull-through cache prefix for a docker.io mirror), the
// file:line problems of a wrong entry, and which entry covers which host.
import { describe, expect, it } from 'vitest';
import { parseProjectConfig, registryAccessFor } from '../../src/config/project-config.js';
import { mirroredRepository, routeFor } from '../../src/ops/registries.js';

const MAP = `registries:
  - match: registry.example.com
    account: '111122223333'
    region: eu-west-1
  - match: docker.io
    account: '111122223333'
    region: eu-west-1
    prefix: docker-hub
  - match: '*.internal.example'
    account: '444455556666'
    region: us-east-2
    roleArn: arn:aws:iam::444455556666:role/puller
  - match: '111111111111.dkr.ecr.*'
    profile: prod
`;

describe('registries: aliases', () => {
  it('reads aliases without credentials, with a prefix, and with a role', () => {
    const c = parseProjectConfig(MAP, '.ecrctl.yaml');
    expect(c.registries).toEqual([
      { match: 'registry.example.com', account: '111122223333', region: 'eu-west-1', at: '.ecrctl.yaml:2' },
      { match: 'docker.io', account: '111122223333', region: 'eu-west-1', prefix: 'docker-hub', at: '.ecrctl.yaml:5' },
      {
        match: '*.internal.example',
        account: '444455556666',
        region: 'us-east-2',
        roleArn: 'arn:aws:iam::444455556666:role/puller',
        at: '.ecrctl.yaml:9',
      },
      { match: '111111111111.dkr.ecr.*', profile: 'prod', at: '.ecrctl.yaml:13' },
    ]);
  });

  it('reports every wrong entry with its line', () => {
    const text = `registries:
  - match: registry.example.com
    account: '111122223333'
  - match: docker.io
    account: '111122223333'
    region: eu-west-1
    prefix: Docker_Hub!
  - account: '111122223333'
    region: eu-west-1
    prefix: docker-hub
    profile: x
`;
    let problems: string[] = [];
    try {
      parseProjectConfig(text, 'c.yaml');
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual([
      'c.yaml:2: registries[0] says nothing about credentials: give profile:, roleArn: or both (or match:, account: and region: to map a host to an ECR registry)',
      'c.yaml:7: registries[1].prefix is a pull-through cache prefix such as docker-hub (2-30 lowercase letters, digits, . _ - /), not "Docker_Hub!"',
      'c.yaml:8: registries[2].prefix needs match:, account: and region: (the host it mirrors and the ECR registry)',
    ]);
  });

  it('routes hosts: aliases (docker.io by all its names, globs), ECR hosts with their entry, nothing else', async () => {
    const entries = parseProjectConfig(MAP, '.ecrctl.yaml').registries ?? [];
    const alias = await routeFor(entries, 'https://registry.example.com/v2/');
    expect(alias).toMatchObject({
      host: 'registry.example.com',
      kind: 'private',
      registryId: '111122223333',
      region: 'eu-west-1',
      alias: true,
    });
    for (const hub of ['https://index.docker.io/v1/', 'docker.io', 'registry-1.docker.io']) {
      expect(await routeFor(entries, hub)).toMatchObject({
        registryId: '111122223333',
        prefix: 'docker-hub',
        alias: true,
      });
    }
    expect((await routeFor(entries, 'cache.internal.example'))?.entry?.roleArn).toBe(
      'arn:aws:iam::444455556666:role/puller',
    );
    const ecr = await routeFor(entries, '111111111111.dkr.ecr.us-west-2.amazonaws.com');
    expect(ecr).toMatchObject({
      registryId: '111111111111',
      region: 'us-west-2',
      alias: false,
      entry: { profile: 'prod' },
    });
    expect(await routeFor(entries, '222222222222.dkr-ecr.eu-west-1.on.aws')).toMatchObject({
      alias: false,
      region: 'eu-west-1',
    });
    expect(await routeFor(entries, 'ecr-public.aws.com')).toMatchObject({ kind: 'public', region: 'us-east-1' });
    for (const other of ['ghcr.io', 'registry.example.com.evil.test', 'a.b.internal.example.org']) {
      expect(await routeFor(entries, other)).toBeUndefined();
    }
    expect(await routeFor([], 'registry.example.com')).toBeUndefined();
  });

  it('an entry with a region covers hosts that name none (aliases, ecrctl local) and ECR hosts of that region only', () => {
    const c = parseProjectConfig(
      "registries:\n  - match: '*'\n    region: eu-west-1\n    profile: eu\n",
      '.ecrctl.yaml',
    );
    expect(registryAccessFor(c, '127.0.0.1:5000')?.profile).toBe('eu');
    expect(
      registryAccessFor(c, 'x.dkr.ecr.eu-west-1.amazonaws.com', { registryId: '1', region: 'eu-west-1' })?.profile,
    ).toBe('eu');
    expect(
      registryAccessFor(c, 'x.dkr.ecr.us-east-1.amazonaws.com', { registryId: '1', region: 'us-east-1' }),
    ).toBeUndefined();
  });

  it('names the ECR repository a mirrored reference stands for', async () => {
    const entries = parseProjectConfig(MAP, '.ecrctl.yaml').registries ?? [];
    const hub = await routeFor(entries, 'docker.io');
    expect(hub && mirroredRepository(hub, 'nginx')).toBe('docker-hub/library/nginx');
    expect(hub && mirroredRepository(hub, 'bitnami/redis')).toBe('docker-hub/bitnami/redis');
    const custom = await routeFor(entries, 'registry.example.com');
    expect(custom && mirroredRepository(custom, 'team/app')).toBe('team/app');
  });
});

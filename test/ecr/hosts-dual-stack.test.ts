// Dual-stack registry names where a host is built: ECRCTL_DUAL_STACK (or the SDK's
// AWS_USE_DUALSTACK_ENDPOINT) turns every ECR host form into its IPv4+IPv6 name, for the
// default registry host of an op (ops/ecr ecrRegistryHost) and for `login`. The endpoint is a
// scripted GetAuthorizationToken that answers with a real ECR proxyEndpoint, as AWS does.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dualStackWanted, parseEcrHost, toDualStackHost } from '../../src/ecr/hosts.js';
import { ecrRegistryHost } from '../../src/ops/ecr.js';
import { login } from '../../src/ops/login.js';
import { createSession } from '../../src/session.js';

describe('dualStackWanted / toDualStackHost', () => {
  it('reads ECRCTL_DUAL_STACK first, then AWS_USE_DUALSTACK_ENDPOINT', () => {
    const table: [NodeJS.ProcessEnv, boolean][] = [
      [{}, false],
      [{ ECRCTL_DUAL_STACK: '1' }, true],
      [{ ECRCTL_DUAL_STACK: 'true' }, true],
      [{ ECRCTL_DUAL_STACK: '0' }, false],
      [{ ECRCTL_DUAL_STACK: 'false', AWS_USE_DUALSTACK_ENDPOINT: 'true' }, false],
      [{ ECRCTL_DUAL_STACK: '', AWS_USE_DUALSTACK_ENDPOINT: 'true' }, true],
      [{ AWS_USE_DUALSTACK_ENDPOINT: 'false' }, false],
    ];
    for (const [env, want] of table) expect(dualStackWanted(env), JSON.stringify(env)).toBe(want);
  });

  it('gives every ECR host form its dual-stack name, parsed back to the same account and region', () => {
    const table: [string, string][] = [
      ['123456789012.dkr.ecr.us-east-1.amazonaws.com', '123456789012.dkr-ecr.us-east-1.on.aws'],
      ['123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com', '123456789012.dkr-ecr-fips.us-gov-west-1.on.aws'],
      [
        '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
        '123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn',
      ],
      [
        '123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu',
        '123456789012.dkr-ecr.eusc-de-east-1.on.amazonwebservices.eu',
      ],
      ['123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov', '123456789012.dkr-ecr.us-iso-east-1.on.aws.ic.gov'],
      ['123456789012.dkr-ecr.eu-west-1.on.aws', '123456789012.dkr-ecr.eu-west-1.on.aws'],
      ['public.ecr.aws', 'ecr-public.aws.com'],
      ['127.0.0.1:5000', '127.0.0.1:5000'],
      ['registry.example.com', 'registry.example.com'],
    ];
    for (const [host, dual] of table) {
      expect(toDualStackHost(host), host).toBe(dual);
      const a = parseEcrHost(host);
      const b = parseEcrHost(dual);
      if (a?.kind === 'private' && b?.kind === 'private') {
        expect([b.registryId, b.region, b.partition, b.fips, b.dualStack]).toEqual([
          a.registryId,
          a.region,
          a.partition,
          a.fips,
          true,
        ]);
      }
    }
  });
});

describe('dual-stack where a host is built (scripted GetAuthorizationToken)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ecrctl-dual-'));
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization))?.[1] ?? 'us-east-1';
        const token = {
          authorizationToken: Buffer.from(`AWS:${'p'.repeat(64)}-${region}`).toString('base64'),
          expiresAt: Date.now() / 1000 + 12 * 3600,
        };
        // ECR Public answers one object without a proxyEndpoint; ECR a list with one.
        const body = String(req.headers['x-amz-target']).startsWith('SpencerFrontendService')
          ? JSON.stringify({ authorizationData: token })
          : JSON.stringify({
              authorizationData: [{ ...token, proxyEndpoint: `https://123456789012.dkr.ecr.${region}.amazonaws.com` }],
            });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    HOME: dir,
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'eu-west-1',
    AWS_CONFIG_FILE: path.join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  });

  it('the default registry host of an op is the dual-stack name with ECRCTL_DUAL_STACK=1, the IPv4 one without', async () => {
    const plain = createSession({ endpointUrl: url, env: env() });
    expect(await ecrRegistryHost(plain)).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    const dual = createSession({ endpointUrl: url, env: env({ ECRCTL_DUAL_STACK: '1' }) });
    expect(await ecrRegistryHost(dual)).toBe('123456789012.dkr-ecr.eu-west-1.on.aws');
    expect(await ecrRegistryHost(dual, { region: 'eu-central-1' })).toBe('123456789012.dkr-ecr.eu-central-1.on.aws');
  });

  it('login writes the dual-stack name (dualStack option or ECRCTL_DUAL_STACK)', async () => {
    const docker = path.join(dir, 'docker');
    const viaOption = await login(createSession({ endpointUrl: url, env: env() }), {
      dualStack: true,
      dockerConfig: docker,
    });
    expect(viaOption.tokens.map((t) => [t.host, t.proxyEndpoint])).toEqual([
      ['123456789012.dkr-ecr.eu-west-1.on.aws', 'https://123456789012.dkr-ecr.eu-west-1.on.aws'],
    ]);
    const viaEnv = await login(createSession({ endpointUrl: url, env: env({ ECRCTL_DUAL_STACK: 'true' }) }), {
      write: 'none',
    });
    expect(viaEnv.tokens[0]?.host).toBe('123456789012.dkr-ecr.eu-west-1.on.aws');
    const plain = await login(createSession({ endpointUrl: url, env: env() }), { write: 'none' });
    expect(plain.tokens[0]?.host).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    // a registry named by another of its names is logged in under that name
    const named = await login(createSession({ endpointUrl: url, env: env() }), {
      registries: ['123456789012.dkr-ecr-fips.us-east-1.on.aws', 'ecr-public.aws.com'],
      write: 'none',
    });
    expect(named.tokens.map((t) => [t.host, t.region])).toEqual([
      ['123456789012.dkr-ecr-fips.us-east-1.on.aws', 'us-east-1'],
      ['ecr-public.aws.com', 'us-east-1'],
    ]);
  });
});

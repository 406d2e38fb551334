// `ecrctl login` for hosts the registries: map of .ecrctl.yaml names (a custom domain, a
// docker.io mirror), and `login --k8s-secret`: a pull Secret whose decoded .dockerconfigjson
// skopeo uses as its auth file against ecrctl local.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startLocalServer, type LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { ACCESS_KEY_ID, passwordIn, run, SECRET_ACCESS_KEY, type TempHome, tempHome } from '../ecr/env.js';

let server: LocalServer;
let h: TempHome;

beforeAll(async () => {
  h = tempHome('ecrctl-login-reach-');
  server = await startLocalServer({ port: 0, dataDir: path.join(h.dir, 'local') });
});
afterAll(async () => {
  await server.close();
  h.remove();
});

const MAPPED_ACCOUNT = '210987654321';
const MAPPED_REGION = 'eu-central-1';

/** Returns the status of GET /v2/ on a data plane with Basic AWS:password. */
async function v2Status(endpoint: string, password: string): Promise<number> {
  const res = await fetch(`${endpoint}/v2/`, {
    headers: { authorization: `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}` },
  });
  await res.arrayBuffer();
  return res.status;
}

describe('ecrctl login HOST through the registries: map', () => {
  it('logs a custom domain and docker.io in with the mapped registry’s token, under their own names', async () => {
    const dir = path.join(h.dir, 'project');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, '.ecrctl.yaml'),
      `registries:\n  - match: registry.example.test\n    account: '${MAPPED_ACCOUNT}'\n    region: ${MAPPED_REGION}\n` +
        `  - match: docker.io\n    account: '${MAPPED_ACCOUNT}'\n    region: ${MAPPED_REGION}\n    prefix: docker-hub\n`,
    );
    const env = { ...h.env, AWS_ENDPOINT_URL: server.url, DOCKER_CONFIG: path.join(h.dir, 'docker') };
    const r = await runCli(['login', 'registry.example.test', 'docker.io', '-o', 'json'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.registries.map((g: { registry: string }) => g.registry)).toEqual(['registry.example.test', 'docker.io']);
    expect(out.registries[0]).toMatchObject({ registryId: MAPPED_ACCOUNT, region: MAPPED_REGION });
    const configFile = path.join(h.dir, 'docker', 'config.json');
    const mapped = await server.registryEndpoint(MAPPED_REGION, MAPPED_ACCOUNT);
    for (const host of ['registry.example.test', 'docker.io']) {
      const password = passwordIn(configFile, host);
      expect(await v2Status(mapped, password)).toBe(200);
      expect(r.stdout + r.stderr).not.toContain(password);
    }

    // --helper registers docker-credential-ecrctl for the mapped name itself
    const helper = await runCli(['login', '--helper', 'registry.example.test'], { env, cwd: dir });
    expect(helper.code, helper.stderr).toBe(0);
    expect(JSON.parse(readFileSync(configFile, 'utf8')).credHelpers).toEqual({ 'registry.example.test': 'ecrctl' });

    const unmapped = await runCli(['login', 'ghcr.io'], { env, cwd: dir });
    expect(unmapped.code).toBe(2);
    expect(unmapped.stderr).toContain('ghcr.io is not an ECR registry host, and no registries: entry');
  });
});

describe('ecrctl login --k8s-secret', () => {
  it('prints a dockerconfigjson Secret (YAML) that skopeo can use as --authfile; the token is nowhere else', async () => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'k8s/app' }));
    ecr.destroy();
    const env = { ...h.env, AWS_ENDPOINT_URL: server.url, DOCKER_CONFIG: path.join(h.dir, 'k8s-docker') };
    const r = await runCli(['login', '--k8s-secret', 'ci/ecr-pull', '--verbose'], { env });
    expect(r.code, r.stderr).toBe(0);
    const secret = parseYaml(r.stdout);
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { namespace: 'ci', name: 'ecr-pull' },
    });
    const expires = Date.parse(secret.metadata.annotations['ecrctl/expires-at']);
    expect(expires - Date.now()).toBeGreaterThan(11 * 3600_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(12 * 3600_000);
    const dockerconfig = Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString('utf8');
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    const auth = JSON.parse(dockerconfig).auths[host];
    expect(auth.username).toBe('AWS');
    expect(Buffer.from(auth.auth, 'base64').toString()).toBe(`AWS:${auth.password}`);
    // nothing written, the token not on stderr (not even with --verbose)
    expect(() => readFileSync(path.join(h.dir, 'k8s-docker', 'config.json'))).toThrow();
    expect(r.stderr).not.toContain(auth.password);
    expect(r.stderr).not.toContain(secret.data['.dockerconfigjson']);

    const authfile = path.join(h.dir, 'pull-secret.json');
    writeFileSync(authfile, dockerconfig);
    const layout = path.join(h.dir, 'k8s-layout');
    const image = buildImage(41);
    writeOciLayout(layout, [{ image, tag: 'v1' }]);
    const push = await run('skopeo', [
      'copy',
      '--quiet',
      '--dest-authfile',
      authfile,
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${host}/k8s/app:v1`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const inspect = await run('skopeo', [
      'inspect',
      '--raw',
      '--authfile',
      authfile,
      '--tls-verify=false',
      `docker://${host}/k8s/app:v1`,
    ]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toBe(image.manifest.bytes.toString('utf8'));
  });

  it('prints JSON with -o json, and refuses a bad NAMESPACE/NAME or a second mode (exit 2)', async () => {
    const env = { ...h.env, AWS_ENDPOINT_URL: server.url };
    const r = await runCli(['login', '--k8s-secret', 'default/ecr.pull', '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const secret = JSON.parse(r.stdout);
    expect(secret.metadata).toMatchObject({ namespace: 'default', name: 'ecr.pull' });
    expect(
      Object.keys(JSON.parse(Buffer.from(secret.data['.dockerconfigjson'], 'base64').toString()).auths),
    ).toHaveLength(1);

    for (const bad of ['default', 'Default/x', 'a/b/c', 'ns/-x']) {
      const refused = await runCli(['login', '--k8s-secret', bad], { env });
      expect(refused.code, bad).toBe(2);
      expect(refused.stderr).toContain('--k8s-secret takes NAMESPACE/NAME');
    }
    const both = await runCli(['login', '--k8s-secret', 'a/b', '--helper'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--helper and --k8s-secret do not go together');
    const asEnv = await runCli(['login', '--k8s-secret', 'a/b', '-o', 'env'], { env });
    expect(asEnv.code).toBe(2);
  });
});

// `ecrctl login` / `logout` against ecrctl local, as a user runs them: real processes, a
// temporary HOME, credentials from the environment and from profiles in temp config files,
// and skopeo reading the Docker config that login wrote.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import {
  ACCESS_KEY_ID,
  failingEndpoint,
  filesUnder,
  passwordIn,
  run,
  SECRET_ACCESS_KEY,
  type TempHome,
  tempHome,
} from '../ecr/env.js';

let server: LocalServer;
let data: TempHome;
const homes: TempHome[] = [];

beforeAll(async () => {
  data = tempHome('ecrctl-login-data-');
  server = await startLocalServer({ port: 0, dataDir: path.join(data.dir, 'local') });
});
afterAll(async () => {
  await server.close();
  data.remove();
  for (const h of homes) h.remove();
});

function home(region = 'us-east-1'): TempHome {
  const h = tempHome('ecrctl-login-', region);
  homes.push(h);
  return h;
}

describe('ecrctl login', () => {
  it('writes the token into the Docker config (0600, other keys kept) and never prints it', async () => {
    const h = home();
    const configFile = path.join(h.dir, '.docker', 'config.json');
    mkdirSync(path.dirname(configFile));
    writeFileSync(
      configFile,
      JSON.stringify({ auths: { 'ghcr.io': { auth: 'bWU6eA==' } }, currentContext: 'desktop' }),
    );

    const pw = await runCli(['login', '--password-stdout', '--endpoint-url', server.url], { env: h.env });
    expect(pw.code, pw.stderr).toBe(0);
    const password = pw.stdout.trim();
    expect(password.length).toBeGreaterThan(1000);
    expect(pw.stdout).toBe(`${password}\n`);

    const r = await runCli(['login', '--verbose'], { env: { ...h.env, AWS_ENDPOINT_URL: server.url } });
    expect(r.code, r.stderr).toBe(0);
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    expect(r.stdout).toContain(`Login Succeeded: ${host}`);
    expect(r.stderr).toContain('from the cache');
    // the token came from the cache: the same password as --password-stdout printed
    expect(passwordIn(configFile, host)).toBe(password);
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(config.currentContext).toBe('desktop');
    expect(config.auths['ghcr.io']).toEqual({ auth: 'bWU6eA==' });
    expect(filesUnder(path.dirname(configFile)).map((f) => [f.name, f.mode])).toEqual([['config.json', 0o600]]);
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toContain(password);
      expect(out).not.toContain(SECRET_ACCESS_KEY);
    }
  });

  it('--verbose on a cache miss says what it does, with no secret in it', async () => {
    const h = home();
    const r = await runCli(['login', '--verbose', '--endpoint-url', server.url, '-o', 'json'], { env: h.env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const host = out.registries[0].registry;
    const password = passwordIn(path.join(h.dir, '.docker', 'config.json'), host);
    // The SDK's Node-version notice is said once in --verbose, and only where it applies.
    const nodeNotice = /Node 20: AWS SDK releases after early January 2027 require Node 22/;
    if (Number(process.versions.node.split('.')[0]) < 22) expect(r.stderr).toMatch(nodeNotice);
    else expect(r.stderr).not.toMatch(nodeNotice);
    expect(r.stderr).toContain(`ECR API: region us-east-1, endpoint ${server.url}`);
    expect(r.stderr).toMatch(/token for 127\.0\.0\.1:\d+: new/);
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
    expect(`${r.stdout}${r.stderr}`).not.toContain(password);
    expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET_ACCESS_KEY);
    // the cache directory holds token files only, 0600 in a 0700 directory
    const cached = filesUnder(h.cache);
    expect(cached.map((f) => f.name)).toEqual([expect.stringMatching(/^ecrctl\/token-[0-9a-f]{40}\.json$/)]);
    expect(cached[0]?.mode).toBe(0o600);
    expect(cached[0]?.text).not.toContain(ACCESS_KEY_ID);
  });

  it('skopeo pushes and lists tags with the Docker config that login wrote', async () => {
    const h = home('eu-west-1');
    const ecr = new ECRClient({
      region: 'eu-west-1',
      endpoint: server.url,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
    ecr.destroy();
    const r = await runCli(['login', '-o', 'json'], { env: { ...h.env, AWS_ENDPOINT_URL: server.url } });
    expect(r.code, r.stderr).toBe(0);
    const host = JSON.parse(r.stdout).registries[0].registry as string;
    expect(host).toBe(new URL(await server.registryEndpoint('eu-west-1')).host);
    const configFile = path.join(h.dir, '.docker', 'config.json');

    const layout = path.join(h.dir, 'layout');
    writeOciLayout(layout, [{ image: buildImage(7), tag: 'v1' }]);
    const noAuth = path.join(h.dir, 'empty.json');
    writeFileSync(noAuth, '{}');
    const refused = await run('skopeo', [
      'list-tags',
      '--authfile',
      noAuth,
      '--tls-verify=false',
      `docker://${host}/team/app`,
    ]);
    expect(refused.code).not.toBe(0);

    const copy = await run('skopeo', [
      'copy',
      '--quiet',
      '--dest-authfile',
      configFile,
      '--dest-tls-verify=false',
      `oci:${layout}:v1`,
      `docker://${host}/team/app:v1`,
    ]);
    expect(copy.code, copy.stderr).toBe(0);
    const tags = await run('skopeo', [
      'list-tags',
      '--authfile',
      configFile,
      '--tls-verify=false',
      `docker://${host}/team/app`,
    ]);
    expect(tags.code, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout).Tags).toEqual(['v1']);
  });

  it('takes credentials and region from a profile in the shared files', async () => {
    const h = home();
    const configFile = path.join(h.dir, 'aws-config');
    const credentialsFile = path.join(h.dir, 'aws-credentials');
    writeFileSync(configFile, '[default]\nregion = us-east-1\n\n[profile ci]\nregion = ap-northeast-2\n');
    writeFileSync(
      credentialsFile,
      `[ci]\naws_access_key_id = AKIDPROFILEEXAMPLE01\naws_secret_access_key = profile-secret-key-0001\n`,
    );
    const env = {
      HOME: h.dir,
      XDG_CACHE_HOME: h.cache,
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    };
    const r = await runCli(['login', '--profile', 'ci', '--endpoint-url', server.url, '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.registries[0].region).toBe('ap-northeast-2');
    expect(out.registries[0].registry).toBe(new URL(await server.registryEndpoint('ap-northeast-2')).host);

    const again = await runCli(
      ['login', '--registry-ids', '111122223333', '--endpoint-url', server.url, '-o', 'json'],
      {
        env: { ...env, AWS_PROFILE: 'ci' },
      },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).registries[0]).toMatchObject({
      registryId: '111122223333',
      region: 'ap-northeast-2',
    });
  });

  it('names an unknown profile and lists the ones it found (exit 5)', async () => {
    const h = home();
    const configFile = path.join(h.dir, 'aws-config');
    writeFileSync(
      configFile,
      '[default]\nregion = us-east-1\n[profile dev]\n[profile prod]\nregion = eu-west-1\n[sso-session corp]\nsso_region = us-east-1\n',
    );
    const r = await runCli(['login', '--profile', 'staging', '--endpoint-url', server.url], {
      env: { HOME: h.dir, XDG_CACHE_HOME: h.cache, AWS_CONFIG_FILE: configFile },
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('AWS profile "staging" was not found');
    expect(r.stderr).toContain('profiles found: default, dev, prod');
  });

  it('says how to provide credentials when there are none (exit 5)', async () => {
    const h = home();
    const r = await runCli(['login', '--region', 'us-east-1', '--endpoint-url', server.url], {
      env: {
        HOME: h.dir,
        XDG_CACHE_HOME: h.cache,
        AWS_CONFIG_FILE: h.env.AWS_CONFIG_FILE,
        AWS_SHARED_CREDENTIALS_FILE: h.env.AWS_SHARED_CREDENTIALS_FILE,
      },
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('no AWS credentials were found');
    expect(r.stderr).toContain('AWS_ACCESS_KEY_ID');
  });

  it('fails at once with the permission it lacks when GetAuthorizationToken is denied (exit 5)', async () => {
    const h = home();
    const denied = await failingEndpoint(
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action',
    );
    try {
      const started = Date.now();
      const r = await runCli(['login', '--endpoint-url', denied.url], { env: h.env });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(
        'access denied: GetAuthorizationToken needs the IAM permission ecr:GetAuthorizationToken',
      );
      expect(r.stderr).toContain('is not authorized to perform');
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await denied.close();
    }
  });

  it('--helper registers docker-credential-ecrctl; logout removes exactly what login wrote', async () => {
    const h = home();
    const dir = path.join(h.dir, 'dockercfg');
    mkdirSync(dir);
    const configFile = path.join(dir, 'config.json');
    const other = {
      auths: { 'ghcr.io': { auth: 'bWU6eA==' } },
      credHelpers: { 'gcr.io': 'gcloud' },
      detachKeys: 'ctrl-e',
    };
    writeFileSync(configFile, JSON.stringify(other));
    const env = { ...h.env, DOCKER_CONFIG: dir, AWS_ENDPOINT_URL: server.url };

    const helper = await runCli(['login', '--helper', '--registry-ids', '123456789012,210987654321'], { env });
    expect(helper.code, helper.stderr).toBe(0);
    const hosts = [
      new URL(await server.registryEndpoint('us-east-1', '123456789012')).host,
      new URL(await server.registryEndpoint('us-east-1', '210987654321')).host,
    ];
    expect(helper.stdout).toContain(`Registered docker-credential-ecrctl for ${hosts[0]}`);
    let config = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(config.credHelpers).toEqual({
      'gcr.io': 'gcloud',
      [hosts[0] as string]: 'ecrctl',
      [hosts[1] as string]: 'ecrctl',
    });
    expect(config.auths).toEqual(other.auths);

    const pub = await runCli(['login', '--public', '--verbose'], { env });
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stderr).toContain('us-east-1');
    config = JSON.parse(readFileSync(configFile, 'utf8'));
    expect(Object.keys(config.auths).sort()).toEqual(['ghcr.io', 'public.ecr.aws']);

    const out = await runCli(['logout', '-o', 'json'], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).removed).toEqual([
      { registry: 'public.ecr.aws', kind: 'auths' },
      { registry: hosts[0], kind: 'credHelpers' },
      { registry: hosts[1], kind: 'credHelpers' },
    ]);
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual(other);
  });

  it('logout of a named registry removes its auths entry only', async () => {
    const h = home();
    const env = { ...h.env, AWS_ENDPOINT_URL: server.url };
    const r = await runCli(['login', '-o', 'json'], { env });
    const host = JSON.parse(r.stdout).registries[0].registry as string;
    const configFile = path.join(h.dir, '.docker', 'config.json');
    const out = await runCli(['logout', `http://${host}`], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(`Removed ${host} (auths) from ${configFile}\n`);
    expect(JSON.parse(readFileSync(configFile, 'utf8')).auths).toEqual({});
  });

  it('--authfile writes a containers auth file keyed by host, and skopeo reads it via REGISTRY_AUTH_FILE', async () => {
    const h = home();
    const authfile = path.join(h.dir, 'containers', 'auth.json');
    const r = await runCli(['login', '--authfile', authfile, '-o', 'json'], {
      env: { ...h.env, AWS_ENDPOINT_URL: server.url },
    });
    expect(r.code, r.stderr).toBe(0);
    const host = JSON.parse(r.stdout).registries[0].registry as string;
    expect(Object.keys(JSON.parse(readFileSync(authfile, 'utf8')).auths)).toEqual([host]);
    const ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'authfile/app' }));
    ecr.destroy();
    const tags = await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${host}/authfile/app`], {
      env: { ...process.env, REGISTRY_AUTH_FILE: authfile },
    });
    expect(tags.code, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout).Tags).toEqual([]);
  });

  it('in GitHub Actions masks the password first and sets the amazon-ecr-login outputs', async () => {
    const h = home();
    const outputFile = path.join(h.dir, 'github-output');
    writeFileSync(outputFile, '');
    const r = await runCli(['login', '--endpoint-url', server.url], {
      env: { ...h.env, GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: outputFile, ECRCTL_NO_CACHE: '1' },
    });
    expect(r.code, r.stderr).toBe(0);
    const host = new URL(await server.registryEndpoint('us-east-1')).host;
    const password = passwordIn(path.join(h.dir, '.docker', 'config.json'), host);
    // The masks go to stderr (the runner reads it too), before any other line there; stdout
    // is the data alone.
    expect(r.stdout).not.toContain('::add-mask::');
    expect(r.stdout).not.toContain(password);
    const lines = r.stderr.split('\n');
    const firstPlain = lines.findIndex((l) => !l.startsWith('::add-mask::'));
    expect(lines.slice(0, firstPlain)).toContain(`::add-mask::${password}`);
    expect(lines.slice(firstPlain).join('\n')).not.toContain(password);
    const suffix = host.replace(/[^A-Za-z0-9]/g, '_');
    const outputs = readFileSync(outputFile, 'utf8');
    expect(outputs).toContain(`registry=${host}\n`);
    expect(outputs).toContain(`docker_username_${suffix}=AWS\n`);
    expect(outputs).toContain(`docker_password_${suffix}=${password}\n`);
    // ECRCTL_NO_CACHE: nothing was written to the cache
    expect(filesUnder(h.cache)).toEqual([]);
  });

  it('--password-stdout in GitHub Actions keeps stdout to the password alone and masks it on stderr', async () => {
    const h = home();
    const r = await runCli(['login', '--password-stdout', '--endpoint-url', server.url], {
      env: { ...h.env, GITHUB_ACTIONS: 'true' },
    });
    expect(r.code, r.stderr).toBe(0);
    const password = r.stdout.trim();
    expect(r.stdout).toBe(`${password}\n`);
    expect(r.stderr.split('\n')[0]).toMatch(/^::add-mask::/);
    expect(r.stderr).toContain(`::add-mask::${password}\n`);
  });

  it('refuses --password-stdout with --helper (exit 2)', async () => {
    const h = home();
    const r = await runCli(['login', '--password-stdout', '--helper'], { env: h.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--password-stdout and --helper do not go together');
  });
});

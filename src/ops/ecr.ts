// Wires the registry client to credentials: ECR hosts (and ecrctl local's data planes) get
// tokens from GetAuthorizationToken through the token cache; every other host uses the
// Docker config (auths, credHelpers, credsStore). One client per command run. The project
// config's `registries:` entries choose, per registry, the profile or role whose token is
// used, so one copy can read from one account and write to another.
import type { RegistryAccessConfig } from '../config/project-config.js';
import type { TokenSource } from '../ecr/auth.js';
import {
  type RegistryCredential,
  type RegistryCredentialProvider,
  DockerConfigCredentials,
} from '../oci/transport/credentials.js';
import { RegistryClient } from '../oci/registry.js';
import type { CliContext } from './context.js';
import { version } from './program.js';

const clients = new WeakMap<CliContext, RegistryClient>();
const tokenSources = new WeakMap<CliContext, Map<string, Promise<TokenSource>>>();
const accessConfigs = new WeakMap<CliContext, Promise<RegistryAccessConfig[]>>();

/** Returns the token source for the default credentials, or for one `registries:` entry. */
async function tokenSource(ctx: CliContext, entry?: RegistryAccessConfig): Promise<TokenSource> {
  let byEntry = tokenSources.get(ctx);
  if (!byEntry) {
    byEntry = new Map();
    tokenSources.set(ctx, byEntry);
  }
  const id = entry ? entry.at : '';
  let source = byEntry.get(id);
  if (!source) {
    source = (async () => {
      const [{ TokenSource }, { settingsFromContext }] = await Promise.all([
        import('../ecr/auth.js'),
        import('../ecr/aws-config.js'),
      ]);
      const settings = withAccess(settingsFromContext(ctx), entry);
      if (entry) {
        ctx.log.verbose(
          `registries entry ${entry.at}: ${entry.profile ? `profile ${entry.profile}` : 'default credentials'}${entry.roleArn ? `, role ${entry.roleArn}` : ''}`,
        );
      }
      return new TokenSource(settings);
    })();
    byEntry.set(id, source);
  }
  return source;
}

/** Returns settings with a `registries:` entry's profile, role and region applied (settings is changed). */
export function withAccess<T extends import('../ecr/aws-config.js').AwsSettings>(
  settings: T,
  entry: RegistryAccessConfig | undefined,
): T {
  if (entry?.profile) settings.profile = entry.profile;
  if (entry?.roleArn) settings.roleArn = entry.roleArn;
  if (entry?.externalId) settings.externalId = entry.externalId;
  if (entry?.region && !settings.region) settings.region = entry.region;
  return settings;
}

/** Returns the `registries:` entry of the project config that covers a registry host, if any. */
export async function registryAccessForHost(ctx: CliContext, host: string): Promise<RegistryAccessConfig | undefined> {
  const [{ parseEcrHost, registryHostOf }, { registryAccessFor }] = await Promise.all([
    import('../ecr/hosts.js'),
    import('../config/project-config.js'),
  ]);
  const parsed = parseEcrHost(host);
  return registryAccessFor(
    { file: '', repositories: [], registries: await registryAccess(ctx) },
    registryHostOf(host),
    parsed?.kind === 'private' ? { registryId: parsed.registryId, region: parsed.region } : {},
  );
}

/** Returns the project config's `registries:` entries (none without a config). */
function registryAccess(ctx: CliContext): Promise<RegistryAccessConfig[]> {
  let found = accessConfigs.get(ctx);
  if (!found) {
    found = import('../config/project-config.js').then(
      async ({ loadProjectConfig }) => (await loadProjectConfig(ctx.cwd, ctx.globals.config))?.registries ?? [],
    );
    accessConfigs.set(ctx, found);
  }
  return found;
}

/** Returns true when a loopback host may be an ECR data plane (an endpoint such as ecrctl local is in play). */
function endpointInPlay(ctx: CliContext): boolean {
  return (
    ctx.globals.endpointUrl !== undefined ||
    ctx.env.AWS_ENDPOINT_URL !== undefined ||
    ctx.env.AWS_ENDPOINT_URL_ECR !== undefined
  );
}

/** A provider that asks ECR only for hosts that can be ECR registries. */
function ecrCredentials(ctx: CliContext): RegistryCredentialProvider & { isEcrHost(host: string): Promise<boolean> } {
  const usedFor = new Map<string, TokenSource>();
  return {
    async isEcrHost(host: string): Promise<boolean> {
      const { parseEcrHost } = await import('../ecr/hosts.js');
      return parseEcrHost(host) !== undefined;
    },
    async get(host: string): Promise<RegistryCredential | undefined> {
      const [{ parseEcrHost, registryHostOf }, { isLoopbackHost }] = await Promise.all([
        import('../ecr/hosts.js'),
        import('../oci/reference.js'),
      ]);
      const parsed = parseEcrHost(host);
      const entry = await registryAccessForHost(ctx, host);
      // A loopback host is an ECR data plane only when an endpoint (ecrctl local) is in play,
      // a registries entry names it, or an earlier login cached it; plain local registries
      // are left to the Docker config.
      const maybeEcr = parsed !== undefined || (isLoopbackHost(host) && (endpointInPlay(ctx) || entry !== undefined));
      if (!maybeEcr) return undefined;
      const source = await tokenSource(ctx, entry);
      usedFor.set(host, source);
      if (entry?.account && parsed === undefined) {
        // A host that does not name its account (ecrctl local): ask for the entry's registry.
        const token = await source.privateToken({
          registryId: entry.account,
          ...(entry.region ? { region: entry.region } : {}),
        });
        if (token.host === registryHostOf(host)) return { username: token.username, password: token.password };
      }
      const token = await source.tokenForHost(host);
      return token ? { username: token.username, password: token.password } : undefined;
    },
    invalidate(host: string): void {
      const source = usedFor.get(host);
      if (source) source.invalidate(host);
      else void tokenSource(ctx).then((s) => s.invalidate(host));
    },
  };
}

/**
 * Returns a provider that asks ECR first, then the Docker config. When ECR was asked and
 * failed (access denied, no credentials, unknown profile), that failure is the answer unless
 * the Docker config has credentials of its own — a later 401 from the registry would only
 * hide the real cause. For real ECR hosts the failure is thrown at once.
 */
export function ecrFirst(
  ecr: RegistryCredentialProvider & { isEcrHost(host: string): Promise<boolean> },
  docker: RegistryCredentialProvider,
): RegistryCredentialProvider {
  const answeredBy = new Map<string, RegistryCredentialProvider>();
  return {
    async get(host) {
      let failure: unknown;
      try {
        const c = await ecr.get(host);
        if (c !== undefined) {
          answeredBy.set(host, ecr);
          return c;
        }
      } catch (err) {
        if (await ecr.isEcrHost(host)) throw err;
        failure = err;
      }
      const d = await docker.get(host);
      if (d !== undefined) {
        answeredBy.set(host, docker);
        return d;
      }
      if (failure !== undefined) throw failure;
      return undefined;
    },
    invalidate(host) {
      answeredBy.get(host)?.invalidate?.(host);
      answeredBy.delete(host);
    },
  };
}

/** Returns the registry client for this command run (created on first use). */
export async function registryClient(ctx: CliContext): Promise<RegistryClient> {
  const { parseEcrHost } = await import('../ecr/hosts.js');
  let client = clients.get(ctx);
  if (!client) {
    const onSecret = (s: string) => ctx.secrets.add(s);
    client = new RegistryClient({
      credentials: ecrFirst(ecrCredentials(ctx), new DockerConfigCredentials({ env: ctx.env, onSecret })),
      // Private ECR registries take Basic (AWS:<token>): send it with the first request.
      basicAuthHosts: (host) => parseEcrHost(host)?.kind === 'private',
      env: ctx.env,
      log: (m: string) => ctx.log.verbose(m),
      onSecret,
      insecure: ctx.globals.insecure,
      userAgent: `ecrctl/${version()}`,
    });
    clients.set(ctx, client);
  }
  return client;
}

/** Returns the host of the default ECR registry (the caller's, or --registry-id's). */
export async function defaultRegistryHost(ctx: CliContext): Promise<string> {
  const source = await tokenSource(ctx);
  const token = await source.privateToken(ctx.globals.registryId ? { registryId: ctx.globals.registryId } : {});
  return token.host;
}

/**
 * Returns true when writes to host go to ECR (an ECR host, or a loopback data plane while an
 * ECR endpoint such as ecrctl local is in play): ECR's PutImage rate then applies.
 */
export async function isEcrDataPlane(ctx: CliContext, host: string): Promise<boolean> {
  const [{ parseEcrHost }, { isLoopbackHost }] = await Promise.all([
    import('../ecr/hosts.js'),
    import('../oci/reference.js'),
  ]);
  return parseEcrHost(host) !== undefined || (isLoopbackHost(host) && endpointInPlay(ctx));
}

// Wires the registry client to credentials: ECR hosts (and ecrctl local's data planes) get
// tokens from GetAuthorizationToken through the token cache; every other host uses the
// Docker config (auths, credHelpers, credsStore). One client per command run.
import { type RegistryCredential, type RegistryCredentialProvider, chainCredentials, DockerConfigCredentials } from '../oci/transport/credentials.js';
import { RegistryClient } from '../oci/registry.js';
import type { CliContext } from './context.js';
import { version } from './program.js';

const clients = new WeakMap<CliContext, RegistryClient>();
const tokenSources = new WeakMap<CliContext, Promise<import('../ecr/auth.js').TokenSource>>();

async function tokenSource(ctx: CliContext): Promise<import('../ecr/auth.js').TokenSource> {
  let source = tokenSources.get(ctx);
  if (!source) {
    source = (async () => {
      const [{ TokenSource }, { settingsFromContext }] = await Promise.all([
        import('../ecr/auth.js'),
        import('../ecr/aws-config.js'),
      ]);
      return new TokenSource(settingsFromContext(ctx));
    })();
    tokenSources.set(ctx, source);
  }
  return source;
}

/** A provider that asks ECR only for hosts that can be ECR registries. */
function ecrCredentials(ctx: CliContext): RegistryCredentialProvider {
  return {
    async get(host: string): Promise<RegistryCredential | undefined> {
      const { parseEcrHost } = await import('../ecr/hosts.js');
      const { isLoopbackHost } = await import('../oci/reference.js');
      // A loopback host is an ECR data plane only when an endpoint (ecrctl local) is in play
      // or an earlier login cached it; plain local registries are left to the Docker config.
      const maybeEcr =
        parseEcrHost(host) !== undefined ||
        (isLoopbackHost(host) &&
          (ctx.globals.endpointUrl !== undefined || ctx.env.AWS_ENDPOINT_URL !== undefined || ctx.env.AWS_ENDPOINT_URL_ECR !== undefined));
      if (!maybeEcr) return undefined;
      const token = await (await tokenSource(ctx)).tokenForHost(host);
      return token ? { username: token.username, password: token.password } : undefined;
    },
    invalidate(host: string): void {
      void tokenSource(ctx).then((s) => s.invalidate(host));
    },
  };
}

/** Returns the registry client for this command run (created on first use). */
export async function registryClient(ctx: CliContext): Promise<RegistryClient> {
  let client = clients.get(ctx);
  if (!client) {
    const onSecret = (s: string) => ctx.secrets.add(s);
    client = new RegistryClient({
      credentials: chainCredentials(ecrCredentials(ctx), new DockerConfigCredentials({ env: ctx.env, onSecret })),
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

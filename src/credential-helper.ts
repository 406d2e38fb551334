// docker-credential-ecrctl: the Docker credential helper protocol over ecrctl's token cache.
// Docker (and skopeo, Podman, buildah) run `docker-credential-ecrctl get` with the registry
// on stdin and read {"ServerURL","Username","Secret"} from stdout; errors also go to stdout,
// with exit 1. A cached `get` loads nothing of the AWS SDK: see src/ecr/aws-config.ts.
// Hosts the project config's `registries:` entries map to an ECR registry (custom domains,
// a docker.io mirror) get that registry's token. `kubelet` speaks the kubelet's image
// credential provider protocol instead (src/ops/kubelet.ts).
import { VERSION } from './version.js';
import type { AwsSettings } from './ecr/aws-config.js';
import { type RegistryToken, TokenSource } from './ecr/auth.js';
import { privateRegistryHost } from './ecr/hosts.js';
import { TokenCache } from './ecr/token-cache.js';
import { isEcrctlError } from './errors.js';
import { loadRegistryEntries, type RegistryRoute, routeFor, routeToken } from './ops/registries.js';

/** The protocol's answer for a host the helper has nothing for. */
export const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';

/** What one helper invocation printed and how it ended. */
export interface HelperResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Returns the AWS settings the helper runs with: only the environment (Docker passes no flags). */
export function helperSettings(env: NodeJS.ProcessEnv, stderr?: (line: string) => void): AwsSettings {
  const settings: AwsSettings = { env };
  if (env.ECRCTL_PROFILE) settings.profile = env.ECRCTL_PROFILE;
  if (env.ECRCTL_REGION) settings.region = env.ECRCTL_REGION;
  if (env.ECRCTL_ENDPOINT_URL) settings.endpointUrl = env.ECRCTL_ENDPOINT_URL;
  if (stderr && (env.ECRCTL_VERBOSE === '1' || env.ECRCTL_VERBOSE === 'true')) {
    settings.log = (m) => stderr(`docker-credential-ecrctl: ${m}\n`);
  }
  return settings;
}

const USAGE =
  'Usage: docker-credential-ecrctl get|store|erase|list|version\n' +
  '       docker-credential-ecrctl kubelet   (kubelet image credential provider, credentialprovider.kubelet.k8s.io/v1)\n';

/** What a helper run is given: the environment, stdin, the working directory (for .ecrctl.yaml) and a clock. */
export interface HelperIo {
  env: NodeJS.ProcessEnv;
  readStdin(): Promise<string>;
  /** Where `.ecrctl.yaml` is looked for (upward) when ECRCTL_CONFIG is unset; default: nowhere. */
  cwd?: string;
  now?: () => number;
}

/** Returns the route of a host through the project config's `registries:` entries (none without a config). */
async function helperRoute(io: HelperIo, address: string): Promise<RegistryRoute | undefined> {
  const explicit = io.env.ECRCTL_CONFIG || undefined;
  const entries = explicit || io.cwd !== undefined ? await loadRegistryEntries(io.cwd ?? '.', explicit) : [];
  return routeFor(entries, address);
}

/** Returns the token for a host: its route's (ECR hosts, mapped hosts), else a host earlier tokens named (ecrctl local). */
async function helperToken(io: HelperIo, settings: AwsSettings, address: string): Promise<RegistryToken | undefined> {
  const route = await helperRoute(io, address);
  const now = io.now ? { now: io.now } : {};
  if (route) return routeToken(settings, route, now);
  return new TokenSource(settings, now).tokenForHost(address);
}

/** Runs one helper command (argv without node and script) and returns what to print. */
export async function runHelper(argv: readonly string[], io: HelperIo): Promise<HelperResult> {
  let stderr = '';
  const settings = helperSettings(io.env, (line) => {
    stderr += line;
  });
  const command = argv[0];
  try {
    switch (command) {
      case 'get': {
        const serverUrl = (await io.readStdin()).trim();
        if (serverUrl === '') return { stdout: 'no server URL given on standard input\n', stderr, code: 1 };
        const token = await helperToken(io, settings, serverUrl);
        if (!token) return { stdout: `${NOT_FOUND_MESSAGE}\n`, stderr, code: 1 };
        const answer = { ServerURL: serverUrl, Username: token.username, Secret: token.password };
        return { stdout: `${JSON.stringify(answer)}\n`, stderr, code: 0 };
      }
      case 'store':
        // Tokens come from AWS, not from `docker login`: accept the input and keep nothing.
        await io.readStdin();
        return { stdout: '', stderr, code: 0 };
      case 'erase': {
        // `docker logout`: the cached token of that registry goes, so none is left on disk.
        // Only the cache is touched: no AWS credentials are needed to forget a token.
        const serverUrl = (await io.readStdin()).trim();
        if (serverUrl === '') return { stdout: 'no server URL given on standard input\n', stderr, code: 1 };
        const cache = new TokenCache(io.env, undefined, settings.log ? { log: settings.log } : {});
        let removed = cache.deleteHost(serverUrl);
        // A mapped host's token is cached under the ECR registry it maps to.
        const route = await helperRoute(io, serverUrl);
        if (route?.alias && route.registryId)
          removed += cache.deleteHost(privateRegistryHost(route.registryId, route.region));
        settings.log?.(`erase ${serverUrl}: removed ${removed} cached token${removed === 1 ? '' : 's'}`);
        return { stdout: '', stderr, code: 0 };
      }
      case 'list': {
        const source = new TokenSource(settings, io.now ? { now: io.now } : {});
        const list: Record<string, string> = {};
        for (const entry of source.cache.entries(io.now?.())) list[entry.host] = entry.username;
        return { stdout: `${JSON.stringify(list)}\n`, stderr, code: 0 };
      }
      case 'kubelet': {
        // The kubelet reads errors from stderr and the response from stdout.
        const { kubeletCredentials, parseCredentialProviderRequest } = await import('./ops/kubelet.js');
        try {
          const request = parseCredentialProviderRequest(await io.readStdin());
          const response = await kubeletCredentials(request, {
            route: (host) => helperRoute(io, host),
            token: (route) => routeToken(settings, route, io.now ? { now: io.now } : {}),
            ...(io.now ? { now: io.now } : {}),
          });
          return { stdout: `${JSON.stringify(response)}\n`, stderr, code: 0 };
        } catch (err) {
          return { stdout: '', stderr: `${stderr}docker-credential-ecrctl kubelet: ${describeError(err)}\n`, code: 1 };
        }
      }
      case 'version':
      case '--version':
      case '-v':
        return { stdout: `docker-credential-ecrctl (ecrctl ${VERSION})\n`, stderr, code: 0 };
      case '--help':
      case '-h':
      case 'help':
        return { stdout: USAGE, stderr, code: 0 };
      default:
        return { stdout: USAGE, stderr, code: 1 };
    }
  } catch (err) {
    // The protocol reads errors from stdout. Our errors carry no secrets; anything else is
    // reduced to its message.
    return { stdout: `ecrctl: ${describeError(err)}\n`, stderr, code: 1 };
  }
}

/** Returns an error as one line: our errors with their fix; anything else reduced to its message. */
function describeError(err: unknown): string {
  if (isEcrctlError(err)) {
    // A broken .ecrctl.yaml: its file:line problems are what the user needs to see.
    const problems = (err as { problems?: readonly string[] }).problems ?? [];
    return `${err.message}${problems.length > 0 ? ` (${problems.join('; ')})` : ''}${err.fix ? `; fix: ${err.fix}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

// docker-credential-ecrctl: the Docker credential helper protocol over ecrctl's token cache.
// Docker (and skopeo, Podman, buildah) run `docker-credential-ecrctl get` with the registry
// on stdin and read {"ServerURL","Username","Secret"} from stdout; errors also go to stdout,
// with exit 1. A cached `get` loads nothing of the AWS SDK: see src/ecr/aws-config.ts.
import { VERSION } from './version.js';
import type { AwsSettings } from './ecr/aws-config.js';
import { TokenSource } from './ecr/auth.js';
import { TokenCache } from './ecr/token-cache.js';
import { isEcrctlError } from './errors.js';

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

const USAGE = 'Usage: docker-credential-ecrctl get|store|erase|list|version\n';

/** Runs one helper command (argv without node and script) and returns what to print. */
export async function runHelper(
  argv: readonly string[],
  io: { env: NodeJS.ProcessEnv; readStdin(): Promise<string>; now?: () => number },
): Promise<HelperResult> {
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
        const source = new TokenSource(settings, io.now ? { now: io.now } : {});
        const token = await source.tokenForHost(serverUrl);
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
        const removed = cache.deleteHost(serverUrl);
        settings.log?.(`erase ${serverUrl}: removed ${removed} cached token${removed === 1 ? '' : 's'}`);
        return { stdout: '', stderr, code: 0 };
      }
      case 'list': {
        const source = new TokenSource(settings, io.now ? { now: io.now } : {});
        const list: Record<string, string> = {};
        for (const entry of source.cache.entries(io.now?.())) list[entry.host] = entry.username;
        return { stdout: `${JSON.stringify(list)}\n`, stderr, code: 0 };
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
    if (isEcrctlError(err)) {
      const fix = err.fix ? `; fix: ${err.fix}` : '';
      return { stdout: `ecrctl: ${err.message}${fix}\n`, stderr, code: 1 };
    }
    return { stdout: `ecrctl: ${err instanceof Error ? err.message : String(err)}\n`, stderr, code: 1 };
  }
}

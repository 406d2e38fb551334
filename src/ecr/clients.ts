// The only module that loads the AWS SDK clients, and it loads them lazily: `ecrctl --help`
// and a cached credential-helper `get` never pay for the SDK. Everything outside src/ecr/
// gets our own types from the adapters, never these clients.
import type { ECRClient, RuntimeExtension } from '@aws-sdk/client-ecr';
import type { ECRPUBLICClient, RuntimeExtension as PublicRuntimeExtension } from '@aws-sdk/client-ecr-public';
import type { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialsInput } from '../session.js';
import {
  type AwsSettings,
  checkProfileExists,
  resolveEndpoint,
  selectedProfile,
  sharedFilePaths,
} from './aws-config.js';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { UsageError } from '../errors.js';
import { isNonJsonAnswer } from './errors.js';
import { PUBLIC_ECR_REGION } from './hosts.js';
import { formatTrace, traceEnabled } from '../oci/transport/trace.js';

// @aws-sdk/core warns under Node < 22 (process.emitWarning) unless
// AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED is set; the CLI binary sets it at start-up
// (a library leaves the process alone) and tells the same fact once through --verbose.
// Told once per environment (one per CLI run; one per library session's env).
const nodeNoticeGiven = new WeakSet<object>();

function nodeNotice(settings: AwsSettings): void {
  if (nodeNoticeGiven.has(settings.env)) return;
  nodeNoticeGiven.add(settings.env);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) {
    settings.log?.(
      `Node ${major}: AWS SDK releases after early January 2027 require Node 22; ` +
        'ecrctl keeps working with the SDK it ships, but upgrade Node to get newer SDKs.',
    );
  }
}

// The provider and identity types, taken from the package we depend on rather than from
// @aws-sdk/types, which is only a transitive dependency.
type AwsCredentialIdentityProvider = ReturnType<typeof fromNodeProviderChain>;
type AwsCredentialIdentity = Awaited<ReturnType<AwsCredentialIdentityProvider>>;

const providers = new WeakMap<AwsSettings, AwsCredentialIdentityProvider>();
const roleProviders = new Map<string, AwsCredentialIdentityProvider>();

/** Returns the credential provider (the SDK's default Node chain) for settings, made once. */
export async function credentialProvider(settings: AwsSettings): Promise<AwsCredentialIdentityProvider> {
  const known = providers.get(settings);
  if (known) return known;
  nodeNotice(settings);
  const sdk = await import('@aws-sdk/credential-providers');
  const profile = selectedProfile(settings);
  const base = settings.credentials ? givenCredentials(settings.credentials) : defaultChain(settings, sdk);
  // A role from the project config's `registries:` is assumed with the base credentials;
  // STS comes with @aws-sdk/credential-providers (its nested STS client).
  let chain: AwsCredentialIdentityProvider = base;
  if (settings.roleArn) {
    // One AssumeRole per role per process, however many settings objects name it.
    const roleKey = JSON.stringify([
      profile ?? '',
      settings.roleArn,
      settings.externalId ?? '',
      resolveEndpoint(settings),
    ]);
    chain = roleProviders.get(roleKey) ?? memoized(sdk.fromTemporaryCredentials(assumeRoleOptions(settings, base)));
    roleProviders.set(roleKey, chain);
  }
  let described = false;
  const provider: AwsCredentialIdentityProvider = async (options) => {
    const creds: AwsCredentialIdentity = await chain(options);
    // The secret key and session token are secrets too: mask them before anything prints.
    settings.onSecret?.(creds.secretAccessKey);
    if (creds.sessionToken) settings.onSecret?.(creds.sessionToken);
    if (!described) {
      described = true;
      settings.log?.(
        `AWS credentials: ${profile ? `profile ${profile}` : 'default chain'}` +
          `${settings.roleArn ? `, assuming ${settings.roleArn}` : ''}` +
          `${creds.sessionToken ? ', temporary' : ''}${creds.expiration ? ` until ${creds.expiration.toISOString()}` : ''}`,
      );
    }
    return creds;
  };
  providers.set(settings, provider);
  return provider;
}

/** Returns a provider over credentials a library caller gave (static, or a function). */
function givenCredentials(given: AwsCredentialsInput): AwsCredentialIdentityProvider {
  return typeof given === 'function' ? () => given() : async () => given;
}

/**
 * Returns the SDK's default chain for settings. The SDK reads process.env; a session can carry
 * another environment (a library caller's, an in-process test's): its static keys come first
 * and its shared-file paths are passed on, so the session's environment is the one obeyed.
 */
function defaultChain(
  settings: AwsSettings,
  sdk: typeof import('@aws-sdk/credential-providers'),
): AwsCredentialIdentityProvider {
  checkProfileExists(settings);
  const env = settings.env;
  const profile = selectedProfile(settings);
  if (profile === undefined && env !== process.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return givenCredentials({
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    });
  }
  const files = sharedFilePaths(env);
  return sdk.fromNodeProviderChain({
    ...(profile === undefined ? {} : { profile }),
    filepath: files.credentials,
    configFilepath: files.config,
  });
}

/** Returns provider with its answer reused until five minutes before it expires (each SDK client would ask again). */
function memoized(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  let pending: Promise<AwsCredentialIdentity> | undefined;
  return async (options) => {
    const current = pending;
    if (current) {
      const creds = await current.catch(() => undefined);
      if (creds && (!creds.expiration || creds.expiration.getTime() - Date.now() > 5 * 60_000)) return creds;
    }
    const next = provider(options);
    pending = next;
    return next;
  };
}

/** Returns the fromTemporaryCredentials options that assume settings.roleArn with master credentials. */
export function assumeRoleOptions(
  settings: AwsSettings,
  masterCredentials: AwsCredentialIdentityProvider,
): Parameters<typeof import('@aws-sdk/credential-providers').fromTemporaryCredentials>[0] {
  if (!settings.roleArn) throw new Error('assumeRoleOptions needs a roleArn');
  const region = settings.region || settings.env.AWS_REGION || settings.env.AWS_DEFAULT_REGION;
  return {
    masterCredentials,
    params: {
      RoleArn: settings.roleArn,
      RoleSessionName: `ecrctl-${process.pid}`,
      ...(settings.externalId ? { ExternalId: settings.externalId } : {}),
    },
    // STS is regional; without a region the SDK's global endpoint is used.
    ...(region ? { clientConfig: { region } } : {}),
  };
}

/**
 * Returns the SDK retry settings: ECR throttles (ThrottlingException, PutImage at 10/s), so
 * every client retries with backoff in adaptive mode, which also slows the client down
 * after a throttle; AWS_MAX_ATTEMPTS and AWS_RETRY_MODE override, as in the AWS CLI.
 */
export function retrySettings(env: NodeJS.ProcessEnv): {
  maxAttempts: number;
  retryMode: 'standard' | 'adaptive' | 'legacy';
} {
  const attempts = Number(env.AWS_MAX_ATTEMPTS);
  const mode = env.AWS_RETRY_MODE;
  return {
    maxAttempts: Number.isInteger(attempts) && attempts >= 1 ? attempts : 6,
    retryMode: mode === 'standard' || mode === 'legacy' || mode === 'adaptive' ? mode : 'adaptive',
  };
}

// The retry-strategy part of an SDK client's extension configuration, and what it holds,
// spelled through the client package so that no @smithy package is imported by name.
type RetryConfiguration = Pick<Parameters<RuntimeExtension['configure']>[0], 'retryStrategy' | 'setRetryStrategy'>;
type SdkRetryStrategy = Awaited<ReturnType<ReturnType<RetryConfiguration['retryStrategy']>>>;

/**
 * Error names never retried although the SDK classes them as throttling. ECR's
 * LimitExceededException is a limit that waiting seconds does not lift: the one basic scan
 * per image per 24 hours (StartImageScan), the images-per-repository and repositories quotas
 * (PutImage, CreateRepository). Retried, it cost six adaptive attempts (20–30 s) and slowed
 * the client's sending rate for the rest of the run.
 */
export const NOT_RETRIED_ERRORS: ReadonlySet<string> = new Set(['LimitExceededException']);

/**
 * Retries of an answer that is not JSON (a proxy's HTML error page, an endpoint that lacks
 * the operation): one, for a gateway's passing hiccup; a page that comes twice stays.
 */
export const NON_JSON_RETRIES = 1;

/**
 * Returns the client extension that wraps the SDK's retry strategy (standard or adaptive, as
 * retrySettings chose): errors in NOT_RETRIED_ERRORS end the call at once and never reach
 * the adaptive rate limiter; an answer that is not JSON is retried NON_JSON_RETRIES times;
 * everything else is retried as before.
 */
export function noLimitRetries(): RuntimeExtension {
  return {
    configure(config: RetryConfiguration) {
      const inner = config.retryStrategy();
      let wrapped: Promise<SdkRetryStrategy> | undefined;
      config.setRetryStrategy(() => {
        wrapped ??= Promise.resolve(inner()).then(withoutLimitRetries);
        return wrapped;
      });
    },
  };
}

function withoutLimitRetries(strategy: SdkRetryStrategy): SdkRetryStrategy {
  // Only the token-based (V2) strategies have the hook; the SDK makes no other kind itself.
  if (!('refreshRetryTokenForRetry' in strategy)) return strategy;
  const mode = (strategy as { mode?: string }).mode;
  return {
    ...(mode === undefined ? {} : { mode }),
    acquireInitialRetryToken: (scope) => strategy.acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (token, info) => {
      const name = (info.error as { name?: unknown } | undefined)?.name;
      // Rejecting here makes the SDK throw the service's own error, after one attempt.
      if (typeof name === 'string' && NOT_RETRIED_ERRORS.has(name)) return Promise.reject(info.error);
      if (isNonJsonAnswer(info.error) && token.getRetryCount() >= NON_JSON_RETRIES) return Promise.reject(info.error);
      return strategy.refreshRetryTokenForRetry(token, info);
    },
    recordSuccess: (token) => strategy.recordSuccess(token),
  } as SdkRetryStrategy;
}

/** Returns an ECR client for region (endpoint from --endpoint-url / AWS_ENDPOINT_URL_ECR). */
export async function ecrClient(settings: AwsSettings, region: string): Promise<ECRClient> {
  const credentials = await credentialProvider(settings);
  const { ECRClient } = await import('@aws-sdk/client-ecr');
  const endpoint = resolveEndpoint(settings, 'ecr');
  settings.log?.(`ECR API: region ${region}${endpoint ? `, endpoint ${endpoint}` : ''}`);
  const client = new ECRClient({
    region,
    credentials,
    ...retrySettings(settings.env),
    extensions: [noLimitRetries()],
    ...(endpoint ? { endpoint } : {}),
    ...caBundleHandler(settings.env),
  });
  addDebugTrace(client, settings);
  return client;
}

/** Returns an ECR Public client; ECR Public's control plane is in us-east-1 only. */
export async function ecrPublicClient(settings: AwsSettings): Promise<ECRPUBLICClient> {
  const credentials = await credentialProvider(settings);
  const { ECRPUBLICClient } = await import('@aws-sdk/client-ecr-public');
  const endpoint = resolveEndpoint(settings, 'ecr-public');
  settings.log?.(
    `ECR Public API: region ${PUBLIC_ECR_REGION} (ECR Public issues tokens only there)${endpoint ? `, endpoint ${endpoint}` : ''}`,
  );
  const client = new ECRPUBLICClient({
    region: PUBLIC_ECR_REGION,
    credentials,
    ...retrySettings(settings.env),
    // ECR Public's RuntimeExtension has the same retry configuration as ECR's.
    extensions: [noLimitRetries() as PublicRuntimeExtension],
    ...(endpoint ? { endpoint } : {}),
    ...caBundleHandler(settings.env),
  });
  addDebugTrace(client, settings);
  return client;
}

/** What addDebugTrace needs of a client: its middleware stack (both SDK clients have one). */
interface TracedClient {
  middlewareStack: {
    add(middleware: unknown, options: { step: 'deserialize'; priority: 'low'; name: string }): void;
  };
}

/** The raw request and response the SDK's HTTP layer sees (@smithy/protocol-http shapes). */
interface RawHttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/**
 * --debug (ECRCTL_DEBUG): traces every ECR / ECR Public API request through settings.log —
 * method, URL, operation, status, time, redacted headers. Placed at the low end of the
 * deserialize step, it sees each attempt signed, and the raw response before parsing.
 */
function addDebugTrace(client: TracedClient, settings: AwsSettings): void {
  const log = settings.log;
  if (!log || !traceEnabled(settings.env)) return;
  type Next = (args: { request: unknown }) => Promise<{ response: unknown }>;
  const middleware =
    (next: Next, context: { commandName?: string; clientName?: string }) => async (args: { request: unknown }) => {
      const req = args.request as RawHttpRequest;
      const started = performance.now();
      const query = Object.entries(req.query ?? {})
        .flatMap(([k, v]) => (v === null ? [k] : (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`)))
        .join('&');
      const entry = {
        via: `${context.clientName === 'ECRPUBLICClient' ? 'ECR Public API' : 'ECR API'} ${(context.commandName ?? '').replace(/Command$/, '')}`,
        method: req.method,
        url: `${req.protocol}//${req.hostname}${req.port ? `:${req.port}` : ''}${req.path}${query ? `?${query}` : ''}`,
        requestHeaders: req.headers,
      };
      try {
        const out = await next(args);
        const res = out.response as { statusCode?: number; headers?: Record<string, string> };
        log(
          formatTrace({
            ...entry,
            ms: performance.now() - started,
            ...(res.statusCode !== undefined ? { status: res.statusCode } : {}),
            ...(res.headers ? { responseHeaders: res.headers } : {}),
          }),
        );
        return out;
      } catch (err) {
        log(formatTrace({ ...entry, ms: performance.now() - started, error: (err as Error).message }));
        throw err;
      }
    };
  client.middlewareStack.add(middleware, { step: 'deserialize', priority: 'low', name: 'ecrctlDebugTrace' });
}

/**
 * Returns the request handler that trusts AWS_CA_BUNDLE (a PEM file; `--ca-file` sets it)
 * besides Node's own CAs, as the AWS CLI does — the JS SDK ignores that variable. An
 * endpoint with a private CA (`ecrctl local serve --tls`, a TLS-inspecting proxy) needs it.
 */
function caBundleHandler(env: NodeJS.ProcessEnv): { requestHandler?: { httpsAgent: HttpsAgent } } {
  const file = env.AWS_CA_BUNDLE;
  if (!file) return {};
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read the CA bundle ${file} (AWS_CA_BUNDLE or --ca-file)`, {
      value: file,
      fix: 'point AWS_CA_BUNDLE (or --ca-file) at a readable PEM file, or unset it',
      cause,
    });
  }
  return { requestHandler: { httpsAgent: new HttpsAgent({ ca: [...rootCertificates, pem], keepAlive: true }) } };
}

/** Returns the GetAuthorizationToken command class of ECR (loaded with the client). */
export async function ecrCommands(): Promise<typeof import('@aws-sdk/client-ecr')> {
  return import('@aws-sdk/client-ecr');
}

/** Returns the ECR Public SDK module (loaded with the client). */
export async function ecrPublicCommands(): Promise<typeof import('@aws-sdk/client-ecr-public')> {
  return import('@aws-sdk/client-ecr-public');
}

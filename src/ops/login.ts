// login and logout: registry tokens from GetAuthorizationToken (ECR, or ECR Public in
// us-east-1) written into the Docker config or a containers auth file, or the
// docker-credential-ecrctl helper registered instead; and logout takes out exactly what login
// writes. Every token is registered with session.secrets the moment it is known.
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistryToken } from '../ecr/auth.js';
import { settingsFromSession } from '../ecr/aws-config.js';
import { containersAuthPath, dockerConfigPath } from '../ecr/docker-config.js';
import {
  fetchLoginTokens,
  type RemovedEntry,
  removeLoginEntries,
  writeAuthEntries,
  writeHelperEntries,
} from '../ecr/login.js';
import { dualStackWanted, toDualStackHost } from '../ecr/hosts.js';
import { EcrctlError, UsageError } from '../errors.js';
import type { Session } from '../session.js';
import { loadRegistryEntries, routeFor, routeToken } from './registries.js';

/** Which file login and logout use: the Docker config, or a containers auth file. */
export interface LoginFileOptions {
  /** The Docker config directory (default: $DOCKER_CONFIG, else ~/.docker). */
  dockerConfig?: string;
  /** A containers auth file (Podman, skopeo, buildah) instead of the Docker config. */
  authfile?: string;
  /** The Podman auth file ($XDG_RUNTIME_DIR/containers/auth.json) instead of the Docker config. */
  podman?: boolean;
}

/** What login accepts. */
export interface LoginOptions extends LoginFileOptions {
  /** Private registries by account id (12 digits each); none: the session's registryId, else your own. */
  registryIds?: readonly string[];
  /** Log in to ECR Public (public.ecr.aws); takes no registry ids. */
  public?: boolean;
  /**
   * Registries by host: ECR hosts (any partition, FIPS, dual-stack, ECR Public), or hosts the
   * project config's `registries:` entries map to an ECR registry (a custom domain, a
   * `docker.io` mirror), which are logged in under their own name with the mapped
   * registry's token. Instead of registryIds / public.
   */
  registries?: readonly string[];
  /**
   * Log in under the dual-stack (IPv4 and IPv6) registry names (`dkr-ecr.<region>.on.aws`,
   * `ecr-public.aws.com`); default: ECRCTL_DUAL_STACK / AWS_USE_DUALSTACK_ENDPOINT.
   */
  dualStack?: boolean;
  /**
   * What to write: `auth` stores each token in `auths` (default); `helper` registers
   * docker-credential-ecrctl under `credHelpers` instead; `none` writes nothing (the tokens
   * are only returned, e.g. to print a password).
   */
  write?: 'auth' | 'helper' | 'none';
  /**
   * Called with the tokens as soon as they are known, before any file is written (the CLI
   * sets the GitHub Actions step outputs here).
   */
  onTokens?: (tokens: readonly LoginToken[]) => void;
}

/**
 * One registry login obtained: `host`, `username` (AWS), `password` (a token valid 12 hours, a
 * secret already registered with session.secrets), `expiresAt`, `region`, `registryId`, and
 * `fromCache` (true when it came from ecrctl's on-disk token cache).
 */
export type LoginToken = RegistryToken;

/** What login did. */
export interface LoginResult {
  /** One login per registry, in the order asked. */
  tokens: LoginToken[];
  /** What was written: tokens (`auth`), helper entries (`helper`), or nothing (`none`). */
  wrote: 'auth' | 'helper' | 'none';
  /** The file written (absent when nothing was). */
  file?: string;
}

/**
 * Gets a token per registry and writes it (or the helper entry) into the Docker config or the
 * containers auth file, atomically with mode 0600 and keeping everything else in the file.
 * UsageError for a registry id that is not 12 digits.
 */
export async function login(session: Session, opts: LoginOptions = {}): Promise<LoginResult> {
  const write = opts.write ?? 'auth';
  const registryIds = opts.registryIds ?? (session.aws.registryId ? [session.aws.registryId] : []);
  const fetched =
    opts.registries && opts.registries.length > 0
      ? await tokensForHosts(session, opts.registries)
      : await fetchLoginTokens({
          settings: settingsFromSession(session),
          registryIds,
          public: opts.public === true,
        });
  const dualStack = opts.dualStack ?? dualStackWanted(session.env);
  const tokens = dualStack ? fetched.map(asDualStack) : fetched;
  checkNotExpired(tokens, Date.now());
  opts.onTokens?.(tokens);
  if (write === 'none') return { tokens, wrote: write };

  const file = loginFile(session, opts);
  if (write === 'helper') {
    const hosts = tokens.map((t) => t.host);
    writeHelperEntries(file, hosts);
    session.log.verbose(`credHelpers in ${file}: ${hosts.join(', ')} → docker-credential-ecrctl`);
    const warning = await helperPathWarning(session.env, file);
    if (warning) session.log.warn(warning);
  } else {
    const { credsStore } = writeAuthEntries(file, tokens);
    if (credsStore) {
      session.log.warn(
        `${file} sets "credsStore": "${credsStore}", so Docker looks for credentials there and not in "auths"; ` +
          'run `ecrctl login --helper` to have Docker ask docker-credential-ecrctl for these registries',
      );
    }
  }
  return { tokens, wrote: write, file };
}

/** The program Docker runs for a `credHelpers` entry naming `ecrctl`. */
const HELPER_PROGRAM = 'docker-credential-ecrctl';

/** Returns the directory on env.PATH that holds an executable docker-credential-ecrctl, or undefined. */
export async function findCredentialHelper(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  // npm puts .cmd shims on PATH on Windows (PATH entries are `;`-separated there).
  const names = path.delimiter === ';' ? [`${HELPER_PROGRAM}.cmd`, `${HELPER_PROGRAM}.exe`] : [HELPER_PROGRAM];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      try {
        await access(path.join(dir, name), fsConstants.X_OK);
        return dir;
      } catch {
        // not here (or not executable): Docker would not run it either
      }
    }
  }
  return undefined;
}

/**
 * Returns the warning `login --helper` gives when Docker will not find the helper it was just
 * told to run (not on PATH), naming where this package installed it and how to put it on PATH;
 * undefined when it is on PATH.
 */
export async function helperPathWarning(env: NodeJS.ProcessEnv, file: string): Promise<string | undefined> {
  if ((await findCredentialHelper(env)) !== undefined) return undefined;
  // This module is src/ops/login.ts or dist/ops/login.js; the bin/ scripts sit beside both.
  const installed = fileURLToPath(new URL(`../../bin/${HELPER_PROGRAM}.js`, import.meta.url));
  return (
    `${HELPER_PROGRAM} is not on PATH, so Docker cannot run the helper registered in ${file} ` +
    `("executable file not found in $PATH"). It is installed at ${installed}; put it on PATH, e.g. ` +
    `\`ln -s ${installed} ~/.local/bin/${HELPER_PROGRAM}\` (with ~/.local/bin on PATH), ` +
    'or install ecrctl with `npm install -g`, which puts both commands on PATH'
  );
}

/** Returns a token under its registry's dual-stack name (hosts without one stay as they are). */
function asDualStack(token: LoginToken): LoginToken {
  const host = toDualStackHost(token.host);
  return host === token.host ? token : { ...token, host, proxyEndpoint: `https://${host}` };
}

/** Returns a token per registry host: ECR hosts by name, other hosts through the `registries:` map. */
async function tokensForHosts(session: Session, hosts: readonly string[]): Promise<LoginToken[]> {
  const entries = await loadRegistryEntries(session.cwd, session.configFile);
  const settings = settingsFromSession(session);
  const tokens: LoginToken[] = [];
  for (const host of hosts) {
    const route = await routeFor(entries, host);
    if (!route) {
      throw new UsageError(
        `${host} is not an ECR registry host, and no registries: entry of the project config maps it`,
        {
          rule: 'login takes ECR hosts, or hosts that .ecrctl.yaml maps to an ECR registry (match:, account:, region:)',
          value: host,
          fix: `add to .ecrctl.yaml: registries: [{ match: ${host}, account: '111122223333', region: us-east-1 }] (or pass --config FILE)`,
        },
      );
    }
    if (route.alias)
      session.log.verbose(
        `${route.host}: the token of account ${route.registryId} in ${route.region} (${route.entry?.at})`,
      );
    tokens.push(await routeToken(settings, route));
  }
  return tokens;
}

/** Where a pull secret goes and what it is called. */
export interface PullSecretTarget {
  namespace: string;
  name: string;
}

/** The annotation that says when the tokens of a pull secret expire (the earliest). */
export const PULL_SECRET_EXPIRY_ANNOTATION = 'ecrctl/expires-at';

/** A `kubernetes.io/dockerconfigjson` Secret manifest (what `kubectl apply -f -` takes). */
export interface PullSecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; annotations: Record<string, string> };
  type: 'kubernetes.io/dockerconfigjson';
  /** `.dockerconfigjson`: base64 of `{"auths":{host:{username,password,auth}}}`. */
  data: { '.dockerconfigjson': string };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Returns NAMESPACE/NAME taken apart, or throws UsageError naming Kubernetes's rule. */
export function parsePullSecretTarget(text: string): PullSecretTarget {
  const [namespace = '', name = '', ...rest] = text.split('/');
  const okNamespace = namespace.length <= 63 && DNS_LABEL.test(namespace);
  const okName = name.length <= 253 && DNS_SUBDOMAIN.test(name);
  if (rest.length > 0 || !okNamespace || !okName) {
    throw new UsageError(`--k8s-secret takes NAMESPACE/NAME, not ${JSON.stringify(text)}`, {
      rule: 'a namespace is a DNS label (lowercase letters, digits, -; at most 63), a Secret name a DNS subdomain (also .)',
      value: text,
      fix: 'e.g. --k8s-secret default/ecr-pull',
    });
  }
  return { namespace, name };
}

/**
 * Returns a `kubernetes.io/dockerconfigjson` Secret holding the tokens, annotated with the
 * earliest expiry (`ecrctl/expires-at`), so a CronJob can refresh pull secrets without the
 * docker CLI. The encoded config is registered with session.secrets (masked in CI).
 */
export function pullSecretManifest(
  session: Pick<Session, 'secrets'>,
  tokens: readonly LoginToken[],
  target: PullSecretTarget,
): PullSecretManifest {
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  for (const t of tokens) {
    auths[t.host] = {
      username: t.username,
      password: t.password,
      auth: Buffer.from(`${t.username}:${t.password}`).toString('base64'),
    };
  }
  const encoded = Buffer.from(JSON.stringify({ auths })).toString('base64');
  session.secrets.add(encoded);
  const expires = Math.min(...tokens.map((t) => t.expiresAt.getTime()));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      annotations: {
        [PULL_SECRET_EXPIRY_ANNOTATION]: new Date(expires).toISOString(),
        'ecrctl/registries': tokens.map((t) => t.host).join(','),
      },
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': encoded },
  };
}

/**
 * Throws when a token had already expired when it arrived: written, it would only make the
 * next pull fail with "access denied". ECR's tokens last 12 hours, so this means the clock
 * of this machine is far ahead, or the endpoint issues tokens that are born expired.
 */
export function checkNotExpired(tokens: readonly LoginToken[], nowMs: number): void {
  const expired = tokens.find((t) => t.expiresAt.getTime() <= nowMs);
  if (expired === undefined) return;
  throw new EcrctlError(
    `the registry token for ${expired.host} had already expired when it arrived (at ${expired.expiresAt.toISOString()}; this machine's clock says ${new Date(nowMs).toISOString()}); nothing was written`,
    {
      rule: 'login writes only tokens that are still valid (ECR issues them for 12 hours)',
      value: expired.expiresAt.toISOString(),
      fix: "check this machine's clock and time zone (e.g. `timedatectl`); a clock far ahead makes every new token look expired. With an endpoint override, check how long it issues tokens for",
    },
  );
}

/** What logout accepts. */
export interface LogoutOptions extends LoginFileOptions {
  /** Registry hosts whose entries to remove; none: every ECR registry and every ecrctl helper entry. */
  registries?: readonly string[];
  /**
   * Log in under the dual-stack (IPv4 and IPv6) registry names (`dkr-ecr.<region>.on.aws`,
   * `ecr-public.aws.com`); default: ECRCTL_DUAL_STACK / AWS_USE_DUALSTACK_ENDPOINT.
   */
  dualStack?: boolean;
}

/** What logout did. */
export interface LogoutResult {
  /** The file looked at. */
  file: string;
  /** The entries taken out (none when there was nothing of ecrctl's). */
  removed: RemovedEntry[];
}

/**
 * Removes what login writes: `auths` entries with user AWS and `credHelpers` entries naming
 * ecrctl. Nothing else in the file changes.
 */
export async function logout(session: Session, opts: LogoutOptions = {}): Promise<LogoutResult> {
  const file = loginFile(session, opts);
  const removed = removeLoginEntries(file, opts.registries ?? []);
  if (removed.length === 0) session.log.info(`nothing of ecrctl's to remove in ${file}`);
  return { file, removed };
}

/** Returns the file login and logout use: the containers auth file when asked (or REGISTRY_AUTH_FILE is set), else the Docker config. */
function loginFile(session: Session, opts: LoginFileOptions): string {
  const useAuthFile = opts.authfile !== undefined || opts.podman === true || Boolean(session.env.REGISTRY_AUTH_FILE);
  return useAuthFile
    ? containersAuthPath(session.env, opts.authfile)
    : dockerConfigPath(session.env, opts.dockerConfig);
}

// Which ECR registry answers for a registry host: ECR's own host names (every partition,
// FIPS, dual-stack, ECR Public), and the hosts the project config's `registries:` entries map
// to an ECR registry (custom domains, a docker.io mirror through a pull-through cache). The
// credential helper, the kubelet credential provider and `login` ask this first. Kept light:
// the YAML parser is loaded only when a config file exists, and the AWS SDK only when a token
// is not in the cache.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RegistryAccessConfig } from '../config/project-config.js';
import type { RegistryToken, TokenSource } from '../ecr/auth.js';
import type { AwsSettings } from '../ecr/aws-config.js';
import { parseEcrHost, registryHostOf } from '../ecr/hosts.js';

/** The ECR registry that answers for one registry host. */
export interface RegistryRoute {
  /** The host as asked (lowercased, without scheme or path; a port kept). */
  host: string;
  /** `private` (an account's registry in a region) or `public` (ECR Public). */
  kind: 'private' | 'public';
  /** The account whose registry it is (private only). */
  registryId?: string;
  /** The registry's region (us-east-1 for ECR Public). */
  region: string;
  /** True when the host is not an ECR host name but mapped to one by a `registries:` entry. */
  alias: boolean;
  /** The pull-through cache prefix the entry names (`docker-hub` for a docker.io mirror). */
  prefix?: string;
  /** The `registries:` entry that covers the host (its profile / role give the credentials). */
  entry?: RegistryAccessConfig;
}

/**
 * Returns the path of the project config that applies: `explicit` (ECRCTL_CONFIG, relative to
 * cwd), else the nearest `.ecrctl.yaml` at or above cwd, else undefined. No YAML is loaded.
 */
export function projectConfigPath(cwd: string, explicit?: string): string | undefined {
  if (explicit) return path.resolve(cwd, explicit);
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, '.ecrctl.yaml');
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Returns the `registries:` entries of the project config for cwd (or `explicit`); none when
 * there is no config. A broken config throws its RuleViolation (every `file:line` problem).
 */
export async function loadRegistryEntries(cwd: string, explicit?: string): Promise<RegistryAccessConfig[]> {
  const file = projectConfigPath(cwd, explicit);
  if (file === undefined) return [];
  const { loadProjectConfig } = await import('../config/project-config.js');
  const config = await loadProjectConfig(cwd, explicit ?? file);
  return config?.registries ?? [];
}

/**
 * Returns which ECR registry answers for a registry address (`host[:port]`, with or without
 * scheme and path): an ECR host by its name (with the `registries:` entry that gives its
 * credentials, if any), a host a `registries:` entry maps to an account and region, or
 * undefined for any other host.
 */
export async function routeFor(
  entries: readonly RegistryAccessConfig[],
  address: string,
): Promise<RegistryRoute | undefined> {
  const host = registryHostOf(address);
  const parsed = parseEcrHost(host);
  if (parsed?.kind === 'public') return { host, kind: 'public', region: parsed.region, alias: false };
  if (entries.length === 0) {
    return parsed
      ? { host, kind: 'private', registryId: parsed.registryId, region: parsed.region, alias: false }
      : undefined;
  }
  const { registryAccessFor, isAlias } = await import('../config/project-config.js');
  const config = { file: '', repositories: [], registries: [...entries] };
  if (parsed?.kind === 'private') {
    const entry = registryAccessFor(config, host, { registryId: parsed.registryId, region: parsed.region });
    return {
      host,
      kind: 'private',
      registryId: parsed.registryId,
      region: parsed.region,
      alias: false,
      ...(entry ? { entry } : {}),
    };
  }
  const entry = registryAccessFor(config, host);
  if (!entry || !isAlias(entry)) return undefined;
  return {
    host,
    kind: 'private',
    registryId: entry.account as string,
    region: entry.region as string,
    alias: true,
    ...(entry.prefix ? { prefix: entry.prefix } : {}),
    entry,
  };
}

/** Returns settings with a `registries:` entry's profile and role applied (a copy). */
export function settingsForEntry(settings: AwsSettings, entry: RegistryAccessConfig | undefined): AwsSettings {
  const out: AwsSettings = { ...settings };
  if (entry?.profile) out.profile = entry.profile;
  if (entry?.roleArn) out.roleArn = entry.roleArn;
  if (entry?.externalId) out.externalId = entry.externalId;
  return out;
}

/**
 * Returns the token for a route, fetched with the entry's credentials through the token
 * cache; for an alias, the token of the mapped registry reshaped to the alias host (the
 * `host` and `proxyEndpoint` a client connects to are the alias's).
 */
export async function routeToken(
  settings: AwsSettings,
  route: RegistryRoute,
  opts: { now?: () => number; source?: (settings: AwsSettings) => TokenSource } = {},
): Promise<RegistryToken> {
  const { TokenSource } = await import('../ecr/auth.js');
  const withEntry = settingsForEntry(settings, route.entry);
  const source = opts.source ? opts.source(withEntry) : new TokenSource(withEntry, opts.now ? { now: opts.now } : {});
  const token =
    route.kind === 'public'
      ? await source.publicToken()
      : await source.privateToken({
          ...(route.registryId ? { registryId: route.registryId } : {}),
          region: route.region,
        });
  // The name asked for is the one a client connects to: an alias, or another name of the
  // same ECR registry (dual-stack, FIPS). An emulator's loopback data plane keeps its address.
  const renamed = route.alias || (token.host !== route.host && parseEcrHost(token.host) !== undefined);
  return renamed ? { ...token, host: route.host, proxyEndpoint: `https://${route.host}` } : token;
}

/**
 * Returns the ECR image a reference on a mirrored host stands for: `docker.io/library/nginx:1`
 * with `prefix: docker-hub` is `<registry>/docker-hub/library/nginx:1` (Docker Hub's
 * one-part names gain `library/`, as the pull-through cache stores them).
 */
export function mirroredRepository(route: RegistryRoute, repository: string): string {
  const hub = route.host === 'docker.io' || route.host.endsWith('.docker.io');
  const repo = hub && !repository.includes('/') ? `library/${repository}` : repository;
  return route.prefix ? `${route.prefix}/${repo}` : repo;
}

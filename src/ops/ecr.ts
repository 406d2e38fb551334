// One place that says how an op reaches ECR: the registry client with credentials (below),
// the ECR API connection for a host or a command's defaults (ecrConnection), and what a
// reference means for the ECR API (parseEcrRef).
//
// The registry client is wired to credentials: ECR hosts (and ecrctl local's data planes) get
// tokens from GetAuthorizationToken through the token cache; every other host uses the
// Docker config (auths, credHelpers, credsStore). One client per session. The project
// config's `registries:` entries choose, per registry, the profile or role whose token is
// used, so one copy can read from one account and write to another. An entry that maps a
// host of the user's to an ECR registry (match + account + region: a custom domain in front
// of ECR) makes that host ECR for the client too: its token, ECR's pre-checks and pacing.
import { isAlias, loadProjectConfig, type RegistryAccessConfig, registryAccessFor } from '../config/project-config.js';
import { TokenSource } from '../ecr/auth.js';
import { type AwsSettings, requireRegion, settingsFromSession } from '../ecr/aws-config.js';
import {
  type RegistryCredential,
  type RegistryCredentialProvider,
  chainCredentials,
  DockerConfigCredentials,
} from '../oci/transport/credentials.js';
import { RegistryClient } from '../oci/registry.js';
import type { Session } from '../session.js';
import { userAgent } from '../version.js';
import { UsageError } from '../errors.js';
import { dualStackWanted, parseEcrHost, registryHostOf, toDualStackHost } from '../ecr/hosts.js';
import { isLoopbackHost, parseReference } from '../oci/reference.js';
import { connectEcr, type EcrConnection } from '../ecr/repositories.js';

const clients = new WeakMap<Session, RegistryClient>();
const tokenSources = new WeakMap<Session, Map<string, Promise<TokenSource>>>();
const accessConfigs = new WeakMap<Session, Promise<RegistryAccessConfig[]>>();
const accessOverrides = new WeakMap<Session, SessionAccess>();

/** Credentials a derived session uses before the project config's and the Docker config's. */
export interface SessionAccess {
  /** `registries:`-style entries, consulted before the project config's (profile/role per ECR host). */
  registries?: RegistryAccessConfig[];
  /** Asked first for every registry host (e.g. a username and password for one host). */
  credentials?: RegistryCredentialProvider;
  /** Whose default ECR registry short names (`team/app`) mean: this entry's profile or role. */
  defaultRegistry?: RegistryAccessConfig;
}

/**
 * Returns a session like ctx (same env, signal, log, events, secrets) whose registry client
 * and ECR connections use `access` first: one sync entry can read and write with credentials
 * of its own while other sessions are untouched.
 */
export function sessionWithAccess(ctx: Session, access: SessionAccess): Session {
  const derived: Session = {
    env: ctx.env,
    cwd: ctx.cwd,
    signal: ctx.signal,
    aws: ctx.aws,
    insecure: ctx.insecure,
    configFile: ctx.configFile,
    secrets: ctx.secrets,
    log: ctx.log,
    emit: (event) => ctx.emit(event),
  };
  accessOverrides.set(derived, access);
  return derived;
}

/** Returns the token source for the default credentials, or for one `registries:` entry. */
async function tokenSource(ctx: Session, entry?: RegistryAccessConfig): Promise<TokenSource> {
  let byEntry = tokenSources.get(ctx);
  if (!byEntry) {
    byEntry = new Map();
    tokenSources.set(ctx, byEntry);
  }
  const id = entry ? entry.at : '';
  let source = byEntry.get(id);
  if (!source) {
    source = (async () => {
      const settings = withAccess(settingsFromSession(ctx), entry);
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
export function withAccess<T extends AwsSettings>(settings: T, entry: RegistryAccessConfig | undefined): T {
  if (entry?.profile) settings.profile = entry.profile;
  if (entry?.roleArn) settings.roleArn = entry.roleArn;
  if (entry?.externalId) settings.externalId = entry.externalId;
  if (entry?.region && !settings.region) settings.region = entry.region;
  return settings;
}

/** Returns the `registries:` entry of the project config that covers a registry host, if any. */
export async function registryAccessForHost(ctx: Session, host: string): Promise<RegistryAccessConfig | undefined> {
  const parsed = parseEcrHost(host);
  return registryAccessFor(
    { file: '', repositories: [], registries: await registryAccess(ctx) },
    registryHostOf(host),
    parsed?.kind === 'private' ? { registryId: parsed.registryId, region: parsed.region } : {},
  );
}

/** Returns the project config's `registries:` entries (none without a config). */
function registryAccess(ctx: Session): Promise<RegistryAccessConfig[]> {
  let found = accessConfigs.get(ctx);
  if (!found) {
    const first = accessOverrides.get(ctx)?.registries ?? [];
    found = loadProjectConfig(ctx.cwd, ctx.configFile).then((config) => [...first, ...(config?.registries ?? [])]);
    accessConfigs.set(ctx, found);
  }
  return found;
}

/**
 * Returns the `registries:` entry that maps host (a custom domain, not an ECR host nor
 * loopback) to an ECR registry: match + account + region. An entry with `prefix:` (a
 * pull-through mirror of docker.io) is left out: the client would still connect to the
 * mirrored registry itself, where an ECR token means nothing; the credential helper and
 * `login` serve those (a runtime's mirror configuration sends the pulls to ECR).
 */
export async function aliasEntryFor(ctx: Session, host: string): Promise<RegistryAccessConfig | undefined> {
  if (parseEcrHost(host) !== undefined || isLoopbackHost(host)) return undefined;
  const entry = await registryAccessForHost(ctx, host);
  return entry && isAlias(entry) && entry.prefix === undefined ? entry : undefined;
}

/** Returns true when a loopback host may be an ECR data plane (an endpoint such as ecrctl local is in play). */
function endpointInPlay(ctx: Pick<Session, 'aws' | 'env'>): boolean {
  return (
    ctx.aws.endpointUrl !== undefined ||
    ctx.env.AWS_ENDPOINT_URL !== undefined ||
    ctx.env.AWS_ENDPOINT_URL_ECR !== undefined
  );
}

/** A provider that asks ECR only for hosts that can be ECR registries. */
function ecrCredentials(
  ctx: Session,
  aliasHosts: Set<string>,
): RegistryCredentialProvider & { isEcrHost(host: string): Promise<boolean> } {
  const usedFor = new Map<string, TokenSource>();
  // An alias's token is cached under the ECR registry's host: a refused token is dropped there.
  const tokenHostOf = new Map<string, string>();
  return {
    async isEcrHost(host: string): Promise<boolean> {
      // A host the user mapped to ECR is ECR: a failed token is the answer, not the Docker config.
      return parseEcrHost(host) !== undefined || (await aliasEntryFor(ctx, host)) !== undefined;
    },
    async get(host: string): Promise<RegistryCredential | undefined> {
      const parsed = parseEcrHost(host);
      const alias = await aliasEntryFor(ctx, host);
      if (alias) {
        // A custom domain in front of ECR: the token of the registry the entry names, fetched
        // with the entry's profile / role (ECR's tokens do not name the host they are used on).
        const source = await tokenSource(ctx, alias);
        usedFor.set(host, source);
        aliasHosts.add(registryHostOf(host));
        const token = await source.privateToken({
          registryId: alias.account as string,
          region: alias.region as string,
        });
        tokenHostOf.set(host, token.host);
        ctx.log.verbose(`${host}: ECR token of ${alias.account} in ${alias.region} (registries entry ${alias.at})`);
        return { username: token.username, password: token.password };
      }
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
      if (source) source.invalidate(tokenHostOf.get(host) ?? host);
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
export async function registryClient(ctx: Session): Promise<RegistryClient> {
  let client = clients.get(ctx);
  if (!client) {
    const onSecret = (s: string) => ctx.secrets.add(s);
    // Aliases of ECR registries, as their tokens are fetched: from then on they get Basic at once.
    const aliasHosts = new Set<string>();
    const standard = ecrFirst(ecrCredentials(ctx, aliasHosts), new DockerConfigCredentials({ env: ctx.env, onSecret }));
    const first = accessOverrides.get(ctx)?.credentials;
    client = new RegistryClient({
      credentials: first ? chainCredentials(first, standard) : standard,
      // Private ECR registries take Basic (AWS:<token>): send it with the first request.
      basicAuthHosts: (host) => parseEcrHost(host)?.kind === 'private' || aliasHosts.has(registryHostOf(host)),
      env: ctx.env,
      log: (m: string) => ctx.log.verbose(m),
      onSecret,
      insecure: ctx.insecure,
      userAgent: userAgent(),
    });
    clients.set(ctx, client);
  }
  return client;
}

/**
 * Returns the data-plane host of a private ECR registry (from GetAuthorizationToken's proxy
 * endpoint, through the session's token source and cache): the session's region and
 * registry unless `where` names others.
 */
export async function ecrRegistryHost(
  ctx: Session,
  where: { region?: string | undefined; registryId?: string | undefined } = {},
): Promise<string> {
  const source = await tokenSource(ctx, accessOverrides.get(ctx)?.defaultRegistry);
  const registryId = where.registryId ?? ctx.aws.registryId;
  const token = await source.privateToken({
    ...(where.region ? { region: where.region } : {}),
    ...(registryId ? { registryId } : {}),
  });
  // ECRCTL_DUAL_STACK: the IPv4-and-IPv6 name of the same registry (the token serves both).
  return dualStackWanted(ctx.env) ? toDualStackHost(token.host) : token.host;
}

/** Returns the host of the default ECR registry (the caller's, or --registry-id's). */
export function defaultRegistryHost(ctx: Session): Promise<string> {
  return ecrRegistryHost(ctx);
}

/**
 * Returns true when writes to host go to ECR (an ECR host, a host a `registries:` entry maps
 * to an ECR registry, or a loopback data plane while an ECR endpoint such as ecrctl local is
 * in play): ECR's PutImage rate then applies.
 */
export async function isEcrDataPlane(ctx: Session, host: string): Promise<boolean> {
  if (parseEcrHost(host) !== undefined || (isLoopbackHost(host) && endpointInPlay(ctx))) return true;
  return (await aliasEntryFor(ctx, host)) !== undefined;
}

/** Where an op can reach a registry's ECR API: its region and account, and whose credentials. */
export interface EcrTarget {
  /** The region the host names; undefined: the session's default region. */
  region?: string;
  /** The account the host names (or the `registries:` entry / session default). */
  registryId?: string;
  /** The project config's `registries:` entry that covers the host. */
  access?: RegistryAccessConfig;
}

/** Returns where the ECR API of a registry host is, or undefined when the host is not ECR (nor an alias of it, nor ecrctl local). */
export async function ecrTarget(ctx: Session, host: string): Promise<EcrTarget | undefined> {
  const ecr = parseEcrHost(host);
  // The project config's registries: entry says whose credentials reach this registry.
  const access = ecr?.kind === 'public' ? undefined : await registryAccessForHost(ctx, host);
  const withEntry = access ? { access } : {};
  if (ecr?.kind === 'private') return { region: ecr.region, registryId: ecr.registryId, ...withEntry };
  if (ecr?.kind === 'public') return undefined;
  // A custom domain a registries: entry maps to an ECR registry: that registry's API.
  if (access && isAlias(access) && access.prefix === undefined && !isLoopbackHost(host)) {
    return { region: access.region as string, registryId: access.account as string, access };
  }
  // ecrctl local: a loopback data plane while an endpoint is configured.
  if (isLoopbackHost(host) && endpointInPlay(ctx)) {
    const registryId = access?.account ?? ctx.aws.registryId;
    return {
      ...(registryId ? { registryId } : {}),
      ...(access?.region ? { region: access.region } : {}),
      ...withEntry,
    };
  }
  return undefined;
}

/**
 * Returns an ECR API connection: the region and registry given (from a host, see ecrTarget),
 * else the session's default region (its `region`, AWS_REGION, the profile's) and registry.
 * A `registries:` entry in `where.access` chooses the profile or role.
 */
export async function ecrConnection(ctx: Session, where: EcrTarget = {}): Promise<EcrConnection> {
  const settings = withAccess(settingsFromSession(ctx), where.access);
  const registryId = where.registryId ?? ctx.aws.registryId;
  return connectEcr(settings, {
    region: where.region ?? requireRegion(settings),
    ...(registryId ? { registryId } : {}),
  });
}

/** What a reference means for the ECR API. */
export interface EcrRef {
  /** The reference as written, for messages. */
  text: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The region the host names; undefined: the default region. */
  region?: string;
  /** The account the host names, else the session's registryId; undefined: the caller's own. */
  registryId?: string;
}

/**
 * Returns the ECR repository, image and registry a reference (`repo:tag`, `repo@digest`,
 * `<account>.dkr.ecr.<region>.amazonaws.com/repo:tag`) names; UsageError for another registry
 * (unless an endpoint such as ecrctl local is in play: then its data plane is meant).
 */
export function parseEcrRef(
  ctx: Pick<Session, 'aws' | 'env'>,
  text: string,
  names: 'image' | 'repository' = 'image',
): EcrRef {
  const ref = parseReference(text);
  const out: EcrRef = { text, repository: ref.repository };
  if (ctx.aws.registryId) out.registryId = ctx.aws.registryId;
  if (ref.tag !== undefined) out.tag = ref.tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  if (!ref.registry) return out;
  const host = parseEcrHost(ref.registry);
  if (host?.kind === 'private') {
    out.region = host.region;
    out.registryId = host.registryId;
  } else if (!endpointInPlay(ctx)) {
    throw new UsageError(`${text} does not name a private ECR registry`, {
      value: text,
      fix:
        names === 'image'
          ? 'write repo:tag or repo@digest, or a reference on <account>.dkr.ecr.<region>.amazonaws.com'
          : 'write the repository name (team/app) or <account>.dkr.ecr.<region>.amazonaws.com/team/app',
    });
  }
  return out;
}

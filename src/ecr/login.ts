// `login` and `logout` as domain functions: fetch tokens, write them (or the helper entry)
// into a Docker config or containers auth file, and take out exactly the entries of that
// kind again. The command files only parse options and render what these return.
import { UsageError } from '../errors.js';
import type { AwsSettings } from './aws-config.js';
import { type RegistryToken, TokenSource } from './auth.js';
import {
  authUsername,
  HELPER_NAME,
  readDockerConfig,
  sameRegistry,
  setAuth,
  setHelper,
  updateDockerConfig,
} from './docker-config.js';
import { parseEcrHost, registryHostOf } from './hosts.js';

/** Returns the login tokens: ECR Public's, or private ones for registryIds (default: own registry). */
export async function fetchLoginTokens(opts: {
  settings: AwsSettings;
  registryIds?: readonly string[];
  public?: boolean;
  source?: TokenSource;
}): Promise<RegistryToken[]> {
  const source = opts.source ?? new TokenSource(opts.settings);
  if (opts.public) {
    opts.settings.log?.('ECR Public login: tokens are issued in us-east-1 whatever --region says');
    return [await source.publicToken()];
  }
  for (const id of opts.registryIds ?? []) {
    if (!/^[0-9]{12}$/.test(id)) {
      throw new UsageError('a registry id is a 12-digit AWS account id', {
        value: id,
        fix: 'pass account ids, e.g. --registry-ids 123456789012,210987654321',
      });
    }
  }
  const ids = [...new Set(opts.registryIds ?? [])];
  if (ids.length === 0) return [await source.privateToken()];
  return source.privateTokens(ids);
}

/** Writes an `auths` entry per token into file (Docker config or containers auth file). */
export function writeAuthEntries(file: string, tokens: readonly RegistryToken[]): { credsStore?: string } {
  const written = updateDockerConfig(file, (config) => {
    for (const t of tokens) setAuth(config, t.host, t.username, t.password);
  });
  return written.credsStore ? { credsStore: written.credsStore } : {};
}

/** Registers docker-credential-ecrctl under `credHelpers` for each host in file. */
export function writeHelperEntries(file: string, hosts: readonly string[]): void {
  updateDockerConfig(file, (config) => {
    for (const h of hosts) setHelper(config, h);
  });
}

/** One entry that logout took out. */
export interface RemovedEntry {
  registry: string;
  /** `auths` (a stored token) or `credHelpers` (the ecrctl helper registration). */
  kind: 'auths' | 'credHelpers';
}

/**
 * Removes from file what login writes: `auths` entries with user `AWS` and `credHelpers`
 * entries naming `ecrctl`, for the given registries, or without any, for every ECR host
 * (and every host registered to the ecrctl helper). Other entries and keys stay.
 */
export function removeLoginEntries(file: string, registries: readonly string[] = []): RemovedEntry[] {
  const targets = registries.map(registryHostOf);
  const wanted = (key: string) =>
    targets.length === 0 ? parseEcrHost(key) !== undefined : targets.some((t) => sameRegistry(key, t));
  const current = readDockerConfig(file);
  const removed: RemovedEntry[] = [];
  for (const [key, entry] of Object.entries(current.auths ?? {})) {
    if (wanted(key) && authUsername(entry?.auth) === 'AWS') removed.push({ registry: key, kind: 'auths' });
  }
  for (const [key, helper] of Object.entries(current.credHelpers ?? {})) {
    if (helper === HELPER_NAME && (targets.length === 0 || wanted(key))) {
      removed.push({ registry: key, kind: 'credHelpers' });
    }
  }
  if (removed.length === 0) return removed;
  updateDockerConfig(file, (config) => {
    for (const r of removed) {
      if (r.kind === 'auths' && config.auths) delete config.auths[r.registry];
      if (r.kind === 'credHelpers' && config.credHelpers) delete config.credHelpers[r.registry];
    }
    if (config.credHelpers && Object.keys(config.credHelpers).length === 0) delete config.credHelpers;
  });
  return removed;
}

/**
 * Returns the step outputs the amazon-ecr-login action sets: `registry` (single login only)
 * and `docker_username_<host>` / `docker_password_<host>` with every non-alphanumeric
 * character of the registry host replaced by `_`.
 */
export function githubOutputs(tokens: readonly RegistryToken[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (tokens.length === 1 && tokens[0]) out.registry = tokens[0].host;
  for (const t of tokens) {
    const suffix = t.host.replace(/[^A-Za-z0-9]/g, '_');
    out[`docker_username_${suffix}`] = t.username;
    out[`docker_password_${suffix}`] = t.password;
  }
  return out;
}

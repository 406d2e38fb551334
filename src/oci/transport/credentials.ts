// Where registry credentials come from: a provider interface that the transport asks per
// host, a static provider, a chain, and the Docker config reader (auths, identity tokens,
// credential helpers). Secrets are handed to onSecret the moment they are read.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EcrctlError, UsageError } from '../../errors.js';
import { type ExecFn, execProcess } from './exec.js';

/** A username and password (sent as Basic, or to a token realm), or an OAuth2 refresh token. */
export type RegistryCredential = { username: string; password: string } | { identityToken: string };

/** Gives the transport credentials for a registry host (`host[:port]`). */
export interface RegistryCredentialProvider {
  /** Returns the credential for host, or undefined to go anonymous. */
  get(host: string): Promise<RegistryCredential | undefined>;
  /**
   * Called when the registry refused a credential this provider gave (e.g. ECR's 12-hour
   * token expired): forget it, so that the next get() fetches a fresh one.
   */
  invalidate?(host: string): void;
}

/** The Docker Hub key in Docker's config and the server URL its helpers expect. */
export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/** Returns the registry host a Docker config key names (`https://host/v1/` → `host`). */
export function dockerConfigKeyToHost(key: string): string {
  let host = key.trim().toLowerCase();
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  host = host.replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com') {
    return 'docker.io';
  }
  return host;
}

/** Returns the server URL Docker passes to credential helpers for host. */
export function helperServerUrl(host: string): string {
  return host === 'docker.io' ? DOCKER_HUB_SERVER : host;
}

/** A fixed map of host → credential (tests, `--username/--password-stdin`, ECR tokens). */
export class StaticCredentials implements RegistryCredentialProvider {
  readonly #byHost: Map<string, RegistryCredential>;
  constructor(byHost: Record<string, RegistryCredential> | Map<string, RegistryCredential>) {
    this.#byHost = byHost instanceof Map ? new Map(byHost) : new Map(Object.entries(byHost));
  }
  /** Returns the credential for host, if one was given. */
  async get(host: string): Promise<RegistryCredential | undefined> {
    return this.#byHost.get(host);
  }
}

/** Returns a provider that asks each provider in turn and takes the first answer. */
export function chainCredentials(...providers: RegistryCredentialProvider[]): RegistryCredentialProvider {
  const answeredBy = new Map<string, RegistryCredentialProvider>();
  return {
    async get(host) {
      for (const p of providers) {
        const c = await p.get(host);
        if (c !== undefined) {
          answeredBy.set(host, p);
          return c;
        }
      }
      return undefined;
    },
    invalidate(host) {
      answeredBy.get(host)?.invalidate?.(host);
      answeredBy.delete(host);
    },
  };
}

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export interface DockerConfigCredentialsOptions {
  /** The environment to read DOCKER_CONFIG and HOME from, and to give helpers. */
  env: NodeJS.ProcessEnv;
  /** Runs credential helpers (replaceable in tests). */
  exec?: ExecFn;
  /** Called with every secret read, so the CLI can redact or mask it. */
  onSecret?: (secret: string) => void;
}

/**
 * Reads credentials the way the Docker CLI does: `credHelpers[host]`, else `credsStore`
 * (falling back to `auths` when the store has nothing), else `auths`. Answers are cached
 * per host until invalidate().
 */
export class DockerConfigCredentials implements RegistryCredentialProvider {
  readonly #env: NodeJS.ProcessEnv;
  readonly #exec: ExecFn;
  readonly #onSecret: (secret: string) => void;
  #config: Promise<DockerConfigFile> | undefined;
  readonly #cache = new Map<string, Promise<RegistryCredential | undefined>>();

  constructor(opts: DockerConfigCredentialsOptions) {
    this.#env = opts.env;
    this.#exec = opts.exec ?? execProcess;
    this.#onSecret = opts.onSecret ?? (() => {});
  }

  /** Returns the path of the Docker config file this provider reads. */
  get configPath(): string {
    const dir = this.#env.DOCKER_CONFIG || path.join(this.#env.HOME || os.homedir(), '.docker');
    return path.join(dir, 'config.json');
  }

  /** Returns the credential for host, or undefined when the config has none. */
  get(host: string): Promise<RegistryCredential | undefined> {
    const key = dockerConfigKeyToHost(host);
    let answer = this.#cache.get(key);
    if (answer === undefined) {
      answer = this.#lookup(key);
      this.#cache.set(key, answer);
      answer.catch(() => this.#cache.delete(key));
    }
    return answer;
  }

  /** Forgets what was read for host (the config and helpers are asked again next time). */
  invalidate(host: string): void {
    this.#cache.delete(dockerConfigKeyToHost(host));
    this.#config = undefined;
  }

  async #lookup(host: string): Promise<RegistryCredential | undefined> {
    this.#config ??= this.#readConfig();
    const config = await this.#config;
    const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => dockerConfigKeyToHost(k) === host)?.[1];
    if (helper) return this.#fromHelper(helper, host);
    if (config.credsStore) {
      const fromStore = await this.#fromHelper(config.credsStore, host);
      if (fromStore) return fromStore;
    }
    const entry = Object.entries(config.auths ?? {}).find(([k]) => dockerConfigKeyToHost(k) === host)?.[1];
    return entry ? this.#fromEntry(entry, host) : undefined;
  }

  async #readConfig(): Promise<DockerConfigFile> {
    const file = this.configPath;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new EcrctlError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as DockerConfigFile;
    } catch (cause) {
      throw new UsageError(`the Docker config ${file} is not valid JSON`, {
        rule: 'the Docker config is a JSON object',
        value: file,
        fix: `fix or remove ${file} (or point DOCKER_CONFIG at another directory)`,
        cause,
      });
    }
  }

  #fromEntry(entry: DockerAuthEntry, host: string): RegistryCredential | undefined {
    if (entry.identitytoken) {
      this.#onSecret(entry.identitytoken);
      return { identityToken: entry.identitytoken };
    }
    if (entry.username !== undefined && entry.password !== undefined && entry.password !== '') {
      this.#onSecret(entry.password);
      return { username: entry.username, password: entry.password };
    }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new UsageError(`the Docker config entry for ${host} has an "auth" value that is not user:password`, {
          rule: '"auth" is base64 of USERNAME:PASSWORD',
          value: host,
          fix: `log in again (ecrctl login, or docker login ${host})`,
        });
      }
      this.#onSecret(entry.auth);
      const password = decoded.slice(colon + 1);
      this.#onSecret(password);
      return { username: decoded.slice(0, colon), password };
    }
    return undefined;
  }

  async #fromHelper(name: string, host: string): Promise<RegistryCredential | undefined> {
    const program = `docker-credential-${name}`;
    // The server URL goes on stdin, as Docker does: never in argv.
    const result = await this.#exec(program, ['get'], { input: helperServerUrl(host), env: this.#env });
    const out = result.stdout.trim();
    if (result.exitCode !== 0) {
      if (/credentials not found/i.test(out) || /credentials not found/i.test(result.stderr)) return undefined;
      throw new EcrctlError(`credential helper ${program} failed for ${host} (exit ${result.exitCode})`, {
        value: program,
        // The helper's own words, but never more than a line: it is not supposed to print secrets here.
        fix: (out.split('\n')[0] || result.stderr.trim().split('\n')[0] || 'run it by hand to see why').slice(0, 300),
      });
    }
    let parsed: { Username?: unknown; Secret?: unknown };
    try {
      parsed = JSON.parse(out) as { Username?: unknown; Secret?: unknown };
    } catch (cause) {
      throw new EcrctlError(`credential helper ${program} printed something that is not JSON`, {
        value: program,
        cause,
      });
    }
    if (typeof parsed.Secret !== 'string' || parsed.Secret === '') return undefined;
    this.#onSecret(parsed.Secret);
    const username = typeof parsed.Username === 'string' ? parsed.Username : '';
    // Docker's convention: the user name `<token>` marks an identity (refresh) token.
    if (username === '<token>') return { identityToken: parsed.Secret };
    return { username, password: parsed.Secret };
  }
}

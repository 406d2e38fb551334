// Reads and rewrites the Docker config (~/.docker/config.json) and the containers auth file
// (Podman, skopeo, buildah): only the entries ecrctl owns change, every other key is kept
// as it was; the new file is written beside the old one with mode 0600 (a symlinked file's
// target keeps its mode) and renamed over it, so Docker never reads half a file and a crash
// leaves the old one.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EcrctlError } from '../errors.js';

/** The name `credHelpers` entries use for docker-credential-ecrctl. */
export const HELPER_NAME = 'ecrctl';

/** The parts of a Docker config ecrctl reads; everything else is carried through untouched. */
export interface DockerConfig {
  auths?: Record<string, { auth?: string; [k: string]: unknown }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** Returns the Docker config file: DIR/config.json for --docker-config, $DOCKER_CONFIG, or ~/.docker. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, dir?: string): string {
  return path.join(dir || env.DOCKER_CONFIG || path.join(home(env), '.docker'), 'config.json');
}

/**
 * Returns the containers auth file: --authfile, then REGISTRY_AUTH_FILE, then
 * ${XDG_RUNTIME_DIR}/containers/auth.json (~/.config/containers/auth.json without a runtime dir).
 */
export function containersAuthPath(env: NodeJS.ProcessEnv, file?: string): string {
  if (file) return file;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return path.join(home(env), '.config', 'containers', 'auth.json');
}

/** Returns the config in file ({} when the file does not exist); throws when it is not JSON. */
export function readDockerConfig(file: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new EcrctlError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EcrctlError(`${file} is not valid JSON, so ecrctl will not rewrite it`, {
      value: file,
      fix: 'fix or remove the file, then run the command again',
      cause: err,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EcrctlError(`${file} does not hold a JSON object`, { value: file, fix: 'fix or remove the file' });
  }
  return parsed as DockerConfig;
}

/**
 * Applies change to the config in file and writes it back atomically. Returns the config
 * written. A regular file (or a new one) gets mode 0600. A symlinked config file is written
 * through the link and its target keeps its mode, as Docker does; so a change that stores a
 * password is refused when that target is readable by group or others.
 */
export function updateDockerConfig(file: string, change: (config: DockerConfig) => void): DockerConfig {
  let target = file;
  try {
    target = realpathSync(file);
  } catch {
    // does not exist yet: created below
  }
  // The mode the file keeps: only a linked target's (someone manages that file on purpose).
  let mode = 0o600;
  try {
    if (lstatSync(file).isSymbolicLink()) mode = statSync(target).mode & 0o777;
  } catch {
    // no file yet, or a dangling link: the file is created, private
  }
  const config = readDockerConfig(target);
  const before = JSON.stringify(config.auths ?? {});
  change(config);
  if ((mode & 0o077) !== 0 && storesSecret(JSON.parse(before), config.auths ?? {})) {
    const octal = `0${mode.toString(8).padStart(3, '0')}`;
    throw new EcrctlError(
      `${file} is a symlink to ${target} (mode ${octal}, readable by others): ecrctl keeps a linked file's mode, ` +
        'so it will not write a registry password there',
      {
        value: target,
        fix: `run chmod 600 ${target}, or register the helper with \`ecrctl login --helper\` so no password is stored`,
      },
    );
  }
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600, flag: 'wx' });
    // writeFileSync's mode passes through the umask; a kept mode is set exactly.
    if (mode !== 0o600) chmodSync(tmp, mode);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new EcrctlError(`cannot write ${target}: ${(err as Error).message}`, { cause: err });
  }
  return config;
}

/** Returns true when after has an `auths` entry that before did not have or that changed. */
function storesSecret(before: NonNullable<DockerConfig['auths']>, after: NonNullable<DockerConfig['auths']>): boolean {
  return Object.entries(after).some(([key, entry]) => JSON.stringify(entry) !== JSON.stringify(before[key]));
}

/** Returns the base64 `auth` value of a Docker config entry. */
export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64');
}

/** Returns the username of a Docker config `auth` value, or undefined when it is not user:password. */
export function authUsername(auth: unknown): string | undefined {
  if (typeof auth !== 'string') return undefined;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? text.slice(0, colon) : undefined;
}

/** Sets auths[host] to username/password (replacing only that entry's `auth`). */
export function setAuth(config: DockerConfig, host: string, username: string, password: string): void {
  config.auths ??= {};
  // An old entry may be keyed with a scheme (`https://host`): one entry per registry.
  for (const key of Object.keys(config.auths)) {
    if (key !== host && sameRegistry(key, host)) delete config.auths[key];
  }
  config.auths[host] = { ...config.auths[host], auth: encodeAuth(username, password) };
}

/** Sets credHelpers[host] to the ecrctl helper. */
export function setHelper(config: DockerConfig, host: string): void {
  config.credHelpers ??= {};
  config.credHelpers[host] = HELPER_NAME;
}

/** Returns true when two auths keys name the same registry (with or without scheme and path). */
export function sameRegistry(a: string, b: string): boolean {
  const bare = (s: string) =>
    s
      .replace(/^[a-z]+:\/\//i, '')
      .replace(/\/.*$/, '')
      .toLowerCase();
  return bare(a) === bare(b);
}

// Image references (the Docker reference grammar) and image locations (skopeo-style
// transports: oci:, docker-archive:, docker-daemon:, and plain registry references).
import { UsageError } from '../errors.js';
import { isDigest } from './digest.js';

/** An image in a registry: `host[:port]/repository[:tag][@digest]`. */
export interface RegistryReference {
  /** `host[:port]`; Docker Hub is `docker.io`; empty when the text named no registry. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export type ImageLocation =
  | { transport: 'registry'; reference: RegistryReference }
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'docker-archive'; path: string; ref?: string }
  | { transport: 'docker-daemon'; image: string };

export const DOCKER_HUB = 'docker.io';
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const MAX_NAME = 255;

function bad(text: string, rule: string, fix: string): UsageError {
  return new UsageError(`invalid image reference ${JSON.stringify(text)}`, { rule, value: text, fix });
}

/**
 * Returns the parts of a registry reference. A text without a registry host (`app:v1`)
 * gets registry '' so the caller can resolve it against the default (ECR) registry;
 * `docker.io/alpine` gets `library/` like Docker does.
 */
export function parseReference(text: string): RegistryReference {
  let rest = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  if (rest === '') throw bad(text, 'a reference names at least a repository', 'write e.g. team/app:v1');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) {
      throw bad(text, 'a digest is sha256:<64 lowercase hex characters>', 'copy the full digest after @');
    }
  }
  // The registry is the first component when it looks like a host: has a dot or a port,
  // is localhost, or has uppercase letters (which repository names cannot).
  let registry = '';
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      rest = rest.slice(slash + 1);
      checkHost(text, registry);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && rest.indexOf(':') !== colon) {
    throw bad(
      text,
      'a reference has one :TAG after the repository',
      `write ${rest.slice(0, rest.indexOf(':'))}:${rest.slice(rest.indexOf(':') + 1).split(':')[0]} (more tags: --tag)`,
    );
  }
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw bad(
        text,
        'a tag is 1-128 characters of letters, digits, _ . - and does not start with . or -',
        `use a tag like ${suggestTag(tag) || 'v1'}`,
      );
    }
  }
  let repository = rest;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository === '') throw bad(text, 'a reference names a repository', 'write e.g. team/app:v1');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw bad(
        text,
        'repository path components are lowercase letters and digits, separated by . _ __ or -',
        `write the repository in lowercase, e.g. ${repository.toLowerCase().replace(/[^a-z0-9/._-]+/g, '-')}`,
      );
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME) {
    throw bad(text, `an image name is at most ${MAX_NAME} characters`, 'shorten the repository name');
  }
  const ref: RegistryReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function checkHost(text: string, hostPort: string): void {
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    if (end < 0) throw bad(text, 'an IPv6 registry host is written in brackets', 'write e.g. [::1]:5000/app');
    host = hostPort.slice(1, end);
    const after = hostPort.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(text, 'a port follows the host after a colon', '[::1]:5000');
    port = after === '' ? undefined : after.slice(1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw bad(text, 'not an IPv6 address', 'write e.g. [::1]:5000/app');
  } else {
    const c = hostPort.lastIndexOf(':');
    if (c >= 0) {
      host = hostPort.slice(0, c);
      port = hostPort.slice(c + 1);
    }
    if (!host.split('.').every((part) => DOMAIN_COMPONENT.test(part))) {
      throw bad(text, 'a registry host is a domain name or IP address', 'write e.g. registry.example.com/app');
    }
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536)) {
    throw bad(text, 'a registry port is a number from 1 to 65535', 'write e.g. 127.0.0.1:5000/app');
  }
}

function suggestTag(tag: string): string {
  return tag
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
}

/** Returns the reference as text: `host/repo:tag@digest` (the registry omitted when empty). */
export function formatReference(ref: RegistryReference): string {
  let s = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Returns the tag or digest to address a manifest by: digest wins, then tag, then latest. */
export function manifestReference(ref: RegistryReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** Returns true when a registry host is on loopback and so spoken to over plain HTTP. */
export function isLoopbackHost(hostPort: string): boolean {
  let host = hostPort;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.includes(':') && host.indexOf(':') === host.lastIndexOf(':')) host = host.slice(0, host.indexOf(':'));
  return host === 'localhost' || host === '::1' || /^127(?:\.[0-9]{1,3}){3}$/.test(host);
}

/** The transports ecrctl reads and writes, as the help and errors name them. */
export const TRANSPORTS = 'oci:DIR[:TAG], docker-archive:FILE[:REF], docker-daemon:IMAGE, or a registry reference';

/** Transports other tools (skopeo, podman) have and ecrctl does not. */
const FOREIGN_TRANSPORTS = [
  'dir',
  'oci-archive',
  'containers-storage',
  'ostree',
  'sif',
  'tarball',
  'docker-archive-v1',
];

/** Returns the image location a command-line argument names (transport prefix or registry). */
export function parseLocation(text: string): ImageLocation {
  const foreign = /^([a-z][a-z0-9-]*):/.exec(text)?.[1];
  if (foreign !== undefined && FOREIGN_TRANSPORTS.includes(foreign)) {
    throw new UsageError(`ecrctl has no ${foreign}: transport`, {
      rule: `an image location is ${TRANSPORTS}`,
      value: text,
      fix:
        foreign === 'dir' || foreign === 'oci-archive'
          ? `write oci:${text.slice(foreign.length + 1)} for an OCI image layout directory`
          : 'export the image to an OCI layout or a docker archive first, or push it to a registry',
    });
  }
  if (/^(?:\.{1,2}\/|\/|~\/)/.test(text) || text === '.' || text === '..') {
    throw new UsageError(`${JSON.stringify(text)} is a path, not an image reference`, {
      rule: `an image location is ${TRANSPORTS}`,
      value: text,
      fix: `write oci:${text} for an OCI image layout directory, or docker-archive:${text} for a tar file`,
    });
  }
  const prefix = /^(oci|docker-archive|docker-daemon|docker):/.exec(text)?.[1];
  if (prefix === 'oci' || prefix === 'docker-archive') {
    const body = text.slice(prefix.length + 1);
    const colon = body.indexOf(':');
    const path = colon < 0 ? body : body.slice(0, colon);
    const rest = colon < 0 ? undefined : body.slice(colon + 1);
    if (path === '') {
      throw new UsageError(`${prefix}: needs a path`, {
        value: text,
        fix: prefix === 'oci' ? 'write e.g. oci:./build/image:latest' : 'write e.g. docker-archive:./image.tar',
      });
    }
    if (prefix === 'oci') {
      if (rest !== undefined && !TAG.test(rest)) {
        throw new UsageError(`invalid tag in ${JSON.stringify(text)}`, {
          rule: 'a tag is 1-128 characters of letters, digits, _ . - and does not start with . or -',
          value: rest,
          fix: 'write e.g. oci:./build/image:v1',
        });
      }
      return rest === undefined || rest === '' ? { transport: 'oci', path } : { transport: 'oci', path, tag: rest };
    }
    return rest === undefined || rest === ''
      ? { transport: 'docker-archive', path }
      : { transport: 'docker-archive', path, ref: rest };
  }
  if (prefix === 'docker-daemon') {
    const image = text.slice('docker-daemon:'.length);
    if (image === '') throw new UsageError('docker-daemon: needs an image name', { fix: 'e.g. docker-daemon:app:v1' });
    return { transport: 'docker-daemon', image: checkedDaemonImage(image) };
  }
  return { transport: 'registry', reference: parseReference(text) };
}

/**
 * Returns a `docker-daemon:` image name, or throws UsageError for one starting with `-`,
 * which `docker save` would read as an option (`--output=/tmp/x` writes wherever it says).
 */
export function checkedDaemonImage(image: string): string {
  if (image.startsWith('-')) {
    throw new UsageError(`docker-daemon: the image name ${JSON.stringify(image)} starts with "-"`, {
      rule: 'an image name does not start with "-" (docker would read it as an option)',
      value: image,
      fix: 'write the image as docker lists it, e.g. docker-daemon:app:v1 (see `docker image ls`)',
    });
  }
  return image;
}

/** Returns a location as the text a user would type for it. */
export function formatLocation(loc: ImageLocation): string {
  switch (loc.transport) {
    case 'registry':
      return formatReference(loc.reference);
    case 'oci':
      return loc.tag ? `oci:${loc.path}:${loc.tag}` : `oci:${loc.path}`;
    case 'docker-archive':
      return loc.ref ? `docker-archive:${loc.path}:${loc.ref}` : `docker-archive:${loc.path}`;
    case 'docker-daemon':
      return `docker-daemon:${loc.image}`;
  }
}

// Opens image locations for the transfer verbs: a registry repository through the OCI
// client (with credentials from ECR for ECR hosts, else the Docker config), an OCI layout
// directory, a docker-archive tar, or the Docker daemon through `docker save`.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { formatReference, type ImageLocation, manifestReference } from '../oci/reference.js';
import type { ImageSource, ImageTarget } from '../oci/store.js';
import type { Session } from '../session.js';
import { DockerArchiveReader, DockerArchiveWriter } from '../oci/layout/docker-archive.js';
import { OciLayout } from '../oci/layout/oci-dir.js';
import { openDockerDaemonImage } from './docker-daemon.js';
import { defaultRegistryHost, registryClient } from './ecr.js';

export interface OpenedLocation {
  source?: ImageSource;
  target?: ImageTarget;
  /** What to pass to getManifest: a tag, a digest, or '' for "the only image". */
  reference: string;
}

/**
 * Returns loc with a short registry reference (`app:v1`, no host) resolved to the default
 * ECR registry of the caller's credentials.
 */
export async function resolveLocation(ctx: Session, loc: ImageLocation): Promise<ImageLocation> {
  if (loc.transport !== 'registry' || loc.reference.registry !== '') return loc;
  checkNotLocal(ctx, loc.reference.repository, loc.reference.tag);
  const registry = await defaultRegistryHost(ctx);
  return { transport: 'registry', reference: { ...loc.reference, registry } };
}

/**
 * A short reference (`hello`, `image.tar`) that names something in the working directory
 * was most likely meant as that: say so rather than go to the default ECR registry.
 */
function checkNotLocal(ctx: Session, repository: string, tag: string | undefined): void {
  const here = path.resolve(ctx.cwd, repository);
  const short = `${repository}${tag !== undefined ? `:${tag}` : ''}`;
  if (existsSync(path.join(here, 'oci-layout'))) {
    throw new UsageError(`${short} names an ECR repository, and ./${repository} is an OCI image layout`, {
      rule: 'a location without a transport is a registry reference (here: the default ECR registry)',
      value: short,
      fix: `did you mean oci:${short}? (for the repository, write its full ECR reference)`,
    });
  }
  if (tag === undefined && /\.tar(?:\.gz)?$/.test(repository) && existsSync(here) && statSync(here).isFile()) {
    throw new UsageError(`${repository} names an ECR repository, and ./${repository} is a file`, {
      rule: 'a location without a transport is a registry reference (here: the default ECR registry)',
      value: repository,
      fix: `did you mean docker-archive:${repository}?`,
    });
  }
}

/** Opens a location as a source or a target. */
export async function openLocation(
  ctx: Session,
  loc: ImageLocation,
  role: 'source' | 'target',
): Promise<OpenedLocation> {
  switch (loc.transport) {
    case 'registry': {
      const client = await registryClient(ctx);
      const repo = client.repository(loc.reference.registry, loc.reference.repository);
      return role === 'source'
        ? { source: repo, reference: manifestReference(loc.reference) }
        : { target: repo, reference: formatReference(loc.reference) };
    }
    case 'oci': {
      if (role === 'source') {
        const layout = await OciLayout.open(path.resolve(ctx.cwd, loc.path));
        return { source: layout, reference: loc.tag ?? '' };
      }
      const layout = await OciLayout.create(path.resolve(ctx.cwd, loc.path));
      return { target: layout, reference: loc.tag ?? '' };
    }
    case 'docker-archive': {
      if (role === 'source') {
        const reader = await DockerArchiveReader.open(path.resolve(ctx.cwd, loc.path), loc.ref);
        return { source: reader, reference: '' };
      }
      const writer = await DockerArchiveWriter.create(path.resolve(ctx.cwd, loc.path), loc.ref);
      return { target: writer, reference: loc.ref ?? '' };
    }
    case 'docker-daemon': {
      if (role === 'target') {
        throw new UsageError('docker-daemon: can only be a source', {
          value: loc.image,
          fix: 'pull into docker-archive:FILE and run `docker load -i FILE`',
        });
      }
      return openDockerDaemonImage(ctx, loc.image);
    }
  }
}

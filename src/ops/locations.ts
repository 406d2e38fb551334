// Opens image locations for the transfer verbs: a registry repository through the OCI
// client (with credentials from ECR for ECR hosts, else the Docker config), an OCI layout
// directory, a docker-archive tar, or the Docker daemon through `docker save`.
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
  const registry = await defaultRegistryHost(ctx);
  return { transport: 'registry', reference: { ...loc.reference, registry } };
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

// attach: stores a file as an OCI 1.1 referrer of an image (a manifest whose `subject` is
// the image). Where the registry's referrers API is missing (404/405) or does not list the
// new referrer, the referrer is added to the `sha256-<hex>` tag index (the OCI referrers tag
// schema) so that clients without the API still find it — and the user is told.
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { NotFoundError, UsageError } from '../errors.js';
import { addToReferrersTag, buildArtifact, listReferrersWithFallback, pushArtifact } from '../oci/artifact.js';
import { formatReference, manifestReference } from '../oci/reference.js';
import { referrersTag } from '../oci/referrers.js';
import { artifactTypeProblems, descriptorMediaTypeProblems } from '../policy/artifact-media-types.js';
import type { Session } from '../session.js';
import { checkMediaTypes, openRepository } from './artifact.js';

/** What attach accepts. */
export interface AttachOptions {
  /** The subject image: `repo:tag`, `repo@digest`, `host/repo:tag`. */
  reference: string;
  /** The file to attach (relative to the session's cwd). */
  file: string;
  /** The referrer's artifactType, e.g. application/spdx+json. */
  artifactType: string;
  /** The file's media type; default the artifactType. */
  mediaType?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

/** What attach stored. */
export interface AttachResult {
  /** The subject as given, with its registry. */
  reference: string;
  /** The subject's digest. */
  subject: string;
  /** The referrer manifest's digest. */
  digest: string;
  artifactType: string;
  /** How clients find it: the registry's referrers API, or the `sha256-<hex>` tag index. */
  via: 'referrers-api' | 'tag-schema';
  /** The tag written (tag schema only). */
  tag?: string;
  /** Why the tag schema was used. */
  reason?: string;
}

/** Attaches a file to an image as an OCI 1.1 referrer. */
export async function attach(session: Session, opts: AttachOptions): Promise<AttachResult> {
  if (!opts.artifactType)
    throw new UsageError('--artifact-type is required', { fix: 'e.g. --artifact-type application/spdx+json' });
  const mediaType = opts.mediaType ?? opts.artifactType;
  checkMediaTypes([
    ...artifactTypeProblems(opts.artifactType),
    ...(opts.mediaType ? descriptorMediaTypeProblems(opts.mediaType, 'layers[0].mediaType') : []),
  ]);
  let bytes: Buffer;
  try {
    bytes = await readFile(path.resolve(session.cwd, opts.file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`${opts.file} does not exist`, { value: opts.file });
    throw err;
  }
  const { repo, ref } = await openRepository(session, opts.reference);
  const subject = await repo.headManifest(manifestReference(ref), { signal: session.signal });
  if (!subject)
    throw new NotFoundError(`${formatReference(ref)} does not exist`, {
      value: opts.reference,
      fix: 'attach to an image that is in the registry',
    });
  const built = buildArtifact({
    artifactType: opts.artifactType,
    files: [{ bytes, mediaType, title: path.basename(opts.file) }],
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
    subject,
  });
  const pushed = await pushArtifact(repo, built, undefined, session.signal);
  const result: AttachResult = {
    reference: formatReference(ref),
    subject: subject.digest,
    digest: pushed.digest,
    artifactType: opts.artifactType,
    via: 'referrers-api',
  };
  // Does the registry list it? If not, the tag schema makes it findable.
  const listing = await listReferrersWithFallback(repo, subject.digest, { signal: session.signal });
  if (listing.via === 'referrers-api' && listing.referrers.some((d) => d.digest === pushed.digest)) return result;
  const reason =
    listing.apiStatus !== undefined
      ? `${ref.registry} answered ${listing.apiStatus} to the referrers API`
      : `${ref.registry} does not list the referrer through its referrers API`;
  const tag = referrersTag(subject.digest);
  await addToReferrersTag(
    repo,
    subject.digest,
    {
      mediaType: built.manifest.mediaType,
      digest: pushed.digest,
      size: built.manifest.bytes.length,
      artifactType: opts.artifactType,
    },
    session.signal,
  );
  session.log.warn(`${reason}: listed the referrer under the tag ${tag} (OCI referrers tag schema)`);
  return { ...result, via: 'tag-schema', tag, reason };
}

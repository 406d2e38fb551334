// ListImageReferrers: ECR's control-plane view of an image's OCI 1.1 referrers. Unlike the
// data plane's referrers API it also sees ARCHIVED referrers, and filters by artifactType on
// the server.
import type { Descriptor } from '../oci/types.js';
import { callEcr, type EcrConnection } from './repositories.js';

/** One referrer as ECR lists it: a descriptor plus its storage status. */
export interface EcrReferrer extends Descriptor {
  /** ACTIVE, ARCHIVED or ACTIVATING. */
  artifactStatus?: string;
}

/** What to list: the subject and optional filters. */
export interface ListReferrersQuery {
  repository: string;
  subjectDigest: string;
  /** Only referrers with one of these artifactTypes. */
  artifactTypes?: readonly string[];
  /** ACTIVE (ECR's default), ARCHIVED, ACTIVATING or ANY. */
  artifactStatus?: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING' | 'ANY';
}

/** Returns every referrer ECR lists for the subject, following nextToken pages. */
export async function listImageReferrers(conn: EcrConnection, q: ListReferrersQuery): Promise<EcrReferrer[]> {
  const { ListImageReferrersCommand } = conn.sdk;
  const out: EcrReferrer[] = [];
  let nextToken: string | undefined;
  do {
    const page = await callEcr(conn, 'ListImageReferrers', `referrers of ${q.repository}@${q.subjectDigest}`, () =>
      conn.client.send(
        new ListImageReferrersCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: q.repository,
          subjectId: { imageDigest: q.subjectDigest },
          ...(q.artifactTypes?.length || q.artifactStatus
            ? {
                filter: {
                  ...(q.artifactTypes?.length ? { artifactTypes: [...q.artifactTypes] } : {}),
                  ...(q.artifactStatus ? { artifactStatus: q.artifactStatus } : {}),
                },
              }
            : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    );
    for (const r of page.referrers ?? []) {
      if (!r.digest || !r.mediaType) continue;
      const d: EcrReferrer = { mediaType: r.mediaType, digest: r.digest, size: r.size ?? 0 };
      if (r.artifactType) d.artifactType = r.artifactType;
      if (r.annotations && Object.keys(r.annotations).length > 0) d.annotations = r.annotations;
      if (r.artifactStatus) d.artifactStatus = r.artifactStatus;
      out.push(d);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

// ECR replication calls behind one adapter: the registry's replication configuration
// (DescribeRegistry / PutReplicationConfiguration), per-destination image replication status,
// and replication backfills. Returns our own types; maps service exceptions to our errors.
import { EcrctlError } from '../errors.js';
import type { ReplicationDestination, ReplicationRule } from '../policy/replication.js';
import { callEcr, type EcrConnection } from './repositories.js';

function registry(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** The registry's replication configuration and the registry (account) id it belongs to. */
export interface ReplicationConfig {
  registryId: string;
  rules: ReplicationRule[];
}

/** Where one image stands at one destination. */
export interface DestinationStatus extends ReplicationDestination {
  status: 'IN_PROGRESS' | 'COMPLETE' | 'FAILED' | string;
  failureCode?: string;
}

// Loosely typed SDK shapes, so no SDK type leaks out of this module.
type SdkRule = {
  destinations?: { region?: string; registryId?: string }[];
  repositoryFilters?: { filter?: string; filterType?: string }[];
};

function toRules(rules: SdkRule[] | undefined): ReplicationRule[] {
  return (rules ?? []).map((r) => {
    const rule: ReplicationRule = {
      destinations: (r.destinations ?? []).map((d) => ({ region: d.region ?? '', registryId: d.registryId ?? '' })),
    };
    if (r.repositoryFilters && r.repositoryFilters.length > 0) {
      rule.repositoryFilters = r.repositoryFilters.map((f) => ({
        filter: f.filter ?? '',
        filterType: f.filterType ?? 'PREFIX_MATCH',
      }));
    }
    return rule;
  });
}

/** Returns the replication configuration (no rules when none is set). */
export async function getReplicationConfiguration(conn: EcrConnection): Promise<ReplicationConfig> {
  const { DescribeRegistryCommand } = conn.sdk;
  const out = await callEcr(conn, 'DescribeRegistry', undefined, () =>
    conn.client.send(new DescribeRegistryCommand({})),
  );
  if (!out.registryId) throw new EcrctlError('DescribeRegistry returned no registryId');
  return { registryId: out.registryId, rules: toRules(out.replicationConfiguration?.rules) };
}

/** Replaces the replication configuration with rules (already checked by the caller). */
export async function putReplicationConfiguration(
  conn: EcrConnection,
  rules: readonly ReplicationRule[],
): Promise<ReplicationRule[]> {
  const { PutReplicationConfigurationCommand } = conn.sdk;
  const out = await callEcr(conn, 'PutReplicationConfiguration', undefined, () =>
    conn.client.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: rules.map((r) => ({
            destinations: r.destinations.map((d) => ({ region: d.region, registryId: d.registryId })),
            ...(r.repositoryFilters
              ? {
                  repositoryFilters: r.repositoryFilters.map((f) => ({
                    filter: f.filter,
                    filterType: 'PREFIX_MATCH' as const,
                  })),
                }
              : {}),
          })),
        },
      }),
    ),
  );
  return toRules(out.replicationConfiguration?.rules);
}

/** Returns the image's digest and its replication status at every destination. */
export async function describeReplicationStatus(
  conn: EcrConnection,
  repository: string,
  image: { tag?: string; digest?: string },
): Promise<{ digest: string; destinations: DestinationStatus[] }> {
  const { DescribeImageReplicationStatusCommand } = conn.sdk;
  const imageId = image.digest ? { imageDigest: image.digest } : { imageTag: image.tag ?? 'latest' };
  const out = await callEcr(
    conn,
    'DescribeImageReplicationStatus',
    `image ${repository}${image.digest ? `@${image.digest}` : `:${image.tag ?? 'latest'}`}`,
    () =>
      conn.client.send(
        new DescribeImageReplicationStatusCommand({ ...registry(conn), repositoryName: repository, imageId }),
      ),
  );
  if (!out.imageId?.imageDigest && !image.digest)
    throw new EcrctlError('DescribeImageReplicationStatus returned no image digest');
  return {
    digest: out.imageId?.imageDigest ?? image.digest ?? '',
    destinations: (out.replicationStatuses ?? []).map((s) => ({
      region: s.region ?? '',
      registryId: s.registryId ?? '',
      status: s.status ?? 'IN_PROGRESS',
      ...(s.failureCode ? { failureCode: s.failureCode } : {}),
    })),
  };
}

/** A replication backfill as ecrctl shows it. */
export interface Backfill {
  id: string;
  destination: ReplicationDestination;
  status: string;
  total: number;
  completed: number;
  failed: number;
  failureCodes: string[];
  failures: { repository: string; digest: string; failureCode: string }[];
}

/** Starts a backfill of existing images to one destination; returns its id and status. */
export async function startBackfill(
  conn: EcrConnection,
  destination: ReplicationDestination,
): Promise<{ id: string; status: string }> {
  const { StartReplicationBackfillCommand } = conn.sdk;
  const out = await callEcr(
    conn,
    'StartReplicationBackfill',
    `destination ${destination.region}:${destination.registryId}`,
    () => conn.client.send(new StartReplicationBackfillCommand({ ...registry(conn), destination })),
  );
  if (!out.replicationBackfillId) throw new EcrctlError('StartReplicationBackfill returned no replicationBackfillId');
  return { id: out.replicationBackfillId, status: out.status ?? 'PREPARING' };
}

/** Returns one backfill's status, progress and failed images. */
export async function describeBackfill(conn: EcrConnection, id: string): Promise<Backfill> {
  const { DescribeReplicationBackfillResultsCommand } = conn.sdk;
  const failures: Backfill['failures'] = [];
  let nextToken: string | undefined;
  let head:
    | {
        status?: string;
        destination?: { region?: string; registryId?: string };
        progress?: {
          totalReplicationCount?: number;
          completedReplicationCount?: number;
          failedReplicationCount?: number;
          failureCodes?: string[];
        };
      }
    | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'DescribeReplicationBackfillResults', `backfill ${id}`, () =>
      conn.client.send(
        new DescribeReplicationBackfillResultsCommand({
          ...registry(conn),
          replicationBackfillId: id,
          resultStatusFilter: 'FAILED',
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    head ??= out;
    for (const r of out.results ?? []) {
      failures.push({
        repository: r.repositoryName ?? '',
        digest: r.imageId?.imageDigest ?? '',
        failureCode: r.failureCode ?? 'UNKNOWN',
      });
    }
    nextToken = out.nextToken;
  } while (nextToken);
  return {
    id,
    destination: { region: head?.destination?.region ?? '', registryId: head?.destination?.registryId ?? '' },
    status: head?.status ?? 'PREPARING',
    total: head?.progress?.totalReplicationCount ?? 0,
    completed: head?.progress?.completedReplicationCount ?? 0,
    failed: head?.progress?.failedReplicationCount ?? 0,
    failureCodes: head?.progress?.failureCodes ?? [],
    failures,
  };
}

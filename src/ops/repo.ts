// repo show / repo set: one repository's settings in one place (what the console spreads over
// five tabs and the AWS CLI over six calls), and changing them without the roundabout
// `create-repo --if-not-exists --apply`.
import { countImages } from '../ecr/images.js';
import { getReplicationConfiguration } from '../ecr/replication.js';
import {
  describeRepository,
  type EnsureResult,
  getLifecyclePolicy,
  getRepositoryPolicy,
  globToRegExp,
  listResourceTags,
  type RepositoryInfo,
  type TagMutability,
  updateRepository,
} from '../ecr/repositories.js';
import { getScanningConfiguration } from '../ecr/scanning.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { ResourceTag } from '../policy/naming.js';
import { formatDestination, ruleCovers } from '../policy/replication.js';
import type { Session } from '../session.js';
import { type Deferred, parseResourceTags, privateSpec } from './create-repo.js';
import { ecrConnection } from './ecr.js';

/** One repository's settings, policies and what registry-wide rules say about it. */
export interface RepositoryDetails extends RepositoryInfo {
  /** Images in the repository (every page of ListImages). */
  imageCount: number;
  /** The lifecycle policy JSON, or null when none is set. */
  lifecyclePolicy: unknown;
  /** The repository policy JSON, or null when none is set. */
  repositoryPolicy: unknown;
  /** Resource tags. */
  resourceTags: ResourceTag[];
  /** The registry scanning rules whose filters match this repository (scan type, frequency). */
  scanning: { scanType: string; rules: { scanFrequency: string; filter: string }[] };
  /** The destinations of the replication rules that cover this repository. */
  replicatesTo: string[];
  /** Parts that could not be read (e.g. AccessDenied on the registry's configuration), with why. */
  unreadable: { part: string; reason: string }[];
}

/** Returns a repository's settings and policies; NotFoundError when it does not exist. */
export async function showRepository(session: Session, opts: { name: string }): Promise<RepositoryDetails> {
  const conn = await ecrConnection(session);
  const info = await describeRepository(conn, opts.name);
  if (!info) throw notFound(opts.name, conn.region, conn.registryId);
  const unreadable: { part: string; reason: string }[] = [];
  // The registry-wide parts need registry permissions a repository owner may lack: say so
  // instead of failing the whole view.
  const optional = async <T>(part: string, read: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      unreadable.push({ part, reason: err instanceof Error ? err.message : String(err) });
      return fallback;
    }
  };
  const [lifecycle, policy, resourceTags, imageCount, scanning, replication] = await Promise.all([
    getLifecyclePolicy(conn, opts.name),
    getRepositoryPolicy(conn, opts.name),
    listResourceTags(conn, info.arn),
    countImages(conn, opts.name),
    optional('scanning configuration', () => getScanningConfiguration(conn), undefined),
    optional('replication configuration', () => getReplicationConfiguration(conn), undefined),
  ]);
  const scanRules = (scanning?.rules ?? []).flatMap((r) =>
    r.filters
      .filter((f) => globToRegExp(f).test(opts.name))
      .slice(0, 1)
      .map((filter) => ({ scanFrequency: r.scanFrequency, filter })),
  );
  return {
    ...info,
    imageCount,
    lifecyclePolicy: lifecycle === undefined ? null : JSON.parse(lifecycle),
    repositoryPolicy: policy === undefined ? null : JSON.parse(policy),
    resourceTags,
    scanning: { scanType: scanning?.scanType ?? 'BASIC', rules: scanRules },
    replicatesTo: (replication?.rules ?? [])
      .filter((r) => ruleCovers(r, opts.name))
      .flatMap((r) => r.destinations.map(formatDestination)),
    unreadable,
  };
}

/** What setRepository accepts: the settings to change; absent ones are left as they are. */
export interface SetRepositoryOptions {
  /** The repository (it must exist: NotFoundError otherwise). */
  name: string;
  tagMutability?: TagMutability;
  /** Tag wildcards excluded from the mutability setting (with an *_WITH_EXCLUSION setting). */
  mutabilityExclusions?: readonly string[];
  scanOnPush?: boolean;
  /** Lifecycle policy JSON (checked as ECR checks it). */
  lifecyclePolicy?: Deferred<string>;
  /** Repository policy JSON (checked as ECR checks it). */
  repositoryPolicy?: Deferred<string>;
  /** Resource tags to add or change, as KEY=VALUE. */
  resourceTags?: readonly string[];
  /** Report the changes; make none. */
  dryRun?: boolean;
}

/** What setRepository did (or, on a dry run, would do). */
export interface SetRepositoryResult extends EnsureResult {
  dryRun: boolean;
}

/**
 * Changes the settings of an existing repository that differ from opts (each checked first:
 * nothing changes when one is wrong). Returns the changes made, or to be made on a dry run.
 */
export async function setRepository(session: Session, opts: SetRepositoryOptions): Promise<SetRepositoryResult> {
  const given =
    opts.tagMutability !== undefined ||
    opts.scanOnPush !== undefined ||
    opts.lifecyclePolicy !== undefined ||
    opts.repositoryPolicy !== undefined ||
    (opts.resourceTags?.length ?? 0) > 0 ||
    (opts.mutabilityExclusions?.length ?? 0) > 0;
  if (!given) {
    throw new UsageError(`nothing to set on ${opts.name}`, {
      fix: 'give a setting, e.g. --tag-mutability IMMUTABLE, --scan-on-push, --lifecycle FILE or --resource-tag k=v',
    });
  }
  const spec = await privateSpec(
    {
      names: [opts.name],
      ...(opts.tagMutability !== undefined ? { tagMutability: opts.tagMutability } : {}),
      ...(opts.mutabilityExclusions ? { mutabilityExclusions: opts.mutabilityExclusions } : {}),
      ...(opts.scanOnPush !== undefined ? { scanOnPush: opts.scanOnPush } : {}),
      ...(opts.lifecyclePolicy !== undefined ? { lifecyclePolicy: opts.lifecyclePolicy } : {}),
      ...(opts.repositoryPolicy !== undefined ? { repositoryPolicy: opts.repositoryPolicy } : {}),
    },
    parseResourceTags(opts.resourceTags ?? []),
  );
  const conn = await ecrConnection(session);
  const info = await describeRepository(conn, opts.name);
  if (!info) throw notFound(opts.name, conn.region, conn.registryId);
  const dryRun = opts.dryRun === true;
  const result = await updateRepository(conn, { ...spec, name: opts.name }, info, { apply: !dryRun });
  if (result.changes.length === 0) session.log.info(`repository ${opts.name} already has these settings`);
  else session.log.info(`${dryRun ? 'would change' : 'changed'} ${opts.name}: ${result.changes.join('; ')}`);
  for (const w of result.warnings) session.log.warn(w);
  return { ...result, status: result.changes.length === 0 ? 'exists' : result.status, dryRun };
}

function notFound(name: string, region: string, registryId: string | undefined): NotFoundError {
  return new NotFoundError(
    `repository ${name} does not exist in ${region}${registryId ? ` (registry ${registryId})` : ''}`,
    {
      value: name,
      fix: '`ecrctl repos` lists the repositories; check --region and --registry-id, or create it with `ecrctl create-repo`',
    },
  );
}

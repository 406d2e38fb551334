// repos: every repository of the registry (all pages), with its settings and, unless told
// not to, how many images it holds (counted a few repositories at a time).
import { countImagesOf } from '../ecr/images.js';
import { settingsFromSession } from '../ecr/aws-config.js';
import { connectEcrPublic, listPublicImages, listPublicRepositories } from '../ecr/public-repositories.js';
import { globToRegExp, listRepositories as listEcrRepositories } from '../ecr/repositories.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

/** What listRepositories accepts. */
export interface ListRepositoriesOptions {
  /** A glob over repository names (`*` any run of characters, `?` one), e.g. `team/*`; default: all. */
  pattern?: string;
  /** Count the images of each repository (one DescribeImages walk each, 8 at a time); default true. */
  count?: boolean;
  /** List the ECR Public repositories of the account instead (us-east-1). */
  public?: boolean;
}

/** One repository with its settings. */
export interface RepositoryRow {
  /** The repository name. */
  name: string;
  /** The repository URI (`<registry>/<name>`). */
  uri: string;
  /** MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION (absent for a public repository). */
  tagMutability?: string;
  /** Wildcard filters of the *_WITH_EXCLUSION settings (absent for a public repository). */
  mutabilityExclusions?: string[];
  /** Whether images are scanned when pushed (absent for a public repository). */
  scanOnPush?: boolean;
  /** AES256, KMS or KMS_DSSE (absent for a public repository). */
  encryption?: string;
  /** The KMS key, for KMS encryption with a key of your own. */
  kmsKey?: string;
  /** When the repository was created. */
  createdAt?: Date;
  /** The number of images (absent when not counted). */
  imageCount?: number;
}

/** The repositories of the registry. */
export interface ListRepositoriesResult {
  /** Sorted by name. */
  repositories: RepositoryRow[];
}

/** Lists the repositories of the session's default registry; logs when none match. */
export async function listRepositories(
  session: Session,
  opts: ListRepositoriesOptions = {},
): Promise<ListRepositoriesResult> {
  const { pattern } = opts;
  if (opts.public) return listPublic(session, opts);
  const conn = await ecrConnection(session);
  const match = pattern ? globToRegExp(pattern) : undefined;
  const found = (await listEcrRepositories(conn)).filter((r) => !match || match.test(r.name));
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let counts: Map<string, number> | undefined;
  if (opts.count !== false && found.length > 0) {
    counts = await countImagesOf(
      conn,
      found.map((r) => r.name),
    );
  }
  const rows: RepositoryRow[] = found.map((r) => {
    const row: RepositoryRow = {
      name: r.name,
      uri: r.uri,
      tagMutability: r.tagMutability,
      mutabilityExclusions: r.mutabilityExclusions,
      scanOnPush: r.scanOnPush,
      encryption: r.encryption.type,
    };
    if (r.encryption.kmsKey) row.kmsKey = r.encryption.kmsKey;
    if (r.createdAt) row.createdAt = r.createdAt;
    const n = counts?.get(r.name);
    if (n !== undefined) row.imageCount = n;
    return row;
  });
  if (rows.length === 0)
    session.log.info(pattern ? `no repository matches '${pattern}'` : 'the registry has no repositories');
  return { repositories: rows };
}

/** The ECR Public repositories of the account (names, URIs, creation times, image counts). */
async function listPublic(session: Session, opts: ListRepositoriesOptions): Promise<ListRepositoriesResult> {
  const conn = await connectEcrPublic(
    settingsFromSession(session),
    session.aws.registryId ? { registryId: session.aws.registryId } : {},
  );
  const match = opts.pattern ? globToRegExp(opts.pattern) : undefined;
  const found = (await listPublicRepositories(conn)).filter((r) => !match || match.test(r.name));
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rows: RepositoryRow[] = found.map((r) => ({
    name: r.name,
    uri: r.uri,
    ...(r.createdAt ? { createdAt: r.createdAt } : {}),
  }));
  if (opts.count !== false) {
    // 8 repositories at a time, as for private ones.
    for (let i = 0; i < rows.length; i += 8) {
      await Promise.all(
        rows.slice(i, i + 8).map(async (row) => {
          row.imageCount = (await listPublicImages(conn, row.name)).length;
        }),
      );
    }
  }
  if (rows.length === 0)
    session.log.info(
      opts.pattern ? `no public repository matches '${opts.pattern}'` : 'the account has no public repositories',
    );
  return { repositories: rows };
}

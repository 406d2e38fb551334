// `sync`: whole repositories and registries, declared in a config file (src/policy/sync-config.ts).
// planSync resolves every source (a repository, or every repository under a prefix through
// the registry catalog or DescribeRepositories), filters its tags and compares each with the
// target by digest using HEAD requests only; applySync then runs the plan through the copy op
// (which paces PutImage per repository), creates missing ECR repositories, keeps going past
// a failing tag or repository, and journals every completed tag (append-only, fsync'd) so a
// rerun after a kill redoes nothing that completed; checkSync says what is stale.
import { getMaxListeners, setMaxListeners } from 'node:events';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AuthError, EcrctlError, HttpStatusError, InterruptedError, NotFoundError, UsageError } from '../errors.js';
import { type RegistryAccessConfig, registryHostNames } from '../config/project-config.js';
import { parseEcrHost, registryHostOf } from '../ecr/hosts.js';
import {
  type EcrConnection,
  describeRepository,
  ensureRepository,
  listRepositories,
  type RepositorySpec,
} from '../ecr/repositories.js';
import type { CreationTemplate } from '../ecr/templates.js';
import { findPlatform, manifestKind, parseManifest, parsePlatform } from '../oci/copy.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { parseReference } from '../oci/reference.js';
import type { RegistryRepository } from '../oci/registry.js';
import {
  DockerConfigCredentials,
  type RegistryCredential,
  type RegistryCredentialProvider,
} from '../oci/transport/credentials.js';
import type { ImageIndex } from '../oci/types.js';
import { assertRepositoryName } from '../policy/naming.js';
import {
  filterTags,
  parseShard,
  type RepositorySettings,
  repositoryAllowed,
  type Shard,
  type SideCredentials,
  type SyncConfig,
  type SyncEntry,
  shardOf,
} from '../policy/sync-config.js';
import type { Session } from '../session.js';
import {
  defaultRegistryHost,
  ecrConnection,
  ecrTarget,
  isEcrDataPlane,
  registryClient,
  sessionWithAccess,
} from './ecr.js';
import { BlobJournal, copySyncImage, journalKey, syncPacing } from './sync-copy.js';
import {
  checkOciDir,
  copyOciImage,
  isOciSide,
  ociRepositoriesUnder,
  ociRepositoryDir,
  ociRoot,
  readOciTarget,
} from './sync-oci.js';
import { OciLayout } from '../oci/layout/oci-dir.js';
import { excludeFromPullTime, loadSyncLifecycles } from './sync-settings.js';
import { formatBytes, plural } from '../text.js';

/** What planSync, applySync and checkSync accept. */
export interface SyncOptions {
  /** The parsed config (parseSyncConfig from src/policy/sync-config.ts). */
  config: SyncConfig;
  /** Only the target repositories of this slice (`2/3` or `{ index: 2, count: 3 }`). */
  shard?: Shard | string;
  /** Repositories planned or synced at once, 1 to 64 (default 4). */
  concurrency?: number;
  /**
   * A directory for the journal of completed tags (apply creates it when missing; plan and
   * check only read it). With it, the image a tag was synced as is known without re-reading
   * the source index (one platform of a multi-platform image).
   */
  state?: string;
}

/** What applySync accepts beyond the plan's options. */
export interface SyncApplyOptions extends SyncOptions {
  /** Plan, and report what would be done, but write nothing. */
  dryRun?: boolean;
  /** Blobs in flight per image, 1 to 64 (default 4). */
  blobConcurrency?: number;
  /**
   * Copy an image only when a Notary signature of it verifies against this trust (each
   * image that does not is a failure at stage verify; the rest goes on).
   */
  requireSigned?: import('./verify.js').TrustOptions;
  /**
   * Log a progress line (`session.log.info`: repositories done/total, tags copied, bytes sent)
   * when the copying starts and then every this many milliseconds, so a CI log shows life
   * during a long run. 0 or absent: none (the CLI turns it on, every 30 s, when stderr is not
   * a terminal).
   */
  heartbeat?: number;
  /**
   * Called as the copying goes (after each image, repository and blob) with the totals so
   * far: what a terminal progress line shows.
   */
  onProgress?: (progress: SyncProgress) => void;
}

/** How far an apply is: repositories and tags done of their totals, bytes sent, time spent. */
export interface SyncProgress {
  repositories: { done: number; total: number };
  /** Tags copied or failed (done) of those to copy or overwrite (total). */
  tags: { done: number; failed: number; total: number };
  bytes: number;
  elapsedMs: number;
}

/** What happens to one tag. */
export interface SyncTag {
  tag: string;
  /** copy: absent at the target; overwrite: the target tag points elsewhere; skip: nothing to do. */
  action: 'copy' | 'overwrite' | 'skip';
  /** Why a tag is skipped: the target has the image already, or `existing: skip` keeps its image. */
  reason?: 'up-to-date' | 'kept';
  /** The source manifest's digest (from a HEAD). */
  sourceDigest: string;
  /** The digest the target should hold (the platform's manifest when one platform is synced). */
  wantDigest: string;
  /** What the target tag points at now, when it exists. */
  targetDigest?: string;
  /** `existing: backup`: the tag the target's current image gets before it is overwritten. */
  backupTag?: string;
}

/** One target repository of the plan. */
export interface SyncRepository {
  /** The `sync:` entry it comes from (index from 0). */
  entry: number;
  /** `host/repository` of the source and the target. */
  source: string;
  target: string;
  /** The shard (1-based, of the run's shard count, 1 without --shard) it belongs to. */
  shard: number;
  /** The target is an ECR repository that does not exist yet. */
  create: boolean;
  /**
   * The prefix of the target's CREATE_ON_PUSH creation template that covers it ('ROOT' for
   * the catch-all), when one does: a created repository takes the template's settings (the
   * entry's `repository:` settings override them).
   */
  template?: string;
  /**
   * The lifecycle policy a created repository gets from the entry's `repository.lifecycle`
   * (as written: `preset:…` or a file), overriding the template's.
   */
  lifecycle?: string;
  tags: SyncTag[];
}

/** Where a failure happened. */
export type SyncStage =
  | 'resolve'
  | 'list-repositories'
  | 'list-tags'
  | 'compare'
  | 'create-repository'
  | 'verify'
  | 'backup'
  | 'copy';

/** Something that could not be planned or synced; the rest went on. */
export interface SyncFailure {
  /** The source (`host/repository`, or the entry's source for a listing failure). */
  source: string;
  /** The target repository, when known. */
  target?: string;
  /** The tags concerned (none: the whole repository or entry). */
  tags?: string[];
  stage: SyncStage;
  /** The error kind (`NotFoundError`, `AuthError`, `HttpStatusError`…) and its exit code. */
  kind: string;
  exitCode: number;
  message: string;
  rule?: string;
  fix?: string;
}

export interface SyncCounts {
  repositories: number;
  /** Repositories to create. */
  create: number;
  tags: number;
  copy: number;
  overwrite: number;
  skip: number;
  failures: number;
}

/** What planSync returns: what would move, and what could not be planned. */
export interface SyncPlan {
  config: string;
  shard?: Shard;
  repositories: SyncRepository[];
  failures: SyncFailure[];
  counts: SyncCounts;
}

/** One image written at a target. */
export interface SyncSuccess {
  source: string;
  target: string;
  digest: string;
  tags: string[];
  action: 'copied' | 'overwritten';
}

/** A target image kept under a backup tag before its tag was overwritten (`existing: backup`). */
export interface SyncBackup {
  target: string;
  /** The tag that was overwritten. */
  tag: string;
  /** The tag the old image is now reachable under. */
  backupTag: string;
  /** The old image's digest. */
  digest: string;
}

/** What applySync returns. */
export interface SyncApplyResult {
  config: string;
  shard?: Shard;
  dryRun: boolean;
  /** The journal file written (with `state`). */
  journal?: string;
  /** Repositories created (`host/repository`). */
  created: string[];
  copied: SyncSuccess[];
  /** Old images kept under backup tags before their tags were overwritten. */
  backups: SyncBackup[];
  /** Tags left as they were (up to date, or kept by `existing: skip`). */
  skipped: number;
  failures: SyncFailure[];
  /** The plan's counts; after a dry run nothing was done. */
  counts: SyncCounts & { copiedTags: number; failedTags: number };
}

/** A tag whose target is not what the source says (what apply would write). */
export interface StaleTag {
  source: string;
  target: string;
  tag: string;
  action: 'copy' | 'overwrite';
  sourceDigest: string;
  targetDigest?: string;
}

/** What checkSync returns. */
export interface SyncCheckResult {
  config: string;
  shard?: Shard;
  stale: StaleTag[];
  failures: SyncFailure[];
  counts: SyncCounts;
}

interface Task {
  /** The run's session, or one with the entry's per-side credentials. */
  session: Session;
  entry: SyncEntry;
  sourceHost: string;
  sourceRepo: string;
  targetHost: string;
  targetRepo: string;
}

interface JournalRecord {
  target: string;
  tag: string;
  sourceDigest: string;
  targetDigest: string;
}

/** The journal of completed tags: JSON lines, appended and fsync'd one by one. */
class Journal {
  readonly file: string;
  readonly #done = new Map<string, JournalRecord>();
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    this.file = file;
  }

  /**
   * Loads every journal of this config in dir (all shards), and names this run's file. Only a
   * run that writes creates dir; a plan reads what is there.
   */
  static async open(dir: string, configFile: string, shard: Shard | undefined, write: boolean): Promise<Journal> {
    if (write) await mkdir(dir, { recursive: true });
    const key = journalKey(configFile);
    const j = new Journal(path.join(dir, `${key}${shardSuffix(shard)}.jsonl`));
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && !write) return [];
      throw err;
    });
    for (const name of names) {
      // Blob records (sync-copy.ts) have files of their own.
      if (!name.startsWith(key) || !name.endsWith('.jsonl') || name.endsWith('.blobs.jsonl')) continue;
      for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
        try {
          const r = JSON.parse(line) as JournalRecord;
          if (typeof r.target === 'string' && typeof r.tag === 'string') j.#done.set(`${r.target}:${r.tag}`, r);
        } catch {
          // An empty line, or the torn last line of a killed run: what it said was not complete.
        }
      }
    }
    return j;
  }

  get(target: string, tag: string): JournalRecord | undefined {
    return this.#done.get(`${target}:${tag}`);
  }

  /** Appends a record and waits until it is on disk. */
  record(r: JournalRecord): Promise<void> {
    this.#done.set(`${r.target}:${r.tag}`, r);
    const line = `${JSON.stringify({ ...r, at: new Date().toISOString() })}\n`;
    const turn = this.#queue.then(async () => {
      const fh = await open(this.file, 'a+');
      try {
        // A killed run may have left half a line: start on a fresh one.
        const { size } = await fh.stat();
        let prefix = '';
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        await fh.appendFile(prefix + line);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }
}

/** Returns the journal file-name suffix of a shard (`-shard-2-of-3`; '' without one). */
function shardSuffix(shard: Shard | undefined): string {
  return shard ? `-shard-${shard.index}-of-${shard.count}` : '';
}

/** Runs fn over items, at most n at a time; resolves when all are done. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

function checkCount(n: number | undefined, name: string): number {
  const v = n ?? 4;
  if (!Number.isInteger(v) || v < 1 || v > 64)
    throw new UsageError(`${name} must be a whole number from 1 to 64`, { value: String(n) });
  return v;
}

/** Returns err as a failure record (rethrowing an interruption: that ends the run). */
function failure(
  session: Session,
  err: unknown,
  where: Omit<SyncFailure, 'kind' | 'exitCode' | 'message'>,
): SyncFailure {
  if (session.signal.aborted || err instanceof InterruptedError) throw err;
  const e = err instanceof EcrctlError ? err : undefined;
  return {
    ...where,
    kind: e ? e.name : err instanceof Error ? err.name : 'Error',
    exitCode: e ? e.exitCode : 1,
    message: session.secrets.redact(err instanceof Error ? err.message : String(err)),
    ...(e?.rule ? { rule: e.rule } : {}),
    ...(e?.fix ? { fix: e.fix } : {}),
  };
}

/** Returns host and path of a repository or prefix (`host/a/b`, `a/b`: the default ECR registry). */
async function splitSide(session: Session, text: string, prefix: boolean): Promise<{ host: string; path: string }> {
  if (!prefix) {
    const ref = parseReference(text);
    if (ref.tag !== undefined || ref.digest !== undefined) {
      throw new UsageError(`${text} names a tag or digest; a sync source or target is a repository`, {
        value: text,
        fix: 'write host/repository and choose tags with tags.allow',
      });
    }
    return { host: ref.registry || (await defaultRegistryHost(session)), path: ref.repository };
  }
  const first = text.split('/')[0] ?? '';
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { host: first, path: text.slice(first.length + 1) };
  }
  return { host: await defaultRegistryHost(session), path: text };
}

/**
 * Returns the repositories under a prefix, as paths relative to it: DescribeRepositories for
 * an ECR registry, the catalog for others (and for a loopback registry while an ECR endpoint
 * such as ecrctl local is in play: the emulator has no catalog, so its API is asked then).
 */
async function repositoriesUnder(session: Session, host: string, prefix: string): Promise<string[]> {
  const viaEcr = async () => {
    const ecr = await ecrTarget(session, host);
    if (!ecr) return undefined;
    return (await listRepositories(await ecrConnection(session, ecr))).map((r) => r.name);
  };
  let names: string[] | undefined;
  if (parseEcrHost(host)?.kind === 'private') names = await viaEcr();
  else {
    try {
      names = await (await registryClient(session)).catalog(host, { signal: session.signal });
    } catch (err) {
      // Only a registry that answered (404, 401, 403: no catalog here) may be the emulator.
      const answered = err instanceof NotFoundError || err instanceof AuthError || err instanceof HttpStatusError;
      names = answered ? await viaEcr().catch(() => undefined) : undefined;
      if (!names) throw err;
    }
  }
  const under = prefix === '' ? '' : `${prefix}/`;
  return (names ?? []).filter((n) => n.startsWith(under) && n.length > under.length).map((n) => n.slice(under.length));
}

/** Resolves every entry to (source repository, target repository) tasks; listing failures are recorded. */
async function resolveTasks(session: Session, config: SyncConfig, failures: SyncFailure[]): Promise<Task[]> {
  const tasks: Task[] = [];
  const seen = new Map<string, number>();
  for (const entry of config.entries) {
    let found: Task[] = [];
    try {
      // An oci:DIR/ source: every layout under DIR is a repository, its ref names the tags.
      const src = isOciSide(entry.source)
        ? { host: `oci:${ociRoot(session, entry.source)}`, path: '' }
        : await splitSide(sideSession(session, entry.credentials.source), entry.source, entry.prefix);
      // An oci:DIR/ target: the host is the directory (`oci:/abs/dir`), each repository a layout.
      const tgt = isOciSide(entry.target)
        ? { host: `oci:${ociRoot(session, entry.target)}`, path: '' }
        : await splitSide(sideSession(session, entry.credentials.target), entry.target, entry.prefix);
      if (isOciSide(tgt.host)) await checkOciDir(tgt.host.slice(4), 'the oci: target');
      const s = await entrySession(session, config.file, entry, src.host, tgt.host);
      if (!entry.prefix) {
        found = [
          { session: s, entry, sourceHost: src.host, sourceRepo: src.path, targetHost: tgt.host, targetRepo: tgt.path },
        ];
      } else {
        let names: string[];
        try {
          names = isOciSide(src.host)
            ? await ociRepositoriesUnder(src.host.slice(4))
            : await repositoriesUnder(s, src.host, src.path);
        } catch (err) {
          failures.push(failure(session, err, { source: `${entry.source}/`, stage: 'list-repositories' }));
          continue;
        }
        found = names
          .filter((n) => repositoryAllowed(n, entry.repositories))
          .sort()
          .map((n) => ({
            session: s,
            entry,
            sourceHost: src.host,
            sourceRepo: src.path ? `${src.path}/${n}` : n,
            targetHost: tgt.host,
            targetRepo: tgt.path ? `${tgt.path}/${n}` : n,
          }));
      }
    } catch (err) {
      failures.push(failure(session, err, { source: entry.source, target: entry.target, stage: 'resolve' }));
      continue;
    }
    for (const t of found) {
      const key = `${t.targetHost}/${t.targetRepo}`;
      const first = seen.get(key);
      if (first !== undefined) {
        failures.push({
          source: `${t.sourceHost}/${t.sourceRepo}`,
          target: key,
          stage: 'resolve',
          kind: 'RuleViolation',
          exitCode: 3,
          message: `${key} is already the target of sync[${first}] (${config.entries[first]?.source}); sync[${entry.index}] leaves it alone`,
          fix: 'give each entry its own target repositories',
        });
        continue;
      }
      seen.set(key, entry.index);
      tasks.push(t);
    }
  }
  return tasks;
}

/** Returns the AWS side of side credentials as a `registries:` entry for host (any host when omitted). */
function awsAccess(side: SideCredentials, host?: string): RegistryAccessConfig {
  return {
    at: side.at,
    ...(host !== undefined ? { match: registryHostOf(host) } : {}),
    ...(side.profile ? { profile: side.profile } : {}),
    ...(side.roleArn ? { roleArn: side.roleArn } : {}),
    ...(side.externalId ? { externalId: side.externalId } : {}),
  };
}

function isAwsSide(side: SideCredentials | undefined): boolean {
  return side !== undefined && (side.profile !== undefined || side.roleArn !== undefined);
}

/** Returns the session that resolves a side's short names (`team/app`): its profile's or role's default registry. */
function sideSession(session: Session, side: SideCredentials | undefined): Session {
  return side && isAwsSide(side) ? sessionWithAccess(session, { defaultRegistry: awsAccess(side) }) : session;
}

/**
 * Returns the session an entry's work runs in: the run's own when the entry names no
 * credentials, else one whose registry client and ECR connections use the entry's source
 * credentials for the source host and its target credentials for the target host (other
 * hosts, and other entries, keep the session's). Throws when a side's credentials cannot be
 * used (a passwordEnv variable that is not set, a Docker config that is not there, a profile
 * for a registry that is not ECR).
 */
async function entrySession(
  session: Session,
  configFile: string,
  entry: SyncEntry,
  sourceHost: string,
  targetHost: string,
): Promise<Session> {
  const { source, target } = entry.credentials;
  if (!source && !target) return session;
  if (source && target && registryHostOf(sourceHost) === registryHostOf(targetHost)) {
    throw new UsageError(
      `sync[${entry.index}] names source and target credentials for one registry host (${registryHostOf(sourceHost)})`,
      {
        rule: 'credentials are chosen per registry host; one host gets one set',
        value: registryHostOf(sourceHost),
        fix: 'name credentials for one side only (the other uses the same host)',
      },
    );
  }
  const registries: RegistryAccessConfig[] = [];
  const providers: { names: string[]; provider: RegistryCredentialProvider }[] = [];
  for (const [name, side, host] of [
    ['source', source, sourceHost],
    ['target', target, targetHost],
  ] as const) {
    if (!side) continue;
    const names = registryHostNames(registryHostOf(host));
    if (isAwsSide(side)) {
      if (!(await isEcrDataPlane(session, host))) {
        throw new UsageError(`${side.at}: ${name} credentials name an AWS profile or role, but ${host} is not ECR`, {
          rule: 'profile and roleArn sign in to ECR registries',
          value: host,
          fix: 'use dockerConfig, or username + passwordEnv, for other registries',
        });
      }
      registries.push(awsAccess(side, host));
    } else if (side.dockerConfig !== undefined) {
      const base = path.dirname(path.resolve(session.cwd, configFile));
      let dir = path.resolve(base, side.dockerConfig);
      if (dir.endsWith('.json')) {
        if (path.basename(dir) !== 'config.json') {
          throw new UsageError(`${side.at}: dockerConfig names ${dir}; a Docker config file is called config.json`, {
            value: side.dockerConfig,
            fix: 'name the directory that holds config.json (as DOCKER_CONFIG does)',
          });
        }
        dir = path.dirname(dir);
      }
      const found = await stat(path.join(dir, 'config.json')).catch(() => undefined);
      if (!found?.isFile()) {
        throw new NotFoundError(`${side.at}: no Docker config at ${path.join(dir, 'config.json')}`, {
          rule: `${name} credentials: dockerConfig names a directory holding config.json`,
          value: side.dockerConfig,
          fix: 'log in with DOCKER_CONFIG pointing there (`docker login`), or fix the path',
        });
      }
      const docker = new DockerConfigCredentials({
        env: { ...session.env, DOCKER_CONFIG: dir },
        onSecret: (s) => session.secrets.add(s),
      });
      providers.push({ names, provider: docker });
    } else if (side.username !== undefined && side.passwordEnv !== undefined) {
      const password = session.env[side.passwordEnv];
      if (!password) {
        throw new AuthError(
          `${side.at}: the environment variable ${side.passwordEnv} (the ${name} password for ${registryHostOf(host)}) is not set`,
          {
            rule: 'passwordEnv names an environment variable that holds the password',
            value: side.passwordEnv,
            fix: `set ${side.passwordEnv} in the environment of ecrctl sync (e.g. from a CI secret)`,
          },
        );
      }
      session.secrets.add(password);
      const credential: RegistryCredential = { username: side.username, password };
      providers.push({ names, provider: { get: async () => credential } });
    }
    session.log.verbose(`sync[${entry.index}]: ${name} ${registryHostOf(host)} uses the credentials of ${side.at}`);
  }
  // Each provider answers only for its own side's host; every other host falls through.
  const credentials: RegistryCredentialProvider = {
    async get(host) {
      const names = registryHostNames(registryHostOf(host));
      const p = providers.find((x) => x.names.some((n) => names.includes(n)));
      return p ? p.provider.get(host) : undefined;
    },
    invalidate(host) {
      const names = registryHostNames(registryHostOf(host));
      providers.find((x) => x.names.some((n) => names.includes(n)))?.provider.invalidate?.(host);
    },
  };
  return sessionWithAccess(session, { registries, ...(providers.length > 0 ? { credentials } : {}) });
}

const ecrConnections = new WeakMap<Session, Map<string, Promise<EcrConnection | undefined>>>();

/** Returns the ECR API connection of a target host, or undefined when the host is not ECR. */
function targetConnection(session: Session, host: string): Promise<EcrConnection | undefined> {
  let byHost = ecrConnections.get(session);
  if (!byHost) {
    byHost = new Map();
    ecrConnections.set(session, byHost);
  }
  let conn = byHost.get(host);
  if (!conn) {
    conn = ecrTarget(session, host).then((t) => (t ? ecrConnection(session, t) : undefined));
    byHost.set(host, conn);
  }
  return conn;
}

/** Returns the digest the target should hold for a source manifest: the image of the one platform synced, or the manifest itself. */
async function wantedDigest(
  src: Pick<RegistryRepository, 'getManifest' | 'displayName'>,
  head: { digest: string; mediaType: string },
  entry: SyncEntry,
  journaled: JournalRecord | undefined,
  signal: AbortSignal,
): Promise<string> {
  if (entry.platforms === 'all' || !isIndexMediaType(head.mediaType)) return head.digest;
  if (journaled?.sourceDigest === head.digest) return journaled.targetDigest;
  const m = await src.getManifest(head.digest, { signal });
  const doc = parseManifest(m);
  if (manifestKind(m, doc) !== 'index') return m.digest;
  const want = parsePlatform(entry.platforms[0]!);
  const found = findPlatform((doc as ImageIndex).manifests, want);
  if (!found) throw new NotFoundError(`${src.displayName}@${head.digest} has no ${entry.platforms[0]} image`);
  return found.digest;
}

/**
 * Returns the tags whose image was pushed within the entry's `tags.since` window (all tags
 * without one): DescribeImages' imagePushedAt, so no manifest is read. Other registries do
 * not say when an image was pushed: UsageError.
 */
async function pushedSince(session: Session, task: Task, tags: string[]): Promise<string[]> {
  const since = task.entry.tags.since;
  if (!since) return tags;
  const ecr = await ecrTarget(session, task.sourceHost);
  const notEcr = () =>
    new UsageError(
      `tags.since: ${task.sourceHost} is not ECR; only ECR says when an image was pushed (DescribeImages)`,
      {
        rule: 'tags.since needs an ECR source',
        value: since.text,
        fix: 'choose tags with tags.newest: N, tags.semver or tags.allow instead',
      },
    );
  if (!ecr) throw notEcr();
  const { listImages } = await import('../ecr/images.js');
  const cutoff = Date.now() - since.ms;
  const recent = new Set<string>();
  const images = await listImages(await ecrConnection(session, ecr), task.sourceRepo, { tagStatus: 'TAGGED' }).catch(
    (err: unknown) => {
      // A loopback registry whose tags were just listed but which ECR (ecrctl local) does not
      // know is another registry beside the emulator.
      if (err instanceof NotFoundError && parseEcrHost(task.sourceHost) === undefined) throw notEcr();
      throw err;
    },
  );
  for (const image of images) {
    if (image.pushedAt && image.pushedAt.getTime() >= cutoff) for (const t of image.tags) recent.add(t);
  }
  return tags.filter((t) => recent.has(t));
}

/** A referrers tag-schema tag (`sha256-<64 hex>`, with an optional `.suffix`). */
const REFERRER_TAG = /^sha256-[0-9a-f]{64}(\.[\w.-]+)?$/;

/** The creation template each planned repository is created with. */
const repositoryTemplates = new WeakMap<SyncRepository, CreationTemplate>();
const templateLists = new WeakMap<EcrConnection, Promise<CreationTemplate[]>>();

/**
 * Returns the CREATE_ON_PUSH creation template of the target's registry that covers a
 * repository, or undefined (none, or the caller may not read templates). The list is read
 * once per connection.
 */
async function templateFor(session: Session, host: string, repository: string): Promise<CreationTemplate | undefined> {
  const conn = await targetConnection(session, host);
  if (!conn) return undefined;
  let list = templateLists.get(conn);
  if (!list) {
    const { listTemplates } = await import('../ecr/templates.js');
    list = listTemplates(conn).catch((err: unknown) => {
      // Without ecr:DescribeRepositoryCreationTemplates the entry's settings are all there is.
      if (err instanceof AuthError) return [];
      throw err;
    });
    templateLists.set(conn, list);
  }
  const { templateForRepository } = await import('../policy/replication.js');
  return templateForRepository(await list, repository, 'CREATE_ON_PUSH');
}

/** The layout directory of each task and planned repository with an oci:DIR/ target. */
const ociDirs = new WeakMap<Task, string>();
const repositoryOciDirs = new WeakMap<SyncRepository, string>();
/** The layout each task and planned repository with an oci:DIR/ source reads from. */
const ociSources = new WeakMap<Task, OciLayout>();
const repositoryOciSources = new WeakMap<SyncRepository, OciLayout>();

/** The session each planned repository is synced with (its entry's credentials). */
const repositorySessions = new WeakMap<SyncRepository, Session>();

/** Plans one repository: its tags, filtered, each compared with the target by HEAD. */
async function planRepository(
  session: Session,
  task: Task,
  shard: number,
  journal: Journal | undefined,
  failures: SyncFailure[],
  stamp: string,
): Promise<SyncRepository | undefined> {
  const { signal } = session;
  const client = await registryClient(session);
  const source = `${task.sourceHost}/${task.sourceRepo}`;
  const target = `${task.targetHost}/${task.targetRepo}`;
  const ociSource = isOciSide(task.sourceHost) ? path.join(task.sourceHost.slice(4), task.sourceRepo) : undefined;
  let src: RegistryRepository | OciLayout;
  const ociDir = isOciSide(task.targetHost) ? task.targetHost.slice(4) : undefined;
  // An oci: target is read through its layout (below); this registry handle is never used then.
  const tgt = client.repository(ociDir ? '127.0.0.1' : task.targetHost, task.targetRepo);
  let layout: Awaited<ReturnType<typeof readOciTarget>>;
  let tags: string[];
  let create = false;
  let present = new Set<string>();
  try {
    // A registry without the referrers API keeps referrers under `sha256-<hex>` tags (the
    // tag schema): they travel with their subject image, they are not images to sync.
    src = ociSource
      ? await OciLayout.open(ociSource, { displayName: `oci:${ociSource}` })
      : client.repository(task.sourceHost, task.sourceRepo);
    if (src instanceof OciLayout) ociSources.set(task, src);
    const listed = (await src.listTags({ signal })).filter((t) => !task.entry.referrers || !REFERRER_TAG.test(t));
    tags = filterTags(await pushedSince(session, task, listed), task.entry.tags);
  } catch (err) {
    failures.push(failure(session, err, { source, target, stage: 'list-tags' }));
    return undefined;
  }
  try {
    if (ociDir) {
      // The layout on disk is all there is to compare with: no request towards the target.
      const dir = ociRepositoryDir(ociDir, task.targetRepo);
      ociDirs.set(task, dir);
      layout = await readOciTarget(dir);
      present = new Set(layout ? await layout.listTags() : []);
    } else {
      const conn = await targetConnection(session, task.targetHost);
      if (conn && !(await describeRepository(conn, task.targetRepo))) create = true;
      else present = new Set(await tgt.listTags({ signal }));
    }
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      failures.push(failure(session, err, { source, target, stage: 'list-tags' }));
      return undefined;
    }
  }
  let template: CreationTemplate | undefined;
  if (create) {
    try {
      template = await templateFor(session, task.targetHost, task.targetRepo);
    } catch (err) {
      failures.push(failure(session, err, { source, target, stage: 'list-tags' }));
      return undefined;
    }
  }
  const out: SyncRepository = {
    entry: task.entry.index,
    source,
    target,
    shard,
    create,
    ...(template ? { template: template.prefix } : {}),
    ...(create && task.entry.repository.lifecycle ? { lifecycle: task.entry.repository.lifecycle.source } : {}),
    tags: [],
  };
  if (template) repositoryTemplates.set(out, template);
  const dir = ociDirs.get(task);
  if (dir) repositoryOciDirs.set(out, dir);
  const layoutSource = ociSources.get(task);
  if (layoutSource) repositoryOciSources.set(out, layoutSource);
  repositorySessions.set(out, session);
  for (const tag of tags) {
    try {
      const head = await src.headManifest(tag, { signal });
      if (!head) throw new NotFoundError(`${source}:${tag} is listed but has no manifest`);
      const journaled = journal?.get(target, tag);
      const wantDigest = await wantedDigest(src, head, task.entry, journaled, signal);
      const targetDigest = present.has(tag) ? (await (layout ?? tgt).headManifest(tag, { signal }))?.digest : undefined;
      const t: SyncTag = { tag, action: 'copy', sourceDigest: head.digest, wantDigest };
      if (targetDigest !== undefined) {
        t.targetDigest = targetDigest;
        if (targetDigest === wantDigest) Object.assign(t, { action: 'skip', reason: 'up-to-date' });
        else if (task.entry.existing === 'skip') Object.assign(t, { action: 'skip', reason: 'kept' });
        else {
          t.action = 'overwrite';
          if (task.entry.existing === 'backup') t.backupTag = `${tag}-backup-${stamp}`;
        }
      }
      out.tags.push(t);
    } catch (err) {
      failures.push(failure(session, err, { source, target, tags: [tag], stage: 'compare' }));
    }
  }
  return out;
}

function countsOf(repositories: readonly SyncRepository[], failures: readonly SyncFailure[]): SyncCounts {
  const all = repositories.flatMap((r) => r.tags);
  return {
    repositories: repositories.length,
    create: repositories.filter((r) => r.create).length,
    tags: all.length,
    copy: all.filter((t) => t.action === 'copy').length,
    overwrite: all.filter((t) => t.action === 'overwrite').length,
    skip: all.filter((t) => t.action === 'skip').length,
    failures: failures.length,
  };
}

async function planWith(
  session: Session,
  opts: SyncOptions,
  journal: Journal | undefined,
  pullTime = false,
): Promise<SyncPlan> {
  const shard = typeof opts.shard === 'string' ? parseShard(opts.shard) : opts.shard;
  const concurrency = checkCount(opts.concurrency, 'concurrency');
  // Lifecycle policy files are checked before any request: a broken one stops the run.
  await loadSyncLifecycles(session, opts.config);
  const failures: SyncFailure[] = [];
  // One backup suffix for the whole run (UTC yyyymmddHHMMSS), so its backups are found together.
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const tasks = await resolveTasks(session, opts.config, failures);
  const principal = opts.config.defaults.pullTimeExclusion;
  if (pullTime && principal) {
    // Listing repositories (DescribeRepositories, the catalog) records no pull; manifest reads
    // from here on do, unless the principal is on each registry's exclusion list first.
    const registries: { name: string; conn: EcrConnection }[] = [];
    for (const t of tasks) {
      for (const host of [t.sourceHost, t.targetHost]) {
        if (isOciSide(host)) continue;
        const conn = await targetConnection(t.session, host).catch(() => undefined);
        if (conn) registries.push({ name: host, conn });
      }
    }
    await excludeFromPullTime(session, principal, registries);
  }
  const mine = tasks
    .map((t) => ({ t, shard: shard ? shardOf(t.targetRepo, shard.count) : 1 }))
    .filter((x) => !shard || x.shard === shard.index);
  const planned: (SyncRepository | undefined)[] = new Array(mine.length);
  let i = 0;
  const indexed = mine.map((x) => ({ ...x, i: i++ }));
  await pool(indexed, concurrency, async (x) => {
    planned[x.i] = await planRepository(x.t.session, x.t, x.shard, journal, failures, stamp);
  });
  const repositories = planned.filter((r): r is SyncRepository => r !== undefined);
  return {
    config: opts.config.file,
    ...(shard ? { shard } : {}),
    repositories,
    failures,
    counts: countsOf(repositories, failures),
  };
}

async function openJournal(session: Session, opts: SyncOptions, write: boolean): Promise<Journal | undefined> {
  if (!opts.state) return undefined;
  const shard = typeof opts.shard === 'string' ? parseShard(opts.shard) : opts.shard;
  const dir = path.resolve(session.cwd, opts.state);
  return Journal.open(dir, path.resolve(session.cwd, opts.config.file), shard, write);
}

/**
 * Returns what a sync would do, writing nothing anywhere: per target repository whether it is
 * created, per tag copy, overwrite or skip. Tags are compared by digest with HEAD requests
 * only (a source manifest is read only to find one platform's image in an index). A source
 * that cannot be listed or compared is recorded in `failures`; planning goes on.
 */
export async function planSync(session: Session, opts: SyncOptions): Promise<SyncPlan> {
  return planWith(session, opts, await openJournal(session, opts, false));
}

/**
 * Runs a sync: plans (as planSync), creates missing ECR target repositories (with the entry's
 * `repository` settings), then copies each changed image with the copy op, every tag of one
 * image at once, tags last. A failing tag or repository is recorded and the others go on.
 * With `state`, each completed tag is journaled (fsync'd) as it completes.
 */
export async function applySync(session: Session, opts: SyncApplyOptions): Promise<SyncApplyResult> {
  const blobConcurrency = checkCount(opts.blobConcurrency, 'blob concurrency');
  const journal = await openJournal(session, opts, opts.dryRun !== true);
  const plan = await planWith(session, opts, journal, opts.dryRun !== true);
  const failures = [...plan.failures];
  const created: string[] = [];
  const copied: SyncSuccess[] = [];
  const backups: SyncBackup[] = [];
  const result = (): SyncApplyResult => {
    const failedTags = failures.reduce((n, f) => n + (f.tags?.length ?? 0), 0);
    return {
      config: plan.config,
      ...(plan.shard ? { shard: plan.shard } : {}),
      dryRun: opts.dryRun === true,
      ...(journal && !opts.dryRun ? { journal: journal.file } : {}),
      created,
      copied,
      backups,
      skipped: plan.counts.skip,
      failures,
      counts: {
        ...plan.counts,
        failures: failures.length,
        copiedTags: copied.reduce((n, c) => n + c.tags.length, 0),
        failedTags,
      },
    };
  };
  if (opts.dryRun) return result();
  const entries = opts.config.entries;
  const concurrency = checkCount(opts.concurrency, 'concurrency');
  // Each request in flight listens on the session's signal: raise Node's leak warning above
  // what this run has in flight at most (repositories × blobs, plus their manifests).
  const inFlight = concurrency * (blobConcurrency + 2) + 10;
  if (getMaxListeners(session.signal) < inFlight) setMaxListeners(inFlight, session.signal);
  const runSession = session;
  const progress = { done: 0, bytes: 0 };
  const started = performance.now();
  const toCopy = plan.counts.copy + plan.counts.overwrite;
  const report = () => {
    if (!opts.onProgress) return;
    const copiedTags = copied.reduce((n, c) => n + c.tags.length, 0);
    const failedTags = failures.reduce((n, f) => n + (f.tags?.length ?? 0), 0) - plannedFailedTags;
    opts.onProgress({
      repositories: { done: progress.done, total: plan.repositories.length },
      tags: { done: copiedTags + failedTags, failed: failedTags, total: toCopy },
      bytes: progress.bytes,
      elapsedMs: performance.now() - started,
    });
  };
  const plannedFailedTags = plan.failures.reduce((n, f) => n + (f.tags?.length ?? 0), 0);
  /** Adds bytes sent (to a registry or a layout) to the progress totals. */
  const countBytes = (n: number) => {
    progress.bytes += n;
    report();
  };
  /** Logs how many of a repository's tags went through, once it is done. */
  const logRepositoryDone = (log: Session['log'], repo: SyncRepository, work: SyncTag[], verb: string) => {
    const failed = failures.filter((f) => f.target === repo.target).reduce((n, f) => n + (f.tags?.length ?? 0), 0);
    log.info(`${repo.target}: ${work.length - failed} of ${plural(work.length, 'tag')} ${verb}`);
  };
  const beat = () => {
    const tags = copied.reduce((n, c) => n + c.tags.length, 0);
    session.log.info(
      `sync: ${progress.done}/${plan.repositories.length} repositories done, ${plural(tags, 'tag')} copied, ` +
        `${formatBytes(progress.bytes)} sent, ${plural(failures.length, 'failure')}`,
    );
  };
  const every = opts.heartbeat ?? 0;
  if (!Number.isFinite(every) || every < 0)
    throw new UsageError('heartbeat is a number of milliseconds, 0 for none', { value: String(opts.heartbeat) });
  let timer: NodeJS.Timeout | undefined;
  if (every > 0) {
    beat();
    timer = setInterval(beat, every);
    // A heartbeat never keeps the process alive on its own.
    timer.unref();
  }
  // Blobs stored at each target registry: journaled beside the tags with --state (a rerun
  // after a kill neither sends nor asks about them), else remembered for this run only.
  const blobs = journal
    ? await BlobJournal.open(
        path.dirname(journal.file),
        journalKey(path.resolve(session.cwd, opts.config.file)),
        shardSuffix(plan.shard),
      )
    : BlobJournal.memory();
  // ECR's quotas are per repository and per account: N shards run at once, each takes 1/N.
  const pacing = syncPacing(plan.shard?.count ?? 1);
  try {
    await copyAll();
  } finally {
    if (timer) clearInterval(timer);
    await blobs.close();
  }
  return result();

  async function copyAll(): Promise<void> {
    await pool(plan.repositories, concurrency, (repo) =>
      syncOne(repo).finally(() => {
        progress.done += 1;
        report();
      }),
    );
  }

  /**
   * With --require-signed: true when the source image verifies; otherwise records the
   * failure (stage verify) and returns false. Without it: true.
   */
  async function signedOrFailed(repo: SyncRepository, digest: string, tags: string[]): Promise<boolean> {
    if (!opts.requireSigned) return true;
    try {
      const { requireSigned } = await import('./verify.js');
      await requireSigned(session, `${repo.source}@${digest}`, opts.requireSigned);
      return true;
    } catch (err) {
      failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'verify' }));
      return false;
    }
  }

  /** Journals each tag of a copied image and lists it as copied (or overwritten). */
  async function recordCopied(
    repo: SyncRepository,
    group: readonly SyncTag[],
    sourceDigest: string,
    targetDigest: string,
  ): Promise<void> {
    const tags = group.map((t) => t.tag);
    for (const tag of tags) await journal?.record({ target: repo.target, tag, sourceDigest, targetDigest });
    copied.push({
      source: repo.source,
      target: repo.target,
      digest: targetDigest,
      tags,
      action: group.some((t) => t.action === 'overwrite') ? 'overwritten' : 'copied',
    });
  }

  async function syncOne(repo: SyncRepository): Promise<void> {
    // The entry's per-side credentials, when it names any.
    const session = repositorySessions.get(repo) ?? runSession;
    const entry = entries[repo.entry]!;
    const work = repo.tags.filter((t) => t.action !== 'skip');
    if (work.length === 0) return;
    const ociDir = repositoryOciDirs.get(repo);
    if (ociDir) return exportOne(repo, session, entry, work, ociDir);
    const [host, ...rest] = repo.target.split('/');
    const name = rest.join('/');
    if (repo.create) {
      try {
        if (!entry.createRepositories) {
          throw new NotFoundError(`the ECR repository ${repo.target} does not exist`, {
            rule: 'createRepositories: false: sync writes only into existing repositories',
            value: name,
            fix: `create it (\`ecrctl create-repo ${name}\`) or set createRepositories: true`,
          });
        }
        assertRepositoryName(name);
        const conn = await targetConnection(session, host!);
        await ensureRepository(
          conn!,
          { ...templateSpec(repositoryTemplates.get(repo)), name, ...settingsSpec(entry.repository) },
          {
            ifNotExists: true,
          },
        );
        created.push(repo.target);
        session.log.info(`created ${repo.target}`);
      } catch (err) {
        failures.push(
          failure(session, err, {
            source: repo.source,
            target: repo.target,
            tags: work.map((t) => t.tag),
            stage: 'create-repository',
          }),
        );
        return;
      }
    }
    // One copy per source image, with every tag that points at it.
    for (const [digest, group] of bySourceDigest(work)) {
      const tags = group.map((t) => t.tag);
      if (!(await signedOrFailed(repo, digest, tags))) continue;
      // existing: backup — the image each overwritten tag points at is tagged first, so the
      // overwrite loses nothing; a backup that fails leaves the tag alone.
      const toBackUp = group.filter((t) => t.backupTag !== undefined && t.targetDigest !== undefined);
      if (toBackUp.length > 0) {
        try {
          const client = await registryClient(session);
          const [host, ...rest] = repo.target.split('/');
          const tgt = client.repository(host!, rest.join('/'));
          for (const t of toBackUp) {
            const old = await tgt.getManifest(t.targetDigest!, { signal: session.signal });
            await tgt.putManifest(old, t.backupTag!, { signal: session.signal });
            backups.push({ target: repo.target, tag: t.tag, backupTag: t.backupTag!, digest: old.digest });
            session.log.info(`${repo.target}:${t.tag}: the old image ${old.digest} is kept as ${t.backupTag}`);
          }
        } catch (err) {
          failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'backup' }));
          continue;
        }
      }
      try {
        const [sourceHost, ...sourcePath] = repo.source.split('/');
        const layoutSource = repositoryOciSources.get(repo);
        const r = await copySyncImage(session, {
          ...(layoutSource ? { source: layoutSource } : {}),
          sourceHost: sourceHost!,
          sourceRepo: sourcePath.join('/'),
          digest,
          targetHost: host!,
          targetRepo: name,
          tags,
          concurrency: blobConcurrency,
          referrers: entry.referrers,
          blobs,
          pacing,
          onBytes: countBytes,
          ...(entry.platforms === 'all' ? {} : { platform: entry.platforms[0]! }),
        });
        await recordCopied(repo, group, digest, r.digest);
        report();
      } catch (err) {
        failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'copy' }));
        report();
      }
    }
    logRepositoryDone(session.log, repo, work, 'synced');
  }

  /** Writes the changed images of one repository into its OCI layout (no creation, no pacing). */
  async function exportOne(
    repo: SyncRepository,
    session: Session,
    entry: SyncEntry,
    work: SyncTag[],
    dir: string,
  ): Promise<void> {
    const [sourceHost, ...sourcePath] = repo.source.split('/');
    for (const [digest, group] of bySourceDigest(work)) {
      const tags = group.map((t) => t.tag);
      if (!(await signedOrFailed(repo, digest, tags))) continue;
      try {
        const r = await copyOciImage(session, {
          sourceHost: sourceHost!,
          sourceRepo: sourcePath.join('/'),
          digest,
          dir,
          target: repo.target,
          tags,
          concurrency: blobConcurrency,
          referrers: entry.referrers,
          blobs,
          onBytes: countBytes,
          ...(entry.platforms === 'all' ? {} : { platform: entry.platforms[0]! }),
        });
        await recordCopied(repo, group, digest, r.digest);
      } catch (err) {
        failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'copy' }));
      }
      report();
    }
    logRepositoryDone(session.log, repo, work, 'exported');
  }
}

/**
 * Returns the repository settings a creation template gives (what ECR applies when a push
 * creates the repository): mutability, encryption, lifecycle and repository policies, tags.
 */
function templateSpec(t: CreationTemplate | undefined): Omit<RepositorySpec, 'name'> {
  if (!t) return {};
  return {
    ...(t.tagMutability ? { tagMutability: t.tagMutability as RepositorySpec['tagMutability'] } : {}),
    ...(t.mutabilityExclusions?.length ? { mutabilityExclusions: t.mutabilityExclusions } : {}),
    ...(t.encryption ? { encryption: t.encryption as RepositorySpec['encryption'] } : {}),
    ...(t.lifecyclePolicy ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
    ...(t.repositoryPolicy ? { policy: t.repositoryPolicy } : {}),
    ...(t.tags?.length ? { tags: t.tags } : {}),
  };
}

/** Returns the entry's `repository:` settings as a repository spec (the lifecycle policy as its text). */
function settingsSpec(settings: RepositorySettings): Omit<RepositorySpec, 'name'> {
  const { lifecycle, ...rest } = settings;
  return { ...rest, ...(lifecycle?.text !== undefined ? { lifecyclePolicy: lifecycle.text } : {}) };
}

/** Returns what is stale: every tag apply would copy or overwrite, and what could not be compared. */
export async function checkSync(session: Session, opts: SyncOptions): Promise<SyncCheckResult> {
  const plan = await planWith(session, opts, await openJournal(session, opts, false), true);
  const stale: StaleTag[] = plan.repositories.flatMap((r) =>
    r.tags
      .filter((t) => t.action !== 'skip')
      .map((t) => ({
        source: r.source,
        target: r.target,
        tag: t.tag,
        action: t.action as 'copy' | 'overwrite',
        sourceDigest: t.sourceDigest,
        ...(t.targetDigest ? { targetDigest: t.targetDigest } : {}),
      })),
  );
  return {
    config: plan.config,
    ...(plan.shard ? { shard: plan.shard } : {}),
    stale,
    failures: plan.failures,
    counts: plan.counts,
  };
}

/** Returns the tags to copy grouped by the source image they point at (one copy per image). */
function bySourceDigest(work: readonly SyncTag[]): Map<string, SyncTag[]> {
  const groups = new Map<string, SyncTag[]>();
  for (const t of work) groups.set(t.sourceDigest, [...(groups.get(t.sourceDigest) ?? []), t]);
  return groups;
}

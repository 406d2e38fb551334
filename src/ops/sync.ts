// `sync`: whole repositories and registries, declared in a config file (src/policy/sync-config.ts).
// planSync resolves every source (a repository, or every repository under a prefix through
// the registry catalog or DescribeRepositories), filters its tags and compares each with the
// target by digest using HEAD requests only; applySync then runs the plan through the copy op
// (which paces PutImage per repository), creates missing ECR repositories, keeps going past
// a failing tag or repository, and journals every completed tag (append-only, fsync'd) so a
// rerun after a kill redoes nothing that completed; checkSync says what is stale.
import { createHash } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AuthError, EcrctlError, HttpStatusError, InterruptedError, NotFoundError, UsageError } from '../errors.js';
import { parseEcrHost } from '../ecr/hosts.js';
import { type EcrConnection, describeRepository, ensureRepository, listRepositories } from '../ecr/repositories.js';
import { findPlatform, manifestKind, parseManifest, parsePlatform } from '../oci/copy.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { parseReference } from '../oci/reference.js';
import type { RegistryRepository } from '../oci/registry.js';
import type { ImageIndex } from '../oci/types.js';
import { assertRepositoryName } from '../policy/naming.js';
import {
  filterTags,
  parseShard,
  repositoryAllowed,
  type Shard,
  type SyncConfig,
  type SyncEntry,
  shardOf,
} from '../policy/sync-config.js';
import type { Session } from '../session.js';
import { defaultRegistryHost, ecrConnection, ecrTarget, registryClient } from './ecr.js';
import { copy } from './transfer.js';
import { plural } from '../text.js';

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
    const key = `sync-${createHash('sha256').update(path.resolve(configFile)).digest('hex').slice(0, 12)}`;
    const j = new Journal(path.join(dir, `${key}${shard ? `-shard-${shard.index}-of-${shard.count}` : ''}.jsonl`));
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && !write) return [];
      throw err;
    });
    for (const name of names) {
      if (!name.startsWith(key) || !name.endsWith('.jsonl')) continue;
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
      const src = await splitSide(session, entry.source, entry.prefix);
      const tgt = await splitSide(session, entry.target, entry.prefix);
      if (!entry.prefix) {
        found = [{ entry, sourceHost: src.host, sourceRepo: src.path, targetHost: tgt.host, targetRepo: tgt.path }];
      } else {
        let names: string[];
        try {
          names = await repositoriesUnder(session, src.host, src.path);
        } catch (err) {
          failures.push(failure(session, err, { source: `${entry.source}/`, stage: 'list-repositories' }));
          continue;
        }
        found = names
          .filter((n) => repositoryAllowed(n, entry.repositories))
          .sort()
          .map((n) => ({
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
  src: RegistryRepository,
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

/** Plans one repository: its tags, filtered, each compared with the target by HEAD. */
async function planRepository(
  session: Session,
  task: Task,
  shard: number,
  journal: Journal | undefined,
  failures: SyncFailure[],
): Promise<SyncRepository | undefined> {
  const { signal } = session;
  const client = await registryClient(session);
  const source = `${task.sourceHost}/${task.sourceRepo}`;
  const target = `${task.targetHost}/${task.targetRepo}`;
  const src = client.repository(task.sourceHost, task.sourceRepo);
  const tgt = client.repository(task.targetHost, task.targetRepo);
  let tags: string[];
  let create = false;
  let present = new Set<string>();
  try {
    tags = filterTags(await src.listTags({ signal }), task.entry.tags);
  } catch (err) {
    failures.push(failure(session, err, { source, target, stage: 'list-tags' }));
    return undefined;
  }
  try {
    const conn = await targetConnection(session, task.targetHost);
    if (conn && !(await describeRepository(conn, task.targetRepo))) create = true;
    else present = new Set(await tgt.listTags({ signal }));
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      failures.push(failure(session, err, { source, target, stage: 'list-tags' }));
      return undefined;
    }
  }
  const out: SyncRepository = { entry: task.entry.index, source, target, shard, create, tags: [] };
  for (const tag of tags) {
    try {
      const head = await src.headManifest(tag, { signal });
      if (!head) throw new NotFoundError(`${source}:${tag} is listed but has no manifest`);
      const journaled = journal?.get(target, tag);
      const wantDigest = await wantedDigest(src, head, task.entry, journaled, signal);
      const targetDigest = present.has(tag) ? (await tgt.headManifest(tag, { signal }))?.digest : undefined;
      const t: SyncTag = { tag, action: 'copy', sourceDigest: head.digest, wantDigest };
      if (targetDigest !== undefined) {
        t.targetDigest = targetDigest;
        if (targetDigest === wantDigest) Object.assign(t, { action: 'skip', reason: 'up-to-date' });
        else if (task.entry.existing === 'skip') Object.assign(t, { action: 'skip', reason: 'kept' });
        else t.action = 'overwrite';
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

async function planWith(session: Session, opts: SyncOptions, journal: Journal | undefined): Promise<SyncPlan> {
  const shard = typeof opts.shard === 'string' ? parseShard(opts.shard) : opts.shard;
  const concurrency = checkCount(opts.concurrency, 'concurrency');
  const failures: SyncFailure[] = [];
  const tasks = await resolveTasks(session, opts.config, failures);
  const mine = tasks
    .map((t) => ({ t, shard: shard ? shardOf(t.targetRepo, shard.count) : 1 }))
    .filter((x) => !shard || x.shard === shard.index);
  const planned: (SyncRepository | undefined)[] = new Array(mine.length);
  let i = 0;
  const indexed = mine.map((x) => ({ ...x, i: i++ }));
  await pool(indexed, concurrency, async (x) => {
    planned[x.i] = await planRepository(session, x.t, x.shard, journal, failures);
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
  const plan = await planWith(session, opts, journal);
  const failures = [...plan.failures];
  const created: string[] = [];
  const copied: SyncSuccess[] = [];
  const result = (): SyncApplyResult => {
    const failedTags = failures.reduce((n, f) => n + (f.tags?.length ?? 0), 0);
    return {
      config: plan.config,
      ...(plan.shard ? { shard: plan.shard } : {}),
      dryRun: opts.dryRun === true,
      ...(journal && !opts.dryRun ? { journal: journal.file } : {}),
      created,
      copied,
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
  await pool(plan.repositories, concurrency, async (repo) => {
    const entry = entries[repo.entry]!;
    const work = repo.tags.filter((t) => t.action !== 'skip');
    if (work.length === 0) return;
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
        await ensureRepository(conn!, { name, ...entry.repository }, { ifNotExists: true });
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
    const byDigest = new Map<string, SyncTag[]>();
    for (const t of work) byDigest.set(t.sourceDigest, [...(byDigest.get(t.sourceDigest) ?? []), t]);
    for (const [digest, group] of byDigest) {
      const tags = group.map((t) => t.tag);
      if (opts.requireSigned) {
        try {
          const { requireSigned } = await import('./verify.js');
          await requireSigned(session, `${repo.source}@${digest}`, opts.requireSigned);
        } catch (err) {
          failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'verify' }));
          continue;
        }
      }
      try {
        const r = await copy(session, {
          source: `${repo.source}@${digest}`,
          target: `${repo.target}:${tags[0]}`,
          tags: tags.slice(1),
          concurrency: blobConcurrency,
          referrers: entry.referrers,
          ...(entry.platforms === 'all' ? {} : { platform: entry.platforms[0]! }),
        });
        for (const tag of tags) {
          await journal?.record({ target: repo.target, tag, sourceDigest: digest, targetDigest: r.digest });
        }
        copied.push({
          source: repo.source,
          target: repo.target,
          digest: r.digest,
          tags,
          action: group.some((t) => t.action === 'overwrite') ? 'overwritten' : 'copied',
        });
      } catch (err) {
        failures.push(failure(session, err, { source: repo.source, target: repo.target, tags, stage: 'copy' }));
      }
    }
    const failed = failures.filter((f) => f.target === repo.target).reduce((n, f) => n + (f.tags?.length ?? 0), 0);
    session.log.info(`${repo.target}: ${work.length - failed} of ${plural(work.length, 'tag')} synced`);
  });
  return result();
}

/** Returns what is stale: every tag apply would copy or overwrite, and what could not be compared. */
export async function checkSync(session: Session, opts: SyncOptions): Promise<SyncCheckResult> {
  const plan = await planSync(session, opts);
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

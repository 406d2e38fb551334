// inventory: every repository and image in the asked accounts × regions, with sizes, times,
// scan results, referrers, whether something runs it (from in-use evidence files), totals per
// repository and region, the monthly storage cost, and images-per-repository quota headroom.
// Reads DescribeRepositories and DescribeImages only, so no image's lastRecordedPullTime moves.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadProjectConfig, type RegistryAccessConfig } from '../config/project-config.js';
import { describeInventoryImages, ECR_REGIONS, type InventoryImageDetail, mapLimit } from '../ecr/inventory.js';
import { type EcrConnection, globToRegExp, listRepositories } from '../ecr/repositories.js';
import { AuthError, NotFoundError, UsageError } from '../errors.js';
import { imageKey, type InUseMatch, type InUseRef, matchInUse, parseInUseEvidence } from '../policy/in-use.js';
import { DEFAULT_PRICING_RATES, type PricingRates } from '../policy/pricing.js';
import type { Session } from '../session.js';
import { ecrConnection } from './ecr.js';

const DAY_MS = 86_400_000;
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
/** ECR's default images-per-repository quota (ECR-FACTS.md, service quotas). */
export const IMAGES_PER_REPOSITORY_QUOTA = 10_000;

/** Which accounts and regions to read, and with whose credentials. */
export interface InventoryTargets {
  /** Glob over repository names (`team/*`); default `*`. */
  repositories?: string;
  /** Regions to read; `all` = every commercial region ECR runs in (ECR_REGIONS); default the session's region. */
  regions?: readonly string[] | 'all';
  /** Shared-config profiles, one account each. */
  profiles?: readonly string[];
  /** Roles to assume (with the default credentials), one account each. */
  roleArns?: readonly string[];
  /** Account ids to read with the default credentials, or a `registries:` entry naming that account. */
  registryIds?: readonly string[];
  /** Repositories read at once (default 8). */
  concurrency?: number;
}

/** What inventory accepts. */
export interface InventoryOptions extends InventoryTargets {
  /** Evidence files (ECS task definitions, kubectl pods, Lambda functions, plain lists), relative to cwd. */
  inUseFiles?: readonly string[];
  /** The moment ages are measured from (default now). */
  now?: Date;
  /** An image unused (not pulled, else not pushed) for more than this many days is stale (default 90). */
  staleDays?: number;
  /** The rate table (default the built-in one). */
  rates?: PricingRates;
}

/** One image of the inventory. Times are ISO strings. */
export interface InventoryImage {
  account: string;
  region: string;
  repository: string;
  digest: string;
  tags: string[];
  sizeBytes: number;
  /** image, index (its size is its largest child's and is not counted twice), or referrer. */
  kind: 'image' | 'index' | 'referrer';
  mediaType?: string;
  artifactMediaType?: string;
  pushedAt?: string;
  lastPulledAt?: string;
  /** Whole days since the last pull, else since the push. */
  idleDays?: number;
  /** What idleDays is measured from. */
  idleSince: 'pull' | 'push' | 'unknown';
  storageClass: 'standard' | 'archive';
  scanStatus?: string;
  severityCounts?: Record<string, number>;
  /** Images in the repository whose subject is this one (signatures, SBOMs, attestations). */
  referrers: number;
  /** A referrer that is a signature (Notation or cosign) points at this image. */
  signed: boolean;
  inUse: boolean;
  /** Who uses it; byTag: the evidence names a tag, which may have moved since. */
  inUseBy?: InUseMatch[];
  stale: boolean;
}

/** Totals of one repository. */
export interface InventoryRepository {
  account: string;
  region: string;
  name: string;
  images: number;
  tagged: number;
  untagged: number;
  /** Bytes stored: the images' sizes (indexes excluded; their children are images). */
  bytes: number;
  untaggedBytes: number;
  staleBytes: number;
  inUseImages: number;
  inUseBytes: number;
  /** Storage per month in USD at the region's rate. */
  monthlyUsd: number;
  /** Images against the images-per-repository quota. */
  quota: { limit: number; used: number; headroom: number; usedPercent: number };
  severityCounts: Record<string, number>;
}

/** Totals of a group (a region of an account, or everything). */
export interface InventoryTotals {
  repositories: number;
  images: number;
  bytes: number;
  untaggedBytes: number;
  staleBytes: number;
  inUseImages: number;
  inUseBytes: number;
  monthlyUsd: number;
  severityCounts: Record<string, number>;
}

/** One bar of the idle-time histogram. */
export interface IdleBucket {
  label: string;
  /** Lowest and highest idle days in the bucket (null: open ended). */
  fromDays: number;
  toDays: number | null;
  images: number;
  bytes: number;
}

/** The whole inventory: the JSON of `ecrctl inventory --output json`. */
export interface InventoryResult {
  generatedAt: string;
  staleDays: number;
  /** Where bytes come from and what they leave out. */
  bytesNote: string;
  ratesSource: string;
  targets: { account: string; region: string }[];
  totals: InventoryTotals;
  regions: (InventoryTotals & { account: string; region: string })[];
  repositories: InventoryRepository[];
  images: InventoryImage[];
  idleHistogram: IdleBucket[];
  inUse: {
    files: { file: string; kind: string; refs: number }[];
    /** References that matched no image of the inventory. */
    unmatched: string[];
    problems: string[];
  };
}

/** An image with where it lives, as collectImages returns it. */
export interface LocatedImage extends InventoryImageDetail {
  account: string;
  region: string;
  repository: string;
}

/** Returns the account × region connections the targets ask for (deduplicated by account and region later). */
async function connections(session: Session, t: InventoryTargets) {
  let regions: string[];
  if (t.regions === 'all') regions = [...ECR_REGIONS];
  else if (t.regions && t.regions.length > 0) regions = [...t.regions];
  else regions = [(await ecrConnection(session)).region];
  const sources: { label: string; registryId?: string; access?: RegistryAccessConfig }[] = [];
  for (const p of t.profiles ?? [])
    sources.push({ label: `profile ${p}`, access: { at: `--profiles ${p}`, profile: p } });
  for (const r of t.roleArns ?? [])
    sources.push({ label: `role ${r}`, access: { at: `--role-arns ${r}`, roleArn: r } });
  if ((t.registryIds ?? []).length > 0) {
    const config = await loadProjectConfig(session.cwd, session.configFile);
    for (const id of t.registryIds ?? []) {
      if (!/^[0-9]{12}$/.test(id)) {
        throw new UsageError(`--registry-ids takes 12-digit account ids, not "${id}"`, {
          value: id,
          fix: 'e.g. --registry-ids 111111111111,222222222222',
        });
      }
      const entry = config?.registries?.find((e) => e.account === id && (e.profile || e.roleArn));
      sources.push({ label: `account ${id}`, registryId: id, ...(entry ? { access: entry } : {}) });
    }
  }
  if (sources.length === 0) sources.push({ label: 'default credentials' });
  const out = [];
  for (const s of sources) {
    for (const region of regions) {
      out.push({
        label: `${s.label} in ${region}`,
        conn: await ecrConnection(session, {
          region,
          ...(s.registryId ? { registryId: s.registryId } : {}),
          ...(s.access ? { access: s.access } : {}),
        }),
      });
    }
  }
  return out;
}

/**
 * Returns every image of the repositories matching the targets' glob in every asked account
 * and region (DescribeRepositories, DescribeImages; never a manifest), and the (account,
 * region) pairs read. NotFoundError when no repository matches anywhere.
 */
export async function collectImages(
  session: Session,
  t: InventoryTargets,
): Promise<{
  images: LocatedImage[];
  repositories: { account: string; region: string; name: string; conn: EcrConnection }[];
  targets: { account: string; region: string }[];
}> {
  const pattern = t.repositories ?? '*';
  const match = globToRegExp(pattern);
  const conns = await connections(session, t);
  const seen = new Set<string>();
  const repos: { account: string; region: string; name: string; conn: EcrConnection }[] = [];
  const targets = new Map<string, { account: string; region: string }>();
  await mapLimit(conns, 4, async ({ label, conn }) => {
    let listed: Awaited<ReturnType<typeof listRepositories>>;
    try {
      listed = await listRepositories(conn);
    } catch (err) {
      // With --regions all, a region the account has not enabled refuses the credentials.
      if (t.regions !== 'all' || !(err instanceof AuthError)) throw err;
      session.log.warn(`${label}: skipped (${err.message})`);
      return;
    }
    session.log.verbose(`${label}: ${listed.length} repositories`);
    for (const r of listed) {
      targets.set(`${r.registryId}/${conn.region}`, { account: r.registryId, region: conn.region });
      const key = `${r.registryId}/${conn.region}/${r.name}`;
      if (!match.test(r.name) || seen.has(key)) continue;
      seen.add(key);
      repos.push({ account: r.registryId, region: conn.region, name: r.name, conn });
    }
  });
  if (repos.length === 0) {
    throw new NotFoundError(`no repository matches ${pattern}`, {
      value: pattern,
      fix: "list them with `ecrctl repos`, check --regions / --registry-ids, or use '*' for all",
    });
  }
  repos.sort((a, b) => cmp(a.account, b.account) || cmp(a.region, b.region) || cmp(a.name, b.name));
  session.log.info(`reading ${repos.length} ${repos.length === 1 ? 'repository' : 'repositories'}`);
  const perRepo = await mapLimit(
    repos,
    t.concurrency ?? 8,
    async (r) =>
      (await describeInventoryImages(r.conn, r.name)).map(
        (d): LocatedImage => ({ ...d, account: r.account, region: r.region, repository: r.name }),
      ),
    session.signal,
  );
  const images = perRepo.flat();
  return {
    images,
    repositories: repos,
    targets: [...targets.values()].sort((a, b) => cmp(a.account, b.account) || cmp(a.region, b.region)),
  };
}

/** Reads evidence files (relative to cwd) into references; NotFoundError / UsageError for a missing or unreadable file. */
export async function readInUseEvidence(
  session: Session,
  files: readonly string[],
): Promise<{ refs: InUseRef[]; files: { file: string; kind: string; refs: number }[]; problems: string[] }> {
  const refs: InUseRef[] = [];
  const summary: { file: string; kind: string; refs: number }[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(path.resolve(session.cwd, file), 'utf8');
    } catch (err) {
      throw new NotFoundError(`in-use file not found: ${file}`, { value: file, cause: err });
    }
    let evidence: ReturnType<typeof parseInUseEvidence>;
    try {
      evidence = parseInUseEvidence(text, file);
    } catch (err) {
      throw new UsageError((err as Error).message, {
        value: file,
        fix: 'save `aws ecs describe-task-definition`, `kubectl get pods -A -o json` or `aws lambda get-function` output, or list one reference per line',
      });
    }
    for (const p of evidence.problems) session.log.warn(p);
    refs.push(...evidence.refs);
    problems.push(...evidence.problems);
    summary.push({ file, kind: evidence.kind, refs: evidence.refs.length });
  }
  return { refs, files: summary, problems };
}

/** Returns the in-use matches for images, and the references that matched nothing. */
export function inUseOf(images: readonly LocatedImage[], refs: readonly InUseRef[]) {
  const matches = matchInUse(images, refs);
  const used = new Set<string>();
  for (const list of matches.values()) for (const m of list) used.add(`${m.usedBy}\u0000${m.ref}`);
  const unmatched = [...new Set(refs.filter((r) => !used.has(`${r.usedBy}\u0000${r.ref}`)).map((r) => r.ref))].sort();
  return { matches, unmatched };
}

/** Returns true for an image index (manifest list). */
export function isIndex(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}

/**
 * Lists every repository and image of the asked accounts × regions with totals, cost, quota
 * headroom and in-use marks. Never reads a manifest, so no lastRecordedPullTime changes.
 */
export async function inventory(session: Session, opts: InventoryOptions = {}): Promise<InventoryResult> {
  const rates = opts.rates ?? DEFAULT_PRICING_RATES;
  const now = opts.now ?? new Date();
  const staleDays = opts.staleDays ?? 90;
  const evidence = await readInUseEvidence(session, opts.inUseFiles ?? []);
  const collected = await collectImages(session, opts);
  const { matches, unmatched } = inUseOf(collected.images, evidence.refs);

  const referrersOf = new Map<string, LocatedImage[]>();
  for (const im of collected.images) {
    if (!im.subjectDigest) continue;
    const key = imageKey({ ...im, digest: im.subjectDigest });
    referrersOf.set(key, [...(referrersOf.get(key) ?? []), im]);
  }
  const images = collected.images
    .map((d): InventoryImage => {
      const key = imageKey(d);
      const refs = referrersOf.get(key) ?? [];
      const since = d.lastPulledAt ?? d.pushedAt;
      const idleDays = since ? Math.max(0, Math.floor((now.getTime() - since.getTime()) / DAY_MS)) : undefined;
      const used = matches.get(key);
      const im: InventoryImage = {
        account: d.account,
        region: d.region,
        repository: d.repository,
        digest: d.digest,
        tags: d.tags,
        sizeBytes: d.sizeBytes,
        kind: isIndex(d.mediaType) ? 'index' : d.subjectDigest ? 'referrer' : 'image',
        idleSince: d.lastPulledAt ? 'pull' : d.pushedAt ? 'push' : 'unknown',
        storageClass: d.status === 'ARCHIVED' ? 'archive' : 'standard',
        referrers: refs.length,
        signed: refs.some((r) => /signature|\.sig\b|cosign/i.test(r.artifactMediaType ?? '')),
        inUse: used !== undefined,
        stale: idleDays !== undefined && idleDays > staleDays,
      };
      if (d.mediaType) im.mediaType = d.mediaType;
      if (d.artifactMediaType) im.artifactMediaType = d.artifactMediaType;
      if (d.pushedAt) im.pushedAt = d.pushedAt.toISOString();
      if (d.lastPulledAt) im.lastPulledAt = d.lastPulledAt.toISOString();
      if (idleDays !== undefined) im.idleDays = idleDays;
      if (d.scanStatus) im.scanStatus = d.scanStatus;
      if (d.severityCounts) im.severityCounts = d.severityCounts;
      if (used) im.inUseBy = used;
      return im;
    })
    .sort(
      (a, b) =>
        cmp(a.account, b.account) ||
        cmp(a.region, b.region) ||
        cmp(a.repository, b.repository) ||
        cmp(b.pushedAt ?? '', a.pushedAt ?? '') ||
        cmp(a.digest, b.digest),
    );

  const repoOf = new Map<string, InventoryImage[]>();
  for (const r of collected.repositories) repoOf.set(`${r.account}/${r.region}/${r.name}`, []);
  for (const im of images) repoOf.get(`${im.account}/${im.region}/${im.repository}`)?.push(im);
  const repositories = collected.repositories.map((r): InventoryRepository => {
    const list = repoOf.get(`${r.account}/${r.region}/${r.name}`) ?? [];
    const counted = list.filter((i) => i.kind !== 'index');
    const sum = (xs: InventoryImage[]) => xs.reduce((n, i) => n + i.sizeBytes, 0);
    const bytes = sum(counted);
    const limit = IMAGES_PER_REPOSITORY_QUOTA;
    return {
      account: r.account,
      region: r.region,
      name: r.name,
      images: list.length,
      tagged: list.filter((i) => i.tags.length > 0).length,
      untagged: list.filter((i) => i.tags.length === 0).length,
      bytes,
      untaggedBytes: sum(counted.filter((i) => i.tags.length === 0)),
      staleBytes: sum(counted.filter((i) => i.stale)),
      inUseImages: list.filter((i) => i.inUse).length,
      inUseBytes: sum(counted.filter((i) => i.inUse)),
      monthlyUsd: usd((bytes / 1e9) * storageRate(rates, r.region)),
      quota: {
        limit,
        used: list.length,
        headroom: limit - list.length,
        usedPercent: Number(((list.length / limit) * 100).toFixed(2)),
      },
      severityCounts: addCounts(list.map((i) => i.severityCounts ?? {})),
    };
  });

  const regionKeys = [...new Set(repositories.map((r) => `${r.account}/${r.region}`))];
  const regions = regionKeys.map((k) => {
    const [account, region] = k.split('/') as [string, string];
    return { account, region, ...totalsOf(repositories.filter((r) => r.account === account && r.region === region)) };
  });
  return {
    generatedAt: now.toISOString(),
    staleDays,
    bytesNote:
      'bytes are the image sizes DescribeImages reports (compressed layers), summed per repository; indexes are not counted again. Layers shared between images of a repository are counted once per image: reading layers takes manifests, and reading a manifest records a pull.',
    ratesSource: rates.source,
    targets: collected.targets,
    totals: totalsOf(repositories),
    regions,
    repositories,
    images,
    idleHistogram: histogram(images),
    inUse: { files: evidence.files, unmatched, problems: evidence.problems },
  };
}

const BUCKETS: [string, number, number | null][] = [
  ['0–7 days', 0, 7],
  ['8–30 days', 8, 30],
  ['31–90 days', 31, 90],
  ['91–180 days', 91, 180],
  ['181–365 days', 181, 365],
  ['over 365 days', 366, null],
];

function histogram(images: readonly InventoryImage[]): IdleBucket[] {
  return BUCKETS.map(([label, fromDays, toDays]) => {
    const inside = images.filter(
      (i) =>
        i.kind !== 'index' &&
        i.idleDays !== undefined &&
        i.idleDays >= fromDays &&
        (toDays === null || i.idleDays <= toDays),
    );
    return { label, fromDays, toDays, images: inside.length, bytes: inside.reduce((n, i) => n + i.sizeBytes, 0) };
  });
}

function totalsOf(repos: readonly InventoryRepository[]): InventoryTotals {
  const sum = (f: (r: InventoryRepository) => number) => repos.reduce((n, r) => n + f(r), 0);
  return {
    repositories: repos.length,
    images: sum((r) => r.images),
    bytes: sum((r) => r.bytes),
    untaggedBytes: sum((r) => r.untaggedBytes),
    staleBytes: sum((r) => r.staleBytes),
    inUseImages: sum((r) => r.inUseImages),
    inUseBytes: sum((r) => r.inUseBytes),
    monthlyUsd: usd(sum((r) => r.monthlyUsd)),
    severityCounts: addCounts(repos.map((r) => r.severityCounts)),
  };
}

function addCounts(list: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of list) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => cmp(a, b)));
}

/** The private storage rate of a region (the table's default when it lists none). */
function storageRate(rates: PricingRates, region: string): number {
  return rates.regions[region]?.storagePerGbMonth ?? rates.private.storagePerGbMonth;
}

/** Returns USD to 6 significant digits: small repositories cost fractions of a cent, and sums must not carry float noise. */
function usd(x: number): number {
  return Number(x.toPrecision(6));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Image scanning: StartImageScan, DescribeImageScanFindings, Put/GetRegistryScanningConfiguration,
// and the scan fields of DescribeImages (imageScanStatus, imageScanFindingsSummary). Findings
// come from ../scanner.ts (the image's dpkg / apk databases against the advisory file).
//
// As on ECR: one scan per image per 24 hours (scan on push included); an index is refused;
// BASIC scans end COMPLETE and answer `findings[]`, ENHANCED scans end ACTIVE and answer
// `enhancedFindings[]`. A scan reports IN_PROGRESS until it has lasted its duration on the
// endpoint's clock (state-delays.ts: seconds, scaled by LocalServerOptions.stateDelayScale),
// whatever the scanner's speed and however often a client looks, so a wait loop really waits.
// Scan on push is applied when an image is first looked at (describe, start) rather than
// inside the push itself; the scan is dated at the push, so the 24-hour rule counts it.
import { createHash } from 'node:crypto';
import type { LocalContext } from '../context.js';
import { findRepository } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { resolveImage, tagsOf } from '../images.js';
import { type ScanHit, scanImage } from '../scanner.js';
import { stateElapsed, stateEndsAt } from '../state-delays.js';
import type { ImageRecord, ImageScanRecord, RegistryRecord, RepositoryRecord } from '../store.js';
import { registryKey } from '../store.js';
import { severityRank, wildcardMatches } from '../../policy/scan.js';
import { imageOperations } from './images.js';
import {
  type ApiRequest,
  int,
  list,
  obj,
  type OperationTable,
  page,
  privateRegistry,
  repositoryArn,
  reqStr,
  requireRepository,
  sortable,
  str,
  ts,
} from './kit.js';

const DAY_MS = 24 * 3600 * 1000;
const FREQUENCIES = ['SCAN_ON_PUSH', 'CONTINUOUS_SCAN', 'MANUAL'];
const FILTER = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;
const FILTER_TEXT = '^[a-z0-9*](?:[._\\-/a-z0-9*]?[a-z0-9*]+)*$';
const LIMIT_MESSAGE = 'The scan quota per image has been exceeded. Wait and try again.';

interface StoredRule {
  scanFrequency: string;
  repositoryFilters: { filter: string; filterType: string }[];
}

interface StoredConfiguration {
  scanType: 'BASIC' | 'ENHANCED';
  rules: StoredRule[];
}

function configurationOf(registry: RegistryRecord): StoredConfiguration {
  return (
    (registry.settings?.scanningConfiguration as StoredConfiguration | undefined) ?? { scanType: 'BASIC', rules: [] }
  );
}

/** Returns true when the registry or repository settings scan this repository without being asked. */
function scansAutomatically(registry: RegistryRecord, repo: RepositoryRecord): boolean {
  const config = configurationOf(registry);
  const covered = config.rules.some(
    (r) => r.scanFrequency !== 'MANUAL' && r.repositoryFilters.some((f) => wildcardMatches(f.filter, repo.name)),
  );
  return config.scanType === 'ENHANCED' ? covered : covered || repo.scanOnPush;
}

/** Returns the image's scan under the registry's current scan type, if any. */
function currentScan(registry: RegistryRecord, image: ImageRecord): ImageScanRecord | undefined {
  const scan = image.scan;
  return scan && scan.type === configurationOf(registry).scanType ? scan : undefined;
}

function isIndex(image: ImageRecord): boolean {
  return image.children !== undefined;
}

// Scans running in this process, by registry / repository / digest / start time.
const running = new Map<string, Promise<void>>();

function runKey(ctx: LocalContext, registry: RegistryRecord, repo: string, digest: string, startedAt: number): string {
  return `${ctx.store.dataDir}|${registryKey(registry.kind, registry.account, registry.region)}|${repo}|${digest}|${startedAt}`;
}

/** Starts (once) the scanner for an image's IN_PROGRESS scan and returns its completion. */
function runScan(
  ctx: LocalContext,
  registry: RegistryRecord,
  repoName: string,
  digest: string,
  startedAt: number,
): Promise<void> {
  const key = runKey(ctx, registry, repoName, digest, startedAt);
  let job = running.get(key);
  if (!job) {
    job = (async () => {
      const outcome = await scanImage(ctx.store, digest, ctx.advisoriesFile).catch((err: unknown) => ({
        status: 'FAILED' as const,
        description: `ScanFailed: ${(err as Error).message}`,
      }));
      let findingsDigest: string | undefined;
      const counts: Record<string, number> = {};
      if (outcome.status === 'COMPLETE') {
        const hits = sortHits(outcome.hits);
        for (const h of hits) counts[h.severity] = (counts[h.severity] ?? 0) + 1;
        findingsDigest = await ctx.store.writeBlob(Buffer.from(JSON.stringify(hits)));
      }
      await ctx.store.mutate(() => {
        const scan = findRepository(registry, repoName)?.images[digest]?.scan;
        if (!scan || scan.startedAt !== startedAt) return;
        scan.status = outcome.status;
        scan.completedAt = ctx.now();
        if (outcome.status === 'COMPLETE') {
          scan.findingsDigest = findingsDigest;
          scan.counts = counts;
          scan.description = 'The scan was completed successfully.';
          if (outcome.advisoriesUpdatedAt !== undefined) scan.sourceUpdatedAt = Math.floor(outcome.advisoriesUpdatedAt);
        } else {
          scan.description = outcome.description;
        }
      });
    })().finally(() => running.delete(key));
    running.set(key, job);
  }
  return job;
}

function sortHits(hits: readonly ScanHit[]): ScanHit[] {
  return [...hits].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.id.localeCompare(b.id) ||
      a.package.localeCompare(b.package),
  );
}

/** Records a new IN_PROGRESS scan (in memory; the caller persists) and starts the scanner. */
function beginScan(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  image: ImageRecord,
  startedAt: number,
): ImageScanRecord {
  const scan: ImageScanRecord = { type: configurationOf(registry).scanType, status: 'IN_PROGRESS', startedAt };
  image.scan = scan;
  void runScan(ctx, registry, repo.name, image.digest, startedAt);
  return scan;
}

/** Applies scan on push / continuous scanning to an image not scanned under the current type. */
async function ensureAutomaticScan(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  image: ImageRecord,
): Promise<void> {
  if (currentScan(registry, image) || isIndex(image) || !scansAutomatically(registry, repo)) return;
  await ctx.store.mutate(() => {
    if (currentScan(registry, image)) return;
    // A BASIC scan on push happened at the push; an ENHANCED one starts when Inspector sees the image.
    const never = image.scan === undefined && configurationOf(registry).scanType === 'BASIC';
    beginScan(ctx, registry, repo, image, never ? image.pushedAt : ctx.now());
  });
}

/** Waits for an IN_PROGRESS scan to end (restarting the scanner after a server restart). */
async function settle(
  ctx: LocalContext,
  registry: RegistryRecord,
  repo: RepositoryRecord,
  image: ImageRecord,
): Promise<void> {
  const scan = image.scan;
  if (scan?.status === 'IN_PROGRESS') await runScan(ctx, registry, repo.name, image.digest, scan.startedAt);
}

/** Returns true while a scan's duration has not yet passed (a client sees IN_PROGRESS). */
function stillRunning(ctx: LocalContext, scan: ImageScanRecord): boolean {
  return scan.status === 'IN_PROGRESS' || !stateElapsed(ctx, 'scan', scan.startedAt);
}

/** Returns when a client is told the scan completed: not before its duration has passed. */
function completedAtOf(ctx: LocalContext, scan: ImageScanRecord): number | undefined {
  return scan.completedAt === undefined
    ? undefined
    : Math.max(scan.completedAt, stateEndsAt(ctx, 'scan', scan.startedAt));
}

/** Returns the status a client sees: ENHANCED scans that completed are ACTIVE. */
function shownStatus(scan: ImageScanRecord): string {
  return scan.type === 'ENHANCED' && scan.status === 'COMPLETE' ? 'ACTIVE' : scan.status;
}

function shownDescription(scan: ImageScanRecord): string | undefined {
  if (scan.type === 'ENHANCED' && scan.status === 'COMPLETE') return 'Continuous scan is selected for image.';
  return scan.description;
}

function describeId(id: { imageDigest?: string; imageTag?: string }): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

/** Returns the image a request's imageId names, or throws ECR's exceptions. */
function requireImage(
  req: ApiRequest,
  registry: RegistryRecord,
  repo: RepositoryRecord,
): { image: ImageRecord; id: { imageDigest?: string; imageTag?: string } } {
  const raw = obj(req.input, 'imageId', true)!;
  const id: { imageDigest?: string; imageTag?: string } = {};
  const digest = str(raw, 'imageDigest');
  const tag = str(raw, 'imageTag', { min: 1, max: 300 });
  if (digest !== undefined) id.imageDigest = digest;
  if (tag !== undefined) id.imageTag = tag;
  if (digest === undefined && tag === undefined) {
    throw new ApiError('InvalidParameterException', 'Invalid request parameters: both tag and digest cannot be null');
  }
  const image = resolveImage(repo, id);
  if (!image || image === 'mismatch') {
    throw new ApiError(
      'ImageNotFoundException',
      `The image with imageId ${describeId(id)} does not exist within the repository with name '${repo.name}' in the registry with id '${registry.account}'`,
    );
  }
  return { image, id };
}

function imageIdOut(image: ImageRecord, id: { imageTag?: string }) {
  return { imageDigest: image.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) };
}

function nonZero(counts: Record<string, number> | undefined, enhanced: boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts ?? {})) {
    if (v > 0) out[enhanced && k === 'UNDEFINED' ? 'UNTRIAGED' : k] = v;
  }
  return out;
}

function basicFinding(h: ScanHit) {
  return {
    name: h.id,
    ...(h.description ? { description: h.description } : {}),
    ...(h.uri ? { uri: h.uri } : {}),
    severity: h.severity,
    attributes: [
      { key: 'package_version', value: h.version },
      { key: 'package_name', value: h.package },
      ...(h.score !== undefined ? [{ key: 'CVSS3_SCORE', value: String(h.score) }] : []),
    ],
  };
}

function enhancedFinding(
  registry: RegistryRecord,
  repo: RepositoryRecord,
  image: ImageRecord,
  scan: ImageScanRecord,
  h: ScanHit,
) {
  const [epoch, rest] = h.version.includes(':')
    ? [Number(h.version.split(':')[0]), h.version.slice(h.version.indexOf(':') + 1)]
    : [0, h.version];
  const dash = rest.lastIndexOf('-');
  const findingId = createHash('sha256').update(`${image.digest}|${h.id}|${h.package}`).digest('hex').slice(0, 32);
  const observed = ts(scan.completedAt ?? scan.startedAt);
  const severity = h.severity === 'UNDEFINED' ? 'UNTRIAGED' : h.severity;
  return {
    awsAccountId: registry.account,
    description: h.description ?? h.id,
    findingArn: `arn:aws:inspector2:${registry.region}:${registry.account}:finding/${findingId}`,
    firstObservedAt: observed,
    lastObservedAt: observed,
    updatedAt: observed,
    packageVulnerabilityDetails: {
      ...(h.score !== undefined
        ? { cvss: [{ baseScore: h.score, scoringVector: '', source: 'NVD', version: '3.1' }] }
        : { cvss: [] }),
      referenceUrls: h.uri ? [h.uri] : [],
      relatedVulnerabilities: [],
      source: h.ecosystem === 'deb' ? 'DEBIAN_CVE' : 'ALPINE_SECDB',
      ...(h.uri ? { sourceUrl: h.uri } : {}),
      vendorSeverity: h.severity,
      vulnerabilityId: h.id,
      vulnerablePackages: [
        {
          ...(h.arch ? { arch: h.arch } : {}),
          epoch,
          name: h.package,
          packageManager: 'OS',
          release: dash > 0 ? rest.slice(dash + 1) : '',
          sourceLayerHash: h.layerDigest,
          version: dash > 0 ? rest.slice(0, dash) : rest,
          fixedInVersion: h.fixedIn ?? 'NotAvailable',
        },
      ],
    },
    remediation: {
      recommendation: {
        text: h.fixedIn ? `Upgrade ${h.package} to version ${h.fixedIn} or later.` : 'None Provided',
        ...(h.uri ? { url: h.uri } : {}),
      },
    },
    resources: [
      {
        details: {
          awsEcrContainerImage: {
            architecture: h.arch ?? 'amd64',
            imageHash: image.digest,
            imageTags: tagsOf(repo, image.digest),
            pushedAt: ts(image.pushedAt),
            registry: registry.account,
            repositoryName: repo.name,
          },
        },
        id: `arn:aws:ecr:${registry.region}:${registry.account}:repository/${repo.name}/${image.digest}`,
        type: 'AWS_ECR_CONTAINER_IMAGE',
      },
    ],
    ...(h.score !== undefined
      ? {
          score: h.score,
          scoreDetails: {
            cvss: { adjustments: [], score: h.score, scoreSource: 'NVD', scoringVector: '', version: '3.1' },
          },
        }
      : {}),
    severity,
    status: 'ACTIVE',
    title: `${h.id} - ${h.package}`,
    type: 'PACKAGE_VULNERABILITY',
    fixAvailable: h.fixedIn ? 'YES' : 'NO',
    exploitAvailable: 'NO',
  };
}

/** Returns the scan fields DescribeImages adds to an image detail. */
function scanFieldsOf(ctx: LocalContext, registry: RegistryRecord, image: ImageRecord): Record<string, unknown> {
  const scan = currentScan(registry, image);
  if (!scan) return {};
  if (stillRunning(ctx, scan))
    return { imageScanStatus: { status: 'IN_PROGRESS', description: 'The scan is in progress.' } };
  const description = shownDescription(scan);
  const out: Record<string, unknown> = {
    imageScanStatus: { status: shownStatus(scan), ...(description ? { description } : {}) },
  };
  if (scan.status === 'COMPLETE') {
    out.imageScanFindingsSummary = {
      imageScanCompletedAt: ts(completedAtOf(ctx, scan)),
      ...(scan.sourceUpdatedAt !== undefined ? { vulnerabilitySourceUpdatedAt: ts(scan.sourceUpdatedAt) } : {}),
      findingSeverityCounts: nonZero(scan.counts, scan.type === 'ENHANCED'),
    };
  }
  return out;
}

/** Returns a repository's effective scanning settings, as BatchGetRepositoryScanningConfiguration reports them. */
function repositoryScanning(registry: RegistryRecord, repo: RepositoryRecord) {
  const config = configurationOf(registry);
  const matching = (frequency: string) =>
    config.rules
      .filter((r) => r.scanFrequency === frequency)
      .flatMap((r) => r.repositoryFilters.filter((f) => wildcardMatches(f.filter, repo.name)));
  // The broadest rule that covers the repository wins: continuous over on-push over manual.
  let scanFrequency = 'MANUAL';
  let applied: { filter: string; filterType: string }[] = [];
  for (const frequency of ['CONTINUOUS_SCAN', 'SCAN_ON_PUSH']) {
    const filters = matching(frequency);
    if (filters.length > 0) {
      scanFrequency = frequency;
      applied = filters;
      break;
    }
  }
  if (scanFrequency === 'MANUAL' && config.scanType === 'BASIC' && repo.scanOnPush) scanFrequency = 'SCAN_ON_PUSH';
  return {
    repositoryArn: repositoryArn(registry, repo.name),
    repositoryName: repo.name,
    scanOnPush: scanFrequency !== 'MANUAL',
    scanFrequency,
    appliedScanFilters: applied.map((f) => ({ filter: f.filter, filterType: f.filterType })),
  };
}

export const scanningOperations: OperationTable = {
  async BatchGetRepositoryScanningConfiguration(req) {
    const registry = privateRegistry(req);
    const names = list<string>(req.input, 'repositoryNames', { required: true, min: 1, max: 25 }) ?? [];
    const scanningConfigurations = [];
    const failures = [];
    for (const name of names) {
      if (typeof name !== 'string')
        throw new ApiError('SerializationException', "Expected a string in 'repositoryNames'");
      const repo = findRepository(registry, name);
      if (!repo) {
        failures.push({
          repositoryName: name,
          failureCode: 'REPOSITORY_NOT_FOUND',
          failureReason: 'REPOSITORY_NOT_FOUND',
        });
        continue;
      }
      scanningConfigurations.push(repositoryScanning(registry, repo));
    }
    return { scanningConfigurations, failures };
  },

  async StartImageScan(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName', { min: 2, max: 256 });
    const repo = requireRepository(registry, repository);
    const { image, id } = requireImage(req, registry, repo);
    if (isIndex(image)) {
      throw new ApiError(
        'UnsupportedImageTypeException',
        'The image is an image index: scanning an index is not supported. Scan the images it lists instead.',
      );
    }
    if (configurationOf(registry).scanType === 'ENHANCED') {
      throw new ApiError(
        'ValidationException',
        'StartImageScan starts basic scans only; the registry uses enhanced scanning, where Amazon Inspector scans images on push or continuously',
      );
    }
    await ensureAutomaticScan(req.ctx, registry, repo, image);
    await req.ctx.store.mutate(() => {
      const last = currentScan(registry, image);
      if (last && req.ctx.now() - last.startedAt < DAY_MS) throw new ApiError('LimitExceededException', LIMIT_MESSAGE);
      beginScan(req.ctx, registry, repo, image, req.ctx.now());
    });
    // The scanner may already be done; ECR answers IN_PROGRESS to the start in any case.
    return {
      registryId: registry.account,
      repositoryName: repository,
      imageId: imageIdOut(image, id),
      imageScanStatus: { status: 'IN_PROGRESS' },
    };
  },

  async DescribeImageScanFindings(req) {
    const registry = privateRegistry(req);
    const repository = reqStr(req.input, 'repositoryName', { min: 2, max: 256 });
    int(req.input, 'maxResults', 1, 1000);
    const repo = requireRepository(registry, repository);
    const { image, id } = requireImage(req, registry, repo);
    await ensureAutomaticScan(req.ctx, registry, repo, image);
    const scan = currentScan(registry, image);
    const head = { registryId: registry.account, repositoryName: repository, imageId: imageIdOut(image, id) };
    if (!scan) {
      throw new ApiError(
        'ScanNotFoundException',
        `Image scan does not exist for the image with '${describeId(id)}' in the repository with name '${repository}' in the registry with id '${registry.account}'`,
      );
    }
    if (!stateElapsed(req.ctx, 'scan', scan.startedAt)) {
      return { ...head, imageScanStatus: { status: 'IN_PROGRESS', description: 'The scan is in progress.' } };
    }
    // The duration has passed: the outcome shows once the scanner is done (it usually is).
    await settle(req.ctx, registry, repo, image);
    const description = shownDescription(scan);
    const status = { status: shownStatus(scan), ...(description ? { description } : {}) };
    if (scan.status !== 'COMPLETE' || !scan.findingsDigest) return { ...head, imageScanStatus: status };
    const hits = JSON.parse((await req.ctx.store.readBlob(scan.findingsDigest)).toString('utf8')) as ScanHit[];
    const numbered = hits.map((h, i) => ({ h, key: sortable(i) }));
    const p = page(numbered, (x) => x.key, req.input);
    const enhanced = scan.type === 'ENHANCED';
    return {
      ...head,
      imageScanStatus: status,
      imageScanFindings: {
        imageScanCompletedAt: ts(completedAtOf(req.ctx, scan)),
        ...(scan.sourceUpdatedAt !== undefined ? { vulnerabilitySourceUpdatedAt: ts(scan.sourceUpdatedAt) } : {}),
        findingSeverityCounts: nonZero(scan.counts, enhanced),
        ...(enhanced
          ? { enhancedFindings: p.items.map((x) => enhancedFinding(registry, repo, image, scan, x.h)) }
          : { findings: p.items.map((x) => basicFinding(x.h)) }),
      },
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async PutRegistryScanningConfiguration(req) {
    const registry = privateRegistry(req);
    const scanType = str(req.input, 'scanType') ?? 'BASIC';
    if (scanType !== 'BASIC' && scanType !== 'ENHANCED') {
      throw invalidParameter('scanType', 'Member must satisfy enum value set: [BASIC, ENHANCED]');
    }
    const rawRules = list<Record<string, unknown>>(req.input, 'rules', { max: 2 }) ?? [];
    const rules: StoredRule[] = rawRules.map((r, i) => {
      const scanFrequency = reqStr(r, 'scanFrequency');
      if (!FREQUENCIES.includes(scanFrequency)) {
        throw invalidParameter(
          `rules.${i + 1}.member.scanFrequency`,
          `Member must satisfy enum value set: [${FREQUENCIES.join(', ')}]`,
        );
      }
      if (scanType === 'BASIC' && scanFrequency === 'CONTINUOUS_SCAN') {
        throw new ApiError('ValidationException', 'CONTINUOUS_SCAN is only supported for the ENHANCED scan type');
      }
      const filters = list<Record<string, unknown>>(r, 'repositoryFilters', { required: true, min: 1, max: 100 })!;
      return {
        scanFrequency,
        repositoryFilters: filters.map((f, j) => {
          const filter = reqStr(f, 'filter', { min: 1, max: 255 });
          const filterType = reqStr(f, 'filterType');
          if (filterType !== 'WILDCARD') {
            throw invalidParameter(
              `rules.${i + 1}.member.repositoryFilters.${j + 1}.member.filterType`,
              'Member must satisfy enum value set: [WILDCARD]',
            );
          }
          if (!FILTER.test(filter)) {
            throw invalidParameter(
              `rules.${i + 1}.member.repositoryFilters.${j + 1}.member.filter`,
              `must satisfy regular expression '${FILTER_TEXT}'`,
            );
          }
          return { filter, filterType };
        }),
      };
    });
    const config: StoredConfiguration = { scanType, rules };
    await req.ctx.store.mutate(() => {
      registry.settings ??= {};
      registry.settings.scanningConfiguration = config;
    });
    return { registryScanningConfiguration: config };
  },

  async GetRegistryScanningConfiguration(req) {
    const registry = privateRegistry(req);
    return { registryId: registry.account, scanningConfiguration: configurationOf(registry) };
  },

  // DescribeImages as images.ts answers it, plus each image's scan status and summary.
  async DescribeImages(req) {
    const base = imageOperations.DescribeImages;
    if (!base) throw new ApiError('ServerException', 'DescribeImages is not available');
    const registry = privateRegistry(req);
    const out = (await base(req)) as { imageDetails: Record<string, unknown>[] };
    const repo = findRepository(registry, String(req.input.repositoryName));
    if (!repo) return out;
    for (const detail of out.imageDetails) {
      const image = repo.images[String(detail.imageDigest)];
      if (!image) continue;
      await ensureAutomaticScan(req.ctx, registry, repo, image);
      Object.assign(detail, scanFieldsOf(req.ctx, registry, image));
    }
    return out;
  },
};

// ECR image scanning behind an adapter that returns our own types: StartImageScan (with the
// once-a-day limit as an outcome, not an error), DescribeImageScanFindings read through every
// page into one findings model for basic `findings[]` and enhanced `enhancedFindings[]` alike,
// the image and manifest look-ups a scan needs, and the registry scanning configuration.
import { EcrctlError } from '../errors.js';
import {
  type Finding,
  normalizeSeverity,
  type ScanningConfiguration,
  type ScanFrequency,
  type ScanType,
} from '../policy/scan.js';
import { awsErrorName, callEcr, type EcrConnection } from './repositories.js';

/** DescribeImageScanFindings' largest page. */
export const FINDINGS_PAGE_MAX = 1000;

/** Where a scan stands, and its findings once it has them. */
export interface ScanState {
  status: string;
  description?: string;
  /** ENHANCED when the answer had enhanced findings or the status is ACTIVE. */
  scanType: 'BASIC' | 'ENHANCED';
  completedAt?: Date;
  sourceUpdatedAt?: Date;
  /** findingSeverityCounts as ECR reported them. */
  counts: Record<string, number>;
  /** Every finding, all pages, when the answer carried imageScanFindings. */
  findings?: Finding[];
}

/** An image as the scan needs it. */
export interface ScanTarget {
  digest: string;
  mediaType?: string;
  tags: string[];
}

/** One manifest an index lists. */
export interface IndexChild {
  digest: string;
  mediaType?: string;
  /** os/arch[/variant]. */
  platform?: string;
  /** Buildx attestation manifests and other non-images are not scanned. */
  attestation: boolean;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** Returns true for an image index / manifest list media type. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}

function idOf(image: { digest?: string; tag?: string }) {
  return {
    ...(image.digest ? { imageDigest: image.digest } : {}),
    ...(image.tag && !image.digest ? { imageTag: image.tag } : {}),
  };
}

function registryOf(conn: EcrConnection) {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** Returns the image a tag or digest names (DescribeImages), or throws NotFoundError. */
export async function describeScanTarget(
  conn: EcrConnection,
  repository: string,
  image: { digest?: string; tag?: string },
): Promise<ScanTarget> {
  const { DescribeImagesCommand } = conn.sdk;
  const out = await callEcr(conn, 'DescribeImages', `repository ${repository}`, () =>
    conn.client.send(
      new DescribeImagesCommand({ ...registryOf(conn), repositoryName: repository, imageIds: [idOf(image)] }),
    ),
  );
  const d = out.imageDetails?.[0];
  if (!d?.imageDigest)
    throw new EcrctlError(`DescribeImages returned no image for ${repository}:${image.digest ?? image.tag}`);
  return {
    digest: d.imageDigest,
    ...(d.imageManifestMediaType ? { mediaType: d.imageManifestMediaType } : {}),
    tags: [...(d.imageTags ?? [])],
  };
}

/** Returns the manifests an index lists, with their platforms (BatchGetImage). */
export async function indexChildren(conn: EcrConnection, repository: string, digest: string): Promise<IndexChild[]> {
  const { BatchGetImageCommand } = conn.sdk;
  const out = await callEcr(conn, 'BatchGetImage', `repository ${repository}`, () =>
    conn.client.send(
      new BatchGetImageCommand({
        ...registryOf(conn),
        repositoryName: repository,
        imageIds: [{ imageDigest: digest }],
        acceptedMediaTypes: [...INDEX_TYPES],
      }),
    ),
  );
  const manifest = out.images?.[0]?.imageManifest;
  if (!manifest) {
    throw new EcrctlError(`BatchGetImage did not return the index ${repository}@${digest}`, {
      fix: out.failures?.[0]?.failureReason ? `ECR said: ${out.failures[0].failureReason}` : undefined,
    });
  }
  const doc = JSON.parse(manifest) as {
    manifests?: {
      digest: string;
      mediaType?: string;
      platform?: { os?: string; architecture?: string; variant?: string };
      annotations?: Record<string, string>;
    }[];
  };
  return (doc.manifests ?? []).map((m) => {
    const p = m.platform;
    const platform = p?.os && p.architecture ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined;
    return {
      digest: m.digest,
      ...(m.mediaType ? { mediaType: m.mediaType } : {}),
      ...(platform ? { platform } : {}),
      attestation:
        m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || platform === 'unknown/unknown',
    };
  });
}

/** What StartImageScan did. */
export type StartOutcome =
  | { outcome: 'started'; status: string }
  /** ECR's once-per-24-hours limit (LimitExceededException). */
  | { outcome: 'limit-exceeded'; message: string }
  /** UnsupportedImageTypeException (an index, an artifact). */
  | { outcome: 'unsupported'; message: string };

/** Starts a basic scan of an image; the daily limit and unsupported types are outcomes, not errors. */
export async function startImageScan(conn: EcrConnection, repository: string, digest: string): Promise<StartOutcome> {
  const { StartImageScanCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new StartImageScanCommand({ ...registryOf(conn), repositoryName: repository, imageId: { imageDigest: digest } }),
    );
    return { outcome: 'started', status: out.imageScanStatus?.status ?? 'IN_PROGRESS' };
  } catch (err) {
    // ECR words its once-a-day limit as LimitExceededException, which looks like throttling.
    const name = awsErrorName(err);
    if (name === 'LimitExceededException') return { outcome: 'limit-exceeded', message: (err as Error).message };
    if (name === 'UnsupportedImageTypeException') return { outcome: 'unsupported', message: (err as Error).message };
    return callEcr(conn, 'StartImageScan', `${repository}@${digest}`, () => Promise.reject(err));
  }
}

interface SdkFindings {
  imageScanCompletedAt?: Date;
  vulnerabilitySourceUpdatedAt?: Date;
  findingSeverityCounts?: Record<string, number>;
  findings?: {
    name?: string;
    description?: string;
    uri?: string;
    severity?: string;
    attributes?: { key?: string; value?: string }[];
  }[];
  enhancedFindings?: EnhancedFindingShape[];
}

interface EnhancedFindingShape {
  title?: string;
  description?: string;
  severity?: string;
  score?: number;
  packageVulnerabilityDetails?: {
    vulnerabilityId?: string;
    sourceUrl?: string;
    referenceUrls?: string[];
    cvss?: { baseScore?: number }[];
    vulnerablePackages?: {
      name?: string;
      version?: string;
      release?: string;
      epoch?: number;
      fixedInVersion?: string;
    }[];
  };
  remediation?: { recommendation?: { url?: string } };
}

/** Returns the findings of one basic finding in our model. */
export function fromBasicFinding(f: NonNullable<SdkFindings['findings']>[number]): Finding {
  const attr = (key: string) => f.attributes?.find((a) => a.key === key)?.value;
  const scoreText = attr('CVSS3_SCORE') ?? attr('CVSS2_SCORE');
  const score = scoreText !== undefined ? Number(scoreText) : undefined;
  const pkg = attr('package_name');
  const version = attr('package_version');
  return {
    id: f.name ?? 'UNKNOWN',
    severity: normalizeSeverity(f.severity),
    ...(pkg ? { package: pkg } : {}),
    ...(version ? { version } : {}),
    ...(score !== undefined && Number.isFinite(score) ? { score } : {}),
    ...(f.description ? { description: f.description } : {}),
    ...(f.uri ? { uri: f.uri } : {}),
  };
}

/** Returns the findings (one per vulnerable package) of one enhanced finding in our model. */
export function fromEnhancedFinding(f: EnhancedFindingShape): Finding[] {
  const d = f.packageVulnerabilityDetails;
  const id = d?.vulnerabilityId ?? f.title ?? 'UNKNOWN';
  const score = f.score ?? d?.cvss?.[0]?.baseScore;
  const uri = d?.sourceUrl ?? d?.referenceUrls?.[0] ?? f.remediation?.recommendation?.url;
  const base: Finding = {
    id,
    severity: normalizeSeverity(f.severity),
    ...(score !== undefined ? { score } : {}),
    ...(f.description ? { description: f.description } : {}),
    ...(uri ? { uri } : {}),
  };
  const packages = d?.vulnerablePackages ?? [];
  if (packages.length === 0) return [base];
  return packages.map((p) => {
    const version = p.version
      ? `${p.epoch ? `${p.epoch}:` : ''}${p.version}${p.release ? `-${p.release}` : ''}`
      : undefined;
    return {
      ...base,
      ...(p.name ? { package: p.name } : {}),
      ...(version ? { version } : {}),
      ...(p.fixedInVersion && p.fixedInVersion !== 'NotAvailable' ? { fixedIn: p.fixedInVersion } : {}),
    };
  });
}

/**
 * Returns where the scan of an image stands, reading every page of findings when there are
 * some, or undefined when the image has no scan (ScanNotFoundException).
 */
export async function describeImageScan(
  conn: EcrConnection,
  repository: string,
  digest: string,
  opts: { pageSize?: number } = {},
): Promise<ScanState | undefined> {
  const { DescribeImageScanFindingsCommand } = conn.sdk;
  let state: ScanState | undefined;
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    let out: {
      imageScanStatus?: { status?: string; description?: string };
      imageScanFindings?: SdkFindings;
      nextToken?: string;
    };
    try {
      out = (await conn.client.send(
        new DescribeImageScanFindingsCommand({
          ...registryOf(conn),
          repositoryName: repository,
          imageId: { imageDigest: digest },
          maxResults: opts.pageSize ?? FINDINGS_PAGE_MAX,
          ...(token ? { nextToken: token } : {}),
        }),
      )) as typeof out; // the SDK's enums and Partial records, read as plain strings and numbers
    } catch (err) {
      if (awsErrorName(err) === 'ScanNotFoundException' && state === undefined) return undefined;
      return callEcr(conn, 'DescribeImageScanFindings', `${repository}@${digest}`, () => Promise.reject(err));
    }
    const f = out.imageScanFindings;
    if (state === undefined) {
      const status = out.imageScanStatus?.status ?? 'UNKNOWN';
      state = {
        status,
        ...(out.imageScanStatus?.description ? { description: out.imageScanStatus.description } : {}),
        scanType: status === 'ACTIVE' || f?.enhancedFindings !== undefined ? 'ENHANCED' : 'BASIC',
        counts: { ...(f?.findingSeverityCounts ?? {}) },
        ...(f?.imageScanCompletedAt ? { completedAt: f.imageScanCompletedAt } : {}),
        ...(f?.vulnerabilitySourceUpdatedAt ? { sourceUpdatedAt: f.vulnerabilitySourceUpdatedAt } : {}),
        ...(f ? { findings: [] as Finding[] } : {}),
      };
    }
    if (f && state.findings) {
      for (const b of f.findings ?? []) state.findings.push(fromBasicFinding(b));
      for (const e of f.enhancedFindings ?? []) state.findings.push(...fromEnhancedFinding(e));
    }
    nextToken = f ? out.nextToken : undefined;
  } while (nextToken);
  return state;
}

/** Returns the registry scanning configuration. */
export async function getScanningConfiguration(conn: EcrConnection): Promise<ScanningConfiguration> {
  const { GetRegistryScanningConfigurationCommand } = conn.sdk;
  const out = await callEcr(conn, 'GetRegistryScanningConfiguration', undefined, () =>
    conn.client.send(new GetRegistryScanningConfigurationCommand({})),
  );
  return fromSdkConfiguration(out.scanningConfiguration);
}

/** Replaces the registry scanning configuration and returns what ECR stored. */
export async function putScanningConfiguration(
  conn: EcrConnection,
  config: ScanningConfiguration,
): Promise<ScanningConfiguration> {
  const { PutRegistryScanningConfigurationCommand } = conn.sdk;
  const out = await callEcr(conn, 'PutRegistryScanningConfiguration', undefined, () =>
    conn.client.send(
      new PutRegistryScanningConfigurationCommand({
        scanType: config.scanType,
        rules: config.rules.map((r) => ({
          scanFrequency: r.scanFrequency,
          repositoryFilters: r.filters.map((filter) => ({ filter, filterType: 'WILDCARD' as const })),
        })),
      }),
    ),
  );
  return fromSdkConfiguration(out.registryScanningConfiguration);
}

function fromSdkConfiguration(
  c: { scanType?: string; rules?: { scanFrequency?: string; repositoryFilters?: { filter?: string }[] }[] } | undefined,
): ScanningConfiguration {
  return {
    scanType: (c?.scanType ?? 'BASIC') as ScanType,
    rules: (c?.rules ?? []).map((r) => ({
      scanFrequency: (r.scanFrequency ?? 'MANUAL') as ScanFrequency,
      filters: (r.repositoryFilters ?? []).map((f) => f.filter ?? ''),
    })),
  };
}

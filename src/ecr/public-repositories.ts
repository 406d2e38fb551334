// ECR Public repository calls (create with catalog data, describe, catalog data) behind an
// adapter that returns our own types, plus the local checks of catalog data that ECR Public
// would otherwise reject only after the call: text lengths, badge names, the logo PNG.
import type { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
import { EcrctlError, RuleViolation, UsageError } from '../errors.js';
import type { ResourceTag } from '../policy/naming.js';
import { type AwsSettings, resolveEndpoint } from './aws-config.js';
import { ecrPublicClient, ecrPublicCommands } from './clients.js';
import { mapAwsError } from './errors.js';
import { addBatchDeleteOutcome, type ImageFailure, type ImageId, sdkImageIds } from './images.js';
import { PUBLIC_ECR_REGION } from './hosts.js';
import { awsErrorName } from './repositories.js';

type PublicSdk = typeof import('@aws-sdk/client-ecr-public');

/** Catalog data limits (ECR-FACTS.md, "Names"). */
export const CATALOG_LIMITS = {
  description: 255,
  text: 10_240,
  logoBytes: 500 * 1024,
  logoMinPx: 60,
  logoMaxPx: 2048,
} as const;

export const PUBLIC_OPERATING_SYSTEMS = ['Linux', 'Windows'] as const;
export const PUBLIC_ARCHITECTURES = ['ARM', 'ARM 64', 'x86', 'x86-64'] as const;

/** Catalog data of an ECR Public repository, checked. */
export interface CatalogData {
  description?: string;
  aboutText?: string;
  usageText?: string;
  operatingSystems?: string[];
  architectures?: string[];
  logo?: Uint8Array;
}

/** A public repository as ecrctl shows it. */
export interface PublicRepositoryInfo {
  name: string;
  uri: string;
  arn: string;
  registryId: string;
}

/** A live connection to the ECR Public API (us-east-1 only). */
export interface EcrPublicConnection {
  readonly client: ECRPUBLICClient;
  readonly sdk: PublicSdk;
  readonly registryId?: string;
  readonly endpoint?: string;
}

/** Returns a connection to ECR Public for settings. */
export async function connectEcrPublic(
  settings: AwsSettings,
  opts: { registryId?: string } = {},
): Promise<EcrPublicConnection> {
  const [client, sdk] = await Promise.all([ecrPublicClient(settings), ecrPublicCommands()]);
  const endpoint = resolveEndpoint(settings, 'ecr-public');
  return {
    client,
    sdk,
    ...(opts.registryId ? { registryId: opts.registryId } : {}),
    ...(endpoint ? { endpoint } : {}),
  };
}

function mapPublic(conn: EcrPublicConnection, err: unknown, operation: string, name: string): EcrctlError {
  return mapAwsError(err, {
    operation,
    permission: `ecr-public:${operation}`,
    resource: `public repository ${name}`,
    region: PUBLIC_ECR_REGION,
    ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
  });
}

function toInfo(
  r: {
    repositoryName?: string | undefined;
    repositoryUri?: string | undefined;
    repositoryArn?: string | undefined;
    registryId?: string | undefined;
  },
  op: string,
): PublicRepositoryInfo {
  if (!r.repositoryName || !r.repositoryUri)
    throw new EcrctlError(`${op} returned a public repository without a name or URI`);
  return { name: r.repositoryName, uri: r.repositoryUri, arn: r.repositoryArn ?? '', registryId: r.registryId ?? '' };
}

function catalogInput(c: CatalogData) {
  return {
    ...(c.description !== undefined ? { description: c.description } : {}),
    ...(c.aboutText !== undefined ? { aboutText: c.aboutText } : {}),
    ...(c.usageText !== undefined ? { usageText: c.usageText } : {}),
    ...(c.operatingSystems ? { operatingSystems: c.operatingSystems } : {}),
    ...(c.architectures ? { architectures: c.architectures } : {}),
    ...(c.logo ? { logoImageBlob: c.logo } : {}),
  };
}

/** Returns true when catalog data sets anything. */
export function hasCatalogData(c: CatalogData): boolean {
  return Object.keys(catalogInput(c)).length > 0;
}

/** Creates a public repository; returns `created: false` when it already exists. */
export async function createPublicRepository(
  conn: EcrPublicConnection,
  spec: { name: string; catalogData: CatalogData; tags?: ResourceTag[] },
): Promise<{ created: true; repository: PublicRepositoryInfo } | { created: false }> {
  const { CreateRepositoryCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new CreateRepositoryCommand({
        repositoryName: spec.name,
        ...(hasCatalogData(spec.catalogData) ? { catalogData: catalogInput(spec.catalogData) } : {}),
        ...(spec.tags && spec.tags.length > 0 ? { tags: spec.tags.map((t) => ({ Key: t.key, Value: t.value })) } : {}),
      }),
    );
    if (!out.repository) throw new EcrctlError('CreateRepository (ECR Public) returned no repository');
    return { created: true, repository: toInfo(out.repository, 'CreateRepository') };
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryAlreadyExistsException') return { created: false };
    throw mapPublic(conn, err, 'CreateRepository', spec.name);
  }
}

/** Returns a public repository, or undefined when it does not exist. */
export async function describePublicRepository(
  conn: EcrPublicConnection,
  name: string,
): Promise<PublicRepositoryInfo | undefined> {
  const { DescribeRepositoriesCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new DescribeRepositoriesCommand({
        ...(conn.registryId ? { registryId: conn.registryId } : {}),
        repositoryNames: [name],
      }),
    );
    const r = out.repositories?.[0];
    return r ? toInfo(r, 'DescribeRepositories') : undefined;
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryNotFoundException') return undefined;
    throw mapPublic(conn, err, 'DescribeRepositories', name);
  }
}

/** Returns every public repository of the registry (all pages), with when it was created. */
export async function listPublicRepositories(
  conn: EcrPublicConnection,
): Promise<(PublicRepositoryInfo & { createdAt?: Date })[]> {
  const { DescribeRepositoriesCommand } = conn.sdk;
  const out: (PublicRepositoryInfo & { createdAt?: Date })[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await conn.client.send(
        new DescribeRepositoriesCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const r of page.repositories ?? [])
        out.push({ ...toInfo(r, 'DescribeRepositories'), ...(r.createdAt ? { createdAt: r.createdAt } : {}) });
      nextToken = page.nextToken;
    } catch (err) {
      throw mapPublic(conn, err, 'DescribeRepositories', '*');
    }
  } while (nextToken);
  return out;
}

/** One image of a public repository. */
export interface PublicImage {
  repository: string;
  digest: string;
  tags: string[];
  sizeBytes: number;
  pushedAt?: Date;
  mediaType?: string;
  artifactMediaType?: string;
}

/** Returns every image of a public repository (all pages of DescribeImages). */
export async function listPublicImages(conn: EcrPublicConnection, repository: string): Promise<PublicImage[]> {
  const { DescribeImagesCommand } = conn.sdk;
  const out: PublicImage[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await conn.client.send(
        new DescribeImagesCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const d of page.imageDetails ?? []) {
        out.push({
          repository,
          digest: d.imageDigest ?? '',
          tags: [...(d.imageTags ?? [])],
          sizeBytes: Number(d.imageSizeInBytes ?? 0),
          ...(d.imagePushedAt ? { pushedAt: d.imagePushedAt } : {}),
          ...(d.imageManifestMediaType ? { mediaType: d.imageManifestMediaType } : {}),
          ...(d.artifactMediaType ? { artifactMediaType: d.artifactMediaType } : {}),
        });
      }
      nextToken = page.nextToken;
    } catch (err) {
      throw mapPublic(conn, err, 'DescribeImages', repository);
    }
  } while (nextToken);
  return out;
}

/** Deletes a public repository (with its images when force); undefined when it does not exist. */
export async function deletePublicRepository(
  conn: EcrPublicConnection,
  name: string,
  force: boolean,
): Promise<PublicRepositoryInfo | undefined> {
  const { DeleteRepositoryCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new DeleteRepositoryCommand({
        ...(conn.registryId ? { registryId: conn.registryId } : {}),
        repositoryName: name,
        force,
      }),
    );
    return out.repository ? toInfo(out.repository, 'DeleteRepository') : undefined;
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryNotFoundException') return undefined;
    throw mapPublic(conn, err, 'DeleteRepository', name);
  }
}

/** Replaces the catalog data of a public repository. */
export async function putCatalogData(conn: EcrPublicConnection, name: string, data: CatalogData): Promise<void> {
  const { PutRepositoryCatalogDataCommand } = conn.sdk;
  try {
    await conn.client.send(
      new PutRepositoryCatalogDataCommand({
        ...(conn.registryId ? { registryId: conn.registryId } : {}),
        repositoryName: name,
        catalogData: catalogInput(data),
      }),
    );
  } catch (err) {
    throw mapPublic(conn, err, 'PutRepositoryCatalogData', name);
  }
}

/** Returns the ECR Public spelling of an architecture badge (ARM64 → `ARM 64`), or throws UsageError. */
export function normalizeArchitecture(text: string): string {
  const key = text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  const known: Record<string, string> = {
    arm: 'ARM',
    arm64: 'ARM 64',
    aarch64: 'ARM 64',
    x86: 'x86',
    x8664: 'x86-64',
    amd64: 'x86-64',
  };
  const found = known[key];
  if (found) return found;
  throw new UsageError(`unknown architecture "${text}"`, {
    rule: `ECR Public architecture badges are ${PUBLIC_ARCHITECTURES.join(', ')}`,
    value: text,
    fix: `use one of ${PUBLIC_ARCHITECTURES.map((a) => `'${a}'`).join(', ')} (ARM64 and amd64 are accepted too)`,
  });
}

/** Returns the ECR Public spelling of an operating system badge (linux → Linux), or throws UsageError. */
export function normalizeOperatingSystem(text: string): string {
  const found = PUBLIC_OPERATING_SYSTEMS.find((os) => os.toLowerCase() === text.trim().toLowerCase());
  if (found) return found;
  throw new UsageError(`unknown operating system "${text}"`, {
    rule: `ECR Public operating system badges are ${PUBLIC_OPERATING_SYSTEMS.join(' and ')}`,
    value: text,
    fix: 'use --os Linux or --os Windows',
  });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Returns the width and height of a PNG from its IHDR chunk, or undefined when bytes are not a PNG. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Signature (8), then the first chunk must be IHDR: length (4), type (4), width (4), height (4).
  if (b.length < 24 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString('latin1', 12, 16) !== 'IHDR')
    return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Returns every problem a logo has under ECR Public's rules (PNG, 60–2048 px each side, ≤ 500 KB). */
export function logoProblems(bytes: Uint8Array, file: string): string[] {
  const problems: string[] = [];
  const { logoBytes, logoMinPx, logoMaxPx } = CATALOG_LIMITS;
  const dims = pngDimensions(bytes);
  if (!dims) {
    problems.push(
      `${file} is not a PNG file (it does not start with the PNG signature and an IHDR chunk): logos are PNG only`,
    );
  } else {
    for (const [side, px] of [
      ['width', dims.width],
      ['height', dims.height],
    ] as const) {
      if (px < logoMinPx || px > logoMaxPx) {
        problems.push(
          `${file} is ${dims.width}×${dims.height} px: its ${side} ${px} px is outside ${logoMinPx}–${logoMaxPx} px`,
        );
      }
    }
  }
  if (bytes.byteLength > logoBytes) {
    problems.push(`${file} is ${bytes.byteLength} bytes: logos are at most ${logoBytes} bytes (500 KB)`);
  }
  return problems;
}

/** Throws RuleViolation with every problem of catalog data (text lengths, logo), or returns. */
export function assertCatalogData(c: CatalogData, files: { logo?: string; about?: string; usage?: string } = {}): void {
  const problems: string[] = [];
  const len = (s: string) => Array.from(s).length;
  if (c.description !== undefined && len(c.description) > CATALOG_LIMITS.description) {
    problems.push(
      `--description is ${len(c.description)} characters: short descriptions have at most ${CATALOG_LIMITS.description}`,
    );
  }
  for (const [flag, text, file] of [
    ['--about', c.aboutText, files.about],
    ['--usage', c.usageText, files.usage],
  ] as const) {
    if (text !== undefined && len(text) > CATALOG_LIMITS.text) {
      problems.push(
        `${flag} ${file ?? ''} is ${len(text)} characters: about and usage texts have at most ${CATALOG_LIMITS.text}`.replace(
          '  ',
          ' ',
        ),
      );
    }
  }
  if (c.logo) problems.push(...logoProblems(c.logo, files.logo ?? 'the logo'));
  if (problems.length === 0) return;
  throw new RuleViolation(
    problems.length === 1 ? (problems[0] as string) : 'the catalog data breaks ECR Public rules',
    {
      rule: 'ECR Public catalog data: description ≤ 255 characters; about and usage ≤ 10,240 characters each; logo a PNG of 60–2048 px per side, ≤ 500 KB',
      fix: 'shorten the texts; export the logo as a PNG within the size limits (e.g. 512×512)',
      ...(problems.length > 1 ? { problems } : {}),
    },
  );
}

/**
 * BatchDeleteImage on ECR Public, at most 100 ids a call (as on ECR): the ids it deleted and
 * each failure with its code.
 */
export async function deletePublicImages(
  conn: EcrPublicConnection,
  repository: string,
  ids: readonly ImageId[],
): Promise<{ deleted: ImageId[]; failures: ImageFailure[] }> {
  const { BatchDeleteImageCommand } = conn.sdk;
  const deleted: ImageId[] = [];
  const failures: ImageFailure[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const out = await conn.client
      .send(
        new BatchDeleteImageCommand({
          ...(conn.registryId ? { registryId: conn.registryId } : {}),
          repositoryName: repository,
          imageIds: sdkImageIds(ids.slice(i, i + 100)),
        }),
      )
      .catch((err: unknown) => {
        throw mapPublic(conn, err, 'BatchDeleteImage', repository);
      });
    addBatchDeleteOutcome(out, deleted, failures);
  }
  return { deleted, failures };
}

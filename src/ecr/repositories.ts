// ECR repository calls (create, describe, delete, tag mutability, scanning, lifecycle and
// repository policies, resource tags) behind one adapter that returns our own types, pages
// through every result and turns service exceptions into our error kinds. Also the pure
// planning that `create-repo --if-not-exists --apply` needs: what differs, what can change.
import type { ECRClient } from '@aws-sdk/client-ecr';
import { EcrctlError } from '../errors.js';
import type { ResourceTag } from '../policy/naming.js';
import { type AwsSettings, resolveEndpoint } from './aws-config.js';
import { ecrClient, ecrCommands } from './clients.js';
import { mapAwsError } from './errors.js';

type EcrSdk = typeof import('@aws-sdk/client-ecr');

/** Tag mutability settings ECR knows. */
export const TAG_MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
export type TagMutability = (typeof TAG_MUTABILITIES)[number];

/** Repository and registry policy text limit (ECR-FACTS.md). */
export const POLICY_MAX_CHARS = 10_240;

/** A live connection to one registry's ECR API: client, region, and the registry id to pass. */
export interface EcrConnection {
  readonly client: ECRClient;
  readonly sdk: EcrSdk;
  readonly region: string;
  /** Passed as registryId on every call when set (--registry-id). */
  readonly registryId?: string;
  readonly endpoint?: string;
  /**
   * maxResults for listings; absent = the service default (100 repositories per page).
   * Tests pass small values to walk many pages quickly.
   */
  readonly pageSize?: number;
}

/** Returns a connection to ECR in region for settings (the SDK is loaded here, lazily). */
export async function connectEcr(
  settings: AwsSettings,
  opts: { region: string; registryId?: string; pageSize?: number },
): Promise<EcrConnection> {
  const [client, sdk] = await Promise.all([ecrClient(settings, opts.region), ecrCommands()]);
  const endpoint = resolveEndpoint(settings, 'ecr');
  return {
    client,
    sdk,
    region: opts.region,
    ...(opts.registryId ? { registryId: opts.registryId } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
  };
}

/** Runs one SDK call and maps what it throws to our error kinds. */
export async function callEcr<T>(
  conn: EcrConnection,
  operation: string,
  resource: string | undefined,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw mapAwsError(err, {
      operation,
      permission: `ecr:${operation}`,
      region: conn.region,
      ...(resource ? { resource } : {}),
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Returns the SDK error name of err (`RepositoryNotFoundException`, …), if it has one. */
export function awsErrorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string'
    ? (err as { name: string }).name
    : undefined;
}

/** A repository as ecrctl shows it. */
export interface RepositoryInfo {
  name: string;
  uri: string;
  arn: string;
  registryId: string;
  createdAt?: Date;
  tagMutability: string;
  /** Wildcard filters of the *_WITH_EXCLUSION settings. */
  mutabilityExclusions: string[];
  scanOnPush: boolean;
  encryption: { type: string; kmsKey?: string };
}

/** What create-repo asks for; absent fields are left to ECR's defaults (or left alone on --apply). */
export interface RepositorySpec {
  name: string;
  tagMutability?: TagMutability;
  mutabilityExclusions?: string[];
  scanOnPush?: boolean;
  encryption?: { type: 'AES256' | 'KMS'; kmsKey?: string };
  /** Lifecycle policy JSON, already validated. */
  lifecyclePolicy?: string;
  /** Repository policy JSON, already checked. */
  policy?: string;
  tags?: ResourceTag[];
}

// Loosely typed so this module needs the SDK's types only at compile time.
interface SdkRepository {
  repositoryName?: string | undefined;
  repositoryUri?: string | undefined;
  repositoryArn?: string | undefined;
  registryId?: string | undefined;
  createdAt?: Date | undefined;
  imageTagMutability?: string | undefined;
  imageTagMutabilityExclusionFilters?: { filter?: string | undefined }[] | undefined;
  imageScanningConfiguration?: { scanOnPush?: boolean | undefined } | undefined;
  encryptionConfiguration?: { encryptionType?: string | undefined; kmsKey?: string | undefined } | undefined;
}

function toInfo(r: SdkRepository, operation: string): RepositoryInfo {
  if (!r.repositoryName || !r.repositoryUri) {
    // amazon-ecr-login's lesson: say which answer lacked what, rather than fail later.
    throw new EcrctlError(`${operation} returned a repository without a name or URI`);
  }
  const info: RepositoryInfo = {
    name: r.repositoryName,
    uri: r.repositoryUri,
    arn: r.repositoryArn ?? '',
    registryId: r.registryId ?? '',
    tagMutability: r.imageTagMutability ?? 'MUTABLE',
    mutabilityExclusions: (r.imageTagMutabilityExclusionFilters ?? [])
      .map((f) => f.filter ?? '')
      .filter((f) => f !== ''),
    scanOnPush: r.imageScanningConfiguration?.scanOnPush ?? false,
    encryption: { type: r.encryptionConfiguration?.encryptionType ?? 'AES256' },
  };
  if (r.createdAt) info.createdAt = r.createdAt;
  if (r.encryptionConfiguration?.kmsKey) info.encryption.kmsKey = r.encryptionConfiguration.kmsKey;
  return info;
}

function registry(conn: EcrConnection): { registryId?: string } {
  return conn.registryId ? { registryId: conn.registryId } : {};
}

/** Creates a repository; returns `created: false` (and nothing else) when it already exists. */
export async function createRepository(
  conn: EcrConnection,
  spec: RepositorySpec,
): Promise<{ created: true; repository: RepositoryInfo } | { created: false }> {
  const { CreateRepositoryCommand } = conn.sdk;
  try {
    const out = await conn.client.send(
      new CreateRepositoryCommand({
        ...registry(conn),
        repositoryName: spec.name,
        ...(spec.tagMutability ? { imageTagMutability: spec.tagMutability } : {}),
        ...(spec.mutabilityExclusions && spec.mutabilityExclusions.length > 0
          ? {
              imageTagMutabilityExclusionFilters: spec.mutabilityExclusions.map((filter) => ({
                filterType: 'WILDCARD' as const,
                filter,
              })),
            }
          : {}),
        ...(spec.scanOnPush !== undefined ? { imageScanningConfiguration: { scanOnPush: spec.scanOnPush } } : {}),
        ...(spec.encryption
          ? {
              encryptionConfiguration: {
                encryptionType: spec.encryption.type,
                ...(spec.encryption.kmsKey ? { kmsKey: spec.encryption.kmsKey } : {}),
              },
            }
          : {}),
        ...(spec.tags && spec.tags.length > 0 ? { tags: spec.tags.map((t) => ({ Key: t.key, Value: t.value })) } : {}),
      }),
    );
    if (!out.repository) throw new EcrctlError('CreateRepository returned no repository');
    return { created: true, repository: toInfo(out.repository, 'CreateRepository') };
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryAlreadyExistsException') return { created: false };
    throw mapAwsError(err, {
      operation: 'CreateRepository',
      permission: 'ecr:CreateRepository',
      resource: `repository ${spec.name}`,
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Returns one repository, or undefined when it does not exist. */
export async function describeRepository(conn: EcrConnection, name: string): Promise<RepositoryInfo | undefined> {
  const { DescribeRepositoriesCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new DescribeRepositoriesCommand({ ...registry(conn), repositoryNames: [name] }));
    const r = out.repositories?.[0];
    return r ? toInfo(r, 'DescribeRepositories') : undefined;
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryNotFoundException') return undefined;
    throw mapAwsError(err, {
      operation: 'DescribeRepositories',
      permission: 'ecr:DescribeRepositories',
      resource: `repository ${name}`,
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Returns every repository of the registry, following nextToken to the last page. */
export async function listRepositories(conn: EcrConnection): Promise<RepositoryInfo[]> {
  const { DescribeRepositoriesCommand } = conn.sdk;
  const all: RepositoryInfo[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'DescribeRepositories', undefined, () =>
      conn.client.send(
        new DescribeRepositoriesCommand({
          ...registry(conn),
          ...(conn.pageSize ? { maxResults: conn.pageSize } : {}),
          ...(token ? { nextToken: token } : {}),
        }),
      ),
    );
    for (const r of out.repositories ?? []) all.push(toInfo(r, 'DescribeRepositories'));
    nextToken = out.nextToken;
  } while (nextToken);
  return all;
}

/** Deletes a repository (with its images when force); throws when it is not empty and not forced. */
export async function deleteRepository(conn: EcrConnection, name: string, force: boolean): Promise<RepositoryInfo> {
  const { DeleteRepositoryCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new DeleteRepositoryCommand({ ...registry(conn), repositoryName: name, force }));
    if (!out.repository) throw new EcrctlError('DeleteRepository returned no repository');
    return toInfo(out.repository, 'DeleteRepository');
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryNotEmptyException') {
      throw new EcrctlError(`repository ${name} still contains images`, {
        rule: 'a repository with images is deleted only when asked to delete its images too',
        value: name,
        fix: `run \`ecrctl delete-repo ${name} --force\` to delete it with its images`,
        cause: err,
      });
    }
    throw mapAwsError(err, {
      operation: 'DeleteRepository',
      permission: 'ecr:DeleteRepository',
      resource: `repository ${name}`,
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Sets tag mutability (and its exclusion filters) of a repository. */
export async function putTagMutability(
  conn: EcrConnection,
  name: string,
  mutability: TagMutability,
  exclusions: readonly string[],
): Promise<void> {
  const { PutImageTagMutabilityCommand } = conn.sdk;
  await callEcr(conn, 'PutImageTagMutability', `repository ${name}`, () =>
    conn.client.send(
      new PutImageTagMutabilityCommand({
        ...registry(conn),
        repositoryName: name,
        imageTagMutability: mutability,
        ...(exclusions.length > 0
          ? {
              imageTagMutabilityExclusionFilters: exclusions.map((filter) => ({
                filterType: 'WILDCARD' as const,
                filter,
              })),
            }
          : {}),
      }),
    ),
  );
}

/** Turns scan on push on or off. */
export async function putScanOnPush(conn: EcrConnection, name: string, scanOnPush: boolean): Promise<void> {
  const { PutImageScanningConfigurationCommand } = conn.sdk;
  await callEcr(conn, 'PutImageScanningConfiguration', `repository ${name}`, () =>
    conn.client.send(
      new PutImageScanningConfigurationCommand({
        ...registry(conn),
        repositoryName: name,
        imageScanningConfiguration: { scanOnPush },
      }),
    ),
  );
}

/** Returns the lifecycle policy text of a repository, or undefined when it has none. */
export async function getLifecyclePolicy(conn: EcrConnection, name: string): Promise<string | undefined> {
  const { GetLifecyclePolicyCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new GetLifecyclePolicyCommand({ ...registry(conn), repositoryName: name }));
    return out.lifecyclePolicyText;
  } catch (err) {
    if (awsErrorName(err) === 'LifecyclePolicyNotFoundException') return undefined;
    throw mapAwsError(err, {
      operation: 'GetLifecyclePolicy',
      permission: 'ecr:GetLifecyclePolicy',
      resource: `repository ${name}`,
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Sets the lifecycle policy of a repository (text validated by the caller). */
export async function putLifecyclePolicy(conn: EcrConnection, name: string, text: string): Promise<void> {
  const { PutLifecyclePolicyCommand } = conn.sdk;
  await callEcr(conn, 'PutLifecyclePolicy', `repository ${name}`, () =>
    conn.client.send(
      new PutLifecyclePolicyCommand({ ...registry(conn), repositoryName: name, lifecyclePolicyText: text }),
    ),
  );
}

/** Returns the repository policy text, or undefined when the repository has none. */
export async function getRepositoryPolicy(conn: EcrConnection, name: string): Promise<string | undefined> {
  const { GetRepositoryPolicyCommand } = conn.sdk;
  try {
    const out = await conn.client.send(new GetRepositoryPolicyCommand({ ...registry(conn), repositoryName: name }));
    return out.policyText;
  } catch (err) {
    if (awsErrorName(err) === 'RepositoryPolicyNotFoundException') return undefined;
    throw mapAwsError(err, {
      operation: 'GetRepositoryPolicy',
      permission: 'ecr:GetRepositoryPolicy',
      resource: `repository ${name}`,
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
    });
  }
}

/** Sets the repository policy. */
export async function setRepositoryPolicy(conn: EcrConnection, name: string, text: string): Promise<void> {
  const { SetRepositoryPolicyCommand } = conn.sdk;
  await callEcr(conn, 'SetRepositoryPolicy', `repository ${name}`, () =>
    conn.client.send(new SetRepositoryPolicyCommand({ ...registry(conn), repositoryName: name, policyText: text })),
  );
}

/** Returns the resource tags of a repository (by ARN). */
export async function listResourceTags(conn: EcrConnection, arn: string): Promise<ResourceTag[]> {
  const { ListTagsForResourceCommand } = conn.sdk;
  const out = await callEcr(conn, 'ListTagsForResource', arn, () =>
    conn.client.send(new ListTagsForResourceCommand({ resourceArn: arn })),
  );
  return (out.tags ?? []).map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

/** Adds or overwrites resource tags of a repository (by ARN). */
export async function tagRepository(conn: EcrConnection, arn: string, tags: readonly ResourceTag[]): Promise<void> {
  const { TagResourceCommand } = conn.sdk;
  await callEcr(conn, 'TagResource', arn, () =>
    conn.client.send(
      new TagResourceCommand({ resourceArn: arn, tags: tags.map((t) => ({ Key: t.key, Value: t.value })) }),
    ),
  );
}

/** Returns a regular expression for a glob over repository names (`*` any run, `?` one char). */
export function globToRegExp(glob: string): RegExp {
  const body = Array.from(glob)
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** Returns JSON text in one canonical form (keys sorted, no spaces), or the text itself when not JSON. */
export function canonicalJson(text: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return text;
  }
}

/** What an existing repository has, as far as a spec asks about it. */
export interface RepositoryState {
  info: RepositoryInfo;
  /** Present only when the spec sets a lifecycle policy (null = the repository has none). */
  lifecyclePolicy?: string | null;
  policy?: string | null;
  tags?: ResourceTag[];
}

/** One difference between a spec and a repository. */
export type RepositoryChange =
  | { kind: 'tag-mutability'; mutability: TagMutability; exclusions: string[]; description: string }
  | { kind: 'scan-on-push'; scanOnPush: boolean; description: string }
  | { kind: 'lifecycle'; text: string; description: string }
  | { kind: 'policy'; text: string; description: string }
  | { kind: 'tags'; tags: ResourceTag[]; description: string };

/**
 * Returns the differences between what spec asks for and what a repository has: the ones
 * that can be changed, and warnings for those that cannot (encryption is fixed at creation).
 * Only what the spec sets is compared; resource tags are added or overwritten, never removed.
 */
export function planRepositoryChanges(
  state: RepositoryState,
  spec: RepositorySpec,
): { changes: RepositoryChange[]; warnings: string[] } {
  const changes: RepositoryChange[] = [];
  const warnings: string[] = [];
  const { info } = state;
  if (spec.tagMutability !== undefined) {
    const wanted = spec.mutabilityExclusions ?? [];
    const same =
      info.tagMutability === spec.tagMutability &&
      [...info.mutabilityExclusions].sort().join('\n') === [...wanted].sort().join('\n');
    if (!same) {
      const show = (m: string, ex: readonly string[]) => (ex.length > 0 ? `${m} (${ex.join(', ')})` : m);
      changes.push({
        kind: 'tag-mutability',
        mutability: spec.tagMutability,
        exclusions: wanted,
        description: `tag mutability ${show(info.tagMutability, info.mutabilityExclusions)} → ${show(spec.tagMutability, wanted)}`,
      });
    }
  }
  if (spec.scanOnPush !== undefined && spec.scanOnPush !== info.scanOnPush) {
    changes.push({
      kind: 'scan-on-push',
      scanOnPush: spec.scanOnPush,
      description: `scan on push ${info.scanOnPush ? 'on' : 'off'} → ${spec.scanOnPush ? 'on' : 'off'}`,
    });
  }
  if (spec.encryption !== undefined) {
    const typeDiffers = spec.encryption.type !== info.encryption.type;
    const keyDiffers = spec.encryption.kmsKey !== undefined && spec.encryption.kmsKey !== info.encryption.kmsKey;
    if (typeDiffers || keyDiffers) {
      const show = (e: { type: string; kmsKey?: string }) => (e.kmsKey ? `${e.type} (${e.kmsKey})` : e.type);
      warnings.push(
        `repository ${info.name} is encrypted with ${show(info.encryption)}, not ${show(spec.encryption)}: ` +
          'encryption is set when a repository is created and cannot be changed (create a new repository and copy the images to change it)',
      );
    }
  }
  if (spec.lifecyclePolicy !== undefined && state.lifecyclePolicy !== undefined) {
    if (
      state.lifecyclePolicy === null ||
      canonicalJson(state.lifecyclePolicy) !== canonicalJson(spec.lifecyclePolicy)
    ) {
      changes.push({
        kind: 'lifecycle',
        text: spec.lifecyclePolicy,
        description: state.lifecyclePolicy === null ? 'lifecycle policy: none → set' : 'lifecycle policy: replaced',
      });
    }
  }
  if (spec.policy !== undefined && state.policy !== undefined) {
    if (state.policy === null || canonicalJson(state.policy) !== canonicalJson(spec.policy)) {
      changes.push({
        kind: 'policy',
        text: spec.policy,
        description: state.policy === null ? 'repository policy: none → set' : 'repository policy: replaced',
      });
    }
  }
  if (spec.tags !== undefined && spec.tags.length > 0 && state.tags !== undefined) {
    const have = new Map(state.tags.map((t) => [t.key, t.value]));
    const differing = spec.tags.filter((t) => have.get(t.key) !== t.value);
    if (differing.length > 0) {
      changes.push({
        kind: 'tags',
        tags: differing,
        description: `resource tags: ${differing
          .map((t) => (have.has(t.key) ? `${t.key}=${have.get(t.key)} → ${t.value}` : `+${t.key}=${t.value}`))
          .join(', ')}`,
      });
    }
  }
  return { changes, warnings };
}

/** What ensureRepository did for one name. */
export interface EnsureResult {
  name: string;
  uri: string;
  arn: string;
  /** created: new; exists: there already and left as it was; updated: there and changed (--apply). */
  status: 'created' | 'exists' | 'updated';
  /** Changes made (updated) or, without apply, the differences found. */
  changes: string[];
  warnings: string[];
}

/**
 * Creates the repository of spec with its lifecycle and repository policies. When it exists:
 * an error unless ifNotExists; with apply, the settings that differ and can change are changed.
 */
export async function ensureRepository(
  conn: EcrConnection,
  spec: RepositorySpec,
  opts: { ifNotExists?: boolean; apply?: boolean } = {},
): Promise<EnsureResult> {
  const made = await createRepository(conn, spec);
  if (made.created) {
    const { repository } = made;
    // CreateRepository takes neither policy: set them right after, and say so if that fails,
    // because the repository now exists without them.
    try {
      if (spec.lifecyclePolicy !== undefined) await putLifecyclePolicy(conn, spec.name, spec.lifecyclePolicy);
      if (spec.policy !== undefined) await setRepositoryPolicy(conn, spec.name, spec.policy);
    } catch (err) {
      // Keep the error's kind (and exit code), but say that the repository is there now.
      if (err instanceof EcrctlError) {
        err.message = `repository ${spec.name} was created, but setting its policies failed: ${err.message}`;
      }
      throw err;
    }
    return {
      name: repository.name,
      uri: repository.uri,
      arn: repository.arn,
      status: 'created',
      changes: [],
      warnings: [],
    };
  }
  if (!opts.ifNotExists) {
    throw new EcrctlError(`repository ${spec.name} already exists`, {
      rule: 'create-repo creates new repositories; an existing one is an error unless --if-not-exists is given',
      value: spec.name,
      fix: 'add --if-not-exists to accept an existing repository (and --apply to bring its settings in line)',
    });
  }
  const info = await describeRepository(conn, spec.name);
  if (!info)
    throw new EcrctlError(`repository ${spec.name} exists but DescribeRepositories did not find it; try again`);
  return updateRepository(conn, spec, info, { apply: opts.apply === true });
}

/**
 * Compares an existing repository (info) with spec and, with apply, changes the settings that
 * differ and can change; without it, returns the differences (status exists).
 */
export async function updateRepository(
  conn: EcrConnection,
  spec: RepositorySpec,
  info: RepositoryInfo,
  opts: { apply: boolean },
): Promise<EnsureResult> {
  const state: RepositoryState = { info };
  if (spec.lifecyclePolicy !== undefined) state.lifecyclePolicy = (await getLifecyclePolicy(conn, spec.name)) ?? null;
  if (spec.policy !== undefined) state.policy = (await getRepositoryPolicy(conn, spec.name)) ?? null;
  if (spec.tags !== undefined && spec.tags.length > 0) state.tags = await listResourceTags(conn, info.arn);
  const { changes, warnings } = planRepositoryChanges(state, spec);
  if (!opts.apply || changes.length === 0) {
    return {
      name: info.name,
      uri: info.uri,
      arn: info.arn,
      status: 'exists',
      changes: changes.map((c) => c.description),
      warnings,
    };
  }
  for (const change of changes) {
    switch (change.kind) {
      case 'tag-mutability':
        await putTagMutability(conn, spec.name, change.mutability, change.exclusions);
        break;
      case 'scan-on-push':
        await putScanOnPush(conn, spec.name, change.scanOnPush);
        break;
      case 'lifecycle':
        await putLifecyclePolicy(conn, spec.name, change.text);
        break;
      case 'policy':
        await setRepositoryPolicy(conn, spec.name, change.text);
        break;
      case 'tags':
        await tagRepository(conn, info.arn, change.tags);
        break;
    }
  }
  return {
    name: info.name,
    uri: info.uri,
    arn: info.arn,
    status: 'updated',
    changes: changes.map((c) => c.description),
    warnings,
  };
}

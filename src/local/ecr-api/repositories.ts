// Repository operations: create, describe, delete, tag mutability, scanning configuration,
// repository policy, resource tags.
import { ApiError, invalidParameter } from '../errors.js';
import {
  EXCLUSION_FILTER,
  kmsKeyProblem,
  partitionOf,
  REPOSITORY_NAME,
  REPOSITORY_NAME_PATTERN,
  TAG_MUTABILITY,
} from '../rules.js';
import type { MutabilityExclusionFilter, RegistryRecord, RepositoryRecord, ResourceTag } from '../store.js';
import {
  type ApiRequest,
  bool,
  list,
  obj,
  type OperationTable,
  privateRegistry,
  registryHost,
  repositoryArn,
  reqStr,
  describeRepositoriesAnswer,
  requireRepository,
  str,
  ts,
} from './kit.js';
import { acceptablePolicy } from './policies.js';

/** Reads repositoryName with ECR's name rule. */
export function repositoryNameOf(input: Record<string, unknown>): string {
  return reqStr(input, 'repositoryName', {
    min: 2,
    max: 256,
    pattern: REPOSITORY_NAME,
    patternText: REPOSITORY_NAME_PATTERN,
  });
}

/** Returns a repository as the API describes it. */
export async function describeRepository(req: ApiRequest, registry: RegistryRecord, repo: RepositoryRecord) {
  const host = await registryHost(req.ctx, registry);
  return {
    repositoryArn: repositoryArn(registry, repo.name),
    registryId: registry.account,
    repositoryName: repo.name,
    repositoryUri: `${host}/${repo.name}`,
    createdAt: ts(repo.createdAt),
    imageTagMutability: repo.imageTagMutability,
    ...(repo.imageTagMutabilityExclusionFilters
      ? { imageTagMutabilityExclusionFilters: repo.imageTagMutabilityExclusionFilters }
      : {}),
    imageScanningConfiguration: { scanOnPush: repo.scanOnPush },
    encryptionConfiguration: repo.encryption,
  };
}

/** Validates tag mutability and its exclusion filters as ECR does. */
export function mutabilityOf(
  input: Record<string, unknown>,
  required: boolean,
): {
  mutability: string;
  filters?: MutabilityExclusionFilter[];
} {
  const mutability = str(input, 'imageTagMutability', { required }) ?? 'MUTABLE';
  if (!(TAG_MUTABILITY as readonly string[]).includes(mutability)) {
    throw invalidParameter('imageTagMutability', `Member must satisfy enum value set: [${TAG_MUTABILITY.join(', ')}]`);
  }
  const raw = list<Record<string, unknown>>(input, 'imageTagMutabilityExclusionFilters');
  const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
  if (!withExclusion) {
    if (raw && raw.length > 0) {
      throw new ApiError(
        'InvalidParameterException',
        `imageTagMutabilityExclusionFilters can only be specified with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not ${mutability}`,
      );
    }
    return { mutability };
  }
  if (!raw || raw.length < 1 || raw.length > 5) {
    throw new ApiError(
      'InvalidParameterException',
      `${mutability} requires between 1 and 5 imageTagMutabilityExclusionFilters`,
    );
  }
  const filters = raw.map((f) => {
    const filterType = reqStr(f, 'filterType');
    if (filterType !== 'WILDCARD')
      throw invalidParameter('filterType', 'Member must satisfy enum value set: [WILDCARD]');
    const filter = reqStr(f, 'filter', { pattern: EXCLUSION_FILTER, patternText: '^[0-9a-zA-Z._*-]{1,128}' });
    return { filterType, filter };
  });
  return { mutability, filters };
}

/** Validates resource tags (≤ 50, key 1–128, value ≤ 256). */
export function resourceTagsOf(input: Record<string, unknown>, field = 'tags'): ResourceTag[] {
  const raw = list<Record<string, unknown>>(input, field) ?? [];
  const tags = raw.map((t) => {
    const Key = t.Key;
    const Value = t.Value ?? '';
    if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128 || Key.startsWith('aws:')) {
      throw new ApiError(
        'InvalidTagParameterException',
        `Invalid tag key '${String(Key)}': keys are 1-128 characters and may not start with 'aws:'`,
      );
    }
    if (typeof Value !== 'string' || Value.length > 256) {
      throw new ApiError(
        'InvalidTagParameterException',
        `Invalid value for tag key '${Key}': values are at most 256 characters`,
      );
    }
    return { Key, Value };
  });
  return tags;
}

/** Returns tags merged into existing (same key overwrites), refusing more than 50. */
export function mergeTags(existing: readonly ResourceTag[], added: readonly ResourceTag[]): ResourceTag[] {
  const map = new Map(existing.map((t) => [t.Key, t.Value]));
  for (const t of added) map.set(t.Key, t.Value);
  if (map.size > 50) {
    throw new ApiError(
      'TooManyTagsException',
      `A repository can have at most 50 tags; this request would give it ${map.size}`,
    );
  }
  return [...map].map(([Key, Value]) => ({ Key, Value }));
}

/** Returns an encryptionConfiguration as given, after ECR's checks (repositories and templates). */
export function checkedEncryption(
  cfg: Record<string, unknown>,
  region?: string,
): { encryptionType: string; kmsKey?: string } {
  const encryptionType = reqStr(cfg, 'encryptionType');
  if (!['AES256', 'KMS', 'KMS_DSSE'].includes(encryptionType)) {
    throw invalidParameter(
      'encryptionConfiguration.encryptionType',
      'Member must satisfy enum value set: [AES256, KMS, KMS_DSSE]',
    );
  }
  const kmsKey = str(cfg, 'kmsKey', { min: 1, max: 2048 });
  if (kmsKey !== undefined && encryptionType === 'AES256') {
    throw new ApiError(
      'InvalidParameterException',
      'Invalid parameter: kmsKey can only be specified when encryptionType is KMS or KMS_DSSE',
    );
  }
  // ECR checks the key reference's form (and its region) before it asks KMS about the key.
  const problem = kmsKey === undefined ? undefined : kmsKeyProblem(kmsKey, region);
  if (problem) throw new ApiError('InvalidParameterException', `Invalid parameter: ${problem}`);
  return kmsKey === undefined ? { encryptionType } : { encryptionType, kmsKey };
}

function encryptionOf(input: Record<string, unknown>, registry: RegistryRecord): RepositoryRecord['encryption'] {
  const cfg = obj(input, 'encryptionConfiguration');
  if (!cfg) return { encryptionType: 'AES256' };
  const { encryptionType, kmsKey } = checkedEncryption(cfg, registry.region);
  if (encryptionType === 'AES256') return { encryptionType };
  // Without a key ECR uses the AWS managed key aws/ecr of the registry's account and region.
  return {
    encryptionType,
    kmsKey: kmsKey ?? `arn:${partitionOf(registry.region)}:kms:${registry.region}:${registry.account}:alias/aws/ecr`,
  };
}

function policyTextOf(input: Record<string, unknown>): string {
  const text = reqStr(input, 'policyText', { min: 0, max: 10240 });
  if (!acceptablePolicy(text, 'repository')) throw invalidParameter('PolicyText', 'Invalid repository policy provided');
  return text;
}

export const repositoryOperations: OperationTable = {
  async CreateRepository(req) {
    const registry = privateRegistry(req);
    const name = repositoryNameOf(req.input);
    const { mutability, filters } = mutabilityOf(req.input, false);
    const scanning = obj(req.input, 'imageScanningConfiguration');
    const scanOnPush = scanning ? (bool(scanning, 'scanOnPush') ?? false) : false;
    const encryption = encryptionOf(req.input, registry);
    const tags = mergeTags([], resourceTagsOf(req.input));
    const repo = await req.ctx.store.mutate(() => {
      if (Object.hasOwn(registry.repositories, name)) {
        throw new ApiError(
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${registry.account}'`,
        );
      }
      const record: RepositoryRecord = {
        name,
        createdAt: req.ctx.now(),
        imageTagMutability: mutability,
        scanOnPush,
        encryption,
        resourceTags: tags,
        images: {},
        tags: {},
        blobs: {},
      };
      if (filters) record.imageTagMutabilityExclusionFilters = filters;
      registry.repositories[name] = record;
      return record;
    });
    return { repository: await describeRepository(req, registry, repo) };
  },

  async DescribeRepositories(req) {
    const registry = privateRegistry(req);
    return describeRepositoriesAnswer(req, registry, (r) => describeRepository(req, registry, r));
  },

  async DeleteRepository(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const force = bool(req.input, 'force') ?? false;
    const repo = requireRepository(registry, name);
    const described = await describeRepository(req, registry, repo);
    await req.ctx.store.mutate(() => {
      const current = requireRepository(registry, name);
      if (!force && Object.keys(current.images).length > 0) {
        throw new ApiError(
          'RepositoryNotEmptyException',
          `The repository with name '${name}' in registry with id '${registry.account}' cannot be deleted because it still contains images`,
        );
      }
      delete registry.repositories[name];
    });
    return { repository: described };
  },

  async PutImageTagMutability(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const { mutability, filters } = mutabilityOf(req.input, true);
    await req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, name);
      repo.imageTagMutability = mutability;
      if (filters) repo.imageTagMutabilityExclusionFilters = filters;
      else delete repo.imageTagMutabilityExclusionFilters;
    });
    return {
      registryId: registry.account,
      repositoryName: name,
      imageTagMutability: mutability,
      ...(filters ? { imageTagMutabilityExclusionFilters: filters } : {}),
    };
  },

  async PutImageScanningConfiguration(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const cfg = obj(req.input, 'imageScanningConfiguration', true)!;
    const scanOnPush = bool(cfg, 'scanOnPush') ?? false;
    await req.ctx.store.mutate(() => {
      requireRepository(registry, name).scanOnPush = scanOnPush;
    });
    return { registryId: registry.account, repositoryName: name, imageScanningConfiguration: { scanOnPush } };
  },

  async SetRepositoryPolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const policyText = policyTextOf(req.input);
    await req.ctx.store.mutate(() => {
      requireRepository(registry, name).policyText = policyText;
    });
    return { registryId: registry.account, repositoryName: name, policyText };
  },

  async GetRepositoryPolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const repo = requireRepository(registry, name);
    if (repo.policyText === undefined) throw policyNotFound(registry, name);
    return { registryId: registry.account, repositoryName: name, policyText: repo.policyText };
  },

  async DeleteRepositoryPolicy(req) {
    const registry = privateRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const policyText = await req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, name);
      if (repo.policyText === undefined) throw policyNotFound(registry, name);
      const text = repo.policyText;
      delete repo.policyText;
      return text;
    });
    return { registryId: registry.account, repositoryName: name, policyText };
  },

  ...resourceTagOperations(resourceOf, { refuseEmpty: true }),
};

/**
 * TagResource, UntagResource and ListTagsForResource on repositories, for ECR and ECR Public
 * alike: they differ only in how a resource ARN names the repository, and in whether an
 * empty tag list is refused (ECR) or accepted (ECR Public).
 */
export function resourceTagOperations(
  resourceOf: (req: ApiRequest) => { registry: RegistryRecord; name: string },
  opts: { refuseEmpty: boolean },
): OperationTable {
  return {
    async TagResource(req) {
      const { registry, name } = resourceOf(req);
      const added = resourceTagsOf(req.input, 'tags');
      if (opts.refuseEmpty && added.length === 0)
        throw invalidParameter('tags', 'Member must have length greater than or equal to 1');
      await req.ctx.store.mutate(() => {
        const repo = requireRepository(registry, name);
        repo.resourceTags = mergeTags(repo.resourceTags, added);
      });
      return {};
    },

    async UntagResource(req) {
      const { registry, name } = resourceOf(req);
      const keys = list<string>(req.input, 'tagKeys', { required: true }) ?? [];
      await req.ctx.store.mutate(() => {
        const repo = requireRepository(registry, name);
        repo.resourceTags = repo.resourceTags.filter((t) => !keys.includes(t.Key));
      });
      return {};
    },

    async ListTagsForResource(req) {
      const { registry, name } = resourceOf(req);
      return { tags: requireRepository(registry, name).resourceTags };
    },
  };
}

function policyNotFound(registry: RegistryRecord, name: string): ApiError {
  return new ApiError(
    'RepositoryPolicyNotFoundException',
    `Repository policy does not exist for the repository with name '${name}' in the registry with id '${registry.account}'`,
  );
}

/** Returns the registry and repository a private repository ARN names. */
function resourceOf(req: ApiRequest): { registry: RegistryRecord; name: string } {
  const arn = reqStr(req.input, 'resourceArn');
  const m = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{12}):repository\/(.+)$/.exec(arn);
  if (!m) throw invalidParameter('resourceArn', 'Invalid ARN');
  const [, region, account, name] = m as unknown as [string, string, string, string];
  if (region !== req.region) {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter at 'resourceArn': the ARN's region '${region}' is not the region of the request '${req.region}'`,
    );
  }
  return { registry: req.ctx.store.registry('private', account, region), name };
}

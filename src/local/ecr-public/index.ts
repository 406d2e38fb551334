// Every ECR Public API operation the local endpoint answers, by name. The public registry
// of an account has its own data-plane listener; repositories live under /v2/<alias>/ there
// (public.ecr.aws/<alias>/<name> on AWS), alias `local`.
import { batchDeleteImages, imageIdsOf, imageDetail as privateImageDetail } from '../ecr-api/images.js';
import {
  type ApiRequest,
  bool,
  list,
  obj,
  type OperationTable,
  page,
  registryHost,
  repositoryArn,
  reqStr,
  describeRepositoriesAnswer,
  requireRepository,
  sortable,
  str,
  ts,
} from '../ecr-api/kit.js';
import { mergeTags, resourceTagOperations, resourceTagsOf } from '../ecr-api/repositories.js';
import { ApiError, invalidParameter } from '../errors.js';
import { pushOrderKey } from '../images.js';
import { PUBLIC_REPOSITORY_NAME, REGISTRY_ID } from '../rules.js';
import type { CatalogDataRecord, ImageRecord, RegistryRecord, RepositoryRecord } from '../store.js';
import { mintPassword } from '../tokens.js';

/** The region the ECR Public API (and its GetAuthorizationToken) lives in. */
export const PUBLIC_REGION = 'us-east-1';

function publicRegistry(req: ApiRequest): RegistryRecord {
  const id = str(req.input, 'registryId', { pattern: REGISTRY_ID, patternText: '[0-9]{12}' }) ?? req.ctx.account;
  return req.ctx.store.registry('public', id, PUBLIC_REGION);
}

async function registryUri(req: ApiRequest, registry: RegistryRecord): Promise<string> {
  return `${await registryHost(req.ctx, registry)}/${registry.alias ?? 'local'}`;
}

async function describeRepository(req: ApiRequest, registry: RegistryRecord, repo: RepositoryRecord) {
  return {
    repositoryArn: repositoryArn(registry, repo.name),
    registryId: registry.account,
    repositoryName: repo.name,
    repositoryUri: `${await registryUri(req, registry)}/${repo.name}`,
    createdAt: ts(repo.createdAt),
  };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Validates catalog data input; stores a logo as a blob. */
async function catalogDataOf(req: ApiRequest, input: Record<string, unknown>): Promise<CatalogDataRecord> {
  const out: CatalogDataRecord = {};
  const description = str(input, 'description', { max: 1024 });
  const aboutText = str(input, 'aboutText', { max: 10240 });
  const usageText = str(input, 'usageText', { max: 10240 });
  const architectures = list<string>(input, 'architectures', { max: 50 });
  const operatingSystems = list<string>(input, 'operatingSystems', { max: 50 });
  for (const [field, values] of [
    ['architectures', architectures],
    ['operatingSystems', operatingSystems],
  ] as const) {
    for (const v of values ?? []) {
      if (typeof v !== 'string' || v.length < 1 || v.length > 50)
        throw invalidParameter(field, 'Member must have length between 1 and 50');
    }
  }
  if (description !== undefined) out.description = description;
  if (aboutText !== undefined) out.aboutText = aboutText;
  if (usageText !== undefined) out.usageText = usageText;
  if (architectures) out.architectures = architectures;
  if (operatingSystems) out.operatingSystems = operatingSystems;
  const logo = str(input, 'logoImageBlob');
  if (logo !== undefined) {
    const bytes = Buffer.from(logo, 'base64');
    if (bytes.length > 512000)
      throw invalidParameter('logoImageBlob', 'Member must have length less than or equal to 512000');
    if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) {
      throw new ApiError(
        'InvalidParameterException',
        'Invalid parameter at logoImageBlob: the logo must be a PNG image',
      );
    }
    out.logoDigest = await req.ctx.store.writeBlob(bytes);
  }
  return out;
}

async function catalogDataView(req: ApiRequest, registry: RegistryRecord, data: CatalogDataRecord | undefined) {
  const d = data ?? {};
  const view: Record<string, unknown> = {};
  for (const k of ['description', 'architectures', 'operatingSystems', 'aboutText', 'usageText'] as const) {
    if (d[k] !== undefined) view[k] = d[k];
  }
  if (d.logoDigest) view.logoUrl = `${await req.ctx.registryEndpoint(registry)}/logo/${d.logoDigest}`;
  view.marketplaceCertified = false;
  return view;
}

function publicImageDetail(registry: RegistryRecord, repo: RepositoryRecord, image: ImageRecord) {
  const d = privateImageDetail(registry, repo, image);
  return {
    registryId: d.registryId,
    repositoryName: d.repositoryName,
    imageDigest: d.imageDigest,
    ...(d.imageTags ? { imageTags: d.imageTags } : {}),
    imageSizeInBytes: d.imageSizeInBytes,
    imagePushedAt: d.imagePushedAt,
    imageManifestMediaType: d.imageManifestMediaType,
    ...(d.artifactMediaType ? { artifactMediaType: d.artifactMediaType } : {}),
  };
}

function resourceOf(req: ApiRequest): { registry: RegistryRecord; name: string } {
  const arn = reqStr(req.input, 'resourceArn');
  const m = /^arn:aws[a-z-]*:ecr-public::([0-9]{12}):repository\/(.+)$/.exec(arn);
  if (!m) throw invalidParameter('resourceArn', 'Invalid ARN');
  return { registry: req.ctx.store.registry('public', m[1] as string, PUBLIC_REGION), name: m[2] as string };
}

/** The ECR Public operations, by operation name. */
export const PUBLIC_OPERATIONS: OperationTable = {
  async CreateRepository(req) {
    const registry = publicRegistry(req);
    const name = reqStr(req.input, 'repositoryName', {
      min: 2,
      max: 205,
      pattern: PUBLIC_REPOSITORY_NAME,
      patternText: '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*',
    });
    const catalogInput = obj(req.input, 'catalogData');
    const catalogData = catalogInput ? await catalogDataOf(req, catalogInput) : {};
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
        imageTagMutability: 'MUTABLE',
        scanOnPush: false,
        encryption: { encryptionType: 'AES256' },
        resourceTags: tags,
        images: {},
        tags: {},
        blobs: {},
        catalogData,
      };
      registry.repositories[name] = record;
      return record;
    });
    return {
      repository: await describeRepository(req, registry, repo),
      catalogData: await catalogDataView(req, registry, repo.catalogData),
    };
  },

  async DescribeRepositories(req) {
    const registry = publicRegistry(req);
    return describeRepositoriesAnswer(req, registry, (r) => describeRepository(req, registry, r));
  },

  async DeleteRepository(req) {
    const registry = publicRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const force = bool(req.input, 'force') ?? false;
    const described = await describeRepository(req, registry, requireRepository(registry, name));
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

  async PutRepositoryCatalogData(req) {
    const registry = publicRegistry(req);
    const name = reqStr(req.input, 'repositoryName');
    const input = obj(req.input, 'catalogData', true) as Record<string, unknown>;
    requireRepository(registry, name);
    const data = await catalogDataOf(req, input);
    const stored = await req.ctx.store.mutate(() => {
      const repo = requireRepository(registry, name);
      repo.catalogData = data;
      return data;
    });
    return { catalogData: await catalogDataView(req, registry, stored) };
  },

  async GetRepositoryCatalogData(req) {
    const registry = publicRegistry(req);
    const repo = requireRepository(registry, reqStr(req.input, 'repositoryName'));
    return { catalogData: await catalogDataView(req, registry, repo.catalogData) };
  },

  async GetAuthorizationToken(req) {
    if (req.region !== PUBLIC_REGION) {
      throw new ApiError(
        'UnsupportedCommandException',
        `GetAuthorizationToken of ECR Public is only available in ${PUBLIC_REGION}, not ${req.region}`,
      );
    }
    const registry = req.ctx.store.registry('public', req.ctx.account, PUBLIC_REGION);
    await req.ctx.registryEndpoint(registry);
    const exp = req.ctx.now() + req.ctx.tokenTtlMs;
    const password = mintPassword(req.ctx.store.secret, {
      kind: 'public',
      account: registry.account,
      region: PUBLIC_REGION,
      exp,
    });
    return {
      authorizationData: { authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'), expiresAt: ts(exp) },
    };
  },

  async DescribeImages(req) {
    const registry = publicRegistry(req);
    const repo = requireRepository(registry, reqStr(req.input, 'repositoryName'));
    const ids = list<Record<string, unknown>>(req.input, 'imageIds', { min: 1, max: 100 });
    if (ids) {
      const found = ids.map((id) => {
        const digest = str(id, 'imageDigest');
        const tag = str(id, 'imageTag');
        const byTag = tag !== undefined ? repo.tags[tag]?.digest : undefined;
        const image = repo.images[byTag ?? digest ?? ''];
        if (!image || (digest !== undefined && image.digest !== digest)) {
          throw new ApiError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${digest ?? 'null'}', imageTag:'${tag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${registry.account}'`,
          );
        }
        return image;
      });
      return { imageDetails: [...new Set(found)].map((i) => publicImageDetail(registry, repo, i)) };
    }
    const p = page(Object.values(repo.images), pushOrderKey, req.input);
    return {
      imageDetails: p.items.map((i) => publicImageDetail(registry, repo, i)),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async BatchDeleteImage(req) {
    const registry = publicRegistry(req);
    const repository = reqStr(req.input, 'repositoryName');
    const ids = imageIdsOf(req.input, true) ?? [];
    requireRepository(registry, repository);
    return req.ctx.store.mutate(() => batchDeleteImages(requireRepository(registry, repository), ids));
  },

  async DescribeImageTags(req) {
    const registry = publicRegistry(req);
    const repo = requireRepository(registry, reqStr(req.input, 'repositoryName'));
    const entries = Object.entries(repo.tags).map(([tag, rec]) => ({ tag, rec }));
    const p = page(entries, (e) => `${sortable(e.rec.at)}|${e.tag}`, req.input);
    return {
      imageTagDetails: p.items.map(({ tag, rec }) => {
        const image = repo.images[rec.digest] as ImageRecord;
        return {
          imageTag: tag,
          createdAt: ts(rec.at),
          imageDetail: {
            imageDigest: image.digest,
            imageSizeInBytes: image.size,
            imagePushedAt: ts(image.pushedAt),
            imageManifestMediaType: image.mediaType,
            ...(image.artifactMediaType ? { artifactMediaType: image.artifactMediaType } : {}),
          },
        };
      }),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async DescribeRegistries(req) {
    const registry = req.ctx.store.registry('public', req.ctx.account, PUBLIC_REGION);
    const p = page([registry], (r) => r.account, req.input);
    return {
      registries: await Promise.all(
        p.items.map(async (r) => ({
          registryId: r.account,
          registryArn: `arn:aws:ecr-public::${r.account}:registry/${r.account}`,
          registryUri: await registryUri(req, r),
          verified: false,
          aliases: [
            { name: r.alias ?? 'local', status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true },
          ],
        })),
      ),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async GetRegistryCatalogData(req) {
    const registry = req.ctx.store.registry('public', req.ctx.account, PUBLIC_REGION);
    const displayName = registry.settings?.displayName;
    return { registryCatalogData: typeof displayName === 'string' ? { displayName } : {} };
  },

  async PutRegistryCatalogData(req) {
    const registry = req.ctx.store.registry('public', req.ctx.account, PUBLIC_REGION);
    const displayName = str(req.input, 'displayName', { max: 100 });
    await req.ctx.store.mutate(() => {
      registry.settings = { ...registry.settings };
      if (displayName !== undefined) registry.settings.displayName = displayName;
    });
    return { registryCatalogData: displayName !== undefined ? { displayName } : {} };
  },

  ...resourceTagOperations(resourceOf, { refuseEmpty: false }),
};

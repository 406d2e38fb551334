// Repository creation templates: Create/Describe/Update/DeleteRepositoryCreationTemplate, and
// the lookup the rest of the emulator uses when ECR itself creates a repository — on a push
// to a missing repository (CREATE_ON_PUSH), on replication (REPLICATION). The template whose
// prefix is the longest one the repository name starts with (`prefix/`) wins; ROOT is the
// fallback for names no other template covers.
import type { LocalContext } from '../context.js';
import { ApiError, invalidParameter } from '../errors.js';
import { REPOSITORY_NAME } from '../rules.js';
import type { MutabilityExclusionFilter, RegistryRecord, RepositoryRecord, ResourceTag } from '../store.js';
import { list, obj, type OperationTable, page, privateRegistry, reqStr, str, ts } from './kit.js';
import { checkedEncryption, mergeTags, mutabilityOf, resourceTagsOf } from './repositories.js';

/** What a template applies to, as the API model names it. */
export const APPLIED_FOR = ['REPLICATION', 'PULL_THROUGH_CACHE', 'CREATE_ON_PUSH'] as const;
export type AppliedFor = (typeof APPLIED_FOR)[number];

/** A template as stored in RegistryRecord.settings.repositoryCreationTemplates. */
export interface TemplateRecord {
  prefix: string;
  description?: string;
  encryptionConfiguration?: { encryptionType: string; kmsKey?: string };
  resourceTags: ResourceTag[];
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: MutabilityExclusionFilter[];
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
  appliedFor: AppliedFor[];
  customRoleArn?: string;
  createdAt: number;
  updatedAt: number;
}

// The API model's Prefix: 1–256 characters, a namespace (an assumed trailing `/`) or ROOT.
const PREFIX = /^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\/?|ROOT)$/;
const PREFIX_TEXT = '^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$';
const MAX_TEMPLATES = 100;

/** Returns the templates of a registry (the stored list, created on first use). */
export function templatesOf(registry: RegistryRecord): TemplateRecord[] {
  registry.settings ??= {};
  const s = registry.settings as { repositoryCreationTemplates?: TemplateRecord[] };
  s.repositoryCreationTemplates ??= [];
  return s.repositoryCreationTemplates;
}

/** Returns the template that applies to a new repository `name` for `use`, if any. */
export function templateFor(registry: RegistryRecord, name: string, use: AppliedFor): TemplateRecord | undefined {
  const stored =
    (registry.settings as { repositoryCreationTemplates?: TemplateRecord[] } | undefined)
      ?.repositoryCreationTemplates ?? [];
  const candidates = stored.filter((t) => t.appliedFor.includes(use));
  let best: TemplateRecord | undefined;
  for (const t of candidates) {
    if (t.prefix === 'ROOT') continue;
    if (name.startsWith(`${t.prefix}/`) && (!best || t.prefix.length > best.prefix.length)) best = t;
  }
  return best ?? candidates.find((t) => t.prefix === 'ROOT');
}

/**
 * Adds repository `name` to registry with the template's settings (in memory; the caller
 * is inside store.mutate). Returns the new record.
 */
export function createFromTemplate(
  ctx: LocalContext,
  registry: RegistryRecord,
  name: string,
  template: TemplateRecord | undefined,
): RepositoryRecord {
  const record: RepositoryRecord = {
    name,
    createdAt: ctx.now(),
    imageTagMutability: template?.imageTagMutability ?? 'MUTABLE',
    scanOnPush: false,
    encryption: template?.encryptionConfiguration
      ? { ...template.encryptionConfiguration }
      : { encryptionType: 'AES256' },
    resourceTags: template ? template.resourceTags.map((t) => ({ ...t })) : [],
    images: {},
    tags: {},
    blobs: {},
  };
  if (template?.imageTagMutabilityExclusionFilters) {
    record.imageTagMutabilityExclusionFilters = template.imageTagMutabilityExclusionFilters.map((f) => ({ ...f }));
  }
  if (template?.repositoryPolicy !== undefined) record.policyText = template.repositoryPolicy;
  if (template?.lifecyclePolicy !== undefined) record.lifecyclePolicyText = template.lifecyclePolicy;
  registry.repositories[name] = record;
  return record;
}

/**
 * Creates repository `name` on a data-plane push when a CREATE_ON_PUSH template covers it;
 * returns the repository, or undefined when no template applies (the push is refused).
 */
export async function createOnPush(
  ctx: LocalContext,
  registry: RegistryRecord,
  name: string,
): Promise<RepositoryRecord | undefined> {
  if (registry.kind !== 'private' || name.length < 2 || name.length > 256 || !REPOSITORY_NAME.test(name))
    return undefined;
  if (!templateFor(registry, name, 'CREATE_ON_PUSH')) return undefined;
  return ctx.store.mutate(() => {
    // Two pushes can race to create it: the second finds the first one's repository.
    const existing = Object.hasOwn(registry.repositories, name) ? registry.repositories[name] : undefined;
    if (existing) return existing;
    ctx.log(`creating repository ${name} from a CREATE_ON_PUSH template`);
    return createFromTemplate(ctx, registry, name, templateFor(registry, name, 'CREATE_ON_PUSH'));
  });
}

function prefixOf(input: Record<string, unknown>): string {
  const prefix = reqStr(input, 'prefix', { min: 1, max: 256, pattern: PREFIX, patternText: PREFIX_TEXT });
  // ECR assumes the trailing slash: `prod` and `prod/` are one template.
  return prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

function appliedForOf(input: Record<string, unknown>, required: boolean): AppliedFor[] | undefined {
  const raw = list<unknown>(input, 'appliedFor', { required, min: 1 });
  if (!raw) return undefined;
  for (const v of raw) {
    if (typeof v !== 'string' || !(APPLIED_FOR as readonly string[]).includes(v)) {
      throw invalidParameter('appliedFor', `Member must satisfy enum value set: [${APPLIED_FOR.join(', ')}]`);
    }
  }
  return [...new Set(raw as AppliedFor[])];
}

function encryptionOf(input: Record<string, unknown>): TemplateRecord['encryptionConfiguration'] {
  const cfg = obj(input, 'encryptionConfiguration');
  return cfg ? checkedEncryption(cfg) : undefined;
}

function jsonText(input: Record<string, unknown>, field: string, max: number, what: string): string | undefined {
  const text = str(input, field, { min: 0, max });
  if (text === undefined) return undefined;
  try {
    const doc = JSON.parse(text) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
  } catch {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter at '${field}': ${what} is not a valid JSON document`,
    );
  }
  return text;
}

/** Returns a template as the API describes it. */
function describeTemplate(t: TemplateRecord) {
  return {
    prefix: t.prefix,
    ...(t.description !== undefined ? { description: t.description } : {}),
    encryptionConfiguration: t.encryptionConfiguration ?? { encryptionType: 'AES256' },
    resourceTags: t.resourceTags,
    imageTagMutability: t.imageTagMutability,
    ...(t.imageTagMutabilityExclusionFilters
      ? { imageTagMutabilityExclusionFilters: t.imageTagMutabilityExclusionFilters }
      : {}),
    ...(t.repositoryPolicy !== undefined ? { repositoryPolicy: t.repositoryPolicy } : {}),
    ...(t.lifecyclePolicy !== undefined ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
    appliedFor: t.appliedFor,
    ...(t.customRoleArn !== undefined ? { customRoleArn: t.customRoleArn } : {}),
    createdAt: ts(t.createdAt),
    updatedAt: ts(t.updatedAt),
  };
}

function notFound(prefix: string, registry: RegistryRecord): ApiError {
  return new ApiError(
    'TemplateNotFoundException',
    `The specified repository creation template with prefix '${prefix}' does not exist in the registry with id '${registry.account}'`,
  );
}

/** Reads the settings fields Create and Update share (undefined = not given). */
function settingsOf(input: Record<string, unknown>) {
  const description = str(input, 'description', { min: 0, max: 256 });
  const mutabilityGiven = input.imageTagMutability !== undefined && input.imageTagMutability !== null;
  const mutability =
    mutabilityGiven || input.imageTagMutabilityExclusionFilters !== undefined ? mutabilityOf(input, false) : undefined;
  const tagsGiven = input.resourceTags !== undefined && input.resourceTags !== null;
  const resourceTags = tagsGiven ? mergeTags([], resourceTagsOf(input, 'resourceTags')) : undefined;
  const customRoleArn = str(input, 'customRoleArn', { max: 2048 });
  return {
    description,
    mutability,
    resourceTags,
    encryption: encryptionOf(input),
    repositoryPolicy: jsonText(input, 'repositoryPolicy', 10_240, 'the repository policy'),
    lifecyclePolicy: jsonText(input, 'lifecyclePolicy', 30_720, 'the lifecycle policy'),
    customRoleArn,
  };
}

export const templateOperations: OperationTable = {
  async CreateRepositoryCreationTemplate(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const appliedFor = appliedForOf(req.input, true) as AppliedFor[];
    const s = settingsOf(req.input);
    const created = await req.ctx.store.mutate(() => {
      const templates = templatesOf(registry);
      if (templates.some((t) => t.prefix === prefix)) {
        throw new ApiError(
          'TemplateAlreadyExistsException',
          `The repository creation template with prefix '${prefix}' already exists in the registry with id '${registry.account}'`,
        );
      }
      if (templates.length >= MAX_TEMPLATES) {
        throw new ApiError(
          'LimitExceededException',
          `The maximum number of repository creation templates (${MAX_TEMPLATES}) has been reached`,
        );
      }
      const now = req.ctx.now();
      const t: TemplateRecord = {
        prefix,
        resourceTags: s.resourceTags ?? [],
        imageTagMutability: s.mutability?.mutability ?? 'MUTABLE',
        appliedFor,
        createdAt: now,
        updatedAt: now,
      };
      if (s.mutability?.filters) t.imageTagMutabilityExclusionFilters = s.mutability.filters;
      if (s.description !== undefined) t.description = s.description;
      if (s.encryption) t.encryptionConfiguration = s.encryption;
      if (s.repositoryPolicy !== undefined) t.repositoryPolicy = s.repositoryPolicy;
      if (s.lifecyclePolicy !== undefined) t.lifecyclePolicy = s.lifecyclePolicy;
      if (s.customRoleArn !== undefined) t.customRoleArn = s.customRoleArn;
      templates.push(t);
      return t;
    });
    return { registryId: registry.account, repositoryCreationTemplate: describeTemplate(created) };
  },

  async DescribeRepositoryCreationTemplates(req) {
    const registry = privateRegistry(req);
    const prefixes = list<unknown>(req.input, 'prefixes', { max: 100 });
    const templates = templatesOf(registry);
    let chosen = templates;
    if (prefixes && prefixes.length > 0) {
      const wanted = prefixes.map((p) => {
        const text = typeof p === 'string' ? p : '';
        return text.endsWith('/') ? text.slice(0, -1) : text;
      });
      chosen = wanted.map((p) => {
        const t = templates.find((x) => x.prefix === p);
        if (!t) throw notFound(p, registry);
        return t;
      });
    }
    const p = page(chosen, (t) => t.prefix, req.input);
    return {
      registryId: registry.account,
      repositoryCreationTemplates: p.items.map(describeTemplate),
      ...(p.nextToken ? { nextToken: p.nextToken } : {}),
    };
  },

  async UpdateRepositoryCreationTemplate(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const appliedFor = appliedForOf(req.input, false);
    const s = settingsOf(req.input);
    const updated = await req.ctx.store.mutate(() => {
      const t = templatesOf(registry).find((x) => x.prefix === prefix);
      if (!t) throw notFound(prefix, registry);
      if (appliedFor) t.appliedFor = appliedFor;
      if (s.description !== undefined) t.description = s.description;
      if (s.mutability) {
        t.imageTagMutability = s.mutability.mutability;
        if (s.mutability.filters) t.imageTagMutabilityExclusionFilters = s.mutability.filters;
        else delete t.imageTagMutabilityExclusionFilters;
      }
      if (s.resourceTags) t.resourceTags = s.resourceTags;
      if (s.encryption) t.encryptionConfiguration = s.encryption;
      if (s.repositoryPolicy !== undefined) t.repositoryPolicy = s.repositoryPolicy;
      if (s.lifecyclePolicy !== undefined) t.lifecyclePolicy = s.lifecyclePolicy;
      if (s.customRoleArn !== undefined) t.customRoleArn = s.customRoleArn;
      t.updatedAt = req.ctx.now();
      return t;
    });
    return { registryId: registry.account, repositoryCreationTemplate: describeTemplate(updated) };
  },

  async DeleteRepositoryCreationTemplate(req) {
    const registry = privateRegistry(req);
    const prefix = prefixOf(req.input);
    const removed = await req.ctx.store.mutate(() => {
      const templates = templatesOf(registry);
      const i = templates.findIndex((x) => x.prefix === prefix);
      if (i < 0) throw notFound(prefix, registry);
      return templates.splice(i, 1)[0] as TemplateRecord;
    });
    return { registryId: registry.account, repositoryCreationTemplate: describeTemplate(removed) };
  },
};

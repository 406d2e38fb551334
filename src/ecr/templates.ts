// Repository creation template calls behind one adapter: create, list (all pages), delete.
// Returns our own types; maps service exceptions to our error kinds.
import { AuthError, EcrctlError } from '../errors.js';
import type { ResourceTag } from '../policy/naming.js';
import { templateForRepository } from '../policy/replication.js';
import { callEcr, type EcrConnection } from './repositories.js';

/** What a template applies to. */
export type TemplateUse = 'CREATE_ON_PUSH' | 'REPLICATION' | 'PULL_THROUGH_CACHE';

/** A repository creation template as ecrctl shows it and creates it. */
export interface CreationTemplate {
  prefix: string;
  appliedFor: TemplateUse[];
  description?: string;
  tagMutability?: string;
  mutabilityExclusions?: string[];
  encryption?: { type: string; kmsKey?: string };
  repositoryPolicy?: string;
  lifecyclePolicy?: string;
  tags?: ResourceTag[];
  customRoleArn?: string;
}

type SdkTemplate = {
  prefix?: string | undefined;
  description?: string | undefined;
  appliedFor?: string[] | undefined;
  imageTagMutability?: string | undefined;
  imageTagMutabilityExclusionFilters?: { filter?: string | undefined }[] | undefined;
  encryptionConfiguration?: { encryptionType?: string | undefined; kmsKey?: string | undefined } | undefined;
  repositoryPolicy?: string | undefined;
  lifecyclePolicy?: string | undefined;
  resourceTags?: { Key?: string | undefined; Value?: string | undefined }[] | undefined;
  customRoleArn?: string | undefined;
};

function toTemplate(t: SdkTemplate | undefined, operation: string): CreationTemplate {
  if (!t?.prefix) throw new EcrctlError(`${operation} returned a template without a prefix`);
  const out: CreationTemplate = { prefix: t.prefix, appliedFor: (t.appliedFor ?? []) as TemplateUse[] };
  if (t.description) out.description = t.description;
  if (t.imageTagMutability) out.tagMutability = t.imageTagMutability;
  const exclusions = (t.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? '').filter((f) => f !== '');
  if (exclusions.length > 0) out.mutabilityExclusions = exclusions;
  if (t.encryptionConfiguration?.encryptionType) {
    out.encryption = {
      type: t.encryptionConfiguration.encryptionType,
      ...(t.encryptionConfiguration.kmsKey ? { kmsKey: t.encryptionConfiguration.kmsKey } : {}),
    };
  }
  if (t.repositoryPolicy) out.repositoryPolicy = t.repositoryPolicy;
  if (t.lifecyclePolicy) out.lifecyclePolicy = t.lifecyclePolicy;
  if (t.resourceTags && t.resourceTags.length > 0)
    out.tags = t.resourceTags.map((r) => ({ key: r.Key ?? '', value: r.Value ?? '' }));
  if (t.customRoleArn) out.customRoleArn = t.customRoleArn;
  return out;
}

/** Creates a repository creation template (its settings checked by the caller). */
export async function createTemplate(conn: EcrConnection, t: CreationTemplate): Promise<CreationTemplate> {
  const { CreateRepositoryCreationTemplateCommand } = conn.sdk;
  const out = await callEcr(conn, 'CreateRepositoryCreationTemplate', `template ${t.prefix}`, () =>
    conn.client.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: t.prefix,
        appliedFor: t.appliedFor,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.tagMutability ? { imageTagMutability: t.tagMutability as 'MUTABLE' } : {}),
        ...(t.mutabilityExclusions && t.mutabilityExclusions.length > 0
          ? {
              imageTagMutabilityExclusionFilters: t.mutabilityExclusions.map((filter) => ({
                filterType: 'WILDCARD' as const,
                filter,
              })),
            }
          : {}),
        ...(t.encryption
          ? {
              encryptionConfiguration: {
                encryptionType: t.encryption.type as 'AES256',
                ...(t.encryption.kmsKey ? { kmsKey: t.encryption.kmsKey } : {}),
              },
            }
          : {}),
        ...(t.repositoryPolicy ? { repositoryPolicy: t.repositoryPolicy } : {}),
        ...(t.lifecyclePolicy ? { lifecyclePolicy: t.lifecyclePolicy } : {}),
        ...(t.tags && t.tags.length > 0 ? { resourceTags: t.tags.map((r) => ({ Key: r.key, Value: r.value })) } : {}),
        ...(t.customRoleArn ? { customRoleArn: t.customRoleArn } : {}),
      }),
    ),
  );
  return toTemplate(out.repositoryCreationTemplate, 'CreateRepositoryCreationTemplate');
}

/** Returns every repository creation template of the registry. */
export async function listTemplates(conn: EcrConnection): Promise<CreationTemplate[]> {
  const { DescribeRepositoryCreationTemplatesCommand } = conn.sdk;
  const all: CreationTemplate[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const out = await callEcr(conn, 'DescribeRepositoryCreationTemplates', undefined, () =>
      conn.client.send(new DescribeRepositoryCreationTemplatesCommand({ ...(token ? { nextToken: token } : {}) })),
    );
    for (const t of out.repositoryCreationTemplates ?? [])
      all.push(toTemplate(t, 'DescribeRepositoryCreationTemplates'));
    nextToken = out.nextToken;
  } while (nextToken);
  return all;
}

/** Deletes a repository creation template; returns what it was. */
export async function deleteTemplate(conn: EcrConnection, prefix: string): Promise<CreationTemplate> {
  const { DeleteRepositoryCreationTemplateCommand } = conn.sdk;
  const out = await callEcr(conn, 'DeleteRepositoryCreationTemplate', `template ${prefix}`, () =>
    conn.client.send(new DeleteRepositoryCreationTemplateCommand({ prefix })),
  );
  return toTemplate(out.repositoryCreationTemplate, 'DeleteRepositoryCreationTemplate');
}

/**
 * Returns the CREATE_ON_PUSH template that makes ECR create `repository` on a push, or
 * undefined when none applies (or the caller may not read templates): what a push planner
 * asks before refusing a push to a repository that does not exist.
 */
export async function createOnPushTemplate(
  conn: EcrConnection,
  repository: string,
): Promise<CreationTemplate | undefined> {
  let templates: CreationTemplate[];
  try {
    templates = await listTemplates(conn);
  } catch (err) {
    // Without ecr:DescribeRepositoryCreationTemplates the push itself is the test.
    if (err instanceof AuthError) return undefined;
    throw err;
  }
  return templateForRepository(templates, repository, 'CREATE_ON_PUSH');
}

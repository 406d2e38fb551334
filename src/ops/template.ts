// template: repository creation templates, the settings ECR gives the repositories it
// creates itself (on a push to a missing repository, on replication, on a pull-through
// cache). Everything is checked before anything is sent.
import { checkLifecyclePolicyText, checkRepositoryPolicyText } from '../policy/policy-text.js';
import {
  type CreationTemplate,
  createTemplate as createEcrTemplate,
  deleteTemplate as deleteEcrTemplate,
  listTemplates as listEcrTemplates,
  type TemplateUse,
} from '../ecr/templates.js';
import { RuleViolation, UsageError } from '../errors.js';
import { type ResourceTag, validateMutabilityExclusionFilters, validateResourceTags } from '../policy/naming.js';
import { prefixProblem, TEMPLATE_USES } from '../policy/replication.js';
import type { Session } from '../session.js';
import { type Deferred, resolveDeferred } from './create-repo.js';
import { ecrConnection } from './ecr.js';

export type { CreationTemplate, TemplateUse };

/** What createTemplate accepts. */
export interface CreateTemplateOptions {
  /** The repository namespace prefix it covers (e.g. `prod` or `team/base`), or ROOT for every name no other template covers. */
  prefix: string;
  /** What it applies to: CREATE_ON_PUSH, REPLICATION and/or PULL_THROUGH_CACHE (default CREATE_ON_PUSH). */
  appliedFor?: readonly string[];
  /** Tag mutability of the repositories. */
  tagMutability?: 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';
  /** Tag wildcards excluded from an `*_WITH_EXCLUSION` mutability setting (1–5). */
  mutabilityExclusions?: readonly string[];
  /** Encryption at rest; `kmsKey` alone means KMS. */
  encryption?: 'AES256' | 'KMS' | 'KMS_DSSE';
  /** The KMS key for KMS or KMS_DSSE. */
  kmsKey?: string;
  /** The lifecycle policy JSON, already validated. */
  lifecyclePolicy?: Deferred<string>;
  /** The repository policy JSON, already checked (at most 10,240 characters). */
  repositoryPolicy?: Deferred<string>;
  /** Resource tags as `KEY=VALUE`; at most 50. */
  tags?: readonly string[];
  /** What the template is for. */
  description?: string;
  /** The IAM role ECR assumes to apply tags and KMS keys. */
  roleArn?: string;
}

/** What names one template. */
export interface TemplatePrefix {
  /** The template prefix, or ROOT. */
  prefix: string;
}

/**
 * Creates a repository creation template. Every setting is checked first (UsageError or
 * RuleViolation, nothing sent). Returns the template as ECR stored it.
 */
export async function createTemplate(session: Session, opts: CreateTemplateOptions): Promise<CreationTemplate> {
  const template = await checkedTemplate(opts);
  const conn = await ecrConnection(session);
  const made = await createEcrTemplate(conn, template);
  session.log.info(`created repository creation template ${made.prefix} (${made.appliedFor.join(', ')})`);
  return made;
}

/** Lists the repository creation templates of the session's default registry. */
export async function listTemplates(session: Session): Promise<{ templates: CreationTemplate[] }> {
  const conn = await ecrConnection(session);
  return { templates: await listEcrTemplates(conn) };
}

/** Deletes a template (repositories it created keep their settings); returns it. */
export async function deleteTemplate(session: Session, opts: TemplatePrefix): Promise<CreationTemplate> {
  checkPrefix(opts.prefix);
  const conn = await ecrConnection(session);
  const removed = await deleteEcrTemplate(conn, opts.prefix.replace(/\/$/, ''));
  session.log.info(`deleted repository creation template ${removed.prefix}`);
  return removed;
}

function checkPrefix(prefix: string): void {
  const p = prefixProblem(prefix, 256);
  if (p)
    throw new RuleViolation(p, {
      rule: 'a template prefix is a repository namespace (1–256 characters), or ROOT',
      value: prefix,
    });
}

/** Returns the template the options describe, or throws naming every problem. */
async function checkedTemplate(opts: CreateTemplateOptions): Promise<CreationTemplate> {
  const { prefix } = opts;
  checkPrefix(prefix);
  const uses = [...new Set(opts.appliedFor ?? ['CREATE_ON_PUSH'])];
  const badUse = uses.find((u) => !(TEMPLATE_USES as readonly string[]).includes(u));
  if (badUse !== undefined) {
    throw new UsageError(`--applied-for ${badUse}: not one of ${TEMPLATE_USES.join(', ')}`, { value: badUse });
  }
  const exclusions = [...(opts.mutabilityExclusions ?? [])];
  const withExclusion = opts.tagMutability?.endsWith('_WITH_EXCLUSION') === true;
  if (exclusions.length > 0 && !withExclusion) {
    throw new UsageError('--mutability-exclusion needs an *_WITH_EXCLUSION --tag-mutability', {
      fix: 'use e.g. --tag-mutability IMMUTABLE_WITH_EXCLUSION',
    });
  }
  if (withExclusion) {
    const problems = validateMutabilityExclusionFilters(exclusions);
    if (problems.length > 0) {
      throw new RuleViolation(`--mutability-exclusion: ${problems[0]?.message}`, {
        rule: `${opts.tagMutability} takes 1–5 patterns of letters, digits, '.', '_', '-' and '*'`,
        ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
      });
    }
  }
  if (opts.kmsKey !== undefined && (opts.encryption ?? 'AES256') === 'AES256' && opts.encryption !== undefined) {
    throw new UsageError('--kms-key works with --encryption KMS or KMS_DSSE, not AES256');
  }
  const encryption = opts.encryption ?? (opts.kmsKey !== undefined ? 'KMS' : undefined);
  const tags: ResourceTag[] = [];
  for (const o of opts.tags ?? []) {
    const eq = o.indexOf('=');
    if (eq < 0) throw new UsageError(`a resource tag takes KEY=VALUE, not "${o}"`, { value: o });
    tags.push({ key: o.slice(0, eq), value: o.slice(eq + 1) });
  }
  if (tags.length > 0) {
    const problems = validateResourceTags(tags);
    if (problems.length > 0) {
      throw new RuleViolation(`--tag: ${problems[0]?.message}`, {
        ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
      });
    }
  }
  const t: CreationTemplate = {
    prefix: prefix.replace(/\/$/, ''),
    appliedFor: uses as TemplateUse[],
  };
  if (opts.description !== undefined) t.description = opts.description;
  if (opts.tagMutability) t.tagMutability = opts.tagMutability;
  if (withExclusion) t.mutabilityExclusions = exclusions;
  if (encryption) t.encryption = { type: encryption, ...(opts.kmsKey ? { kmsKey: opts.kmsKey } : {}) };
  if (tags.length > 0) t.tags = tags;
  if (opts.roleArn) t.customRoleArn = opts.roleArn;
  if (opts.lifecyclePolicy !== undefined)
    t.lifecyclePolicy = checkLifecyclePolicyText(await resolveDeferred(opts.lifecyclePolicy), 'lifecyclePolicy');
  if (opts.repositoryPolicy !== undefined)
    t.repositoryPolicy = checkRepositoryPolicyText(await resolveDeferred(opts.repositoryPolicy), 'repositoryPolicy');
  return t;
}

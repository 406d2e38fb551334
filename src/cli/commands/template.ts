import { type Command, Option } from 'commander';
import { RuleViolation, UsageError } from '../../errors.js';
import type { ResourceTag } from '../../policy/naming.js';
import { TEMPLATE_USES } from '../../policy/replication.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';
import { lifecyclePolicyText, repositoryPolicyText } from '../inputs.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
type TemplateUse = (typeof TEMPLATE_USES)[number];

interface CreateOptions {
  appliedFor?: string[];
  tagMutability?: (typeof MUTABILITIES)[number];
  mutabilityExclusion?: string[];
  encryption?: 'AES256' | 'KMS' | 'KMS_DSSE';
  kmsKey?: string;
  lifecycle?: string;
  policy?: string;
  tag?: string[];
  description?: string;
  roleArn?: string;
}

/** Declares `ecrctl template`. */
export function defineTemplate(program: Command, host: CommandHost): void {
  const cmd = program
    .command('template')
    .summary('repository creation templates: settings for repositories ECR creates itself')
    .description(
      'A template covers the repositories under a prefix (`prod` covers prod/…; ROOT covers\n' +
        'every name no other template does) and gives the repositories ECR creates — on a push\n' +
        'to a missing repository (CREATE_ON_PUSH), on replication, on a pull-through cache —\n' +
        'tag mutability, encryption, a repository policy, a lifecycle policy and resource tags.\n' +
        'The longest matching prefix wins.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl template create prod --tag-mutability IMMUTABLE --lifecycle preset:expire-untagged,days=7',
        'ecrctl template list',
        'ecrctl template delete prod',
      ),
    );

  cmd
    .command('create')
    .summary('create a template')
    .argument('<prefix>', 'repository namespace prefix (e.g. prod or team/base), or ROOT')
    .option(
      '--applied-for <use>',
      `what it applies to: ${TEMPLATE_USES.join(', ')} (repeatable; default CREATE_ON_PUSH)`,
      collect,
    )
    .addOption(new Option('--tag-mutability <setting>', 'tag mutability of the repositories').choices(MUTABILITIES))
    .option(
      '--mutability-exclusion <pattern>',
      'a tag wildcard excluded from the mutability setting (repeatable, ≤ 5)',
      collect,
    )
    .addOption(new Option('--encryption <type>', 'encryption at rest').choices(['AES256', 'KMS', 'KMS_DSSE']))
    .option('--kms-key <arn>', 'KMS key for --encryption KMS / KMS_DSSE')
    .option('--lifecycle <file|preset:NAME[,k=v...]>', 'lifecycle policy JSON file, or a preset with its parameters')
    .option('--policy <file>', 'repository policy JSON file (≤ 10,240 characters)')
    .option('--tag <key=value>', 'a resource tag (repeatable; ≤ 50)', collect)
    .option('--description <text>', 'what the template is for')
    .option('--role-arn <arn>', 'IAM role ECR assumes to apply tags and KMS keys')
    .addHelpText(
      'after',
      examples(
        'ecrctl template create prod --applied-for CREATE_ON_PUSH --tag-mutability IMMUTABLE --lifecycle preset:expire-untagged,days=7',
        'ecrctl template create ROOT --applied-for REPLICATION --applied-for CREATE_ON_PUSH --tag team=platform',
      ),
    )
    .action(async (prefix: string, opts: CreateOptions, c: Command) => {
      const ctx = host.context(c);
      const template = await checkedTemplate(ctx, prefix, opts);
      const conn = await connect(ctx);
      const { createTemplate } = await import('../../ecr/templates.js');
      const made = await createTemplate(conn, template);
      ctx.log.info(`created repository creation template ${made.prefix} (${made.appliedFor.join(', ')})`);
      render(ctx, made, { text: (t) => t.prefix, env: (t) => ({ TEMPLATE_PREFIX: t.prefix }) });
    });

  cmd
    .command('list')
    .summary('list the templates')
    .addHelpText('after', examples('ecrctl template list', 'ecrctl template list --output json'))
    .action(async (_opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const conn = await connect(ctx);
      const { listTemplates } = await import('../../ecr/templates.js');
      const templates = await listTemplates(conn);
      render(
        ctx,
        { templates },
        {
          text: (d) =>
            d.templates.length === 0
              ? 'no repository creation templates'
              : table(
                  ['PREFIX', 'APPLIED FOR', 'TAGS', 'ENCRYPTION', 'LIFECYCLE', 'POLICY'],
                  d.templates.map((t) => [
                    t.prefix,
                    t.appliedFor.join(','),
                    t.tagMutability ?? 'MUTABLE',
                    t.encryption?.type ?? 'AES256',
                    t.lifecyclePolicy ? 'yes' : '-',
                    t.repositoryPolicy ? 'yes' : '-',
                  ]),
                ),
          env: (d) => ({ TEMPLATE_PREFIXES: d.templates.map((t) => t.prefix).join(' ') }),
        },
      );
    });

  cmd
    .command('delete')
    .summary('delete a template (repositories it created keep their settings)')
    .argument('<prefix>', 'the template prefix, or ROOT')
    .addHelpText('after', examples('ecrctl template delete prod'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      await checkPrefix(prefix);
      const conn = await connect(ctx);
      const { deleteTemplate } = await import('../../ecr/templates.js');
      const removed = await deleteTemplate(conn, prefix.replace(/\/$/, ''));
      ctx.log.info(`deleted repository creation template ${removed.prefix}`);
      render(ctx, removed, { text: (t) => t.prefix, env: (t) => ({ TEMPLATE_PREFIX: t.prefix }) });
    });
}

async function connect(ctx: CliContext) {
  const { settingsFromContext, requireRegion } = await import('../../ecr/aws-config.js');
  const { connectEcr } = await import('../../ecr/repositories.js');
  const settings = settingsFromContext(ctx);
  return connectEcr(settings, { region: requireRegion(settings) });
}

async function checkPrefix(prefix: string): Promise<void> {
  const { prefixProblem } = await import('../../policy/replication.js');
  const p = prefixProblem(prefix, 256);
  if (p)
    throw new RuleViolation(p, {
      rule: 'a template prefix is a repository namespace (1–256 characters), or ROOT',
      value: prefix,
    });
}

/** Returns the template the options describe, or throws naming every problem. */
async function checkedTemplate(
  ctx: CliContext,
  prefix: string,
  opts: CreateOptions,
): Promise<import('../../ecr/templates.js').CreationTemplate> {
  await checkPrefix(prefix);
  const uses = [...new Set(opts.appliedFor ?? ['CREATE_ON_PUSH'])];
  const badUse = uses.find((u) => !(TEMPLATE_USES as readonly string[]).includes(u));
  if (badUse !== undefined) {
    throw new UsageError(`--applied-for ${badUse}: not one of ${TEMPLATE_USES.join(', ')}`, { value: badUse });
  }
  const exclusions = opts.mutabilityExclusion ?? [];
  const withExclusion = opts.tagMutability?.endsWith('_WITH_EXCLUSION') === true;
  if (exclusions.length > 0 && !withExclusion) {
    throw new UsageError('--mutability-exclusion needs an *_WITH_EXCLUSION --tag-mutability', {
      fix: 'use e.g. --tag-mutability IMMUTABLE_WITH_EXCLUSION',
    });
  }
  const naming = await import('../../policy/naming.js');
  if (withExclusion) {
    const problems = naming.validateMutabilityExclusionFilters(exclusions);
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
  for (const o of opts.tag ?? []) {
    const eq = o.indexOf('=');
    if (eq < 0) throw new UsageError(`--tag takes KEY=VALUE, not "${o}"`, { value: o });
    tags.push({ key: o.slice(0, eq), value: o.slice(eq + 1) });
  }
  if (tags.length > 0) {
    const problems = naming.validateResourceTags(tags);
    if (problems.length > 0) {
      throw new RuleViolation(`--tag: ${problems[0]?.message}`, {
        ...(problems.length > 1 ? { problems: problems.map((p) => p.message) } : {}),
      });
    }
  }
  const t: import('../../ecr/templates.js').CreationTemplate = {
    prefix: prefix.replace(/\/$/, ''),
    appliedFor: uses as TemplateUse[],
  };
  if (opts.description !== undefined) t.description = opts.description;
  if (opts.tagMutability) t.tagMutability = opts.tagMutability;
  if (withExclusion) t.mutabilityExclusions = exclusions;
  if (encryption) t.encryption = { type: encryption, ...(opts.kmsKey ? { kmsKey: opts.kmsKey } : {}) };
  if (tags.length > 0) t.tags = tags;
  if (opts.roleArn) t.customRoleArn = opts.roleArn;
  if (opts.lifecycle !== undefined) t.lifecyclePolicy = await lifecyclePolicyText(ctx, opts.lifecycle);
  if (opts.policy !== undefined) t.repositoryPolicy = await repositoryPolicyText(ctx, opts.policy);
  return t;
}

/** Returns the lifecycle policy of --lifecycle (file or preset), validated by the lifecycle validator. */

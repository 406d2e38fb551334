// `ecrctl template`: repository creation templates (create / list / delete). The settings are
// checked by the op in src/ops/template.ts; this file declares the commands and renders.
import { type Command, Option } from 'commander';
import { TEMPLATE_USES } from '../../policy/replication.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import { render, table } from '../output.js';
import { lifecyclePolicyText, repositoryPolicyText } from '../inputs.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;

interface CreateOptions {
  appliedFor?: string[];
  tagMutability?: (typeof MUTABILITIES)[number];
  mutabilityExclusion?: string[];
  encryption?: 'AES256' | 'KMS' | 'KMS_DSSE';
  kmsKey?: string;
  lifecycle?: string;
  policy?: string;
  tag?: string[];
  resourceTag?: string[];
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
    .option('--resource-tag <key=value>', 'a resource tag (repeatable; ≤ 50)', collect)
    // The old spelling: --tag means an image tag everywhere else.
    .addOption(new Option('--tag <key=value>', 'a resource tag').argParser(collect).hideHelp())
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
      const { createTemplate } = await import('../../ops/template.js');
      const made = await createTemplate(ctx, {
        prefix,
        appliedFor: opts.appliedFor,
        tagMutability: opts.tagMutability,
        mutabilityExclusions: opts.mutabilityExclusion,
        encryption: opts.encryption,
        kmsKey: opts.kmsKey,
        // Files are read when the op gets to them, after the settings are checked.
        lifecyclePolicy:
          opts.lifecycle === undefined ? undefined : () => lifecyclePolicyText(ctx, opts.lifecycle as string),
        repositoryPolicy:
          opts.policy === undefined ? undefined : () => repositoryPolicyText(ctx, opts.policy as string),
        tags: [...(opts.resourceTag ?? []), ...(opts.tag ?? [])],
        description: opts.description,
        roleArn: opts.roleArn,
      });
      render(ctx, made, { text: (t) => t.prefix, env: (t) => ({ TEMPLATE_PREFIX: t.prefix }) });
    });

  cmd
    .command('list')
    .summary('list the templates')
    .addHelpText('after', examples('ecrctl template list', 'ecrctl template list --output json'))
    .action(async (_opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const { listTemplates } = await import('../../ops/template.js');
      render(ctx, await listTemplates(ctx), {
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
        env: (d) => ({ TEMPLATE_PREFIXES: d.templates.map((t) => t.prefix).join(',') }),
      });
    });

  cmd
    .command('delete')
    .summary('delete a template (repositories it created keep their settings)')
    .argument('<prefix>', 'the template prefix, or ROOT')
    .addHelpText('after', examples('ecrctl template delete prod'))
    .action(async (prefix: string, _opts: unknown, c: Command) => {
      const ctx = host.context(c);
      const { deleteTemplate } = await import('../../ops/template.js');
      const removed = await deleteTemplate(ctx, { prefix });
      render(ctx, removed, { text: (t) => t.prefix, env: (t) => ({ TEMPLATE_PREFIX: t.prefix }) });
    });
}

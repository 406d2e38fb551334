// `ecrctl repo show NAME` and `ecrctl repo set NAME …`: one repository's settings in one
// place, and changing them in place.
import { type Command, Option } from 'commander';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { lifecyclePolicyText, repositoryPolicyText } from '../inputs.js';
import { render } from '../output.js';

interface SetOptions {
  tagMutability?: string;
  immutable?: boolean;
  mutable?: boolean;
  mutabilityExclusion?: string[];
  scanOnPush?: boolean;
  lifecycle?: string;
  policy?: string;
  resourceTag?: string[];
  dryRun?: boolean;
}

/** Declares `ecrctl repo` with `show` and `set`. */
export function defineRepo(program: Command, host: CommandHost): void {
  const repo = program
    .command('repo')
    .summary("one repository's settings: show them all, or change some")
    .description(
      'Shows one repository in one place (settings, lifecycle and repository policies, resource ' +
        'tags, image count, the registry scanning and replication rules that apply to it), or ' +
        'changes its settings in place.',
    )
    .addHelpText('after', examples('ecrctl repo show team/app', 'ecrctl repo set team/app --immutable --scan-on-push'));

  repo
    .command('show')
    .summary('settings, policies, tags and matching registry rules of a repository')
    .description(
      'Prints the settings of repository NAME with its lifecycle and repository policies, ' +
        'resource tags, image count, and the registry scanning and replication rules that cover ' +
        'it. Registry-wide parts that cannot be read (permissions) are named, not fatal. Exits 6 ' +
        'when the repository does not exist.',
    )
    .argument('<name>', 'repository name, e.g. team/app')
    .addHelpText('after', examples('ecrctl repo show team/app', 'ecrctl repo show team/app --output json'))
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await runShow(host.context(cmd), name);
    });

  repo
    .command('set')
    .summary('change the settings of an existing repository')
    .description(
      'Changes the settings given that differ from what repository NAME has; the rest stay as ' +
        'they are. Every value is checked first (nothing changes when one is wrong). Encryption ' +
        'is fixed at creation and cannot be set. Exits 6 when the repository does not exist.',
    )
    .argument('<name>', 'repository name, e.g. team/app')
    .addOption(
      new Option('--tag-mutability <setting>', 'whether tags can be moved').choices([
        'MUTABLE',
        'IMMUTABLE',
        'IMMUTABLE_WITH_EXCLUSION',
        'MUTABLE_WITH_EXCLUSION',
      ]),
    )
    .option('--immutable', 'shorthand for --tag-mutability IMMUTABLE')
    .option('--mutable', 'shorthand for --tag-mutability MUTABLE')
    .option('--mutability-exclusion <pattern>', 'a tag wildcard excluded from the setting (repeatable)', collect)
    .option('--scan-on-push', 'scan images when they are pushed')
    .option('--no-scan-on-push', 'do not scan on push')
    .option('--lifecycle <file|preset:NAME[,k=v...]>', 'lifecycle policy JSON file, or a preset')
    .option('--policy <file>', 'repository policy JSON file')
    .option('--resource-tag <key=value>', 'add or change a resource tag (repeatable)', collect)
    .option('--dry-run', 'say what would change; change nothing')
    .addHelpText(
      'after',
      examples(
        'ecrctl repo set team/app --immutable --scan-on-push',
        'ecrctl repo set team/app --lifecycle preset:expire-untagged,days=7 --dry-run',
        'ecrctl repo set team/app --resource-tag team=payments --resource-tag env=prod',
      ),
    )
    .action(async (name: string, opts: SetOptions, cmd: Command) => {
      await runSet(host.context(cmd), name, opts);
    });
}

async function runShow(ctx: CliContext, name: string): Promise<void> {
  const { showRepository } = await import('../../ops/repo.js');
  const d = await showRepository(ctx, { name });
  const day = (x: Date | undefined) => (x ? x.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
  render(ctx, d, {
    text: (r) => {
      const lines = [
        `${r.name}`,
        `  uri               ${r.uri}`,
        `  arn               ${r.arn}`,
        `  created           ${day(r.createdAt)}`,
        `  images            ${r.imageCount}`,
        `  tag mutability    ${r.tagMutability}${r.mutabilityExclusions.length > 0 ? ` (except ${r.mutabilityExclusions.join(', ')})` : ''}`,
        `  scan on push      ${r.scanOnPush ? 'yes' : 'no'}`,
        `  registry scanning ${r.scanning.scanType}${r.scanning.rules.map((s) => `, ${s.scanFrequency} (${s.filter})`).join('')}`,
        `  encryption        ${r.encryption.type}${r.encryption.kmsKey ? ` ${r.encryption.kmsKey}` : ''}`,
        `  replicates to     ${r.replicatesTo.length > 0 ? r.replicatesTo.join(', ') : '-'}`,
        `  resource tags     ${r.resourceTags.length > 0 ? r.resourceTags.map((t) => `${t.key}=${t.value}`).join(', ') : '-'}`,
        `  lifecycle policy  ${policySummary(r.lifecyclePolicy, 'rules')}`,
        `  repository policy ${policySummary(r.repositoryPolicy, 'Statement')}`,
      ];
      for (const u of r.unreadable) lines.push(`  (${u.part} not readable: ${u.reason})`);
      return lines.join('\n');
    },
    env: (r) => ({
      REPOSITORY_NAME: r.name,
      REPOSITORY_URI: r.uri,
      REPOSITORY_ARN: r.arn,
      IMAGE_COUNT: String(r.imageCount),
      TAG_MUTABILITY: r.tagMutability,
      SCAN_ON_PUSH: String(r.scanOnPush),
      ENCRYPTION: r.encryption.type,
      REPLICATES_TO: r.replicatesTo.join(','),
    }),
  });
}

function policySummary(policy: unknown, list: 'rules' | 'Statement'): string {
  if (policy === null || typeof policy !== 'object') return '-';
  const items = (policy as Record<string, unknown>)[list];
  const n = Array.isArray(items) ? items.length : 0;
  const noun = list === 'rules' ? 'rule' : 'statement';
  return `${n} ${noun}${n === 1 ? '' : 's'} (--output json shows it)`;
}

async function runSet(ctx: CliContext, name: string, opts: SetOptions): Promise<void> {
  const [{ UsageError }, { setRepository }] = await Promise.all([
    import('../../errors.js'),
    import('../../ops/repo.js'),
  ]);
  const shorthands = [opts.immutable ? 'IMMUTABLE' : undefined, opts.mutable ? 'MUTABLE' : undefined].filter(
    (x): x is string => x !== undefined,
  );
  if (shorthands.length > 1 || (shorthands.length === 1 && opts.tagMutability !== undefined)) {
    throw new UsageError('give one of --tag-mutability, --immutable and --mutable', {
      fix: 'keep the one that says what you want',
    });
  }
  const mutability = (opts.tagMutability ?? shorthands[0]) as
    | import('../../ecr/repositories.js').TagMutability
    | undefined;
  const result = await setRepository(ctx, {
    name,
    ...(mutability ? { tagMutability: mutability } : {}),
    ...(opts.mutabilityExclusion ? { mutabilityExclusions: opts.mutabilityExclusion } : {}),
    ...(opts.scanOnPush !== undefined ? { scanOnPush: opts.scanOnPush } : {}),
    ...(opts.lifecycle !== undefined
      ? { lifecyclePolicy: () => lifecyclePolicyText(ctx, opts.lifecycle as string) }
      : {}),
    ...(opts.policy !== undefined ? { repositoryPolicy: () => repositoryPolicyText(ctx, opts.policy as string) } : {}),
    ...(opts.resourceTag ? { resourceTags: opts.resourceTag } : {}),
    dryRun: opts.dryRun === true,
  });
  render(ctx, result, {
    text: (r) =>
      r.changes.length === 0
        ? `${r.name}: unchanged`
        : [`${r.name}: ${r.dryRun ? 'would change (dry run)' : 'changed'}`, ...r.changes.map((c) => `  ${c}`)].join(
            '\n',
          ),
    env: (r) => ({
      REPOSITORY_NAME: r.name,
      REPOSITORY_URI: r.uri,
      CHANGES: String(r.changes.length),
      DRY_RUN: String(r.dryRun),
    }),
  });
}

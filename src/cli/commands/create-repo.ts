// `ecrctl create-repo NAME…`: checks every name and every option locally first (nothing is
// created when anything is wrong), then creates private or public repositories with their
// settings, or with --if-not-exists accepts existing ones and --apply brings them in line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { EcrctlError, NotFoundError, UsageError } from '../../errors.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { readInputFile, repositoryPolicyText } from '../inputs.js';
import { render } from '../output.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
type Mutability = (typeof MUTABILITIES)[number];

/** The options of create-repo as commander hands them over. */
export interface CreateRepoOptions {
  tagMutability?: Mutability;
  immutable?: boolean;
  mutabilityExclusion?: string[];
  scanOnPush?: boolean;
  encryption?: 'AES256' | 'KMS';
  kmsKey?: string;
  lifecycle?: string;
  policy?: string;
  tag?: string[];
  resourceTag?: string[];
  strictNames?: boolean;
  ifNotExists?: boolean;
  apply?: boolean;
  public?: boolean;
  description?: string;
  about?: string;
  usage?: string;
  os?: string[];
  arch?: string[];
  logo?: string;
  param?: string[];
  dryRun?: boolean;
}

/** Declares `ecrctl create-repo`. */
export function defineCreateRepo(program: Command, host: CommandHost): void {
  program
    .command('create-repo')
    .summary('create repositories that follow the naming rules, with their settings')
    .description(
      'Creates one or more ECR repositories (or ECR Public ones with --public). Every name and\n' +
        'option is checked locally first: an invalid name exits 3 with the rule broken and a\n' +
        'corrected name, and nothing is created. House rules (lowercase letters, digits and\n' +
        'hyphens; in CodeBuild the project name) are warnings, errors with --strict-names.\n' +
        'With --if-not-exists an existing repository is success; add --apply to change the\n' +
        'settings given here that differ (tag mutability, scan on push, lifecycle and repository\n' +
        'policies, resource tags). Prints the repository URI.',
    )
    .argument('<names...>', 'repository names, e.g. team/payment-api')
    .addOption(new Option('--tag-mutability <setting>', 'whether tags can be moved').choices(MUTABILITIES))
    .option('--immutable', 'shorthand for --tag-mutability IMMUTABLE')
    .option(
      '--mutability-exclusion <pattern>',
      'a tag wildcard excluded from the mutability setting (repeatable, ≤ 5)',
      collect,
    )
    .option('--scan-on-push', 'scan images when they are pushed')
    .option('--no-scan-on-push', 'do not scan on push (with --apply: turn it off)')
    .addOption(new Option('--encryption <type>', 'encryption at rest (fixed once created)').choices(['AES256', 'KMS']))
    .option('--kms-key <arn>', 'KMS key for --encryption KMS (default: the AWS managed key aws/ecr)')
    .option('--lifecycle <file|preset:NAME[,k=v...]>', 'lifecycle policy JSON file, or a preset with its parameters')
    .option('--param <key=value>', 'a parameter of the --lifecycle preset (repeatable)', collect)
    .option('--policy <file>', 'repository policy JSON file (≤ 10,240 characters)')
    .option('--resource-tag <key=value>', 'a resource tag (repeatable; ≤ 50)', collect)
    // The old spelling: --tag means an image tag everywhere else.
    .addOption(new Option('--tag <key=value>', 'a resource tag').argParser(collect).hideHelp())
    .option('--strict-names', 'treat house naming rules as errors (exit 3)')
    .option('--if-not-exists', 'an existing repository is success (for re-runnable scripts)')
    .option('--apply', 'with --if-not-exists: change the settings given here that differ')
    .option('--dry-run', 'check everything and print what would be created; create nothing')
    .option('--public', 'create an ECR Public repository')
    .option('--description <text>', 'public: short description (≤ 255 characters)')
    .option('--about <file>', 'public: "about" text, Markdown (≤ 10,240 characters)')
    .option('--usage <file>', 'public: usage text, Markdown (≤ 10,240 characters)')
    .option('--os <name>', 'public: operating system badge, Linux or Windows (repeatable)', collect)
    .option('--arch <name>', "public: architecture badge, ARM, 'ARM 64' (or ARM64), x86, x86-64 (repeatable)", collect)
    .option('--logo <file>', 'public: logo PNG, 60–2048 px per side, ≤ 500 KB')
    .addHelpText(
      'after',
      examples(
        'ecrctl create-repo team/payment-api --immutable --scan-on-push',
        'ecrctl create-repo app --lifecycle preset:expire-untagged,days=7 --resource-tag team=payments',
        'ecrctl create-repo app --lifecycle preset:expire-untagged --param days=7 --dry-run',
        'ecrctl create-repo app --if-not-exists --apply --tag-mutability IMMUTABLE_WITH_EXCLUSION --mutability-exclusion "dev-*"',
        'ecrctl create-repo tools --public --description "Build tools" --os Linux --arch x86-64 --arch ARM64 --logo logo.png',
        'eval "$(ecrctl create-repo app --if-not-exists --output env)"; echo "$REPOSITORY_URI"',
      ),
    )
    .action(async (names: string[], opts: CreateRepoOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      await runCreateRepo(ctx, names, opts);
    });
}

/** Checks the option combinations, creates (or accepts / updates) each repository and prints the URIs. */
async function runCreateRepo(ctx: CliContext, names: string[], opts: CreateRepoOptions): Promise<void> {
  const isPublic = opts.public === true;
  checkCombinations(opts, isPublic);
  const { createRepositories } = await import('../../ops/create-repo.js');
  const { repositories, errors, plan } = await createRepositories(ctx, {
    names,
    public: isPublic,
    tagMutability: opts.tagMutability,
    immutable: opts.immutable,
    mutabilityExclusions: opts.mutabilityExclusion,
    scanOnPush: opts.scanOnPush,
    encryption: opts.encryption,
    kmsKey: opts.kmsKey,
    // Files are read when the op gets to them: a bad name is reported before a missing file.
    lifecyclePolicy:
      opts.lifecycle === undefined ? undefined : () => lifecycleText(ctx, opts.lifecycle as string, opts.param),
    repositoryPolicy: opts.policy === undefined ? undefined : () => repositoryPolicyText(ctx, opts.policy as string),
    catalog: isPublic ? () => readCatalogData(ctx, opts) : undefined,
    tags: [...(opts.resourceTag ?? []), ...(opts.tag ?? [])],
    strictNames: opts.strictNames,
    ifNotExists: opts.ifNotExists,
    apply: opts.apply,
    dryRun: opts.dryRun === true,
  });
  if (plan) renderPlan(ctx, plan);
  else if (repositories.length > 0 || errors.length === 0) {
    render(
      ctx,
      { repositories },
      {
        text: (d) => d.repositories.map((r) => r.uri).join('\n'),
        env: (d): Record<string, string> => {
          const first = d.repositories[0];
          if (d.repositories.length === 1 && first) {
            return {
              REPOSITORY_URI: first.uri,
              REPOSITORY_NAME: first.name,
              REPOSITORY_ARN: first.arn,
              REPOSITORY_STATUS: first.status,
            };
          }
          return { REPOSITORY_URIS: d.repositories.map((r) => r.uri).join(',') };
        },
      },
    );
  }
  const first = errors[0];
  if (first) {
    for (const e of errors.slice(1)) ctx.log.warn(e.message);
    if (errors.length > 1)
      first.message = `${first.message} (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''} above)`;
    throw first;
  }
}

/**
 * Returns the lifecycle policy text of `--lifecycle FILE|preset:NAME[,k=v...]` with the
 * `--param` values merged in, validated (RuleViolation with every problem).
 */
async function lifecycleText(ctx: CliContext, source: string, params: readonly string[] | undefined): Promise<string> {
  const { checkLifecyclePolicyText, presetPolicyText } = await import('../../policy/policy-text.js');
  const text = presetPolicyText(source, params) ?? (await readInputFile(ctx, source, 'lifecycle policy'));
  return checkLifecyclePolicyText(text, source);
}

/** Throws UsageError for options that do not go together. */
function checkCombinations(opts: CreateRepoOptions, isPublic: boolean): void {
  if (opts.param && !opts.lifecycle?.startsWith('preset:')) {
    throw new UsageError('--param sets a parameter of a --lifecycle preset', {
      value: opts.param.join(' '),
      fix: 'add --lifecycle preset:NAME (see `ecrctl lifecycle presets`), or drop --param',
    });
  }
  if (opts.apply && !opts.ifNotExists) {
    throw new UsageError('--apply works only with --if-not-exists', {
      fix: 'add --if-not-exists (an existing repository is then updated)',
    });
  }
  const publicOnly = (['description', 'about', 'usage', 'os', 'arch', 'logo'] as const).filter(
    (k) => opts[k] !== undefined,
  );
  if (!isPublic && publicOnly.length > 0) {
    throw new UsageError(`${publicOnly.map((k) => `--${k}`).join(', ')} set catalog data of public repositories`, {
      fix: 'add --public to create an ECR Public repository, or drop these options',
    });
  }
  if (isPublic) {
    const privateOnly = (
      [
        ['tagMutability', '--tag-mutability'],
        ['immutable', '--immutable'],
        ['mutabilityExclusion', '--mutability-exclusion'],
        ['scanOnPush', '--scan-on-push'],
        ['encryption', '--encryption'],
        ['kmsKey', '--kms-key'],
        ['lifecycle', '--lifecycle'],
        ['policy', '--policy'],
      ] as const
    ).filter(([k]) => opts[k] !== undefined);
    if (privateOnly.length > 0) {
      throw new UsageError(
        `${privateOnly.map(([, f]) => f).join(', ')} apply to private repositories, not to ECR Public`,
        {
          fix: 'drop these options, or drop --public',
        },
      );
    }
  }
}

/** Returns the catalog data of --public from the options and files, every limit checked. */
async function readCatalogData(
  ctx: CliContext,
  opts: CreateRepoOptions,
): Promise<import('../../ecr/public-repositories.js').CatalogData> {
  const pub = await import('../../ecr/public-repositories.js');
  const catalog: import('../../ecr/public-repositories.js').CatalogData = {};
  if (opts.description !== undefined) catalog.description = opts.description;
  if (opts.about !== undefined) catalog.aboutText = await readInputFile(ctx, opts.about, 'about text');
  if (opts.usage !== undefined) catalog.usageText = await readInputFile(ctx, opts.usage, 'usage text');
  if (opts.os) catalog.operatingSystems = [...new Set(opts.os.map(pub.normalizeOperatingSystem))];
  if (opts.arch) catalog.architectures = [...new Set(opts.arch.map(pub.normalizeArchitecture))];
  if (opts.logo !== undefined) {
    try {
      catalog.logo = new Uint8Array(await readFile(path.resolve(ctx.cwd, opts.logo)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`logo file ${opts.logo} does not exist`, { value: opts.logo, fix: 'check the path' });
      }
      throw new EcrctlError(`cannot read logo file ${opts.logo}: ${(err as Error).message}`, { cause: err });
    }
  }
  pub.assertCatalogData(catalog, {
    ...(opts.logo !== undefined ? { logo: opts.logo } : {}),
    ...(opts.about !== undefined ? { about: opts.about } : {}),
    ...(opts.usage !== undefined ? { usage: opts.usage } : {}),
  });
  return catalog;
}

type Plan = NonNullable<import('../../ops/create-repo.js').CreateRepositoriesResult['plan']>;

/** Prints a dry run's plan: one block per repository with the settings and policies it would get. */
function renderPlan(ctx: CliContext, plan: Plan): void {
  render(
    ctx,
    { dryRun: true, repositories: plan },
    {
      text: (d) => d.repositories.map(planText).join('\n'),
      env: (d) => ({
        DRY_RUN: 'true',
        REPOSITORY_NAMES: d.repositories.map((r) => r.name).join(','),
        CREATE: d.repositories
          .filter((r) => r.action === 'create')
          .map((r) => r.name)
          .join(','),
      }),
    },
  );
}

function planText(p: Plan[number]): string {
  const what = `${p.public ? 'public repository' : 'repository'} ${p.name}`;
  const head =
    p.action === 'create'
      ? `would create ${what}`
      : p.action === 'update'
        ? `would update ${what} (${p.uri})`
        : p.action === 'refuse'
          ? `would fail: ${what} already exists (${p.uri})`
          : `would leave ${what} as it is (${p.uri})`;
  const lines = [head];
  const row = (label: string, value: string) => lines.push(`  ${`${label}:`.padEnd(20)}${value}`);
  const s = p.settings;
  if (!p.public) {
    row(
      'tag mutability',
      `${s.tagMutability ?? 'MUTABLE (default)'}${s.mutabilityExclusions ? ` except ${s.mutabilityExclusions.join(', ')}` : ''}`,
    );
    row('scan on push', s.scanOnPush === undefined ? 'off (default)' : s.scanOnPush ? 'on' : 'off');
    row(
      'encryption',
      s.encryption
        ? `${s.encryption.type}${s.encryption.kmsKey ? ` ${s.encryption.kmsKey}` : s.encryption.type === 'KMS' ? ' (aws/ecr key)' : ''}`
        : 'AES256 (default)',
    );
  }
  if (p.resourceTags.length > 0) row('resource tags', p.resourceTags.map((t) => `${t.key}=${t.value}`).join(', '));
  const rules = (p.lifecyclePolicy as { rules?: { rulePriority?: number; description?: string }[] } | undefined)?.rules;
  if (rules) {
    row('lifecycle policy', `${rules.length} ${rules.length === 1 ? 'rule' : 'rules'}`);
    for (const r of rules) lines.push(`    rule ${r.rulePriority ?? '?'}: ${r.description ?? '(no description)'}`);
  }
  const statements = (p.repositoryPolicy as { Statement?: unknown } | undefined)?.Statement;
  if (statements !== undefined) {
    const list = (Array.isArray(statements) ? statements : [statements]) as { Sid?: string; Effect?: string }[];
    row('repository policy', `${list.length} ${list.length === 1 ? 'statement' : 'statements'}`);
    list.forEach((st, i) => {
      lines.push(`    ${st.Sid ?? `Statement[${i}]`}: ${st.Effect ?? '?'} ${actionsOf(st)}`);
    });
  }
  const c = p.catalog;
  if (c) {
    if (c.description !== undefined) row('description', c.description);
    if (c.operatingSystems) row('operating systems', c.operatingSystems.join(', '));
    if (c.architectures) row('architectures', c.architectures.join(', '));
    if (c.aboutTextChars !== undefined) row('about text', `${c.aboutTextChars} characters`);
    if (c.usageTextChars !== undefined) row('usage text', `${c.usageTextChars} characters`);
    if (c.logoBytes !== undefined) row('logo', `${c.logoBytes} bytes`);
  }
  for (const change of p.changes) lines.push(`  differs: ${change}`);
  return lines.join('\n');
}

function actionsOf(statement: object): string {
  const a = (statement as { Action?: unknown }).Action;
  return Array.isArray(a) ? a.join(', ') : typeof a === 'string' ? a : '';
}

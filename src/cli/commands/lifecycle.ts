// `ecrctl lifecycle`: validate, simulate, presets, get, put, delete, diff and preview of ECR
// lifecycle policies. The workflows are in src/ops/lifecycle.ts; here: the commands, reading
// the files and presets they name, and the tables.
import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../../errors.js';
import type { LifecycleImage, LifecyclePolicy } from '../../policy/lifecycle/index.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { readInputFile } from '../inputs.js';
import { render, table } from '../output.js';

/** Declares `ecrctl lifecycle` and its subcommands. */
export function defineLifecycle(program: Command, host: CommandHost): void {
  const lifecycle = program
    .command('lifecycle')
    .summary('validate, simulate and generate lifecycle policies')
    .description(
      'Works with ECR lifecycle policies: finds every problem ECR would reject\n' +
        'before you put a policy, shows what a policy would expire or archive (and\n' +
        "why) for a repository's images or a list of images, renders ready-made\n" +
        'policies from presets, and gets, puts, deletes, diffs and previews the\n' +
        'policy of a repository.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle validate policy.json',
        'ecrctl lifecycle presets show keep-last-n-tagged --param prefix=main- --param count=20 > policy.json',
        'ecrctl lifecycle simulate team/app --policy policy.json --protect protected.txt',
        'ecrctl lifecycle diff team/app policy.json && ecrctl lifecycle put team/app policy.json',
      ),
    );

  lifecycle
    .command('validate')
    .argument('<file>', 'policy JSON file, or - for standard input')
    .summary('check a policy for everything ECR would reject')
    .description(
      'Reports, all at once, every problem ECR would reject in a lifecycle policy:\n' +
        'JSON syntax (with line and column), unknown or null fields, duplicate\n' +
        'priorities, tagStatus and tag lists, wildcards, countType / countUnit /\n' +
        'action combinations, sizes. Exits 3 when there are problems, one line each\n' +
        'in file order: FILE:LINE:COLUMN FIELD: PROBLEM — FIX.',
    )
    .addHelpText(
      'after',
      examples('ecrctl lifecycle validate policy.json', 'ecrctl -o json lifecycle validate - < policy.json'),
    )
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const [{ validateLifecyclePolicy, lifecyclePolicyError }, { lifecycleFileProblems, problemFileName }] =
        await Promise.all([import('../../ops/lifecycle.js'), import('../../policy/problems.js')]);
      const result = validateLifecyclePolicy(await readInputFile(ctx, file, 'policy'));
      // JSON: the problems in the shape every validator prints (file, line, column, field, problem, fix).
      const problems = lifecycleFileProblems(file, result.problems);
      if (ctx.globals.output === 'json') {
        render(ctx, { file: problemFileName(file), valid: result.valid, rules: result.rules, problems });
      }
      if (!result.valid) throw lifecyclePolicyError(file, result.problems);
      const n = result.rules;
      if (ctx.globals.output !== 'json') {
        render(ctx, { valid: true, rules: n }, { text: () => `valid: ${n} ${n === 1 ? 'rule' : 'rules'}` });
      }
    });

  const presets = lifecycle
    .command('presets')
    .summary('list ready-made policies; `presets show NAME` prints one')
    .description('Lists the built-in lifecycle policy presets with their parameters (name=default).')
    .addHelpText(
      'after',
      examples('ecrctl lifecycle presets', 'ecrctl lifecycle presets show expire-untagged --param days=7'),
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { listPresets } = await import('../../policy/lifecycle/index.js');
      const list = listPresets();
      render(ctx, list, {
        text: (l) =>
          table(
            ['NAME', 'PARAMETERS', 'SUMMARY'],
            l.map((p) => [p.name, p.params.join(' '), p.summary]),
          ),
        env: (l) => ({ PRESETS: l.map((p) => p.name).join(',') }),
      });
    });

  presets
    .command('show')
    .argument('<name>', 'preset name, with parameters as NAME,k=v or --param (see `presets`)')
    .option('--param <key=value>', 'a preset parameter (repeatable)', collect)
    .summary('print the policy JSON of a preset')
    .description('Prints the policy JSON of a preset with its parameters filled in.')
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle presets show keep-last-n-per-major --param majors=1,2,3 --param count=3',
        'ecrctl lifecycle presets show archive-not-pulled --param days=120 > policy.json',
        'ecrctl lifecycle presets show expire-untagged,days=7',
      ),
    )
    .action(async (name: string, opts: { param?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { renderPresetSource } = await import('../../policy/lifecycle/index.js');
      const text = renderPresetSource(name, opts.param);
      render(ctx, JSON.parse(text) as LifecyclePolicy, {
        text: () => text,
        env: () => ({ POLICY: JSON.stringify(JSON.parse(text)) }),
      });
    });

  lifecycle
    .command('simulate')
    .argument('[repo]', 'repository (name or full ECR reference): fetch its images from ECR (omit with --images)')
    .option(
      '--images <file>',
      'offline: image list, a JSON array of {digest, tags, pushedAt, lastPulledAt?, sizeBytes?, …}, or `aws ecr describe-images` output (- for stdin)',
    )
    .option(
      '--policy <file|preset:NAME>',
      "policy JSON file, or a preset with --param values (default with REPO: the repository's policy)",
    )
    .option('--param <key=value>', 'a preset parameter (repeatable; with --policy preset:NAME)', collect)
    .option('--at <date>', 'evaluate as of this time, ISO 8601 (default: now)')
    .option(
      '--protect <file>',
      'digests or tags (one per line, or a JSON array; * as in tagPatternList) that must survive: exit 3 if the policy would expire any',
    )
    .option('--all', 'list kept images too, with the reason they stay')
    .option(
      '--read-manifests',
      'read index manifests (BatchGetImage) so images an index lists are kept; ECR records a pull of each index',
    )
    .summary('show what a policy would expire or archive, and why')
    .description(
      "Applies a policy to a repository's images with ECR's semantics (rules in priority\n" +
        'order, one rule per image, images of a higher rule still counted by lower\n' +
        'ones, oldest first, images an index still references kept) and prints what\n' +
        'would go, why, and the bytes freed. With REPO the image list comes from ECR\n' +
        "(every page of DescribeImages) and the policy defaults to the repository's own;\n" +
        'with --images it is read from a file and nothing is sent anywhere.\n\n' +
        'Reading a manifest is a pull on ECR: BatchGetImage sets lastRecordedPullTime\n' +
        'and so defeats sinceImagePulled rules. simulate reads no manifest unless\n' +
        '--read-manifests asks it to read the image indexes (to learn which images they\n' +
        'list); without it, a warning says when unread indexes may keep images judged\n' +
        'to expire. `ecrctl pull-time-exclusion add` lets a principal read unrecorded.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle simulate team/app',
        'ecrctl lifecycle simulate team/app --policy preset:expire-untagged --param days=7 --protect protected.txt',
        'ecrctl lifecycle simulate team/app --read-manifests',
        'ecrctl lifecycle simulate --images images.json --policy policy.json --at 2025-01-01 --all',
      ),
    )
    .action(
      async (
        repo: string | undefined,
        opts: {
          images?: string;
          policy?: string;
          param?: string[];
          at?: string;
          protect?: string;
          all?: boolean;
          readManifests?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { simulateLifecyclePolicy, checkProtection } = await import('../../ops/lifecycle.js');
        if (repo !== undefined && opts.images !== undefined) {
          throw new UsageError('give either REPO (images from ECR) or --images FILE (offline), not both', {
            value: repo,
          });
        }
        if (repo === undefined && opts.images === undefined) {
          throw new UsageError('simulate needs the images: a repository, or --images FILE', {
            fix: 'run `ecrctl lifecycle simulate team/app`, or `ecrctl lifecycle simulate --images images.json --policy policy.json`',
          });
        }
        if (repo === undefined && !opts.policy) {
          throw new UsageError('simulate needs a policy', {
            fix: 'pass --policy FILE, or --policy preset:NAME (see `ecrctl lifecycle presets`)',
          });
        }
        checkParams(opts.policy, opts.param);
        const at = parseAt(opts.at);
        const policy = opts.policy ? await loadPolicy(ctx, opts.policy, opts.param) : {};
        const protect = await loadProtect(ctx, opts.protect);
        const source =
          repo !== undefined ? { repository: repo } : { images: await loadImages(ctx, opts.images as string) };
        const result = await simulateLifecyclePolicy(ctx, {
          ...source,
          ...policy,
          at,
          ...(opts.readManifests ? { readManifests: true } : {}),
        });
        (await import('../lifecycle-report.js')).renderSimulation(ctx, result, opts.all === true);
        checkProtection(ctx, result.decisions, protect);
      },
    );

  lifecycle
    .command('get')
    .argument('<repo>', 'repository name or full ECR reference')
    .summary("print a repository's lifecycle policy")
    .description('Prints the lifecycle policy JSON of a repository. Exits 6 when it has none.')
    .addHelpText(
      'after',
      examples('ecrctl lifecycle get team/app > policy.json', 'ecrctl -o json lifecycle get team/app'),
    )
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { getLifecyclePolicy } = await import('../../ops/lifecycle.js');
      const stored = await getLifecyclePolicy(ctx, { repository: repo });
      const doc = stored.document;
      render(
        ctx,
        { repository: stored.repository, policy: doc, lastEvaluatedAt: stored.lastEvaluatedAt ?? null },
        {
          text: () => (typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2)),
          env: () => ({ LIFECYCLE_POLICY: typeof doc === 'string' ? doc : JSON.stringify(doc) }),
        },
      );
    });

  lifecycle
    .command('put')
    .argument('<repo>', 'repository name or full ECR reference')
    .argument('<policy>', 'policy JSON file (- for stdin), or preset:NAME[,k=v...] (or --param k=v)')
    .option('--param <key=value>', 'a preset parameter (repeatable; with preset:NAME)', collect)
    .summary("set a repository's lifecycle policy (validated locally first)")
    .description(
      'Checks the policy for everything ECR would reject — all problems at once, exit 3,\n' +
        'nothing sent — and then sets it as the repository lifecycle policy.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle put team/app policy.json',
        'ecrctl lifecycle put team/app preset:keep-last-n-tagged --param prefix=v --param count=20',
        'ecrctl lifecycle put team/app preset:expire-untagged,days=7',
      ),
    )
    .action(async (repo: string, source: string, opts: { param?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      checkParams(source, opts.param);
      const policy = await loadPolicy(ctx, source, opts.param);
      const { putLifecyclePolicy } = await import('../../ops/lifecycle.js');
      const { repository, rules } = await putLifecyclePolicy(ctx, { repository: repo, ...policy });
      render(ctx, { repository, rules }, { env: () => ({ REPOSITORY: repository, RULES: String(rules) }) });
    });

  lifecycle
    .command('delete')
    .argument('<repo>', 'repository name or full ECR reference')
    .summary("remove a repository's lifecycle policy")
    .description('Deletes the lifecycle policy of a repository (its images stay). Exits 6 when it has none.')
    .addHelpText('after', examples('ecrctl lifecycle delete team/app'))
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { deleteLifecyclePolicy } = await import('../../ops/lifecycle.js');
      const { repository } = await deleteLifecyclePolicy(ctx, { repository: repo });
      render(ctx, { repository, deleted: true }, { env: () => ({ REPOSITORY: repository, DELETED: 'true' }) });
    });

  lifecycle
    .command('diff')
    .argument('<repo>', 'repository name or full ECR reference')
    .argument('<policy>', 'the new policy: JSON file (- for stdin), or preset:NAME[,k=v...]')
    .option('--param <key=value>', 'a preset parameter (repeatable; with preset:NAME)', collect)
    .option('--at <date>', 'judge the images as of this time, ISO 8601 (default: now)')
    .option(
      '--read-manifests',
      'read index manifests (BatchGetImage) so images an index lists are kept; ECR records a pull of each index',
    )
    .summary("compare a policy with the repository's, rule by rule and image by image")
    .description(
      'Shows what putting POLICY would change: rules added, removed and changed (by\n' +
        'rulePriority), and — running the simulator with the current and the new policy\n' +
        "over the repository's real images — every image whose fate changes.\n\n" +
        'Reads no manifest (on ECR a manifest read is recorded as a pull) unless\n' +
        '--read-manifests: see `ecrctl lifecycle simulate --help`.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle diff team/app policy.json',
        'ecrctl -o json lifecycle diff team/app preset:expire-untagged --param days=3',
      ),
    )
    .action(
      async (
        repo: string,
        source: string,
        opts: { param?: string[]; at?: string; readManifests?: boolean },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        checkParams(source, opts.param);
        const at = parseAt(opts.at);
        const policy = await loadPolicy(ctx, source, opts.param);
        const { diffLifecyclePolicy } = await import('../../ops/lifecycle.js');
        const diff = await diffLifecyclePolicy(ctx, {
          repository: repo,
          ...policy,
          at,
          ...(opts.readManifests ? { readManifests: true } : {}),
        });
        (await import('../lifecycle-report.js')).renderDiff(ctx, diff);
      },
    );

  lifecycle
    .command('preview')
    .argument('<repo>', 'repository name or full ECR reference')
    .option(
      '--policy <file|preset:NAME>',
      "the policy to preview (default: the repository's own); validated locally first",
    )
    .option('--param <key=value>', 'a preset parameter (repeatable; with --policy preset:NAME)', collect)
    .option('--timeout <seconds>', 'give up waiting for ECR after this long', '300')
    .option('--protect <file>', 'digests or tags that must survive: exit 3 if the preview expires any')
    .option('--all', 'list kept images too')
    .summary("run ECR's own lifecycle preview and show its result")
    .description(
      "Starts ECR's lifecycle policy preview (StartLifecyclePolicyPreview), waits for it\n" +
        '(a spinner on a terminal, plain lines in logs; at most --timeout seconds) and prints\n' +
        'the result in the same table as `simulate`. Sizes come from DescribeImages.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle preview team/app',
        'ecrctl lifecycle preview team/app --policy policy.json --timeout 120',
      ),
    )
    .action(
      async (
        repo: string,
        opts: { policy?: string; param?: string[]; timeout: string; protect?: string; all?: boolean },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        checkParams(opts.policy, opts.param);
        const timeout = Number(opts.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) {
          throw new UsageError('--timeout takes a number of seconds', {
            value: opts.timeout,
            fix: 'e.g. --timeout 120',
          });
        }
        const policy = opts.policy ? await loadPolicy(ctx, opts.policy, opts.param) : {};
        const protect = await loadProtect(ctx, opts.protect);
        const { previewLifecyclePolicy, checkProtection } = await import('../../ops/lifecycle.js');
        const result = await previewLifecyclePolicy(ctx, { repository: repo, ...policy, timeoutMs: timeout * 1000 });
        (await import('../lifecycle-report.js')).renderSimulation(ctx, result, opts.all === true);
        checkProtection(ctx, result.decisions, protect);
      },
    );
}

/**
 * Returns the policy a `FILE | - | preset:NAME` argument names, as the ops take it; exit 3
 * with every problem when ECR would reject it (before anything else is read or sent).
 */
async function loadPolicy(
  ctx: CliContext,
  source: string,
  params: readonly string[] | undefined,
): Promise<{ policy: string; policyName: string }> {
  const [{ presetPolicyText }, { checkLifecyclePolicy }] = await Promise.all([
    import('../../policy/policy-text.js'),
    import('../../ops/lifecycle.js'),
  ]);
  // One preset syntax everywhere: preset:NAME,k=v and preset:NAME --param k=v (or both).
  const text = presetPolicyText(source, params) ?? (await readInputFile(ctx, source, 'policy'));
  checkLifecyclePolicy(text, source);
  return { policy: text, policyName: source };
}

async function loadProtect(ctx: CliContext, file: string | undefined): Promise<string[]> {
  if (!file) return [];
  const { parseProtectList } = await import('../../policy/lifecycle/report.js');
  try {
    return parseProtectList(await readInputFile(ctx, file, 'protect list'));
  } catch (err) {
    if (err instanceof NotFoundError) throw err;
    throw new UsageError(`the protect list ${file} is not usable: ${(err as Error).message}`, { cause: err });
  }
}

async function loadImages(ctx: CliContext, file: string): Promise<LifecycleImage[]> {
  const { parseImageList } = await import('../../policy/lifecycle/report.js');
  const parsed = parseImageList(await readInputFile(ctx, file, 'image list'));
  if (parsed.problems.length > 0) {
    throw new UsageError(`the image list ${file} is not usable: ${parsed.problems.join('; ')}`, {
      fix: 'each image needs a digest, tags (may be empty) and pushedAt as an ISO 8601 date',
    });
  }
  return parsed.images;
}

function checkParams(source: string | undefined, params: readonly string[] | undefined): void {
  if (params && !source?.startsWith('preset:')) {
    throw new UsageError('--param works only with a policy given as preset:NAME', { value: params.join(' ') });
  }
}

function parseAt(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const d = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    throw new UsageError('--at must be an ISO 8601 date', {
      value,
      fix: 'e.g. --at 2025-01-31 or --at 2025-01-31T12:00:00Z',
    });
  }
  return d;
}

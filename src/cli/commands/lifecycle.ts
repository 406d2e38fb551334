import type { Command } from 'commander';
import { NotFoundError, RuleViolation, UsageError } from '../../errors.js';
import type { StoredLifecyclePolicy } from '../../ecr/lifecycle.js';
import type { EcrConnection } from '../../ecr/repositories.js';
import type {
  LifecycleDecision,
  LifecycleImage,
  LifecyclePolicy,
  LifecycleProblem,
  LifecycleRule,
} from '../../policy/lifecycle/index.js';
import type { DecisionSummary } from '../../policy/lifecycle/report.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { formatBytes, render, table } from '../output.js';
import { readInputFile } from '../inputs.js';

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
        'action combinations, sizes. Exits 3 when there are problems.',
    )
    .addHelpText(
      'after',
      examples('ecrctl lifecycle validate policy.json', 'ecrctl -o json lifecycle validate - < policy.json'),
    )
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { parseLifecyclePolicy } = await import('../../policy/lifecycle/index.js');
      const { formatProblem } = await import('../../policy/lifecycle/report.js');
      const text = await readInputFile(ctx, file, 'policy');
      const { policy, problems } = parseLifecyclePolicy(text);
      if (ctx.globals.output === 'json') {
        render(ctx, { valid: problems.length === 0, rules: policy?.rules.length ?? 0, problems });
      }
      if (problems.length > 0) throw policyProblems(file, problems, formatProblem);
      const n = policy?.rules.length ?? 0;
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
    .argument('<name>', 'preset name (see `ecrctl lifecycle presets`)')
    .option('--param <key=value>', 'a preset parameter (repeatable)', collect)
    .summary('print the policy JSON of a preset')
    .description('Prints the policy JSON of a preset with its parameters filled in.')
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle presets show keep-last-n-per-major --param majors=1,2,3 --param count=3',
        'ecrctl lifecycle presets show archive-not-pulled --param days=120 > policy.json',
      ),
    )
    .action(async (name: string, opts: { param?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      const { renderPreset } = await import('../../policy/lifecycle/index.js');
      const text = renderPreset(name, parseParams(opts.param));
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
    .summary('show what a policy would expire or archive, and why')
    .description(
      "Applies a policy to a repository's images with ECR's semantics (rules in priority\n" +
        'order, one rule per image, images of a higher rule still counted by lower\n' +
        'ones, oldest first, images an index still references kept) and prints what\n' +
        'would go, why, and the bytes freed. With REPO the image list comes from ECR\n' +
        "(every page of DescribeImages) and the policy defaults to the repository's own;\n" +
        'with --images it is read from a file and nothing is sent anywhere.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle simulate team/app',
        'ecrctl lifecycle simulate team/app --policy preset:expire-untagged --param days=7 --protect protected.txt',
        'ecrctl lifecycle simulate --images images.json --policy policy.json --at 2025-01-01 --all',
      ),
    )
    .action(
      async (
        repo: string | undefined,
        opts: { images?: string; policy?: string; param?: string[]; at?: string; protect?: string; all?: boolean },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { simulateLifecycle } = await import('../../policy/lifecycle/index.js');
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
        const policy = opts.policy ? await loadPolicy(ctx, opts.policy, parseParams(opts.param)) : undefined;
        const protect = await loadProtect(ctx, opts.protect);

        let images: LifecycleImage[];
        let effective: LifecyclePolicy;
        if (repo !== undefined) {
          const { conn, repository } = await connect(ctx, repo);
          const ecr = await import('../../ecr/lifecycle.js');
          effective = policy ?? (await repositoryPolicy(ctx, conn, repository)).policy;
          images = await ecr.listLifecycleImages(conn, repository);
          ctx.log.info(`${images.length} ${images.length === 1 ? 'image' : 'images'} in ${repository}`);
        } else {
          const { parseImageList } = await import('../../policy/lifecycle/report.js');
          const parsed = parseImageList(await readInputFile(ctx, opts.images as string, 'image list'));
          if (parsed.problems.length > 0) {
            throw new UsageError(`the image list ${opts.images} is not usable: ${parsed.problems.join('; ')}`, {
              fix: 'each image needs a digest, tags (may be empty) and pushedAt as an ISO 8601 date',
            });
          }
          images = parsed.images;
          effective = policy as LifecyclePolicy;
        }

        const decisions = simulateLifecycle(effective, images, at);
        await renderSimulation(ctx, decisions, { at, all: opts.all === true });
        await checkProtection(ctx, decisions, protect);
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
      const { conn, repository } = await connect(ctx, repo);
      const { stored } = await repositoryPolicy(ctx, conn, repository);
      let doc: unknown = stored.text;
      try {
        doc = JSON.parse(stored.text);
      } catch {
        /* shown as ECR holds it */
      }
      render(
        ctx,
        { repository, policy: doc, lastEvaluatedAt: stored.lastEvaluatedAt ?? null },
        {
          text: () => (typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2)),
          env: () => ({ LIFECYCLE_POLICY: typeof doc === 'string' ? doc : JSON.stringify(doc) }),
        },
      );
    });

  lifecycle
    .command('put')
    .argument('<repo>', 'repository name or full ECR reference')
    .argument('<policy>', 'policy JSON file (- for stdin), or preset:NAME with --param values')
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
      ),
    )
    .action(async (repo: string, source: string, opts: { param?: string[] }, cmd: Command) => {
      const ctx = host.context(cmd);
      checkParams(source, opts.param);
      const { text, policy } = await loadPolicyText(ctx, source, parseParams(opts.param));
      const { conn, repository } = await connect(ctx, repo);
      const ecr = await import('../../ecr/lifecycle.js');
      await ecr.putLifecyclePolicy(conn, repository, text);
      const n = policy.rules.length;
      ctx.log.info(`lifecycle policy of ${repository} set: ${n} ${n === 1 ? 'rule' : 'rules'}`);
      render(ctx, { repository, rules: n }, { env: () => ({ REPOSITORY: repository, RULES: String(n) }) });
    });

  lifecycle
    .command('delete')
    .argument('<repo>', 'repository name or full ECR reference')
    .summary("remove a repository's lifecycle policy")
    .description('Deletes the lifecycle policy of a repository (its images stay). Exits 6 when it has none.')
    .addHelpText('after', examples('ecrctl lifecycle delete team/app'))
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { conn, repository } = await connect(ctx, repo);
      const ecr = await import('../../ecr/lifecycle.js');
      const old = await ecr.deleteLifecyclePolicy(conn, repository);
      if (old === undefined) throw noPolicy(repository);
      ctx.log.info(`lifecycle policy of ${repository} deleted`);
      render(ctx, { repository, deleted: true }, { env: () => ({ REPOSITORY: repository, DELETED: 'true' }) });
    });

  lifecycle
    .command('diff')
    .argument('<repo>', 'repository name or full ECR reference')
    .argument('<policy>', 'the new policy: JSON file (- for stdin), or preset:NAME with --param values')
    .option('--param <key=value>', 'a preset parameter (repeatable; with preset:NAME)', collect)
    .option('--at <date>', 'judge the images as of this time, ISO 8601 (default: now)')
    .summary("compare a policy with the repository's, rule by rule and image by image")
    .description(
      'Shows what putting POLICY would change: rules added, removed and changed (by\n' +
        'rulePriority), and — running the simulator with the current and the new policy\n' +
        "over the repository's real images — every image whose fate changes.",
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle diff team/app policy.json',
        'ecrctl -o json lifecycle diff team/app preset:expire-untagged --param days=3',
      ),
    )
    .action(async (repo: string, source: string, opts: { param?: string[]; at?: string }, cmd: Command) => {
      const ctx = host.context(cmd);
      checkParams(source, opts.param);
      const at = parseAt(opts.at);
      const next = await loadPolicyText(ctx, source, parseParams(opts.param));
      const { conn, repository } = await connect(ctx, repo);
      const ecr = await import('../../ecr/lifecycle.js');
      const { simulateLifecycle, parseLifecyclePolicy } = await import('../../policy/lifecycle/index.js');
      const stored = await ecr.getLifecyclePolicy(conn, repository);
      let current: LifecyclePolicy = { rules: [] };
      if (stored) {
        const parsed = parseLifecyclePolicy(stored.text);
        if (parsed.policy) current = parsed.policy;
        else
          ctx.log.warn(
            `the current policy of ${repository} does not pass local validation; comparing rules as far as they parse`,
          );
      } else {
        ctx.log.info(`${repository} has no lifecycle policy yet`);
      }
      const rules = diffRules(current, next.policy);
      const images = await ecr.listLifecycleImages(conn, repository);
      const before = new Map(simulateLifecycle(current, images, at).map((d) => [d.digest, d]));
      const changed = simulateLifecycle(next.policy, images, at)
        .filter((d) => before.get(d.digest)?.action !== d.action)
        .map((d) => ({
          digest: d.digest,
          tags: d.tags,
          before: before.get(d.digest)?.action ?? 'keep',
          after: d.action,
          reason: d.reason,
          sizeBytes: d.sizeBytes,
        }));
      render(
        ctx,
        { repository, at, rules, images: changed, imageCount: images.length },
        {
          text: () => {
            const lines: string[] = [];
            const total = rules.added.length + rules.removed.length + rules.changed.length;
            lines.push(total === 0 ? 'rules: no change' : 'rules:');
            for (const r of rules.removed) lines.push(`  - rule ${r.rulePriority}: ${describeRule(r)}`);
            for (const c of rules.changed) {
              lines.push(
                `  ~ rule ${c.rulePriority}: ${describeRule(c.before)}`,
                `      now: ${describeRule(c.after)}`,
              );
            }
            for (const r of rules.added) lines.push(`  + rule ${r.rulePriority}: ${describeRule(r)}`);
            lines.push('');
            if (changed.length === 0) {
              lines.push(`images: no change (all ${images.length} keep their fate)`);
            } else {
              lines.push(`images whose fate changes (${changed.length} of ${images.length}):`);
              lines.push(
                table(
                  ['DIGEST', 'TAGS', 'SIZE', 'NOW', 'WITH NEW POLICY', 'REASON'],
                  changed.map((c) => [
                    shortDigest(c.digest),
                    c.tags.length > 0 ? c.tags.join(',') : '<untagged>',
                    c.sizeBytes === undefined ? '-' : formatBytes(c.sizeBytes),
                    c.before,
                    c.after,
                    c.reason,
                  ]),
                ),
              );
            }
            return lines.join('\n');
          },
          env: () => ({
            RULES_ADDED: String(rules.added.length),
            RULES_REMOVED: String(rules.removed.length),
            RULES_CHANGED: String(rules.changed.length),
            IMAGES_CHANGED: String(changed.length),
            NEWLY_EXPIRED: String(changed.filter((c) => c.after === 'expire').length),
          }),
        },
      );
    });

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
        const given = opts.policy ? await loadPolicyText(ctx, opts.policy, parseParams(opts.param)) : undefined;
        const protect = await loadProtect(ctx, opts.protect);
        const { conn, repository } = await connect(ctx, repo);
        const ecr = await import('../../ecr/lifecycle.js');
        const { startTask } = await import('../progress.js');
        await ecr.startLifecyclePreview(conn, repository, given?.text);
        const task = await startTask(ctx, `ECR is previewing the lifecycle policy of ${repository}`);
        let preview: Awaited<ReturnType<typeof ecr.getLifecyclePreview>>;
        try {
          preview = await ecr.waitForLifecyclePreview(conn, repository, {
            timeoutMs: timeout * 1000,
            signal: ctx.signal,
            onPoll: (status, ms) =>
              task.update(
                `ECR is previewing the lifecycle policy of ${repository}: ${status} (${(ms / 1000).toFixed(0)} s)`,
              ),
          });
        } catch (err) {
          task.fail('preview did not complete');
          throw err;
        }
        task.succeed(`preview complete: ${preview.expiringCount} to expire, ${preview.transitioningCount} to archive`);
        const { parseLifecyclePolicy } = await import('../../policy/lifecycle/index.js');
        const rules = new Map(
          (parseLifecyclePolicy(preview.policyText ?? given?.text ?? '').policy?.rules ?? []).map((r) => [
            r.rulePriority,
            r,
          ]),
        );
        const images = await ecr.listLifecycleImages(conn, repository);
        const acted = new Map(preview.results.map((r) => [r.digest, r]));
        const decisions: LifecycleDecision[] = images.map((image) => {
          const r = acted.get(image.digest);
          acted.delete(image.digest);
          return previewDecision(image.digest, image.tags, image.sizeBytes, r, rules);
        });
        // Results for images gone since the preview ran still show what ECR said.
        for (const r of acted.values()) decisions.push(previewDecision(r.digest, r.tags, undefined, r, rules));
        await renderSimulation(ctx, decisions, { at: new Date(), all: opts.all === true });
        await checkProtection(ctx, decisions, protect);
      },
    );
}

/** Returns a decision for the table from what ECR's preview said about one image. */
function previewDecision(
  digest: string,
  tags: string[],
  sizeBytes: number | undefined,
  r: { action: 'expire' | 'transition'; rulePriority?: number } | undefined,
  rules: Map<number, LifecycleRule>,
): LifecycleDecision {
  const d: LifecycleDecision = { digest, tags: [...tags], action: 'keep', reason: 'ECR preview: no rule acts on it' };
  if (sizeBytes !== undefined) d.sizeBytes = sizeBytes;
  if (r) {
    d.action = r.action;
    if (r.rulePriority !== undefined) {
      d.rulePriority = r.rulePriority;
      const rule = rules.get(r.rulePriority);
      d.reason = `rule ${r.rulePriority} (ECR preview)${rule ? `: ${describeRule(rule)}` : ''}`;
    } else {
      d.reason = 'ECR preview';
    }
  }
  return d;
}

/** Returns one line saying what a rule does: "expire images tagged v* beyond the newest 3". */
export function describeRule(rule: LifecycleRule): string {
  const s = rule.selection;
  const patterns = s.tagPatternList ?? (s.tagPrefixList ?? []).map((p) => `${p}*`);
  let what =
    s.tagStatus === 'tagged'
      ? `images tagged ${patterns.join(' and ')}`
      : s.tagStatus === 'untagged'
        ? 'untagged images'
        : 'any images';
  if (s.storageClass === 'archive') what += ' in archive';
  const verb = rule.action.type === 'transition' ? 'archive' : 'expire';
  const n = s.countNumber;
  const when =
    s.countType === 'imageCountMoreThan'
      ? `beyond the newest ${n}`
      : s.countType === 'sinceImagePushed'
        ? `pushed more than ${n} days ago`
        : s.countType === 'sinceImagePulled'
          ? `not pulled for more than ${n} days`
          : `archived more than ${n} days ago`;
  return `${verb} ${what} ${when}${rule.description ? ` ("${rule.description}")` : ''}`;
}

/** Returns the rules added, removed and changed between two policies, matched by rulePriority. */
export function diffRules(
  before: LifecyclePolicy,
  after: LifecyclePolicy,
): {
  added: LifecycleRule[];
  removed: LifecycleRule[];
  changed: { rulePriority: number; before: LifecycleRule; after: LifecycleRule }[];
} {
  const canonical = (r: LifecycleRule) => JSON.stringify(sortKeys(r));
  const old = new Map(before.rules.map((r) => [r.rulePriority, r]));
  const now = new Map(after.rules.map((r) => [r.rulePriority, r]));
  const byPriority = (a: LifecycleRule, b: LifecycleRule) => a.rulePriority - b.rulePriority;
  const changed = after.rules
    .filter((r) => old.has(r.rulePriority) && canonical(old.get(r.rulePriority) as LifecycleRule) !== canonical(r))
    .sort(byPriority)
    .map((r) => ({ rulePriority: r.rulePriority, before: old.get(r.rulePriority) as LifecycleRule, after: r }));
  return {
    added: after.rules.filter((r) => !old.has(r.rulePriority)).sort(byPriority),
    removed: before.rules.filter((r) => !now.has(r.rulePriority)).sort(byPriority),
    changed,
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Returns an ECR connection and the repository name REPO names (a name, or a full ECR reference). */
async function connect(ctx: CliContext, repo: string): Promise<{ conn: EcrConnection; repository: string }> {
  const { parseReference } = await import('../../oci/reference.js');
  const { parseEcrRef } = await import('../ecr-ref.js');
  const { settingsFromContext, requireRegion, resolveRegion } = await import('../../ecr/aws-config.js');
  const { connectEcr } = await import('../../ecr/repositories.js');
  const ref = parseReference(repo);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(`${repo} names an image; lifecycle policies belong to a repository`, {
      value: repo,
      fix: `write the repository alone: ${ref.registry ? `${ref.registry}/` : ''}${ref.repository}`,
    });
  }
  const settings = settingsFromContext(ctx);
  const { registryId, region: named } = parseEcrRef(ctx, repo, 'repository');
  const region = named ?? resolveRegion(settings) ?? requireRegion(settings);
  const conn = await connectEcr(settings, { region, ...(registryId ? { registryId } : {}) });
  return { conn, repository: ref.repository };
}

function noPolicy(repository: string): NotFoundError {
  return new NotFoundError(`repository ${repository} has no lifecycle policy`, {
    fix: `set one with \`ecrctl lifecycle put ${repository} policy.json\` (or preset:NAME)`,
  });
}

/** Returns the repository's stored policy and its parsed form; exit 6 when it has none. */
async function repositoryPolicy(
  ctx: CliContext,
  conn: EcrConnection,
  repository: string,
): Promise<{ stored: StoredLifecyclePolicy; policy: LifecyclePolicy }> {
  const ecr = await import('../../ecr/lifecycle.js');
  const { parseLifecyclePolicy } = await import('../../policy/lifecycle/index.js');
  const { formatProblem } = await import('../../policy/lifecycle/report.js');
  const stored = await ecr.getLifecyclePolicy(conn, repository);
  if (!stored) throw noPolicy(repository);
  const { policy, problems } = parseLifecyclePolicy(stored.text);
  if (!policy) throw policyProblems(`of ${repository}`, problems, formatProblem);
  for (const p of problems) ctx.log.warn(`the policy of ${repository}: ${formatProblem(p)}`);
  return { stored, policy };
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

function checkParams(source: string | undefined, params: readonly string[] | undefined): void {
  if (params && !source?.startsWith('preset:')) {
    throw new UsageError('--param works only with a policy given as preset:NAME', { value: params.join(' ') });
  }
}

/** Prints a simulation: a table of what would go and why plus totals (or JSON / env); returns the totals. */
export async function renderSimulation(
  ctx: CliContext,
  decisions: readonly LifecycleDecision[],
  o: { at: Date; all: boolean },
): Promise<DecisionSummary> {
  const { summarizeDecisions } = await import('../../policy/lifecycle/report.js');
  const summary = summarizeDecisions(decisions);
  render(
    ctx,
    { at: o.at, summary, decisions },
    {
      text: () => {
        const shown = o.all ? decisions : decisions.filter((d) => d.action !== 'keep');
        const order = { expire: 0, transition: 1, keep: 2 } as const;
        const rows = [...shown]
          .sort((a, b) => order[a.action] - order[b.action] || (a.rulePriority ?? 1e9) - (b.rulePriority ?? 1e9))
          .map((d) => [
            d.action,
            shortDigest(d.digest),
            d.tags.length > 0 ? d.tags.join(',') : '<untagged>',
            d.sizeBytes === undefined ? '-' : formatBytes(d.sizeBytes),
            d.reason,
          ]);
        const lines: string[] = [];
        if (rows.length > 0) lines.push(table(['ACTION', 'DIGEST', 'TAGS', 'SIZE', 'REASON'], rows), '');
        lines.push(totalsLine(summary));
        return lines.join('\n');
      },
      env: () => ({
        EXPIRE_COUNT: String(summary.expire),
        TRANSITION_COUNT: String(summary.transition),
        KEEP_COUNT: String(summary.keep),
        BYTES_FREED: String(summary.bytesFreed),
        BYTES_ARCHIVED: String(summary.bytesArchived),
      }),
    },
  );
  return summary;
}

/** Throws RuleViolation (exit 3) naming each protected image the policy would expire; warns about entries that match nothing. */
export async function checkProtection(
  ctx: CliContext,
  decisions: readonly LifecycleDecision[],
  protect: readonly string[],
): Promise<void> {
  if (protect.length === 0) return;
  const { findProtectedExpirations } = await import('../../policy/lifecycle/report.js');
  const { violations, unmatched } = findProtectedExpirations(decisions, protect);
  for (const entry of unmatched) ctx.log.warn(`protected entry "${entry}" matches no image`);
  if (violations.length === 0) {
    ctx.log.info(
      `protected: no protected image would be expired (${protect.length} ${protect.length === 1 ? 'entry' : 'entries'} checked)`,
    );
    return;
  }
  const images = new Set(violations.map((v) => v.decision.digest));
  throw new RuleViolation(
    `the policy would expire ${images.size} protected ${images.size === 1 ? 'image' : 'images'}`,
    {
      problems: violations.map(
        (v) =>
          `${v.decision.digest} (${v.decision.tags.join(',') || 'untagged'}) is protected by "${v.entry}": ${v.decision.reason}`,
      ),
      fix: 'add a rule with a lower rulePriority that selects these tags and never expires them (e.g. imageCountMoreThan 9999), or narrow the rule that expires them',
    },
  );
}

function totalsLine(s: DecisionSummary): string {
  if (s.expire === 0 && s.transition === 0)
    return `nothing to do: all ${s.images} ${s.images === 1 ? 'image stays' : 'images stay'}`;
  const parts = [
    `${s.expire} of ${s.images} ${s.images === 1 ? 'image' : 'images'} would expire, freeing ${formatBytes(s.bytesFreed)}`,
  ];
  if (s.transition > 0) parts.push(`${s.transition} would move to archive (${formatBytes(s.bytesArchived)})`);
  parts.push(`${s.keep} kept`);
  return parts.join('; ');
}

function shortDigest(digest: string): string {
  const [alg, hex] = digest.split(':');
  return hex && hex.length > 12 ? `${alg}:${hex.slice(0, 12)}` : digest;
}

function policyProblems(
  source: string,
  problems: readonly LifecycleProblem[],
  format: (p: LifecycleProblem) => string,
): RuleViolation {
  return new RuleViolation(
    `lifecycle policy ${source} is not valid: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`,
    {
      problems: problems.map(format),
    },
  );
}

async function loadPolicy(ctx: CliContext, source: string, params: Record<string, string>): Promise<LifecyclePolicy> {
  return (await loadPolicyText(ctx, source, params)).policy;
}

/** Returns a policy's text and parsed form (file, stdin or preset); exit 3 with every problem when invalid. */
async function loadPolicyText(
  ctx: CliContext,
  source: string,
  params: Record<string, string>,
): Promise<{ text: string; policy: LifecyclePolicy }> {
  const { parseLifecyclePolicy, renderPreset } = await import('../../policy/lifecycle/index.js');
  const { formatProblem } = await import('../../policy/lifecycle/report.js');
  const text = source.startsWith('preset:')
    ? renderPreset(source.slice('preset:'.length), params)
    : await readInputFile(ctx, source, 'policy');
  const { policy, problems } = parseLifecyclePolicy(text);
  if (!policy || problems.length > 0) throw policyProblems(source, problems, formatProblem);
  return { text, policy };
}

function parseParams(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new UsageError('--param takes key=value', { value: item, fix: 'e.g. --param count=10' });
    }
    const key = item.slice(0, eq);
    if (key in out) throw new UsageError(`--param ${key} is given twice`, { value: item });
    out[key] = item.slice(eq + 1);
  }
  return out;
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

// `ecrctl lifecycle`: validate policies, list and render presets, and simulate a policy against
// an image list offline. The online subcommands (get, put, delete, preview, diff) need the ECR
// client and are added next to these; `renderSimulation` and `checkProtection` take decisions,
// so the online simulate can reuse them with images fetched from ECR.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { NotFoundError, RuleViolation, UsageError } from '../../errors.js';
import type { LifecycleDecision, LifecyclePolicy, LifecycleProblem } from '../../policy/lifecycle/index.js';
import type { DecisionSummary } from '../../policy/lifecycle/report.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { formatBytes, render, table } from '../output.js';

/** Declares `ecrctl lifecycle` and its offline subcommands. */
export function defineLifecycle(program: Command, host: CommandHost): void {
  const lifecycle = program
    .command('lifecycle')
    .summary('validate, simulate and generate lifecycle policies')
    .description(
      'Works with ECR lifecycle policies: finds every problem ECR would reject\n' +
        'before you put a policy, shows what a policy would expire or archive (and\n' +
        'why) for a list of images, and renders ready-made policies from presets.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle validate policy.json',
        'ecrctl lifecycle presets show keep-last-n-tagged --param prefix=main- --param count=20 > policy.json',
        'ecrctl lifecycle simulate --images images.json --policy policy.json --protect protected.txt',
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
    .addHelpText('after', examples('ecrctl lifecycle validate policy.json', 'ecrctl -o json lifecycle validate - < policy.json'))
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { parseLifecyclePolicy } = await import('../../policy/lifecycle/index.js');
      const { formatProblem } = await import('../../policy/lifecycle/report.js');
      const text = await readInput(ctx, file, 'policy');
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
    .addHelpText('after', examples('ecrctl lifecycle presets', 'ecrctl lifecycle presets show expire-untagged --param days=7'))
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = host.context(cmd);
      const { listPresets } = await import('../../policy/lifecycle/index.js');
      const list = listPresets();
      render(ctx, list, {
        text: (l) => table(['NAME', 'PARAMETERS', 'SUMMARY'], l.map((p) => [p.name, p.params.join(' '), p.summary])),
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
    .requiredOption('--images <file>', 'image list: JSON array of {digest, tags, pushedAt, lastPulledAt?, sizeBytes?, …}, or `aws ecr describe-images` output (- for stdin)')
    .option('--policy <file|preset:NAME>', 'policy JSON file, or a preset with --param values')
    .option('--param <key=value>', 'a preset parameter (repeatable; with --policy preset:NAME)', collect)
    .option('--at <date>', 'evaluate as of this time, ISO 8601 (default: now)')
    .option('--protect <file>', 'digests or tags (one per line, or a JSON array; * as in tagPatternList) that must survive: exit 3 if the policy would expire any')
    .option('--all', 'list kept images too, with the reason they stay')
    .summary('show what a policy would expire or archive, offline')
    .description(
      "Applies a policy to a list of images with ECR's semantics (rules in priority\n" +
        'order, one rule per image, images of a higher rule still counted by lower\n' +
        'ones, oldest first, images an index still references kept) and prints what\n' +
        'would go, why, and the bytes freed.',
    )
    .addHelpText(
      'after',
      examples(
        'ecrctl lifecycle simulate --images images.json --policy policy.json',
        'aws ecr describe-images --repository-name team/app > images.json && ecrctl lifecycle simulate --images images.json --policy preset:expire-untagged --param days=7',
        'ecrctl lifecycle simulate --images images.json --policy policy.json --at 2025-01-01 --protect protected.txt',
      ),
    )
    .action(
      async (
        opts: { images: string; policy?: string; param?: string[]; at?: string; protect?: string; all?: boolean },
        cmd: Command,
      ) => {
        const ctx = host.context(cmd);
        const { simulateLifecycle } = await import('../../policy/lifecycle/index.js');
        const { parseImageList, parseProtectList } = await import('../../policy/lifecycle/report.js');
        if (!opts.policy) {
          throw new UsageError('simulate needs a policy', {
            fix: 'pass --policy FILE, or --policy preset:NAME (see `ecrctl lifecycle presets`)',
          });
        }
        if (opts.param && !opts.policy.startsWith('preset:')) {
          throw new UsageError('--param works only with --policy preset:NAME', { value: opts.param.join(' ') });
        }
        const at = parseAt(opts.at);
        const policy = await loadPolicy(ctx, opts.policy, parseParams(opts.param));

        const parsed = parseImageList(await readInput(ctx, opts.images, 'image list'));
        if (parsed.problems.length > 0) {
          throw new UsageError(`the image list ${opts.images} is not usable: ${parsed.problems.join('; ')}`, {
            fix: 'each image needs a digest, tags (may be empty) and pushedAt as an ISO 8601 date',
          });
        }
        let protect: string[] = [];
        if (opts.protect) {
          try {
            protect = parseProtectList(await readInput(ctx, opts.protect, 'protect list'));
          } catch (err) {
            throw new UsageError(`the protect list ${opts.protect} is not usable: ${(err as Error).message}`, { cause: err });
          }
        }

        const decisions = simulateLifecycle(policy, parsed.images, at);
        await renderSimulation(ctx, decisions, { at, all: opts.all === true });
        await checkProtection(ctx, decisions, protect);
      },
    );
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
          .map((d) => [d.action, shortDigest(d.digest), d.tags.length > 0 ? d.tags.join(',') : '<untagged>', d.sizeBytes === undefined ? '-' : formatBytes(d.sizeBytes), d.reason]);
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
export async function checkProtection(ctx: CliContext, decisions: readonly LifecycleDecision[], protect: readonly string[]): Promise<void> {
  if (protect.length === 0) return;
  const { findProtectedExpirations } = await import('../../policy/lifecycle/report.js');
  const { violations, unmatched } = findProtectedExpirations(decisions, protect);
  for (const entry of unmatched) ctx.log.warn(`protected entry "${entry}" matches no image`);
  if (violations.length === 0) {
    ctx.log.info(`protected: no protected image would be expired (${protect.length} ${protect.length === 1 ? 'entry' : 'entries'} checked)`);
    return;
  }
  const images = new Set(violations.map((v) => v.decision.digest));
  throw new RuleViolation(`the policy would expire ${images.size} protected ${images.size === 1 ? 'image' : 'images'}`, {
    problems: violations.map(
      (v) => `${v.decision.digest} (${v.decision.tags.join(',') || 'untagged'}) is protected by "${v.entry}": ${v.decision.reason}`,
    ),
    fix: 'add a rule with a lower rulePriority that selects these tags and never expires them (e.g. imageCountMoreThan 9999), or narrow the rule that expires them',
  });
}

function totalsLine(s: DecisionSummary): string {
  if (s.expire === 0 && s.transition === 0) return `nothing to do: all ${s.images} ${s.images === 1 ? 'image stays' : 'images stay'}`;
  const parts = [`${s.expire} of ${s.images} ${s.images === 1 ? 'image' : 'images'} would expire, freeing ${formatBytes(s.bytesFreed)}`];
  if (s.transition > 0) parts.push(`${s.transition} would move to archive (${formatBytes(s.bytesArchived)})`);
  parts.push(`${s.keep} kept`);
  return parts.join('; ');
}

function shortDigest(digest: string): string {
  const [alg, hex] = digest.split(':');
  return hex && hex.length > 12 ? `${alg}:${hex.slice(0, 12)}` : digest;
}

function policyProblems(source: string, problems: readonly LifecycleProblem[], format: (p: LifecycleProblem) => string): RuleViolation {
  return new RuleViolation(`lifecycle policy ${source} is not valid: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`, {
    problems: problems.map(format),
  });
}

async function loadPolicy(ctx: CliContext, source: string, params: Record<string, string>): Promise<LifecyclePolicy> {
  const { parseLifecyclePolicy, renderPreset } = await import('../../policy/lifecycle/index.js');
  const { formatProblem } = await import('../../policy/lifecycle/report.js');
  const text = source.startsWith('preset:') ? renderPreset(source.slice('preset:'.length), params) : await readInput(ctx, source, 'policy');
  const { policy, problems } = parseLifecyclePolicy(text);
  if (!policy) throw policyProblems(source, problems, formatProblem);
  return policy;
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
    throw new UsageError('--at must be an ISO 8601 date', { value, fix: 'e.g. --at 2025-01-31 or --at 2025-01-31T12:00:00Z' });
  }
  return d;
}

async function readInput(ctx: CliContext, file: string, what: string): Promise<string> {
  if (file === '-') return ctx.readStdin();
  try {
    return await readFile(path.resolve(ctx.cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new NotFoundError(`${what} file not found: ${file}`, { value: file, fix: 'check the path (relative paths start at the current directory)', cause: err });
    }
    throw err;
  }
}

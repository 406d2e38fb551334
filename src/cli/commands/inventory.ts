// `ecrctl inventory`: every repository and image in the asked accounts × regions, with totals,
// cost, stale / untagged bytes and what runs; `--html` and `--markdown` write the report.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { type CommandHost, collect, examples } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { render, table } from '../output.js';

interface InventoryFlags {
  repos?: string;
  regions?: string;
  profiles?: string;
  roleArns?: string;
  registryIds?: string;
  inUse?: string[];
  staleDays?: string;
  now?: string;
  html?: string;
  markdown?: string;
  csv?: string;
}

/** Returns a comma-separated option as a list (empty entries dropped). */
export function splitList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Returns a `--now` date (UsageError when it is not one). */
export function parseNow(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) {
    throw new UsageError(`--now takes a date, not "${text}"`, { value: text, fix: 'e.g. --now 2026-01-31T00:00:00Z' });
  }
  return d;
}

/** Declares `ecrctl inventory`. */
export function defineInventory(program: Command, host: CommandHost): void {
  program
    .command('inventory')
    .summary('list every repository and image across accounts and regions')
    .description(
      'Lists repositories and images in the asked accounts and regions: sizes, push and last-pull times, tags, scan findings, referrers, in-use marks, monthly cost and quota headroom. Reads DescribeImages only, so no pull time changes.',
    )
    .option('--repos <glob>', 'repositories to include (* any characters)', '*')
    .option('--regions <list>', 'regions, comma-separated, or all (default: the current one)')
    .option('--profiles <list>', 'shared-config profiles, one account each')
    .option('--role-arns <list>', 'roles to assume, one account each')
    .option('--registry-ids <list>', 'account ids (credentials from registries: entries)')
    .option('--in-use <file>', 'in-use evidence: ECS, kubectl pods, Lambda, list', collect)
    .option('--stale-days <n>', 'idle days after which an image counts as stale', '90')
    .option('--now <date>', 'measure ages from this moment (reproducible reports)')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--markdown <file>', 'write a Markdown summary ($GITHUB_STEP_SUMMARY)')
    .option('--csv <file>', 'write one CSV row per image')
    .addHelpText(
      'after',
      examples(
        'ecrctl inventory',
        'ecrctl inventory --regions all --html report.html',
        'ecrctl inventory --profiles prod,dev --regions us-east-1,eu-west-1',
        'ecrctl inventory --in-use pods.json --in-use taskdefs.json -o json',
        'ecrctl inventory --markdown "$GITHUB_STEP_SUMMARY"',
      ),
    )
    .action(async (flags: InventoryFlags, cmd: Command) => {
      await runInventory(host.context(cmd), flags);
    });
}

async function runInventory(ctx: CliContext, flags: InventoryFlags): Promise<void> {
  const staleDays = Number(flags.staleDays ?? '90');
  if (!Number.isInteger(staleDays) || staleDays < 0) {
    throw new UsageError(`--stale-days takes a whole number, not "${flags.staleDays}"`, { value: flags.staleDays });
  }
  const regions = flags.regions === 'all' ? 'all' : splitList(flags.regions);
  const now = parseNow(flags.now);
  const { inventory } = await import('../../ops/inventory.js');
  const result = await inventory(ctx, {
    repositories: flags.repos ?? '*',
    staleDays,
    ...(regions ? { regions } : {}),
    ...(flags.profiles ? { profiles: splitList(flags.profiles) ?? [] } : {}),
    ...(flags.roleArns ? { roleArns: splitList(flags.roleArns) ?? [] } : {}),
    ...(flags.registryIds ? { registryIds: splitList(flags.registryIds) ?? [] } : {}),
    ...(flags.inUse ? { inUseFiles: flags.inUse } : {}),
    ...(now ? { now } : {}),
  });
  const { writeFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { formatBytes, formatUsd } = await import('../report/format.js');
  if (flags.html) {
    const { renderInventoryHtml } = await import('../report/inventory-html.js');
    await writeFile(path.resolve(ctx.cwd, flags.html), renderInventoryHtml(result));
  }
  if (flags.markdown) {
    const { renderInventoryMarkdown } = await import('../report/inventory-markdown.js');
    await writeFile(path.resolve(ctx.cwd, flags.markdown), renderInventoryMarkdown(result), { flag: 'a' });
  }
  if (flags.csv) {
    const { renderInventoryCsv } = await import('../report/inventory-csv.js');
    await writeFile(path.resolve(ctx.cwd, flags.csv), renderInventoryCsv(result));
  }
  render(ctx, result, {
    text: (r) => {
      const rows = r.repositories.map((x) => [
        x.account,
        x.region,
        x.name,
        String(x.images),
        String(x.untagged),
        formatBytes(x.bytes),
        formatBytes(x.staleBytes),
        String(x.inUseImages),
        formatUsd(x.monthlyUsd),
      ]);
      const t = r.totals;
      return `${table(['ACCOUNT', 'REGION', 'REPOSITORY', 'IMAGES', 'UNTAGGED', 'BYTES', 'STALE', 'IN USE', 'PER MONTH'], rows)}\n\ntotal: ${t.repositories} repositories, ${t.images} images, ${formatBytes(t.bytes)} (${formatBytes(t.staleBytes)} stale, ${formatBytes(t.untaggedBytes)} untagged, ${formatBytes(t.inUseBytes)} in use), ${formatUsd(t.monthlyUsd)} per month`;
    },
    env: (r) => ({
      REPOSITORIES: String(r.totals.repositories),
      IMAGES: String(r.totals.images),
      BYTES: String(r.totals.bytes),
      STALE_BYTES: String(r.totals.staleBytes),
      UNTAGGED_BYTES: String(r.totals.untaggedBytes),
      IN_USE_IMAGES: String(r.totals.inUseImages),
      MONTHLY_USD: String(r.totals.monthlyUsd),
    }),
  });
}

// `ecrctl cost`: a monthly estimate of ECR storage and data transfer from amounts the user
// gives, priced by the rate table in src/policy/pricing-rates.ts or a --pricing file.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { CostEstimate, StorageMeasure } from '../../policy/pricing.js';
import { type CommandHost, examples } from '../command-kit.js';
import { formatBytes, render, table } from '../output.js';

interface CostOptions {
  storageGb?: string;
  egressGb?: string;
  egressRegionGb?: string;
  sameRegionGb?: string;
  public?: boolean;
  withAccount?: boolean;
  freeTier?: boolean;
  pricing?: string;
  printPricing?: boolean;
  repos?: string;
  readManifests?: boolean;
}

/** Declares `ecrctl cost`. */
export function defineCost(program: Command, host: CommandHost): void {
  program
    .command('cost')
    .summary('estimate the monthly ECR bill for storage and data transfer')
    .description(
      'Estimates what ECR charges per month for the storage and transfer you\n' +
        'give, line by line: private storage (with the 12-month free tier on\n' +
        'request), the tiered transfer-out rates of the region (--region; a region\n' +
        "missing from the rate table uses us-east-1's, with a warning), transfer to\n" +
        'other regions at internet rates, and the allowances of ECR Public.\n' +
        'Amounts are per month in GB (1 TB = 1,000 GB); prices in USD, excluding\n' +
        'taxes. The rates come from a built-in table; --pricing FILE replaces it\n' +
        '(--print-pricing prints the table to start from).\n\n' +
        '--repos sums the image sizes DescribeImages reports (an upper bound: layers\n' +
        'shared between images counted each time). --read-manifests reads every image\n' +
        'manifest (BatchGetImage) to count each layer once, as ECR bills it; ECR records\n' +
        'each read as a pull of the image (lastRecordedPullTime), which defeats\n' +
        'sinceImagePulled lifecycle rules, unless you are on the pull-time update\n' +
        'exclusion list (`ecrctl pull-time-exclusion add`).',
    )
    .option(
      '--repos <pattern>',
      "measure storage from the registry's repositories matching a glob ('*' for all), from the image sizes",
    )
    .option(
      '--read-manifests',
      'with --repos: read every manifest to count each layer once per repository (ECR records each read as a pull)',
    )
    .option('--storage-gb <n>', 'average GB stored over the month (GB-month) (default: 0)')
    .option('--egress-gb <n>', 'GB per month pulled to the internet, outside AWS (default: 0)')
    .option('--egress-region-gb <n>', 'GB per month pulled to another AWS region (default: 0)')
    .option('--same-region-gb <n>', 'GB per month pulled by services in the same region; free (default: 0)')
    .option('--public', 'ECR Public repositories instead of private ones')
    .option('--with-account', 'with --public: the pullers log in with an AWS account (5 TB/month free)')
    .option('--free-tier', 'private: the account is in its first 12 months (500 MB-month storage free)')
    .option('--pricing <file>', 'rate table JSON to use instead of the built-in one')
    .option('--print-pricing', 'print the rate table in use (JSON) and exit; a starting point for --pricing')
    .addHelpText(
      'after',
      examples(
        'ecrctl cost --storage-gb 50 --egress-gb 200',
        "ecrctl cost --repos 'team/*' --egress-gb 200",
        "ecrctl cost --repos '*' --read-manifests",
        'ecrctl --region ap-northeast-2 cost --storage-gb 120 --egress-gb 15000 --egress-region-gb 300',
        'ecrctl cost --public --with-account --storage-gb 80 --egress-gb 7000',
        'ecrctl -o json cost --storage-gb 0.4 --free-tier',
        'ecrctl cost --print-pricing > rates.json && ecrctl cost --pricing rates.json --egress-gb 500',
      ),
    )
    .action(async (opts: CostOptions, cmd: Command) => {
      const ctx = host.context(cmd);
      const { estimateCost, loadPricingRates, measureStorage } = await import('../../ops/cost.js');
      const rates = await loadPricingRates(ctx, opts.pricing || undefined);
      if (opts.printPricing) {
        render(ctx, rates, { text: (r) => JSON.stringify(r, null, 2) });
        return;
      }
      if (opts.repos !== undefined && opts.storageGb !== undefined) {
        throw new UsageError('--repos measures the storage; it does not go with --storage-gb', {
          fix: 'drop --storage-gb to use the measured size, or drop --repos to describe a scenario',
        });
      }
      const measured =
        opts.repos === undefined
          ? undefined
          : await measureStorage(ctx, {
              repositories: opts.repos,
              ...(opts.readManifests ? { readManifests: true } : {}),
            });
      const estimate = await estimateCost(ctx, {
        storageGb: measured ? undefined : gbOption('--storage-gb', opts.storageGb),
        egressGb: gbOption('--egress-gb', opts.egressGb),
        egressRegionGb: gbOption('--egress-region-gb', opts.egressRegionGb),
        sameRegionGb: gbOption('--same-region-gb', opts.sameRegionGb),
        storage: measured,
        public: opts.public === true,
        withAccount: opts.withAccount === true,
        freeTier: opts.freeTier === true,
        rates,
      });
      render(ctx, estimate, {
        text: (e) => (measured ? `${renderStorage(measured)}\n\n` : '') + renderEstimate(e),
        env: (e) => ({
          TOTAL_USD: e.totalUsd.toFixed(2),
          REGION: e.region,
          RATES_REGION: e.ratesRegion,
          REPOSITORIES: e.repositories,
          CURRENCY: e.currency,
        }),
      });
    });
}

/** Returns the measured storage as a table per repository, with what layer sharing saved. */
function renderStorage(m: StorageMeasure & { layersRead: boolean }): string {
  if (!m.layersRead) {
    // Only image sizes were read: layer counts and sharing are unknown.
    const rows = m.repositories.map((r) => [r.name, String(r.images), formatBytes(r.bytes)]);
    rows.push(['total', '', formatBytes(m.bytes)]);
    return `storage measured from image sizes (shared layers counted once per image; --read-manifests counts them once):\n${table(['REPOSITORY', 'IMAGES', 'STORED'], rows)}`;
  }
  const rows = m.repositories.map((r) => [
    r.name,
    String(r.images),
    String(r.uniqueLayers),
    formatBytes(r.bytes),
    formatBytes(r.savedBytes),
  ]);
  rows.push(['total', '', '', formatBytes(m.bytes), formatBytes(m.savedBytes)]);
  return `storage measured (each layer counted once per repository):\n${table(['REPOSITORY', 'IMAGES', 'LAYERS', 'STORED', 'SAVED BY SHARING'], rows)}`;
}

/** Returns a non-negative number of GB from an option value, or undefined when absent. */
function gbOption(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  // Plain decimals only: "1e3", "1,000" or "10TB" are more likely mistakes than intentions.
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(s)) {
    throw new UsageError(`${flag} must be a non-negative number of GB`, {
      value: raw,
      fix: `give a plain number, e.g. ${flag} 250 (1 TB = 1000 GB)`,
    });
  }
  return Number(s);
}

function formatQuantity(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function formatUsd(usd: number): string {
  return usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function formatRate(rate: number): string {
  // Cents for round rates (0.10), every digit the table gives otherwise (0.126).
  return rate.toFixed(4).replace(/0{1,2}$/, '');
}

/** Returns the estimate as a table of line items, the total, and the notes. */
function renderEstimate(e: CostEstimate): string {
  const where =
    e.ratesRegion === e.region
      ? `${e.region} (${e.ratesRegionName})`
      : `${e.region} (rates of ${e.ratesRegion}, ${e.ratesRegionName})`;
  const heading =
    e.repositories === 'public'
      ? 'ECR cost estimate per month: public repositories (ECR Public)'
      : `ECR cost estimate per month: private repositories in ${where}`;
  const amounts = [...e.lineItems.map((i) => formatUsd(i.amountUsd)), formatUsd(e.totalUsd)];
  const width = Math.max(...amounts.map((a) => a.length));
  const rows = e.lineItems.map((i) => [
    i.item,
    `${formatQuantity(i.quantity)} ${i.unit}`,
    `${formatRate(i.rate)}/${i.unit}`,
    formatUsd(i.amountUsd).padStart(width),
  ]);
  rows.push(['total', '', '', `${formatUsd(e.totalUsd).padStart(width)} USD`]);
  const lines = [heading, '', table(['ITEM', 'QUANTITY', 'RATE (USD)', 'AMOUNT (USD)'], rows), '', 'notes:'];
  for (const n of e.notes) lines.push(`  - ${n}`);
  return lines.join('\n');
}

// The monthly cost estimate behind `ecrctl cost`, and the storage measure that feeds it from
// real images. Pure: rates come in as data (pricing-rates.ts or a user's --pricing file), so
// every tier boundary and allowance can be pinned by a table of tests.
import { RuleViolation } from '../errors.js';
import type { PricingRates, RegionRates, TransferTier } from './pricing-rates.js';

export type { PricingRates, RegionRates, TransferTier } from './pricing-rates.js';
export { DEFAULT_PRICING_RATES } from './pricing-rates.js';

/** What to estimate: monthly amounts in GB (1 TB = 1,000 GB). Absent amounts count as 0. */
export interface CostInput {
  /** The region the repositories live in (picks the private transfer-out tiers). */
  region: string;
  /** Average GB stored over the month (GB-month). */
  storageGb?: number;
  /** GB per month pulled to the internet (outside AWS). */
  egressGb?: number;
  /** GB per month pulled to services in another AWS region. */
  egressRegionGb?: number;
  /** GB per month pulled by services in the same region. */
  sameRegionGb?: number;
  /** ECR Public repositories instead of private ones. */
  public?: boolean;
  /** Public only: the pullers authenticate with an AWS account. */
  withAccount?: boolean;
  /** Private only: the account is in its first 12 months (AWS Free Tier). */
  freeTier?: boolean;
}

/** One line of the estimate; amountUsd = quantity × rate, rounded to cents. */
export interface CostLineItem {
  item: string;
  quantity: number;
  unit: 'GB-month' | 'GB';
  /** USD per unit. */
  rate: number;
  amountUsd: number;
}

/** A monthly estimate: line items, their total, and what the reader should know about it. */
export interface CostEstimate {
  region: string;
  /** The region whose rates were used (the fallback region when the table lacks region). */
  ratesRegion: string;
  ratesRegionName: string;
  repositories: 'private' | 'public';
  currency: 'USD';
  period: 'month';
  lineItems: CostLineItem[];
  /** The sum of the rounded line amounts, so that the lines add up to the total. */
  totalUsd: number;
  notes: string[];
  warnings: string[];
  ratesSource: string;
}

const GB_PER_TB = 1000;

/** Returns x without binary floating-point noise (0.30000000000000004 → 0.3). */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}

/** Returns an amount in USD rounded half-up to cents, immune to 1.005 * 100 = 100.49999…. */
export function roundToCents(usd: number): number {
  return Math.round(clean(usd * 100)) / 100;
}

/** Returns a GB amount the way the pricing page writes it: "500 MB", "9,999 GB", "10 TB". */
export function formatGb(gb: number): string {
  if (gb > 0 && gb < 1) return `${clean(gb * 1000).toLocaleString('en-US', { maximumFractionDigits: 3 })} MB`;
  if (gb >= GB_PER_TB && gb % GB_PER_TB === 0) return `${(gb / GB_PER_TB).toLocaleString('en-US')} TB`;
  return `${clean(gb).toLocaleString('en-US', { maximumFractionDigits: 3 })} GB`;
}

/** One tier's share of a monthly amount. */
export interface TierShare {
  fromGb: number;
  toGb: number | null;
  quantity: number;
  perGb: number;
}

/** Returns how a monthly GB amount falls into cumulative tiers (only tiers that get a share). */
export function splitIntoTiers(gb: number, tiers: readonly TransferTier[]): TierShare[] {
  const shares: TierShare[] = [];
  let from = 0;
  for (const tier of tiers) {
    const cap = tier.upToGb ?? Number.POSITIVE_INFINITY;
    const quantity = clean(Math.min(gb, cap) - from);
    if (quantity > 0) shares.push({ fromGb: from, toGb: tier.upToGb, quantity, perGb: tier.perGb });
    if (gb <= cap) break;
    from = cap;
  }
  return shares;
}

function tierLabel(share: TierShare): string {
  if (share.fromGb === 0 && share.toGb !== null) return `first ${formatGb(share.toGb)}`;
  if (share.toGb === null) return `over ${formatGb(share.fromGb)}`;
  return `${formatGb(share.fromGb)} – ${formatGb(share.toGb)}`;
}

function line(item: string, quantity: number, unit: CostLineItem['unit'], rate: number): CostLineItem {
  const q = clean(quantity);
  return { item, quantity: q, unit, rate, amountUsd: roundToCents(q * rate) };
}

function amount(name: string, value: number | undefined): number {
  const v = value ?? 0;
  // The CLI checks its options with their names; reaching this is a caller's bug.
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${v}`);
  return v;
}

/** Returns the rates of a region, or of the fallback region with a warning when the table lacks it. */
function regionRates(rates: PricingRates, region: string, warnings: string[]): [string, RegionRates] {
  const own = rates.regions[region];
  if (own) return [region, own];
  const fallback = rates.regions[rates.fallbackRegion];
  if (!fallback) throw new RangeError(`the rate table has no fallback region ${rates.fallbackRegion}`);
  warnings.push(
    `the rate table has no rates for ${region}; this estimate uses the ${rates.fallbackRegion} (${fallback.name}) internet ` +
      `tiers instead. For ${region}'s own rates, add "${region}" under "regions" in a pricing file ` +
      `(start from \`ecrctl cost --print-pricing > rates.json\`) and pass --pricing rates.json`,
  );
  return [rates.fallbackRegion, fallback];
}

/** Returns the monthly cost estimate of input under rates, line by line. */
export function estimateCost(input: CostInput, rates: PricingRates): CostEstimate {
  const storage = amount('storageGb', input.storageGb);
  const egress = amount('egressGb', input.egressGb);
  const egressRegion = amount('egressRegionGb', input.egressRegionGb);
  const sameRegion = amount('sameRegionGb', input.sameRegionGb);
  const items: CostLineItem[] = [];
  const notes: string[] = [];
  const warnings: string[] = [];
  let ratesRegion = input.region;
  let ratesRegionName = rates.regions[input.region]?.name ?? input.region;

  if (input.public) {
    const p = rates.public;
    const freeStorage = Math.min(storage, p.freeStorageGbMonth);
    if (freeStorage > 0)
      items.push(
        line(`public storage, first ${formatGb(p.freeStorageGbMonth)}-month (always free)`, freeStorage, 'GB-month', 0),
      );
    if (storage > p.freeStorageGbMonth) {
      items.push(
        line(
          `public storage over ${formatGb(p.freeStorageGbMonth)}-month`,
          storage - p.freeStorageGbMonth,
          'GB-month',
          p.storagePerGbMonth,
        ),
      );
    }
    if (input.withAccount) {
      const allowance = p.accountFreeTransferOutGb;
      const freeOut = Math.min(egress, allowance);
      if (freeOut > 0)
        items.push(line(`transfer out to the internet (AWS account), first ${formatGb(allowance)}`, freeOut, 'GB', 0));
      if (egress > allowance) {
        items.push(
          line(
            `transfer out to the internet (AWS account), over ${formatGb(allowance)}`,
            egress - allowance,
            'GB',
            p.accountTransferOutPerGb,
          ),
        );
      }
      const toAws = egressRegion + sameRegion;
      if (toAws > 0) items.push(line('transfer to AWS regions (always free)', toAws, 'GB', 0));
      if (toAws > 0) {
        notes.push(
          `transfer to AWS regions is free; this estimate assumes it does not use up the ${formatGb(allowance)} allowance for the internet`,
        );
      }
    } else {
      // Without an account every pull is anonymous, wherever it goes.
      const allowance = p.anonymousFreeTransferOutGb;
      const total = egress + egressRegion + sameRegion;
      if (total > 0)
        items.push(
          line(
            `transfer out without an AWS account, first ${formatGb(allowance)}`,
            Math.min(total, allowance),
            'GB',
            0,
          ),
        );
      if (total > allowance) {
        items.push(
          line(`transfer out without an AWS account, over ${formatGb(allowance)}`, total - allowance, 'GB', 0),
        );
        warnings.push(
          `${formatGb(total)} of anonymous pulls is more than the ${formatGb(allowance)}/month that ECR Public gives free without an AWS account; ` +
            'that allowance is counted per source IP, and this estimate charges nothing for anonymous pulls. Pullers who log in with an ' +
            `AWS account get ${formatGb(p.accountFreeTransferOutGb)}/month free: estimate that with --with-account`,
        );
      }
    }
    if (input.freeTier)
      notes.push('--free-tier applies to private repositories; public repositories have the allowances shown above');
  } else {
    const [used, region] = regionRates(rates, input.region, warnings);
    ratesRegion = used;
    ratesRegionName = region.name;
    const storageRate = region.storagePerGbMonth ?? rates.private.storagePerGbMonth;
    let billable = storage;
    if (input.freeTier) {
      const free = Math.min(storage, rates.private.freeTierStorageGbMonth);
      if (free > 0) items.push(line('storage, AWS Free Tier (first 12 months)', free, 'GB-month', 0));
      billable = storage - free;
      notes.push(
        `the AWS Free Tier includes ${formatGb(rates.private.freeTierStorageGbMonth)}-month of private storage each month during an account's first 12 months`,
      );
    }
    if (billable > 0) items.push(line('storage', billable, 'GB-month', storageRate));
    if (sameRegion > 0)
      items.push(line(`transfer to services in ${input.region} (same region, free)`, sameRegion, 'GB', 0));
    const out = egress + egressRegion;
    if (out > 0) {
      const what =
        egress > 0 && egressRegion > 0 ? 'internet and other regions' : egress > 0 ? 'internet' : 'other regions';
      for (const share of splitIntoTiers(out, region.transferOutTiers)) {
        items.push(line(`transfer out (${what}), ${tierLabel(share)}`, share.quantity, 'GB', share.perGb));
      }
      notes.push(
        'transfer-out tiers are counted over the month across EC2, ECR, EBS, S3, Glacier, RDS, SimpleDB, SQS, SNS, DynamoDB, ' +
          "Storage Gateway and VPC together: if the account's other services already send data out, ECR's share falls into later " +
          'tiers (and the free first GB may be used up)',
      );
      if (egressRegion > 0)
        notes.push('transfer to another AWS region is charged at internet rates and counts toward the same tiers');
    }
  }
  notes.push('data transfer into ECR and transfer to services in the same region are free');
  notes.push(`prices in USD per month, excluding taxes; 1 TB = 1,000 GB; rates: ${rates.source}`);

  const totalCents = items.reduce((sum, i) => sum + Math.round(i.amountUsd * 100), 0);
  return {
    region: input.region,
    ratesRegion,
    ratesRegionName,
    repositories: input.public ? 'public' : 'private',
    currency: 'USD',
    period: 'month',
    lineItems: items,
    totalUsd: totalCents / 100,
    notes,
    warnings,
    ratesSource: rates.source,
  };
}

// ---------------------------------------------------------------------------------------------
// The rate file a user passes with --pricing: the shape of pricing-rates.ts, checked field by
// field so that a typo ("storagePerGBMonth") is reported instead of silently ignored.

type Check = (value: unknown, path: string, problems: string[]) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const nonNegative: Check = (v, path, problems) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    problems.push(`${path}: must be a number ≥ 0, got ${JSON.stringify(v)}`);
};
const text: Check = (v, path, problems) => {
  if (typeof v !== 'string' || v === '') problems.push(`${path}: must be a non-empty string, got ${JSON.stringify(v)}`);
};

function fields(
  v: unknown,
  path: string,
  problems: string[],
  required: Record<string, Check>,
  optional: Record<string, Check> = {},
): boolean {
  if (!isObject(v)) {
    problems.push(`${path}: must be an object, got ${JSON.stringify(v)}`);
    return false;
  }
  for (const [key, check] of Object.entries(required)) {
    if (!(key in v)) problems.push(`${path}.${key}: missing`);
    else check(v[key], `${path}.${key}`, problems);
  }
  for (const [key, check] of Object.entries(optional)) if (key in v) check(v[key], `${path}.${key}`, problems);
  for (const key of Object.keys(v)) {
    if (!(key in required) && !(key in optional)) {
      problems.push(
        `${path}.${key}: unknown field (expected ${[...Object.keys(required), ...Object.keys(optional)].join(', ')})`,
      );
    }
  }
  return true;
}

const tiers: Check = (v, path, problems) => {
  if (!Array.isArray(v) || v.length === 0) {
    problems.push(`${path}: must be a non-empty list of {"upToGb": number or null, "perGb": number}`);
    return;
  }
  let previous = 0;
  v.forEach((tier: unknown, i) => {
    const at = `${path}[${i}]`;
    const last = i === v.length - 1;
    fields(tier, at, problems, {
      upToGb: (u, p) => {
        if (u === null) {
          if (!last) problems.push(`${p}: only the last tier may be unbounded (null)`);
          return;
        }
        if (typeof u !== 'number' || !Number.isFinite(u) || u <= previous) {
          problems.push(
            `${p}: must be a number of GB greater than ${previous} (tiers are cumulative and increasing), got ${JSON.stringify(u)}`,
          );
        } else previous = u;
        if (last)
          problems.push(`${p}: the last tier must be unbounded ("upToGb": null) so that every amount has a rate`);
      },
      perGb: nonNegative,
    });
  });
};

const region: Check = (v, path, problems) => {
  fields(v, path, problems, { name: text, transferOutTiers: tiers }, { storagePerGbMonth: nonNegative });
};

/** Returns the rate table in text (JSON of the pricing-rates.ts shape), or throws RuleViolation listing every problem. */
export function parsePricingRates(json: string, source: string): PricingRates {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new RuleViolation(`pricing file ${source} is not valid JSON`, {
      value: source,
      problems: [(err as Error).message],
      fix: 'start from the default table: ecrctl cost --print-pricing > rates.json',
    });
  }
  const problems: string[] = [];
  fields(data, '$', problems, {
    source: text,
    currency: (v, p) => {
      if (v !== 'USD') problems.push(`${p}: must be "USD", got ${JSON.stringify(v)}`);
    },
    fallbackRegion: text,
    private: (v, p) => fields(v, p, problems, { storagePerGbMonth: nonNegative, freeTierStorageGbMonth: nonNegative }),
    public: (v, p) =>
      fields(v, p, problems, {
        freeStorageGbMonth: nonNegative,
        storagePerGbMonth: nonNegative,
        anonymousFreeTransferOutGb: nonNegative,
        accountFreeTransferOutGb: nonNegative,
        accountTransferOutPerGb: nonNegative,
      }),
    regions: (v, p) => {
      if (!isObject(v) || Object.keys(v).length === 0) {
        problems.push(`${p}: must be an object with at least one region, e.g. {"us-east-1": {...}}`);
        return;
      }
      for (const [name, r] of Object.entries(v)) region(r, `${p}["${name}"]`, problems);
    },
  });
  if (problems.length === 0) {
    const rates = data as PricingRates;
    if (!(rates.fallbackRegion in rates.regions)) {
      problems.push(
        `$.fallbackRegion: "${rates.fallbackRegion}" is not one of the regions (${Object.keys(rates.regions).join(', ')})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new RuleViolation(`pricing file ${source} does not have the shape of the rate table`, {
      value: source,
      problems,
      fix: 'compare with the default table: ecrctl cost --print-pricing',
    });
  }
  return data as PricingRates;
}

// ---------------------------------------------------------------------------------------------
// Storage from real images: ECR stores a layer once per repository however many images share
// it, so the bill follows unique layers, not the sum of image sizes the console lists.

/** What measureRepositoryStorage needs of an image: its digest, layers and config size. */
export interface StoredImage {
  digest: string;
  layers: readonly { digest: string; size: number }[];
  configSize?: number;
}

/** A repository's stored bytes: each layer once, against the naive sum of image sizes. */
export interface RepositoryStorage {
  name: string;
  images: number;
  uniqueLayers: number;
  /** Bytes counting each layer once per repository (plus each image's config). */
  bytes: number;
  /** The sum of every image's layers and config, as if nothing were shared. */
  naiveBytes: number;
  /** naiveBytes − bytes: what layer sharing saves. */
  savedBytes: number;
}

/** Totals over repositories, and the storage in GB (10^9 bytes) for estimateCost. */
export interface StorageMeasure {
  repositories: RepositoryStorage[];
  bytes: number;
  naiveBytes: number;
  savedBytes: number;
  storageGb: number;
}

/** Returns per repository the bytes stored with each layer counted once, the naive sum, and the saving. */
export function measureRepositoryStorage(
  repos: readonly { name: string; images: readonly StoredImage[] }[],
): StorageMeasure {
  const repositories = repos.map((repo): RepositoryStorage => {
    const layers = new Map<string, number>();
    const seenImages = new Set<string>();
    let configs = 0;
    let naive = 0;
    for (const image of repo.images) {
      // The same image listed twice (say, under two tags) is one image.
      if (seenImages.has(image.digest)) continue;
      seenImages.add(image.digest);
      configs += image.configSize ?? 0;
      naive += image.configSize ?? 0;
      for (const layer of image.layers) {
        naive += layer.size;
        if (!layers.has(layer.digest)) layers.set(layer.digest, layer.size);
      }
    }
    let bytes = configs;
    for (const size of layers.values()) bytes += size;
    return {
      name: repo.name,
      images: seenImages.size,
      uniqueLayers: layers.size,
      bytes,
      naiveBytes: naive,
      savedBytes: naive - bytes,
    };
  });
  const bytes = repositories.reduce((s, r) => s + r.bytes, 0);
  const naiveBytes = repositories.reduce((s, r) => s + r.naiveBytes, 0);
  return { repositories, bytes, naiveBytes, savedBytes: naiveBytes - bytes, storageGb: clean(bytes / 1e9) };
}

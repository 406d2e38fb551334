// THE RATE TABLE. This is the one data file for `ecrctl cost`: when AWS changes a price, change
// it here. Users override it without a release with `ecrctl cost --pricing FILE`, a JSON file of
// exactly this shape (`ecrctl cost --print-pricing > rates.json` writes this table to start from).
// It lives in a .ts module rather than a .json file because the build (tsc) does not copy JSON
// into dist/.
//
// Units are those of the pricing page: GB and GB-month, 1 TB = 1,000 GB; prices in USD,
// excluding taxes.

/** One step of a tiered rate: the price per GB up to a cumulative monthly amount. */
export interface TransferTier {
  /** Cumulative GB per month this tier reaches; null for the last, unbounded tier. */
  upToGb: number | null;
  perGb: number;
}

/** Rates that differ by region. */
export interface RegionRates {
  /** The name the pricing page uses, e.g. "Asia Pacific (Seoul)". */
  name: string;
  /** Private storage price in this region; when absent, private.storagePerGbMonth. */
  storagePerGbMonth?: number;
  /** Data transfer out of private repositories to the internet, per month, tier by tier. */
  transferOutTiers: TransferTier[];
}

/** The whole rate table. */
export interface PricingRates {
  /** Where the figures come from and when they were checked; printed with every estimate. */
  source: string;
  currency: 'USD';
  /** The region whose transfer tiers stand in for a region the table does not list. */
  fallbackRegion: string;
  private: {
    storagePerGbMonth: number;
    /** AWS Free Tier, first 12 months of an account: storage included per month. */
    freeTierStorageGbMonth: number;
  };
  public: {
    freeStorageGbMonth: number;
    storagePerGbMonth: number;
    /** Pulls without an AWS account, per month, counted per source IP. */
    anonymousFreeTransferOutGb: number;
    /** Pulls with an AWS account, per month. */
    accountFreeTransferOutGb: number;
    /** Beyond the account allowance, to destinations outside AWS. */
    accountTransferOutPerGb: number;
  };
  regions: Record<string, RegionRates>;
}

/** The rates `ecrctl cost` uses unless --pricing names another file (ECR-FACTS.md "Pricing"). */
export const DEFAULT_PRICING_RATES: PricingRates = {
  source: 'built-in table from the Amazon ECR pricing page, https://aws.amazon.com/ecr/pricing/',
  currency: 'USD',
  fallbackRegion: 'us-east-1',
  private: {
    storagePerGbMonth: 0.1,
    freeTierStorageGbMonth: 0.5,
  },
  public: {
    freeStorageGbMonth: 50,
    storagePerGbMonth: 0.1,
    anonymousFreeTransferOutGb: 500,
    accountFreeTransferOutGb: 5000,
    accountTransferOutPerGb: 0.09,
  },
  regions: {
    'us-east-1': {
      name: 'US East (N. Virginia)',
      // first 1 GB free; next 9.999 TB; next 40 TB; next 100 TB; over 150 TB
      transferOutTiers: [
        { upToGb: 1, perGb: 0 },
        { upToGb: 10_000, perGb: 0.09 },
        { upToGb: 50_000, perGb: 0.085 },
        { upToGb: 150_000, perGb: 0.07 },
        { upToGb: null, perGb: 0.05 },
      ],
    },
    'ap-northeast-2': {
      name: 'Asia Pacific (Seoul)',
      transferOutTiers: [
        { upToGb: 1, perGb: 0 },
        { upToGb: 10_000, perGb: 0.126 },
        { upToGb: 50_000, perGb: 0.122 },
        { upToGb: 150_000, perGb: 0.117 },
        { upToGb: null, perGb: 0.108 },
      ],
    },
  },
};

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleViolation } from '../../src/errors.js';
import {
  type CostInput,
  DEFAULT_PRICING_RATES,
  estimateCost,
  formatGb,
  measureRepositoryStorage,
  type PricingRates,
  parsePricingRates,
  roundToCents,
  splitIntoTiers,
} from '../../src/policy/pricing.js';

const rates = DEFAULT_PRICING_RATES;
const estimate = (input: Partial<CostInput>) => estimateCost({ region: 'us-east-1', ...input }, rates);
const items = (input: Partial<CostInput>) =>
  estimate(input).lineItems.map((i) => [i.item, i.quantity, i.rate, i.amountUsd]);

describe('private transfer out: every tier boundary', () => {
  // Cumulative boundaries: 1 GB, then 9.999 TB more (10 TB), 40 TB more (50 TB), 100 TB more (150 TB).
  it.each([
    // region, GB out, total USD
    ['us-east-1', 0, 0],
    ['us-east-1', 1, 0],
    ['us-east-1', 1.5, 0.05], // 0.5 × 0.09 = 0.045 → 0.05 (half-up)
    ['us-east-1', 2, 0.09],
    ['us-east-1', 10_000, 899.91], // 9,999 × 0.09
    ['us-east-1', 10_001, 900.0], // + 1 × 0.085 = 0.085 → 0.09
    ['us-east-1', 50_000, 4299.91], // + 40,000 × 0.085
    ['us-east-1', 50_001, 4299.98], // + 0.07
    ['us-east-1', 150_000, 11_299.91], // + 100,000 × 0.07
    ['us-east-1', 150_001, 11_299.96], // + 0.05
    ['us-east-1', 1_000_000, 53_799.91], // + 850,000 × 0.05
    ['ap-northeast-2', 1, 0],
    ['ap-northeast-2', 2, 0.13], // 0.126
    ['ap-northeast-2', 10_000, 1259.87], // 9,999 × 0.126 = 1,259.874
    ['ap-northeast-2', 10_001, 1259.99], // + 0.122 → 0.12
    ['ap-northeast-2', 50_000, 6139.87], // + 40,000 × 0.122
    ['ap-northeast-2', 50_001, 6139.99], // + 0.117 → 0.12
    ['ap-northeast-2', 150_000, 17_839.87], // + 100,000 × 0.117
    ['ap-northeast-2', 150_001, 17_839.98], // + 0.108 → 0.11
  ])('%s, %d GB out → %d USD', (region, gb, total) => {
    expect(estimateCost({ region, egressGb: gb }, rates).totalUsd).toBe(total);
  });

  it('itemises each tier with its quantity and rate', () => {
    expect(items({ egressGb: 150_001 })).toEqual([
      ['transfer out (internet), first 1 GB', 1, 0, 0],
      ['transfer out (internet), 1 GB – 10 TB', 9999, 0.09, 899.91],
      ['transfer out (internet), 10 TB – 50 TB', 40_000, 0.085, 3400],
      ['transfer out (internet), 50 TB – 150 TB', 100_000, 0.07, 7000],
      ['transfer out (internet), over 150 TB', 1, 0.05, 0.05],
    ]);
  });

  it('charges transfer to another region at internet rates, in the same tiers', () => {
    expect(estimate({ egressRegionGb: 101 }).totalUsd).toBe(9);
    expect(items({ egressGb: 9_999, egressRegionGb: 2 })).toEqual([
      ['transfer out (internet and other regions), first 1 GB', 1, 0, 0],
      ['transfer out (internet and other regions), 1 GB – 10 TB', 9999, 0.09, 899.91],
      ['transfer out (internet and other regions), 10 TB – 50 TB', 1, 0.085, 0.09],
    ]);
    expect(estimate({ egressRegionGb: 5 }).notes).toContain(
      'transfer to another AWS region is charged at internet rates and counts toward the same tiers',
    );
  });

  it('notes that the tiers are shared with other services', () => {
    expect(estimate({ egressGb: 5 }).notes.join('\n')).toMatch(
      /EC2, ECR, EBS, S3, Glacier, RDS, SimpleDB, SQS, SNS, DynamoDB, Storage Gateway and VPC/,
    );
    expect(estimate({ storageGb: 5 }).notes.join('\n')).not.toMatch(/EC2/);
  });

  it('never charges the same region or data in', () => {
    expect(items({ sameRegionGb: 123_456 })).toEqual([
      ['transfer to services in us-east-1 (same region, free)', 123_456, 0, 0],
    ]);
    expect(estimate({ sameRegionGb: 123_456 }).totalUsd).toBe(0);
  });
});

describe('private storage', () => {
  it.each([
    [{ storageGb: 50 }, 5],
    [{ storageGb: 0.8 }, 0.08],
    [{ storageGb: 0.8, freeTier: true }, 0.03],
    [{ storageGb: 0.5, freeTier: true }, 0],
    [{ storageGb: 0.4, freeTier: true }, 0],
    [{ storageGb: 0.55, freeTier: true }, 0.01], // 0.05 × 0.10 = 0.005 → 0.01
    [{ storageGb: 1234.567 }, 123.46],
  ])('%j → %d USD', (input, total) => {
    expect(estimate(input).totalUsd).toBe(total);
  });

  it('shows the free tier as its own line', () => {
    expect(items({ storageGb: 2, freeTier: true })).toEqual([
      ['storage, AWS Free Tier (first 12 months)', 0.5, 0, 0],
      ['storage', 1.5, 0.1, 0.15],
    ]);
    expect(estimate({ storageGb: 2, freeTier: true }).notes[0]).toBe(
      "the AWS Free Tier includes 500 MB-month of private storage each month during an account's first 12 months",
    );
  });

  it('uses a region storage rate when the table gives one', () => {
    const custom: PricingRates = structuredClone(rates);
    custom.regions['ap-northeast-2']!.storagePerGbMonth = 0.12;
    expect(estimateCost({ region: 'ap-northeast-2', storageGb: 10 }, custom).totalUsd).toBe(1.2);
    expect(estimateCost({ region: 'us-east-1', storageGb: 10 }, custom).totalUsd).toBe(1);
  });
});

describe('public repositories', () => {
  it.each([
    [{ storageGb: 50 }, 0],
    [{ storageGb: 50.5 }, 0.05],
    [{ storageGb: 150 }, 10],
    [{ egressGb: 500 }, 0],
    [{ egressGb: 501 }, 0],
    [{ egressGb: 5000, withAccount: true }, 0],
    [{ egressGb: 5001, withAccount: true }, 0.09],
    [{ egressGb: 6000, withAccount: true }, 90],
    [{ egressRegionGb: 100_000, withAccount: true }, 0],
    [{ egressGb: 6000, egressRegionGb: 100_000, sameRegionGb: 10, withAccount: true }, 90],
  ])('%j → %d USD', (input, total) => {
    expect(estimate({ public: true, ...input }).totalUsd).toBe(total);
  });

  it('itemises the allowances', () => {
    expect(items({ public: true, withAccount: true, storageGb: 80, egressGb: 7000, egressRegionGb: 20 })).toEqual([
      ['public storage, first 50 GB-month (always free)', 50, 0, 0],
      ['public storage over 50 GB-month', 30, 0.1, 3],
      ['transfer out to the internet (AWS account), first 5 TB', 5000, 0, 0],
      ['transfer out to the internet (AWS account), over 5 TB', 2000, 0.09, 180],
      ['transfer to AWS regions (always free)', 20, 0, 0],
    ]);
  });

  it('warns when anonymous pulls pass 500 GB, and not before', () => {
    expect(estimate({ public: true, egressGb: 500 }).warnings).toEqual([]);
    const over = estimate({ public: true, egressGb: 400, egressRegionGb: 101 });
    expect(over.lineItems.map((i) => [i.item, i.quantity])).toEqual([
      ['transfer out without an AWS account, first 500 GB', 500],
      ['transfer out without an AWS account, over 500 GB', 1],
    ]);
    expect(over.warnings).toHaveLength(1);
    expect(over.warnings[0]).toMatch(
      /^501 GB of anonymous pulls is more than the 500 GB\/month.*per source IP.*--with-account$/,
    );
  });

  it('ignores the region rates and notes that --free-tier is for private repositories', () => {
    const e = estimateCost({ region: 'eu-west-1', public: true, storageGb: 60, freeTier: true }, rates);
    expect(e.warnings).toEqual([]);
    expect(e.totalUsd).toBe(1);
    expect(e.notes).toContain(
      '--free-tier applies to private repositories; public repositories have the allowances shown above',
    );
  });
});

describe('regions missing from the table', () => {
  it('falls back to the us-east-1 internet tiers with a warning saying how to add the region', () => {
    const e = estimateCost({ region: 'eu-west-1', egressGb: 10_000 }, rates);
    expect(e.totalUsd).toBe(899.91);
    expect(e.region).toBe('eu-west-1');
    expect(e.ratesRegion).toBe('us-east-1');
    expect(e.warnings).toEqual([
      'the rate table has no rates for eu-west-1; this estimate uses the us-east-1 (US East (N. Virginia)) internet tiers instead. ' +
        'For eu-west-1\'s own rates, add "eu-west-1" under "regions" in a pricing file (start from `ecrctl cost --print-pricing > rates.json`) ' +
        'and pass --pricing rates.json',
    ]);
  });

  it('does not warn for a listed region', () => {
    expect(estimateCost({ region: 'ap-northeast-2', egressGb: 5 }, rates).warnings).toEqual([]);
  });
});

describe('rounding', () => {
  it.each([
    [1.005, 1.01],
    [0.045, 0.05],
    [2.675, 2.68],
    [0.004999, 0],
    [899.9099999999999, 899.91],
    [0.1 + 0.2, 0.3],
  ])('roundToCents(%d) = %d', (usd, cents) => {
    expect(roundToCents(usd)).toBe(cents);
  });

  it('lines are whole cents and add up to the total, whatever the input', () => {
    const gb = fc.oneof(
      fc.constant(0),
      fc.double({ min: 0, max: 2_000_000, noNaN: true }),
      fc.integer({ min: 0, max: 200_000 }),
    );
    fc.assert(
      fc.property(
        gb,
        gb,
        gb,
        gb,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('us-east-1', 'ap-northeast-2', 'eu-west-1'),
        (s, e, r, sr, pub, acct, free, region) => {
          const est = estimateCost(
            {
              region,
              storageGb: s,
              egressGb: e,
              egressRegionGb: r,
              sameRegionGb: sr,
              public: pub,
              withAccount: acct,
              freeTier: free,
            },
            rates,
          );
          let cents = 0;
          for (const item of est.lineItems) {
            expect(Number.isInteger(Math.round(item.amountUsd * 100))).toBe(true);
            expect(Math.abs(item.amountUsd * 100 - Math.round(item.amountUsd * 100))).toBeLessThan(1e-6);
            expect(item.quantity).toBeGreaterThan(0);
            cents += Math.round(item.amountUsd * 100);
          }
          expect(est.totalUsd).toBe(cents / 100);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('more transfer never costs less', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom('us-east-1', 'ap-northeast-2'),
        (gb, more, region) => {
          const a = estimateCost({ region, egressGb: gb }, rates).totalUsd;
          const b = estimateCost({ region, egressGb: gb + more }, rates).totalUsd;
          expect(b).toBeGreaterThanOrEqual(a);
        },
      ),
    );
  });

  it('rejects negative or non-finite amounts', () => {
    expect(() => estimate({ egressGb: -1 })).toThrow(RangeError);
    expect(() => estimate({ storageGb: Number.NaN })).toThrow(RangeError);
  });
});

describe('splitIntoTiers and formatGb', () => {
  it('splits at the cumulative boundaries', () => {
    expect(
      splitIntoTiers(10_000, rates.regions['us-east-1']!.transferOutTiers).map((t) => [t.fromGb, t.toGb, t.quantity]),
    ).toEqual([
      [0, 1, 1],
      [1, 10_000, 9999],
    ]);
    expect(splitIntoTiers(0, rates.regions['us-east-1']!.transferOutTiers)).toEqual([]);
  });

  it.each([
    [0.5, '500 MB'],
    [1, '1 GB'],
    [9999, '9,999 GB'],
    [10_000, '10 TB'],
    [150_000, '150 TB'],
    [1500.25, '1,500.25 GB'],
  ])('formatGb(%d) = %s', (gb, text) => {
    expect(formatGb(gb)).toBe(text);
  });
});

describe('parsePricingRates', () => {
  const defaults = JSON.stringify(DEFAULT_PRICING_RATES);

  it('reads back the default table', () => {
    expect(parsePricingRates(defaults, 'rates.json')).toEqual(DEFAULT_PRICING_RATES);
  });

  it('lets a file add a region and change a rate', () => {
    const file = structuredClone(DEFAULT_PRICING_RATES) as PricingRates;
    file.regions['eu-west-1'] = {
      name: 'Europe (Ireland)',
      transferOutTiers: [
        { upToGb: 1, perGb: 0 },
        { upToGb: 10_000, perGb: 0.1 },
        { upToGb: null, perGb: 0.05 },
      ],
    };
    file.private.storagePerGbMonth = 0.2;
    const parsed = parsePricingRates(JSON.stringify(file), 'rates.json');
    const e = estimateCost({ region: 'eu-west-1', storageGb: 10, egressGb: 10_001 }, parsed);
    expect(e.warnings).toEqual([]);
    expect(e.ratesRegionName).toBe('Europe (Ireland)');
    expect(e.totalUsd).toBe(1001.95); // 10 × 0.20 + 9,999 × 0.10 + 1 × 0.05
  });

  const broken = (edit: (r: Record<string, unknown> & PricingRates) => void): string[] => {
    const r = structuredClone(DEFAULT_PRICING_RATES) as Record<string, unknown> & PricingRates;
    edit(r);
    try {
      parsePricingRates(JSON.stringify(r), 'rates.json');
    } catch (err) {
      expect(err).toBeInstanceOf(RuleViolation);
      expect((err as RuleViolation).message).toBe('pricing file rates.json does not have the shape of the rate table');
      return [...(err as RuleViolation).problems];
    }
    throw new Error('expected a RuleViolation');
  };

  it.each<[string, (r: Record<string, unknown> & PricingRates) => void, string[]]>([
    [
      'a typo in a field',
      (r) => {
        const p = r.private as unknown as Record<string, unknown>;
        p.storagePerGBMonth = p.storagePerGbMonth;
        delete p.storagePerGbMonth;
      },
      [
        '$.private.storagePerGbMonth: missing',
        '$.private.storagePerGBMonth: unknown field (expected storagePerGbMonth, freeTierStorageGbMonth)',
      ],
    ],
    [
      'a negative rate',
      (r) => {
        r.public.accountTransferOutPerGb = -0.09;
      },
      ['$.public.accountTransferOutPerGb: must be a number ≥ 0, got -0.09'],
    ],
    [
      'a rate as a string',
      (r) => {
        (r.private as unknown as Record<string, unknown>).storagePerGbMonth = '0.10';
      },
      ['$.private.storagePerGbMonth: must be a number ≥ 0, got "0.10"'],
    ],
    [
      'tiers out of order',
      (r) => {
        r.regions['us-east-1']!.transferOutTiers[2]!.upToGb = 5000;
      },
      [
        '$.regions["us-east-1"].transferOutTiers[2].upToGb: must be a number of GB greater than 10000 (tiers are cumulative and increasing), got 5000',
      ],
    ],
    [
      'a bounded last tier',
      (r) => {
        r.regions['us-east-1']!.transferOutTiers[4]!.upToGb = 1_000_000;
      },
      [
        '$.regions["us-east-1"].transferOutTiers[4].upToGb: the last tier must be unbounded ("upToGb": null) so that every amount has a rate',
      ],
    ],
    [
      'an unbounded tier before the last',
      (r) => {
        r.regions['us-east-1']!.transferOutTiers[1]!.upToGb = null;
      },
      ['$.regions["us-east-1"].transferOutTiers[1].upToGb: only the last tier may be unbounded (null)'],
    ],
    [
      'no tiers',
      (r) => {
        r.regions['us-east-1']!.transferOutTiers = [];
      },
      [
        '$.regions["us-east-1"].transferOutTiers: must be a non-empty list of {"upToGb": number or null, "perGb": number}',
      ],
    ],
    [
      'a fallback region that is not listed',
      (r) => {
        r.fallbackRegion = 'eu-west-1';
      },
      ['$.fallbackRegion: "eu-west-1" is not one of the regions (us-east-1, ap-northeast-2)'],
    ],
    [
      'another currency',
      (r) => {
        (r as Record<string, unknown>).currency = 'EUR';
      },
      ['$.currency: must be "USD", got "EUR"'],
    ],
    [
      'a missing section',
      (r) => {
        delete (r as Record<string, unknown>).public;
      },
      ['$.public: missing'],
    ],
  ])('reports %s', (_what, edit, problems) => {
    expect(broken(edit)).toEqual(problems);
  });

  it('reports every problem at once', () => {
    expect(
      broken((r) => {
        r.private.storagePerGbMonth = -1;
        r.public.freeStorageGbMonth = -1;
      }),
    ).toHaveLength(2);
  });

  it('reports JSON syntax errors', () => {
    expect(() => parsePricingRates('{"source": ', 'rates.json')).toThrow('pricing file rates.json is not valid JSON');
    expect(() => parsePricingRates('[]', 'rates.json')).toThrow(RuleViolation);
  });
});

describe('measureRepositoryStorage', () => {
  const layer = (n: number, size: number) => ({ digest: `sha256:${String(n).padStart(64, '0')}`, size });

  it('counts each layer once per repository and says what sharing saved', () => {
    const result = measureRepositoryStorage([
      {
        name: 'team/app',
        images: [
          { digest: 'sha256:a', layers: [layer(1, 1000), layer(2, 200)], configSize: 10 },
          { digest: 'sha256:b', layers: [layer(1, 1000), layer(3, 300)], configSize: 10 },
          // the same image again under another tag
          { digest: 'sha256:b', layers: [layer(1, 1000), layer(3, 300)], configSize: 10 },
        ],
      },
      // the same base layer in another repository is stored again there
      { name: 'team/worker', images: [{ digest: 'sha256:c', layers: [layer(1, 1000)] }] },
      { name: 'empty', images: [] },
    ]);
    expect(result.repositories).toEqual([
      { name: 'team/app', images: 2, uniqueLayers: 3, bytes: 1520, naiveBytes: 2520, savedBytes: 1000 },
      { name: 'team/worker', images: 1, uniqueLayers: 1, bytes: 1000, naiveBytes: 1000, savedBytes: 0 },
      { name: 'empty', images: 0, uniqueLayers: 0, bytes: 0, naiveBytes: 0, savedBytes: 0 },
    ]);
    expect(result.bytes).toBe(2520);
    expect(result.naiveBytes).toBe(3520);
    expect(result.savedBytes).toBe(1000);
    expect(result.storageGb).toBe(0.00000252);
  });

  it('feeds the estimate in decimal GB', () => {
    const { storageGb } = measureRepositoryStorage([
      { name: 'big', images: [{ digest: 'sha256:x', layers: [layer(1, 30e9), layer(2, 20e9)] }] },
    ]);
    expect(storageGb).toBe(50);
    expect(estimate({ storageGb }).totalUsd).toBe(5);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRICING_RATES, type PricingRates } from '../../src/policy/pricing.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ecrctl-cost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ecrctl cost', () => {
  it('prints line items and the total as text', async () => {
    const r = await runCli(['cost', '--storage-gb', '50', '--egress-gb', '200']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('ECR cost estimate per month: private repositories in us-east-1 (US East (N. Virginia))');
    expect(lines.slice(2, 7)).toEqual([
      'ITEM                                   QUANTITY     RATE (USD)     AMOUNT (USD)',
      'storage                                50 GB-month  0.10/GB-month   5.00',
      'transfer out (internet), first 1 GB    1 GB         0.00/GB         0.00',
      'transfer out (internet), 1 GB – 10 TB  199 GB       0.09/GB        17.91',
      'total                                                              22.91 USD',
    ]);
    expect(r.stdout).toContain('notes:\n  - transfer-out tiers are counted over the month across EC2, ECR');
    expect(r.stdout).toContain('excluding taxes; 1 TB = 1,000 GB');
  });

  it('gives the estimate as JSON with --output json', async () => {
    const r = await runCli([
      '--output',
      'json',
      '--region',
      'ap-northeast-2',
      'cost',
      '--egress-gb',
      '10001',
      '--storage-gb',
      '0.8',
      '--free-tier',
    ]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e).toMatchObject({
      region: 'ap-northeast-2',
      ratesRegion: 'ap-northeast-2',
      ratesRegionName: 'Asia Pacific (Seoul)',
      repositories: 'private',
      currency: 'USD',
      period: 'month',
      totalUsd: 1260.02, // 0.03 storage + 1,259.87 + 0.12
      warnings: [],
    });
    expect(e.lineItems).toEqual([
      { item: 'storage, AWS Free Tier (first 12 months)', quantity: 0.5, unit: 'GB-month', rate: 0, amountUsd: 0 },
      { item: 'storage', quantity: 0.3, unit: 'GB-month', rate: 0.1, amountUsd: 0.03 },
      { item: 'transfer out (internet), first 1 GB', quantity: 1, unit: 'GB', rate: 0, amountUsd: 0 },
      { item: 'transfer out (internet), 1 GB – 10 TB', quantity: 9999, unit: 'GB', rate: 0.126, amountUsd: 1259.87 },
      { item: 'transfer out (internet), 10 TB – 50 TB', quantity: 1, unit: 'GB', rate: 0.122, amountUsd: 0.12 },
    ]);
  });

  it('prints KEY=value lines with --output env', async () => {
    const r = await runCli(['-o', 'env', 'cost', '--public', '--with-account', '--egress-gb', '6000']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'TOTAL_USD=90.00\nREGION=us-east-1\nRATES_REGION=us-east-1\nREPOSITORIES=public\nCURRENCY=USD\n',
    );
  });

  it('warns on stderr when the region is not in the table and uses the us-east-1 tiers', async () => {
    const r = await runCli(['--region', 'eu-west-1', 'cost', '--egress-gb', '10000']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: the rate table has no rates for eu-west-1; this estimate uses the us-east-1/);
    expect(r.stderr).toContain('--pricing rates.json');
    expect(r.stdout).toContain('private repositories in eu-west-1 (rates of us-east-1, US East (N. Virginia))');
    expect(r.stdout).toMatch(/total\s+899\.91 USD/);
  });

  it('takes the region from ECRCTL_REGION too', async () => {
    const r = await runCli(['-o', 'json', 'cost', '--egress-gb', '2'], { env: { ECRCTL_REGION: 'ap-northeast-2' } });
    expect(JSON.parse(r.stdout).totalUsd).toBe(0.13);
  });

  it('prices with a --pricing file, and --print-pricing writes a file it accepts', async () => {
    const printed = await runCli(['cost', '--print-pricing']);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(DEFAULT_PRICING_RATES);

    const rates = JSON.parse(printed.stdout) as PricingRates;
    rates.regions['eu-west-1'] = {
      name: 'Europe (Ireland)',
      transferOutTiers: [
        { upToGb: 1, perGb: 0 },
        { upToGb: null, perGb: 0.2 },
      ],
    };
    rates.private.storagePerGbMonth = 0.25;
    const file = path.join(dir, 'rates.json');
    writeFileSync(file, JSON.stringify(rates));
    const r = await runCli(
      [
        '-o',
        'json',
        '--region',
        'eu-west-1',
        'cost',
        '--pricing',
        'rates.json',
        '--storage-gb',
        '4',
        '--egress-gb',
        '11',
      ],
      {
        cwd: dir,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ratesRegion: 'eu-west-1', totalUsd: 3, warnings: [] });
  });

  it('exits 3 and lists the problems of a broken --pricing file', async () => {
    const rates = structuredClone(DEFAULT_PRICING_RATES) as unknown as Record<string, Record<string, unknown>>;
    rates.private!.storagePerGbMonth = -1;
    rates.private!.freeTier = 1;
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(rates));
    const r = await runCli(['cost', '--pricing', file, '--storage-gb', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: pricing file ${file} does not have the shape of the rate table`);
    expect(r.stderr).toContain('  - $.private.storagePerGbMonth: must be a number ≥ 0, got -1');
    expect(r.stderr).toContain(
      '  - $.private.freeTier: unknown field (expected storagePerGbMonth, freeTierStorageGbMonth)',
    );
    expect(r.stderr).toContain('  fix:   compare with the default table: ecrctl cost --print-pricing');
  });

  it('exits 6 when the --pricing file does not exist', async () => {
    const r = await runCli(['cost', '--pricing', 'nope.json', '--storage-gb', '1'], { cwd: dir });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('error: pricing file not found: nope.json');
  });

  it.each([
    [['cost', '--egress-gb', '-5'], '--egress-gb must be a non-negative number of GB', '-5'],
    [['cost', '--storage-gb', '10TB'], '--storage-gb must be a non-negative number of GB', '10TB'],
    [['cost', '--same-region-gb', '1e3'], '--same-region-gb must be a non-negative number of GB', '1e3'],
    [['cost', '--egress-region-gb', ''], '--egress-region-gb must be a non-negative number of GB', ''],
  ])('exits 2 for %j', async (args, message, value) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: ${message}`);
    expect(r.stderr).toContain(`  value: ${value}`);
  });

  it('exits 2 when there is nothing to estimate or --with-account lacks --public', async () => {
    const none = await runCli(['cost']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('error: nothing to estimate: give at least one amount');
    const account = await runCli(['cost', '--with-account', '--egress-gb', '10']);
    expect(account.code).toBe(2);
    expect(account.stderr).toContain('error: --with-account applies to public repositories');
  });
});

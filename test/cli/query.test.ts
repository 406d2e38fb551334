// --query: a JMESPath expression over a command's JSON result, as the AWS CLI's --query.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const COST = ['cost', '--storage-gb', '50', '--egress-gb', '200'];

describe('--query', () => {
  it('prints a projection one value per line in text mode', async () => {
    const json = JSON.parse((await runCli([...COST, '-o', 'json'])).stdout) as { lineItems: { item: string }[] };
    const r = await runCli([...COST, '--query', 'lineItems[].item']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${json.lineItems.map((l) => l.item).join('\n')}\n`);
  });

  it('applies filters, multiselect hashes and functions, printed as JSON with --output json', async () => {
    const r = await runCli([
      ...COST,
      '-o',
      'json',
      '--query',
      'lineItems[?amountUsd > `1`] | sort_by(@, &amountUsd)[].{item: item, usd: amountUsd}',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { item: 'storage', usd: 5 },
      { item: 'transfer out (internet), 1 GB – 10 TB', usd: 17.91 },
    ]);
  });

  it('prints a scalar bare, and nothing for a missing field', async () => {
    expect((await runCli([...COST, '--query', 'length(lineItems)'])).stdout).toBe('3\n');
    expect((await runCli([...COST, '--query', 'currency'])).stdout).toBe('USD\n');
    const missing = await runCli([...COST, '--query', 'noSuchField']);
    expect(missing).toMatchObject({ code: 0, stdout: '' });
    expect((await runCli([...COST, '-o', 'json', '--query', 'noSuchField'])).stdout).toBe('null\n');
  });

  it('refuses an expression that does not parse before the command runs (exit 2)', async () => {
    const r = await runCli([...COST, '--query', 'lineItems[']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--query is not a valid JMESPath expression');
    expect(r.stderr).toContain('value: lineItems[');
  });

  it('refuses --query with --output env, and is read from ECRCTL_QUERY', async () => {
    const env = await runCli([...COST, '-o', 'env', '--query', 'currency']);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--query works with --output json or text');
    const fromEnv = await runCli(COST, { env: { ECRCTL_QUERY: 'region' } });
    expect(fromEnv.stdout).toBe('us-east-1\n');
  });
});

import { describe, expect, it } from 'vitest';
import { runPools } from '../../src/oci/copy.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('runPools with a byte budget', () => {
  it('keeps the cost in flight within the budget, and still runs an item heavier than it', async () => {
    let weight = 0;
    let most = 0;
    const seen: number[] = [];
    const items = [12, 3, 3, 3, 3, 2, 2, 1, 1, 1];
    await runPools([{ items, limit: 16, budget: { bytes: 8, cost: (n: number) => n } }], async (n) => {
      weight += n;
      most = Math.max(most, n > 8 ? 0 : weight);
      seen.push(n);
      await tick();
      weight -= n;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
    expect(most).toBeLessThanOrEqual(8);
  });

  it('respects the count limit too, and stops starting work after the first failure', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const run = runPools(
      [{ items: [1, 2, 3, 4, 5, 6], limit: 2, budget: { bytes: 100, cost: () => 1 } }],
      async (n) => {
        started.push(n);
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
        if (n === 2) throw new Error('boom');
      },
    );
    await expect(run).rejects.toThrow('boom');
    expect(most).toBe(2);
    expect(started.length).toBeLessThan(6);
  });
});

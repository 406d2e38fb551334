import { describe, expect, it } from 'vitest';
import { renderPreset } from '../src/policy/lifecycle/presets.js';
import { plural } from '../src/text.js';

describe('plural', () => {
  it('says 1 day, 2 days, 0 days, 1,000 repositories', () => {
    expect([plural(1, 'day'), plural(2, 'day'), plural(0, 'day'), plural(1000, 'repository')]).toEqual([
      '1 day',
      '2 days',
      '0 days',
      '1,000 repositories',
    ]);
  });

  it('reaches what users read: a preset with days=1 says "1 day"', () => {
    const policy = JSON.parse(renderPreset('expire-untagged', { days: '1' }));
    expect(policy.rules[0]?.description).toBe('Expire untagged images older than 1 day');
  });
});

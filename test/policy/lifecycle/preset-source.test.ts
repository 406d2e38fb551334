// One preset syntax everywhere: `preset:NAME,k=v,…`, `preset:NAME --param k=v`, or both
// together, parsed by one function; a key given twice with different values names both.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parsePresetSource, renderPreset, renderPresetSource } from '../../../src/policy/lifecycle/presets.js';
import { presetPolicyText } from '../../../src/policy/policy-text.js';

describe('parsePresetSource', () => {
  it('reads the comma form, the --param form and both mixed to the same parameters', () => {
    const want = { name: 'keep-last-n-tagged', params: { prefix: 'main-', count: '50' } };
    expect(parsePresetSource('preset:keep-last-n-tagged,prefix=main-,count=50')).toEqual(want);
    expect(parsePresetSource('preset:keep-last-n-tagged', ['prefix=main-', 'count=50'])).toEqual(want);
    expect(parsePresetSource('preset:keep-last-n-tagged,prefix=main-', ['count=50'])).toEqual(want);
    // `lifecycle presets show` takes the name without the prefix
    expect(parsePresetSource('keep-last-n-tagged,prefix=main-', ['count=50'])).toEqual(want);
  });

  it('keeps commas inside a value (majors=1,2,3) in both forms', () => {
    const want = { name: 'keep-last-n-per-major', params: { majors: '1,2,3', count: '4' } };
    expect(parsePresetSource('preset:keep-last-n-per-major,majors=1,2,3,count=4')).toEqual(want);
    expect(parsePresetSource('preset:keep-last-n-per-major', ['majors=1,2,3', 'count=4'])).toEqual(want);
  });

  it('renders the same policy text from every spelling', () => {
    const a = renderPresetSource('preset:expire-untagged,days=7');
    expect(renderPresetSource('preset:expire-untagged', ['days=7'])).toBe(a);
    expect(presetPolicyText('preset:expire-untagged', ['days=7'])).toBe(a);
    expect(presetPolicyText('preset:expire-untagged,days=7')).toBe(a);
    expect(a).toBe(renderPreset('expire-untagged', { days: '7' }));
  });

  it('accepts the same value twice, refuses two different values naming both (UsageError, exit 2)', () => {
    expect(parsePresetSource('preset:expire-untagged,days=7', ['days=7']).params).toEqual({ days: '7' });
    const conflict = () => parsePresetSource('preset:expire-untagged,days=7', ['days=9']);
    expect(conflict).toThrow(UsageError);
    expect(conflict).toThrow(
      'preset parameter days is given twice with different values: days=7 (in preset:expire-untagged,days=7) and days=9 (--param days=9)',
    );
    expect(() => parsePresetSource('preset:expire-untagged', ['days=7', 'days=8'])).toThrow(
      'days=7 (--param days=7) and days=8 (--param days=8)',
    );
  });

  it('refuses malformed parameters and --param without a preset', () => {
    expect(() => parsePresetSource('preset:expire-untagged,7')).toThrow('preset parameters are key=value');
    expect(() => parsePresetSource('preset:expire-untagged', ['days'])).toThrow('--param takes key=value');
    expect(() => parsePresetSource('preset:')).toThrow('names no preset');
    expect(() => presetPolicyText('policy.json', ['days=7'])).toThrow(
      '--param works only with a policy given as preset:NAME',
    );
    expect(presetPolicyText('policy.json')).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { userAgent, VERSION } from '../src/version.js';

describe('version', () => {
  it('is the version in package.json, and the user agent names it', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(userAgent()).toContain(`ecrctl/${pkg.version}`);
  });
});

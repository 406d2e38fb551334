// GitHub Actions masks (`::add-mask::SECRET`) go to stderr, which the runner reads as it reads
// stdout, so that stdout holds only the data: `eval "$(ecrctl login -o env)"`, `| jq` and
// `>> "$GITHUB_ENV"` must never capture a mask, let alone the secret in it. Every command that
// obtains a token runs against ecrctl local with GITHUB_ACTIONS=true.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../src/local/server.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, writeOciLayout } from '../helpers/fixtures.js';
import { passwordIn, SECRET_ACCESS_KEY, type TempHome, tempHome } from '../ecr/env.js';

let server: LocalServer;
let h: TempHome;
let layout: string;

beforeAll(async () => {
  h = tempHome('ecrctl-masks-');
  server = await startLocalServer({ port: 0, dataDir: path.join(h.dir, 'local') });
  layout = path.join(h.dir, 'layout');
  writeOciLayout(layout, [{ image: buildImage(3), tag: 'v1' }]);
  const setup = await gha(['create-repo', 'mask/app', 'mask/copy']);
  expect(setup.code, setup.stderr).toBe(0);
});
afterAll(async () => {
  await server?.close();
  h?.remove();
});

/** Runs the CLI as a GitHub Actions step would, with a fresh token each time (no cache). */
function gha(args: readonly string[]) {
  return runCli(['--endpoint-url', server.url, ...args], {
    env: { ...h.env, GITHUB_ACTIONS: 'true', ECRCTL_NO_CACHE: '1' },
    cwd: h.dir,
  });
}

const MASK = '::add-mask::';

/** The data each command prints on stdout, and how to tell it is data and nothing else. */
const cases: { args: string[]; stdout: 'json' | 'env' | 'text' }[] = [
  { args: ['login'], stdout: 'text' },
  { args: ['login', '-o', 'env'], stdout: 'env' },
  { args: ['login', '-o', 'json'], stdout: 'json' },
  { args: ['tag-push', `oci:LAYOUT:v1`, 'mask/app:v1', '-o', 'json'], stdout: 'json' },
  { args: ['tag-push', `oci:LAYOUT:v1`, 'mask/app:v2', '-o', 'env'], stdout: 'env' },
  { args: ['pull', 'mask/app:v1', 'oci:OUT:v1', '-o', 'json'], stdout: 'json' },
  { args: ['copy', 'mask/app:v1', 'mask/copy:v1', '-o', 'json'], stdout: 'json' },
  { args: ['promote', 'mask/app:v1', 'stable', '-o', 'json'], stdout: 'json' },
  { args: ['inspect', 'mask/app:v1', '-o', 'json'], stdout: 'json' },
  { args: ['inspect', 'mask/app:v1', '--raw'], stdout: 'json' },
  { args: ['tags', 'mask/app', '-o', 'env'], stdout: 'env' },
  { args: ['tags', 'mask/app'], stdout: 'text' },
  { args: ['images', 'mask/app', '-o', 'json'], stdout: 'json' },
  { args: ['repos', '-o', 'json'], stdout: 'json' },
  { args: ['scan', 'mask/app:v1', '-o', 'json'], stdout: 'json' },
];

describe('in GitHub Actions (GITHUB_ACTIONS=true)', () => {
  it.each(cases.map((c) => [c.args.join(' '), c] as const))(
    'ecrctl %s: masks on stderr only, stdout holds only data',
    async (_name, c) => {
      const args = c.args.map((a) => a.replace('LAYOUT', layout).replace('OUT', path.join(h.dir, 'out')));
      const r = await gha(args);
      expect(r.code, r.stderr).toBe(0);

      // Masks: on stderr, never on stdout; the AWS secret key is among them.
      expect(r.stdout).not.toContain(MASK);
      const stderrLines = r.stderr.split('\n');
      const masked = stderrLines.filter((l) => l.startsWith(MASK)).map((l) => l.slice(MASK.length));
      expect(masked).toContain(SECRET_ACCESS_KEY);
      if (args[0] === 'login') {
        // the registry password login wrote is masked too
        const host = new URL(await server.registryEndpoint('us-east-1')).host;
        expect(masked).toContain(passwordIn(path.join(h.dir, '.docker', 'config.json'), host));
      }

      // No secret anywhere but in the mask lines.
      const elsewhere = [r.stdout, ...stderrLines.filter((l) => !l.startsWith(MASK))].join('\n');
      for (const secret of masked) expect(elsewhere).not.toContain(secret);

      // stdout is the data alone.
      if (c.stdout === 'json') expect(() => JSON.parse(r.stdout)).not.toThrow();
      if (c.stdout === 'env') {
        expect(r.stdout).not.toBe('');
        for (const line of r.stdout.trimEnd().split('\n')) expect(line).toMatch(/^[A-Z][A-Z0-9_]*=/);
      }
      if (c.stdout === 'text') expect(r.stdout.trim()).not.toBe('');
    },
  );
});

// `ecrctl sync plan|apply|check` through its commander declaration (src/cli/commands/sync.ts),
// mounted on a test-local program with a real CliContext: Debian's docker-registry as the
// source, `ecrctl local` as the target. Exit codes are the error kinds' (as main() maps them).
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineSync } from '../../src/cli/commands/sync.js';
import { type CliContext, type OutputFormat, SecretRedactor } from '../../src/cli/context.js';
import { isEcrctlError, RuleViolation } from '../../src/errors.js';
import type { LocalServer } from '../../src/local/server.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { createSession } from '../../src/session.js';
import { buildImage, type FixtureImage, pushFixture } from '../helpers/fixtures.js';
import { type StartedRegistry, startRegistry } from '../helpers/registry.js';
import { credentials, start } from '../local/helpers.js';

let reg: StartedRegistry;
let server: LocalServer;
let tmp: string;
const client = new RegistryClient({ retry: { maxRetries: 0 } });

async function seed(repo: string, images: FixtureImage[], tag: string): Promise<FixtureImage[]> {
  await pushFixture(client.repository(reg.host, repo), images, tag);
  return images;
}

interface Run {
  code: number;
  stdout: string;
  error?: string;
  problems: readonly string[];
}

/** Runs `ecrctl sync …` on a program holding only the sync command. */
async function sync(
  args: string[],
  output: OutputFormat = 'text',
  extra: { env?: NodeJS.ProcessEnv; logs?: string[] } = {},
): Promise<Run> {
  let stdout = '';
  const ctx: CliContext = {
    ...createSession({
      endpointUrl: server.url,
      region: 'us-east-1',
      credentials,
      env: { DOCKER_CONFIG: path.join(tmp, 'none'), HOME: tmp, ...extra.env },
      cwd: tmp,
      onEvent: (e) => {
        if (e.type === 'log') extra.logs?.push(e.message);
      },
    }),
    globals: { output, quiet: true, verbose: false, color: false, insecure: false },
    secrets: new SecretRedactor(),
    stdout: {
      write: (s) => {
        stdout += s;
      },
      isTTY: false,
    },
    stderr: { write: () => {}, isTTY: false },
    readStdin: async () => '',
  };
  const program = new Command('ecrctl').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  defineSync(program, { context: () => ctx });
  for (const c of program.commands.flatMap((c) => [c, ...c.commands]))
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    await program.parseAsync(['sync', ...args], { from: 'user' });
    return { code: 0, stdout, problems: [] };
  } catch (err) {
    if (err instanceof CommanderError) return { code: 2, stdout, error: err.message, problems: [] };
    if (!isEcrctlError(err)) throw err;
    return {
      code: err.exitCode,
      stdout,
      error: err.message,
      problems: err instanceof RuleViolation ? err.problems : [],
    };
  }
}

const CONFIG = () => `sync:\n  - source: ${reg.host}/apps/\n    target: mirror/\n`;
let broken: FixtureImage | undefined;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'ecrctl-sync-cli-'));
  reg = await startRegistry();
  server = await start(path.join(tmp, 'data'));
  await seed('apps/web', [buildImage(11)], 'v1');
  await seed('apps/web', [buildImage(12)], 'v2');
  await seed(
    'apps/api',
    [
      buildImage(13, { platform: { os: 'linux', architecture: 'amd64' } }),
      buildImage(14, { platform: { os: 'linux', architecture: 'arm64' } }),
    ],
    '1.0',
  );
  writeFileSync(path.join(tmp, 'sync.yaml'), CONFIG());
});
afterAll(async () => {
  await reg?.stop();
  await server?.close();
  await client.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ecrctl sync', () => {
  it('plan prints each target repository and the totals, and exits 0', async () => {
    const r = await sync(['plan', '-f', 'sync.yaml']);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TARGET\s+SOURCE\s+CREATE\s+COPY\s+OVERWRITE\s+SKIP/);
    expect(r.stdout).toMatch(/\/mirror\/api\s+\S+\/apps\/api\s+yes\s+1\s+0\s+0/);
    expect(r.stdout).toContain(
      '3 tags in 2 repositories: 3 to copy, 0 to overwrite, 0 to skip; 2 repositories to create',
    );
  });

  it('apply syncs everything, writes the report atomically, and check then exits 0', async () => {
    const r = await sync(['apply', '-f', 'sync.yaml', '--state', 'state', '--report', 'report.json']);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 tags synced, 0 skipped, 0 failed; 2 repositories created');
    const report = JSON.parse(readFileSync(path.join(tmp, 'report.json'), 'utf8'));
    expect(report.copied.flatMap((c: { tags: string[] }) => c.tags).sort()).toEqual(['1.0', 'v1', 'v2']);
    expect(report.failures).toEqual([]);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const again = await sync(['apply', '-f', 'sync.yaml', '--state', 'state']);
    expect(again.stdout).toContain('0 tags synced, 3 skipped, 0 failed; 0 repositories created');
    const check = await sync(['check', '-f', 'sync.yaml']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('up to date: 3 tags in 2 repositories');
  });

  it('check exits 3 and names a tag that moved at the source', async () => {
    const [moved] = await seed('apps/web', [buildImage(15)], 'v2');
    const r = await sync(['check', '-f', 'sync.yaml'], 'json');
    expect(r.code).toBe(3);
    expect(r.error).toBe('1 tag is stale at their targets');
    const out = JSON.parse(r.stdout);
    expect(out.stale).toEqual([
      expect.objectContaining({ tag: 'v2', action: 'overwrite', sourceDigest: moved!.manifest.digest }),
    ]);
  });

  it('apply exits 1 when a tag fails, after syncing the rest; the report names the failure', async () => {
    [broken] = await seed('apps/web', [buildImage(16)], 'v3');
    const hex = broken!.config.descriptor.digest.slice('sha256:'.length);
    unlinkSync(path.join(reg.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
    const r = await sync(['apply', '-f', 'sync.yaml', '--report', 'report.json']);
    expect(r.code).toBe(1);
    expect(r.error).toBe('1 sync failures; everything else was synced (listed above)');
    expect(r.stdout).toContain('overwritten');
    expect(r.stdout).toMatch(/failed:\n {2}\S+\/apps\/web:v3 → \S+\/mirror\/web\n {4}copy: NotFoundError: /);
    const report = JSON.parse(readFileSync(path.join(tmp, 'report.json'), 'utf8'));
    expect(report.failures).toEqual([
      expect.objectContaining({ tags: ['v3'], stage: 'copy', kind: 'NotFoundError', exitCode: 6 }),
    ]);
    expect(report.copied).toEqual([expect.objectContaining({ tags: ['v2'], action: 'overwritten' })]);
  });

  it('refuses a config with problems (exit 3, each at its line), a missing file (6) and a bad shard (2)', async () => {
    writeFileSync(
      path.join(tmp, 'bad.yaml'),
      'sync:\n  - source: a.example/x\n    target: y\n    tags: { newest: 0 }\n',
    );
    const bad = await sync(['plan', '-f', 'bad.yaml']);
    expect(bad.code).toBe(3);
    expect(bad.problems).toEqual(['bad.yaml:4: sync[0].tags.newest: a whole number of at least 1, e.g. newest: 10']);
    expect((await sync(['plan', '-f', 'nowhere.yaml'])).code).toBe(6);
    expect((await sync(['plan', '-f', 'sync.yaml', '--shard', '4/3'])).code).toBe(2);
    expect((await sync(['apply'])).code).toBe(2);
  });

  it('apply logs a heartbeat (repositories done/total, tags, bytes) at the ECRCTL_SYNC_HEARTBEAT interval', async () => {
    writeFileSync(path.join(tmp, 'beat.yaml'), `sync:\n  - source: ${reg.host}/apps/api\n    target: beat/api\n`);
    const logs: string[] = [];
    const r = await sync(['apply', '-f', 'beat.yaml'], 'text', { env: { ECRCTL_SYNC_HEARTBEAT: '1s' }, logs });
    expect(r.code).toBe(0);
    expect(logs).toContain('sync: 0/1 repositories done, 0 tags copied, 0 B sent, 0 failures');
    const bad = await sync(['apply', '-f', 'beat.yaml'], 'text', { env: { ECRCTL_SYNC_HEARTBEAT: 'often' } });
    expect(bad.code).toBe(2);
    expect(bad.error).toContain('ECRCTL_SYNC_HEARTBEAT is a duration such as 30s');
    const off: string[] = [];
    await sync(['apply', '-f', 'beat.yaml'], 'text', { env: { ECRCTL_SYNC_HEARTBEAT: '0' }, logs: off });
    expect(off.filter((l) => l.startsWith('sync: '))).toEqual([]);
  });
});

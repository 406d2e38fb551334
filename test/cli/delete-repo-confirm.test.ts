// `delete-repo` asks on a terminal (issue 21 #20): "Delete repository X with N images? [y/N]";
// y or yes deletes it with its images, anything else deletes nothing (exit 1); --force and
// --yes do not ask; without a terminal (CI, pipes) it keeps refusing a repository with images
// unless --force. Driven twice: through main() with a stdin and stderr that say they are
// terminals, and in a real pseudo-terminal under util-linux `script` (the CLI from source
// through tsx: the cli tier has no build, and a pty is what matters here).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { CreateRepositoryCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv } from '../helpers/cli.js';
import { makeImages, type RepoTestEnv, startRepoEnv } from './repos-fixtures.js';

let env: RepoTestEnv;
beforeAll(async () => {
  env = await startRepoEnv();
});
afterAll(async () => {
  await env.close();
});

function cliEnv(): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    HOME: path.join(env.dir, 'home'),
  };
}

async function repoWithImages(name: string, images: number): Promise<void> {
  await env.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  if (images > 0) await makeImages(env.ecr, name, images, { seed: name });
}

async function exists(name: string): Promise<boolean> {
  try {
    await env.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs ecrctl in this process with a stdin and a stderr that are terminals; types `answer`
 * (a line, or nothing: end of input) only once the question is on stderr.
 */
async function runOnTerminal(
  args: readonly string[],
  answer: string | undefined,
): Promise<{ code: number; stdout: string; stderr: string; asked: number }> {
  // runCli once first: it makes this process's environment hermetic (no developer AWS_*).
  await env.cli(['--version']);
  const { main } = await import('../../src/cli/main.js');
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  let stdout = '';
  let stderr = '';
  let asked = 0;
  const code = await main(['--endpoint-url', env.endpoint, ...args], {
    stdout: {
      write: (s) => {
        stdout += s;
      },
      isTTY: true,
    },
    stderr: {
      write: (s) => {
        stderr += s;
        if (s.endsWith('[y/N] ')) {
          asked++;
          if (answer === undefined) stdin.end();
          else stdin.end(`${answer}\n`);
        }
      },
      isTTY: true,
    },
    env: cliEnv(),
    cwd: env.dir,
    stdin,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr, asked };
}

describe('delete-repo on a terminal', () => {
  it('asks "Delete repository X with N images? [y/N]"; y deletes it with its images', async () => {
    await repoWithImages('ask/yes', 3);
    const r = await runOnTerminal(['delete-repo', 'ask/yes'], 'y');
    expect(r.stderr).toContain('Delete repository ask/yes with 3 images? [y/N] ');
    expect(r.asked).toBe(1);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('deleted repository ask/yes and its 3 images');
    expect(await exists('ask/yes')).toBe(false);
    await repoWithImages('ask/yes-word', 1);
    const word = await runOnTerminal(['delete-repo', 'ask/yes-word'], 'YES');
    expect(word.stderr).toContain('Delete repository ask/yes-word with 1 image? [y/N] ');
    expect(word.code, word.stderr).toBe(0);
    expect(await exists('ask/yes-word')).toBe(false);
  });

  it.each([
    ['n', 'n'],
    ['an empty line', ''],
    ['"yep"', 'yep'],
    ['the end of input', undefined],
  ])('anything but y/yes (%s) aborts with exit 1 and deletes nothing', async (_label, answer) => {
    const name = `ask/no-${Math.random().toString(36).slice(2, 8)}`;
    await repoWithImages(name, 2);
    const before = env.server.calls.length;
    const r = await runOnTerminal(['delete-repo', name], answer);
    expect(r.asked).toBe(1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: repository ${name} not deleted: the answer was not yes`);
    expect(r.stdout).toBe('');
    expect(env.server.calls.slice(before)).not.toContain('ecr:DeleteRepository');
    expect(await exists(name)).toBe(true);
  });

  it('asks for an empty repository too; --force and --yes do not ask', async () => {
    await repoWithImages('ask/empty', 0);
    const empty = await runOnTerminal(['delete-repo', 'ask/empty'], 'n');
    expect(empty.stderr).toContain('Delete repository ask/empty with 0 images? [y/N] ');
    expect(empty.code).toBe(1);
    expect(await exists('ask/empty')).toBe(true);
    const yes = await runOnTerminal(['delete-repo', 'ask/empty', '--yes'], 'n');
    expect(yes.asked).toBe(0);
    expect(yes.code, yes.stderr).toBe(0);
    expect(await exists('ask/empty')).toBe(false);

    await repoWithImages('ask/force', 2);
    const force = await runOnTerminal(['delete-repo', 'ask/force', '--force'], 'n');
    expect(force.asked).toBe(0);
    expect(force.code, force.stderr).toBe(0);
    expect(await exists('ask/force')).toBe(false);

    // --yes skips the question only: a repository with images still needs --force
    await repoWithImages('ask/yes-full', 2);
    const refused = await runOnTerminal(['delete-repo', 'ask/yes-full', '--yes'], 'y');
    expect(refused.asked).toBe(0);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('repository ask/yes-full holds 2 images; not deleted');
    expect(await exists('ask/yes-full')).toBe(true);
  });

  it('--dry-run does not ask', async () => {
    await repoWithImages('ask/dry', 1);
    const r = await runOnTerminal(['delete-repo', 'ask/dry', '--dry-run', '--force'], 'n');
    expect(r.asked).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^would delete .*\/ask\/dry\n$/);
    expect(await exists('ask/dry')).toBe(true);
  });
});

describe('delete-repo without a terminal', () => {
  it('never asks: a repository with images is refused without --force, as before', async () => {
    await repoWithImages('pipe/full', 2);
    const r = await env.cli(['delete-repo', 'pipe/full']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('[y/N]');
    expect(r.stderr).toContain('repository pipe/full holds 2 images; not deleted');
    expect(await exists('pipe/full')).toBe(true);
  });
});

describe('delete-repo in a real pseudo-terminal (util-linux script)', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  /** Runs ecrctl under `script` (a pty for its stdin and stderr); types answer after the question. */
  function underScript(args: readonly string[], answer: string): Promise<{ code: number | null; out: string }> {
    expect(existsSync('/usr/bin/script'), 'util-linux script is needed for this test').toBe(true);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const bin = path.join(root, 'src/cli/bin.ts');
    const command = [process.execPath, '--import', 'tsx', bin, '--endpoint-url', env.endpoint, ...args]
      .map(quote)
      .join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
        cwd: root,
        env: cliEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let typed = false;
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (!typed && out.includes('[y/N] ')) {
          typed = true;
          child.stdin.write(`${answer}\n`);
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  it('asks on the terminal; "n" keeps the repository (exit 1), "y" deletes it (exit 0)', async () => {
    await repoWithImages('pty/app', 2);
    const no = await underScript(['delete-repo', 'pty/app'], 'n');
    expect(no.out).toContain('Delete repository pty/app with 2 images? [y/N] ');
    expect(no.out).toContain('not deleted: the answer was not yes');
    expect(no.code).toBe(1);
    expect(await exists('pty/app')).toBe(true);
    const yes = await underScript(['delete-repo', 'pty/app'], 'y');
    expect(yes.out).toContain('Delete repository pty/app with 2 images? [y/N] ');
    expect(yes.code, yes.out).toBe(0);
    expect(yes.out).toContain('deleted repository pty/app and its 2 images');
    expect(await exists('pty/app')).toBe(false);
  });
});

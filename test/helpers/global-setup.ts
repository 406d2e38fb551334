// Builds the CLI once per test run into its own directory, so that tests that run the real
// `ecrctl` process (real argv, exit codes, signals) have one and parallel runs never share a
// dist/. The cli and e2e projects both list this file; a run of both builds once (the build
// is shared through this process's environment and counted, and removed after the last).
// The cli project needs no build when every runCli call there is in-process.
// Type errors do not stop the build (tsc still emits); `npm run typecheck` catches them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { SPAWNED } from './cli.js';

const root = path.resolve(import.meta.dirname, '../..');

interface SharedBuild {
  dir: string;
  users: number;
}

// Each project loads this module on its own; what they share lives on globalThis.
const key = Symbol.for('ecrctl.test-build');
const shared = globalThis as { [key]?: SharedBuild };

export default function setup(project: TestProject): (() => void) | undefined {
  const needed = project.name !== 'cli' || process.env.ECRCTL_TEST_SPAWN === '1' || Object.keys(SPAWNED).length > 0;
  if (!needed) return undefined;
  let build = shared[key];
  if (!build) {
    build = { dir: buildCli(), users: 0 };
    shared[key] = build;
    process.env.ECRCTL_TEST_BUILD = build.dir;
  }
  build.users++;
  const mine = build;
  return () => {
    if (--mine.users > 0) return;
    rmSync(mine.dir, { recursive: true, force: true });
    delete shared[key];
    delete process.env.ECRCTL_TEST_BUILD;
  };
}

/** Compiles src/ into .test-build/<pid>/dist and returns .test-build/<pid>. */
function buildCli(): string {
  const out = path.join(root, '.test-build', `${process.pid}`);
  mkdirSync(out, { recursive: true });
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(out, 'dist'),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (!existsSync(path.join(out, 'dist/cli/bin.js'))) {
    throw new Error(`building the CLI for the tests failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  if (tsc.status !== 0) console.warn('note: the CLI built with type errors (npm run typecheck shows them)');
  // dist/ finds the version in ../package.json, as in an installed package.
  copyFileSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
  return out;
}

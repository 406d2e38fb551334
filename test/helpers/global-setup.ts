// Builds the CLI once per test run into its own directory, so that tests run the real
// `ecrctl` process (real argv, exit codes, signals) and parallel runs never share a dist/.
// Type errors do not stop the build (tsc still emits); `npm run typecheck` catches them.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export default function setup(): () => void {
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
  process.env.ECRCTL_TEST_BUILD = out;
  return () => rmSync(out, { recursive: true, force: true });
}

// Builds the CLI once per test run into its own directory, so that tests run the real
// `ecrctl` process (real argv, exit codes, signals) and parallel runs never share a dist/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export default function setup(): () => void {
  const out = path.join(root, '.test-build', `${process.pid}`);
  mkdirSync(out, { recursive: true });
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(out, 'dist')],
    { cwd: root, stdio: 'inherit' },
  );
  process.env.ECRCTL_TEST_BUILD = out;
  return () => rmSync(out, { recursive: true, force: true });
}

import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// Three tiers (`npx vitest run --project unit|cli|e2e`; `npm test` runs all three):
// - unit: modules called in-process, with loopback servers and the odd skopeo/git run as
//   independent clients. Every test file not claimed by cli or e2e is unit, so a new file
//   always runs somewhere.
// - cli: ecrctl's commands through runCli (test/helpers/cli.ts), which calls main() in the test
//   process; ECRCTL_TEST_SPAWN=1 runs them as child processes instead, for comparison.
// - e2e: the built binaries as real processes: signals, exit codes of the process,
//   docker-credential-ecrctl run by skopeo/Docker, shell examples, fresh-process checks, the
//   packed library, and the slow field and resilience suites. .ci/run runs it on one Node
//   version only.
const CLI = ['test/cli/**/*.test.ts', 'test/oci/hostile-registry.test.ts'];
const E2E = [
  'test/resilience/**/*.test.ts',
  'test/field/**/*.test.ts',
  'test/examples*.test.ts',
  'test/credential-helper.test.ts',
  'test/import-side-effects.test.ts',
  'test/library-package.test.ts',
  'test/local/serve-cli.test.ts',
  'test/action/**/*.test.ts',
];

export default defineConfig({
  test: {
    // Every test file starts its own loopback servers in its own temp dir, so files run in
    // parallel; the registry and CLI child processes make some tests slow on 2 cores.
    pool: 'forks',
    // Most test time is waiting (on loopback servers, child processes, timeouts), so one file
    // more than there are cores keeps them busy; vitest's default is one fewer (1 on 2 cores).
    maxWorkers: availableParallelism() + 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that use the SDK in-process would print its Node 20 notice once per file.
    env: { AWS_EC2_METADATA_DISABLED: 'true', NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...CLI, ...E2E] },
      },
      {
        extends: true,
        // The build is made only if some runCli call will spawn (see global-setup.ts).
        test: { name: 'cli', include: CLI, globalSetup: ['test/helpers/global-setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          globalSetup: ['test/helpers/global-setup.ts'],
          // runCli spawns the built binary here, as a user runs it.
          env: { ECRCTL_TEST_SPAWN: '1' },
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test file starts its own loopback servers in its own temp dir, so files run in
    // parallel; the registry and CLI child processes make some tests slow on 2 cores.
    pool: 'forks',
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that use the SDK in-process would print its Node 20 notice once per file.
    env: { AWS_EC2_METADATA_DISABLED: 'true', NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});

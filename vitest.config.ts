import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: integration suites start daemons and VMs; running files one at a time
    // keeps timing-sensitive tests (ping-timeout, rates) honest.
    fileParallelism: false,
    pool: 'forks',
  },
});

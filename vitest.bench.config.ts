import { defineConfig } from 'vitest/config';

// Benchmarks: test/bench/*.bench.test.ts, each prints ratios against a baseline measured in
// the same run (this machine is shared and noisy; absolute numbers mean little).
export default defineConfig({
  test: {
    include: ['test/bench/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: 'forks',
  },
});

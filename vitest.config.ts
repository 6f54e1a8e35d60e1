import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The chaos suite's quick form (chaos/quick.chaos.test.ts, about 2 minutes on both cores) only with CHAOS=1.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', ...(process.env.CHAOS === '1' ? ['chaos/**/*.chaos.test.ts'] : [])],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: integration files each start servers and pools, so run two at a time.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: integration files each start servers and pools, so run two at a time.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});

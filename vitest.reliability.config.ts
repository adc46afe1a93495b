import { defineConfig } from 'vitest/config';

// `npm run test:reliability`: real processes, real PostgreSQL, injected faults. One file at a time:
// the scenarios load the machine on purpose and would distort each other.
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/helpers/build.ts', 'test/reliability/summary.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault-injection scenarios run separately: npm run test:reliability.
    exclude: ['test/reliability/**', 'node_modules/**'],
    // Builds dist/ui when it is missing or stale: the gateway serves the UI from there.
    globalSetup: ['test/helpers/ui-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two files at a time keeps PGlite start-up and PostgreSQL from starving each other.
    maxWorkers: 2,
  },
});

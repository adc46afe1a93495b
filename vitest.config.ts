import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault-injection scenarios run separately: npm run test:reliability.
    exclude: ['test/reliability/**', 'node_modules/**'],
    // Tests that run the compiled gateway (dist/) get it built from the current sources first
    // (`npm run build`: server and UI); ui-build.ts then finds dist/ui fresh.
    globalSetup: ['test/helpers/build.ts', 'test/helpers/ui-build.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two files at a time keeps PGlite start-up and PostgreSQL from starving each other.
    maxWorkers: 2,
  },
});

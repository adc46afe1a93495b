import { defineConfig } from 'drizzle-kit';

// Only used by `npm run db:generate` to turn src/db/schema.ts into SQL files in migrations/.
export default defineConfig({
  dialect: 'postgresql',
  schema: [
    './src/db/schema.ts',
    './src/db/schema-deliveries.ts',
    './src/db/schema-poll.ts',
    './src/db/schema-stats.ts',
    './src/db/schema-access.ts',
    './src/db/schema-alerts.ts',
    './src/db/schema-control.ts',
  ],
  out: './migrations',
});

import cron from 'node-cron';
import { z } from 'zod';
import { positiveInt, timerMs, wholeNumber } from './fields';

// Where events are stored (embedded PGlite or PostgreSQL), the sessions' limits, and how long
// finished events are kept.

export const databaseVariables = z.object({
  // postgres.js reads any URL as PostgreSQL's: mysql://u@h/db connected to h:5432 as u.
  DATABASE_URL: z
    .url({
      protocol: /^postgres(ql)?$/,
      error: 'must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@host:5432/db',
    })
    .optional(),
  DATA_DIR: z.string().default('./data'),
  DB_POOL_SIZE: positiveInt(10),
  DB_CONNECT_TIMEOUT_SECONDS: positiveInt(5),
  DB_WRITE_TIMEOUT_MS: timerMs(5_000),
  /** statement_timeout of an operator's event search and bulk-replay count (0: none). */
  DB_SEARCH_TIMEOUT_MS: wholeNumber(z.number().max(3_600_000)).default(15_000),
  /** backend_flush_after of the gateway's PostgreSQL sessions, in kB (0: the server's setting). */
  DB_BACKEND_FLUSH_AFTER_KB: wholeNumber(z.number().max(2048)).default(256),
  RETENTION_COMPLETED_DAYS: positiveInt(30),
  RETENTION_FAILED_DAYS: positiveInt(90),
  RETENTION_CRON: z
    .string()
    .default('17 * * * *')
    .refine((expr) => cron.validate(expr), 'not a valid cron expression'),
});

export type DatabaseEnv = z.infer<typeof databaseVariables>;

export interface DatabaseSettings {
  database: {
    url?: string;
    dataDir: string;
    poolSize: number;
    connectTimeoutSeconds: number;
    writeTimeoutMs: number;
    backendFlushAfterKb: number;
    /** Longest an operator's event search may run before the database stops it (0: no limit). */
    searchTimeoutMs: number;
  };
  retention: { completedDays: number; failedDays: number; cron: string; batchSize: number };
}

/** The database and retention settings from their validated variables. */
export function databaseSettings(e: DatabaseEnv): DatabaseSettings {
  return {
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutSeconds: e.DB_CONNECT_TIMEOUT_SECONDS,
      writeTimeoutMs: e.DB_WRITE_TIMEOUT_MS,
      backendFlushAfterKb: e.DB_BACKEND_FLUSH_AFTER_KB,
      searchTimeoutMs: e.DB_SEARCH_TIMEOUT_MS,
    },
    retention: {
      completedDays: e.RETENTION_COMPLETED_DAYS,
      failedDays: e.RETENTION_FAILED_DAYS,
      cron: e.RETENTION_CRON,
      batchSize: 1000,
    },
  };
}

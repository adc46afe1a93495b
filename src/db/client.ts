import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema';

export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The gateway's handle on its database, whichever engine is behind it. */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Drizzle;
  /** Runs a raw statement and returns its rows (postgres.js and PGlite shape results differently). */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  close(): Promise<void>;
  /** postgres.js client, for LISTEN/NOTIFY and dedicated connections; absent on PGlite. */
  readonly sql?: postgres.Sql;
  readonly pglite?: PGlite;
}

export interface DatabaseOptions {
  /** postgres:// URL; without it an embedded PGlite database is used. */
  url?: string;
  /** PGlite data directory; `memory://` keeps everything in memory. */
  dataDir?: string;
  poolSize?: number;
  connectTimeoutSeconds?: number;
}

/** Opens PostgreSQL (when a URL is given) or embedded PGlite. Nothing connects before this is called. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  return openPglite(options.dataDir ?? './data');
}

function openPostgres(url: string, options: DatabaseOptions): Database {
  const sql = postgres(url, {
    max: options.poolSize ?? 10,
    // Fail fast when the server is gone so ingest can answer 503 instead of hanging.
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    // postgres.js's default reconnect backoff grows to 20 s; after an outage that left the gateway
    // answering 503 for tens of seconds after the database was back. Capped at 1 s (with jitter).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    connection: { application_name: 'webhook-gateway' },
  });
  const db = drizzlePostgres(sql, { schema }) as unknown as Drizzle;
  return {
    kind: 'postgres',
    db,
    sql,
    rows: async <T>(query: SQL) => (await db.execute(query)) as unknown as T[],
    close: () => sql.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(inMemory ? undefined : dataDir);
  const db = drizzlePglite(pglite, { schema }) as unknown as Drizzle;
  return {
    kind: 'pglite',
    db,
    pglite,
    rows: async <T>(query: SQL) => ((await db.execute(query)) as unknown as { rows: T[] }).rows,
    close: () => pglite.close(),
  };
}

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client';
import { runMigrations } from '../../src/db/migrate';

export type DatabaseKind = 'pglite' | 'postgres';

/** PGlite always; real PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). */
export function databaseKinds(): DatabaseKind[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export const postgresUrl = () => process.env.TEST_DATABASE_URL;

export interface TestDatabase {
  kind: DatabaseKind;
  /** Set for PostgreSQL: the URL of this test's own database. */
  url?: string;
  /** Opens a connection (a new pool each call on PostgreSQL). */
  open(options?: { poolSize?: number }): Promise<Database>;
  /** Drops the database (PostgreSQL) after closing every connection opened through open(). */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: an in-memory PGlite, or a randomly named database on
 * the PostgreSQL server at TEST_DATABASE_URL, dropped afterwards.
 */
export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const opened: Database[] = [];
  if (kind === 'pglite') {
    let shared: Database | undefined;
    return {
      kind,
      // PGlite is one in-process database: every open() returns the same instance.
      open: async () => (shared ??= await openDatabase({ dataDir: 'memory://' })),
      drop: async () => {
        await shared?.close().catch(() => {});
      },
    };
  }
  const adminUrl = postgresUrl();
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set');
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  return {
    kind,
    url,
    open: async (options) => {
      const db = await openDatabase({ url, poolSize: options?.poolSize ?? 5, connectTimeoutSeconds: 2 });
      opened.push(db);
      return db;
    },
    drop: async () => {
      await Promise.all(opened.map((db) => db.close().catch(() => {})));
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A fresh database for the current test file, migrated, opened once and dropped after the file
 * (vitest hooks). Read `.testDb` and `.database` inside tests, after beforeAll has run.
 */
export function useMigratedDatabase(kind: DatabaseKind) {
  const handle = { testDb: undefined as unknown as TestDatabase, database: undefined as unknown as Database };
  beforeAll(async () => {
    handle.testDb = await createTestDatabase(kind);
    handle.database = await handle.testDb.open();
    await runMigrations(handle.database, handle.testDb.url);
  });
  afterAll(() => handle.testDb?.drop());
  return handle;
}

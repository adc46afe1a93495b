// /readyz's migration check (src/db/health.ts): ready only when every migration this build ships
// has been applied, and not ready (migrations: pending) when the database lacks one — a database
// an older build migrated, say. The shipped count is read once per process.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { checkReadiness } from '../src/db/health';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';

describe.each(databaseKinds())('readiness and migrations, on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase(kind);
    database = await testDb.open();
    await runMigrations(database, testDb.url);
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    await testDb?.drop();
  });

  it('is ready with every migration applied, pending without the newest, ready again once it is back', async () => {
    expect(await checkReadiness(database)).toEqual({ ready: true, checks: { database: 'ok', migrations: 'ok' } });
    const [newest] = await database.rows<{ id: number; hash: string; created_at: string }>(
      sql`select id, hash, created_at::text from drizzle.__drizzle_migrations order by id desc limit 1`,
    );
    await database.rows(sql`delete from drizzle.__drizzle_migrations where id = ${newest!.id}`);
    expect(await checkReadiness(database)).toEqual({
      ready: false,
      checks: { database: 'ok', migrations: 'pending' },
    });
    await database.rows(
      sql`insert into drizzle.__drizzle_migrations (id, hash, created_at) values (${newest!.id}, ${newest!.hash}, ${newest!.created_at}::bigint)`,
    );
    expect((await checkReadiness(database)).ready).toBe(true);
  });
});

// Migration 0023: the day partitions of webhook_events put headers and body last and leave room on
// each page, so the worker's outcome writes the new row version next to the old one and PostgreSQL
// logs the update without the body (docs/performance.md, *Where the WAL goes*). Checked here by
// what the layout is and where row versions land; the WAL it saves is measured by `npm run bench`.
import { rmSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore } from '../src/store/events';
import { createGroupCommit } from '../src/store/group-commit';
import { createQueue } from '../src/worker/queue-sql';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { migrateFrom, migrationsBefore } from './helpers/migrations';
import { storeEventBefore0025 } from './helpers/previous-release';

interface Layout {
  name: string;
  options: string | null;
  /** Column names in the partition's own (physical) order. */
  columns: string[];
}

async function layouts(database: Database, parent: string): Promise<Layout[]> {
  const rows = await database.rows<{ name: string; options: string | null; columns: string }>(sql`
    select c.relname as name, array_to_string(c.reloptions, ',') as options,
           (select string_agg(a.attname, ',' order by a.attnum) from pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${parent}::regclass and c.relname ~ '_p[0-9]{8}$' order by 1`);
  return rows.map((r) => ({ name: r.name, options: r.options, columns: r.columns.split(',') }));
}

const todayName = () => `webhook_events_p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
// A 1.5 KB body, as the bench sends: a ~1.9 KB archive row, two to a page at fillfactor 50.
const body = (n: number) => Buffer.from(JSON.stringify({ n, pad: 'x'.repeat(1_480) }));

describe.each(databaseKinds())('archive row layout (migration 0023) on %s', (kind) => {
  const opened: TestDatabase[] = [];
  const folders: string[] = [];
  afterAll(async () => {
    for (const testDb of opened) await testDb.drop();
    for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  });

  async function freshDatabase(): Promise<{ testDb: TestDatabase; database: Database }> {
    const testDb = await createTestDatabase(kind);
    opened.push(testDb);
    return { testDb, database: await testDb.open() };
  }

  it('makes every day of events with headers and body last and fillfactor 50; the logs keep their layout', async () => {
    const { testDb, database } = await freshDatabase();
    await runMigrations(database, testDb.url);
    const events = await layouts(database, 'webhook_events');
    expect(events.length).toBeGreaterThanOrEqual(8); // today and a week ahead
    for (const partition of events) {
      expect(partition.columns.slice(-2)).toEqual(['headers', 'body']);
      expect(partition.options).toBe('fillfactor=50');
    }
    const [parent] = await database.rows<{ columns: string }>(sql`
      select string_agg(attname, ',' order by attnum) as columns from pg_attribute
      where attrelid = 'webhook_events'::regclass and attnum > 0 and not attisdropped`);
    expect([...events[0]!.columns].sort()).toEqual(parent!.columns.split(',').sort());
    for (const partition of await layouts(database, 'processing_log')) expect(partition.options).toBeNull();

    // A row that waited in the default partition moves into its new day with every value intact.
    await database.rows(sql`
      insert into webhook_events (source, webhook_id, account, topic, status, body, headers, attempts, max_attempts,
                                  last_error, received_at, processed_at, content_hash, replayed_at, ordering_key, request_target)
      values ('later', 'l1', 'acct', 't', 'failed', '\\x00ff7b7d', '{"x-a":"1"}', 3, 5, 'boom',
              now() + interval '40 days', now() + interval '40 days', sha256('\\x00ff7b7d'), now(), 'k', '/hooks?x=1')`);
    const row = sql`select to_jsonb(e) - 'id' as row, e.id, tableoid::regclass::text as home from webhook_events e where webhook_id = 'l1'`;
    const [before] = await database.rows<{ row: unknown; id: unknown; home: string }>(row);
    expect(before!.home).toBe('webhook_events_default');
    await database.rows(
      sql`select gateway_ensure_partition('webhook_events', ((now() + interval '40 days') at time zone 'UTC')::date)`,
    );
    const [after] = await database.rows<{ row: unknown; id: unknown; home: string }>(row);
    expect(after!.home).toMatch(/^webhook_events_p\d{8}$/);
    expect({ row: after!.row, id: after!.id }).toEqual({ row: before!.row, id: before!.id });
  }, 120_000);

  it("keeps each event's row version on its page through the worker's outcome, body unchanged", async () => {
    const { testDb, database } = await freshDatabase();
    await runMigrations(database, testDb.url);
    const store = createEventStore(database);
    const batcher = createGroupCommit({ database, store });
    const bodies = Array.from({ length: 24 }, (_, i) => body(i));
    await Promise.all(
      bodies.map((b, i) =>
        batcher.insert({
          source: 'layout',
          webhookId: `w${i}`,
          topic: 't',
          body: b,
          headers: { 'x-n': String(i) },
          maxAttempts: 8,
        }),
      ),
    );
    const placement = () =>
      database.rows<{ webhook_id: string; page: string; status: string; body: Buffer | Uint8Array }>(sql`
        select webhook_id, split_part(trim(both '()' from ctid::text), ',', 1) as page, status, body
        from webhook_events where source = 'layout' order by id`);
    const before = await placement();
    expect(before).toHaveLength(24);
    expect(new Set(before.map((r) => r.page)).size).toBe(12); // two rows to a page

    const queue = createQueue(database);
    const claimed = await queue.claim('layout-host:1', 50);
    expect(claimed).toHaveLength(24);
    const written = await queue.finishMany(claimed.map((event) => ({ event, result: { outcome: 'completed' } })));
    expect(written.size).toBe(24);

    const after = await placement();
    expect(after.map((r) => r.status)).toEqual(Array(24).fill('completed'));
    expect(after.map((r) => r.page)).toEqual(before.map((r) => r.page));
    expect(after.map((r) => Buffer.from(r.body).equals(bodies[Number(r.webhook_id.slice(1))]!))).toEqual(
      Array(24).fill(true),
    );
  }, 120_000);

  it('upgrading: a day that holds events keeps its layout and rows; the empty days ahead get the new one', async () => {
    const { testDb, database } = await freshDatabase();
    const folder = migrationsBefore(23);
    folders.push(folder);
    await migrateFrom(folder, database, testDb);
    expect((await layouts(database, 'webhook_events')).every((p) => p.columns.at(-1) !== 'body')).toBe(true);
    // Stored as that release did (its queue rows had no source column yet: migration 0025).
    await storeEventBefore0025(database, { source: 'up', webhookId: 'u1', body: body(1) });

    await runMigrations(database, testDb.url);
    const store = createEventStore(database);

    const events = await layouts(database, 'webhook_events');
    const today = events.find((p) => p.name === todayName())!;
    expect(today.columns.at(-1)).not.toBe('body');
    expect(today.options).toBeNull();
    const ahead = events.filter((p) => p.name > todayName());
    expect(ahead.length).toBeGreaterThanOrEqual(7);
    for (const partition of ahead) expect(partition.columns.slice(-2)).toEqual(['headers', 'body']);
    const [kept] = await database.rows<{ body: Buffer | Uint8Array; home: string }>(sql`
      select body, tableoid::regclass::text as home from webhook_events where webhook_id = 'u1'`);
    expect(kept!.home).toBe(todayName());
    expect(Buffer.from(kept!.body).equals(body(1))).toBe(true);
    // Ingest goes on into the day of the old layout.
    expect(
      (await store.insert({ source: 'up', webhookId: 'u2', topic: 't', body: body(2), headers: {}, maxAttempts: 8 }))
        .status,
    ).toBe('accepted');
  }, 120_000);
});

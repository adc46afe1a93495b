import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client';
import { runMigrations } from '../src/db/migrate';
import { createEventStore, type NewEvent } from '../src/store/events';
import { createGroupCommit } from '../src/store/group-commit';
import { createTestDatabase, databaseKinds, useMigratedDatabase } from './helpers/database';
import { proxyDatabase } from './helpers/tcp-proxy';

const event = (webhookId: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  source: 'gc',
  webhookId,
  topic: 't',
  body: Buffer.from(`{"id":"${webhookId}"}`),
  headers: { 'content-type': 'application/json' },
  maxAttempts: 8,
  ...extra,
});

/** Lets the batcher start the write it scheduled (it flushes after the current event-loop turn). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe.each(databaseKinds())('group commit on %s', (kind) => {
  const migrated = useMigratedDatabase(kind);

  const batcher = (options: { maxBatch?: number; maxQueuedBytes?: number } = {}) =>
    createGroupCommit({ database: migrated.database, store: createEventStore(migrated.database), ...options });

  /** The transaction that wrote each row: rows of one multi-row insert share it. */
  async function writers(webhookIds: string[]): Promise<Map<string, string>> {
    const rows = await migrated.database.rows<{ webhook_id: string; xmin: string }>(
      // xmin::text: PGlite and postgres.js disagree about the xid type otherwise.
      sql`select webhook_id, xmin::text as xmin from webhook_events where source = 'gc' and webhook_id in ${webhookIds}`,
    );
    return new Map(rows.map((r) => [r.webhook_id, r.xmin]));
  }

  it('a lone request is written at once, by itself, and answered after its commit', async () => {
    const result = await batcher().insert(event('lone'));
    expect(result).toEqual({ status: 'accepted', id: expect.any(Number) });
    // Answered means committed: a fresh connection (another pool on PostgreSQL) sees the row.
    const other = await migrated.testDb.open();
    const seen = await other.rows(sql`select id from webhook_events where webhook_id = 'lone'`);
    expect(seen.map((r) => Number(r.id))).toEqual([(result as { id: number }).id]);
  });

  it('requests arriving while a write is in flight are written together by one insert', async () => {
    const gc = batcher();
    const first = gc.insert(event('wave-0'));
    await nextTurn(); // the first write is under way
    const ids = Array.from({ length: 20 }, (_, i) => `wave-${i + 1}`);
    const rest = ids.map((id) => gc.insert(event(id)));
    const results = await Promise.all([first, ...rest]);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    expect(new Set(results.map((r) => (r as { id: number }).id)).size).toBe(21);
    const written = await writers(['wave-0', ...ids]);
    expect(written.size).toBe(21);
    // The 20 that queued behind the first write share one transaction.
    expect(new Set(ids.map((id) => written.get(id))).size).toBe(1);
  });

  it('one insert of many rows stores each body byte for byte: any length, empty, not UTF-8', async () => {
    // The batch's bodies travel as one bytea that each row slices (src/store/event-insert.ts): an
    // offset off by one would shift every body after the first into its neighbour's bytes.
    const bodies = [
      Buffer.from('{"a":1}'),
      Buffer.alloc(0),
      Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x5c, 0x78, 0x30, 0x30]), // NUL, invalid UTF-8, a literal "\x00"
      Buffer.from('{"b":"ü €"}\n'),
      Buffer.alloc(70_000, 0xab),
      Buffer.from('x'),
    ];
    const gc = batcher();
    const first = gc.insert(event('bytes-0', { body: Buffer.from('lead') }));
    await nextTurn(); // the first write is under way: the rest queue behind it and share one insert
    const ids = bodies.map((_, i) => `bytes-${i + 1}`);
    const results = await Promise.all([first, ...ids.map((id, i) => gc.insert(event(id, { body: bodies[i]! })))]);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    const written = await writers(ids);
    expect(new Set(ids.map((id) => written.get(id))).size).toBe(1);
    const stored = await migrated.database.rows<{ webhook_id: string; body: Uint8Array; hash_ok: boolean }>(
      sql`select webhook_id, body, content_hash = sha256(body) as hash_ok from webhook_events
          where source = 'gc' and webhook_id in ${ids}`,
    );
    const byId = new Map(stored.map((r) => [r.webhook_id, r]));
    ids.forEach((id, i) => {
      expect(Buffer.from(byId.get(id)!.body).equals(bodies[i]!), id).toBe(true);
      expect(byId.get(id)!.hash_ok, id).toBe(true);
    });
  });

  it('a batch never exceeds maxBatch rows', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `split-${i}`);
    const gc = batcher({ maxBatch: 10 });
    const results = await Promise.all(ids.map((id) => gc.insert(event(id))));
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    const written = await writers(ids);
    expect(new Set(written.values()).size).toBe(3);
  });

  it('copies of one id in a batch: the first is accepted, the others are duplicates; one row', async () => {
    const gc = batcher();
    await gc.insert(event('stored-before'));
    const answers = await Promise.all([
      gc.insert(event('twin')),
      gc.insert(event('other-1')),
      gc.insert(event('twin')),
      gc.insert(event('stored-before')),
      gc.insert(event('twin')),
      gc.insert(event('other-2')),
    ]);
    expect(answers.map((a) => a.status)).toEqual([
      'accepted',
      'accepted',
      'duplicate',
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    const twins = await migrated.database.rows(sql`select id from webhook_events where webhook_id = 'twin'`);
    expect(twins.map((r) => Number(r.id))).toEqual([(answers[0] as { id: number }).id]);
  });

  it('copies with other bytes are conflicts, in one batch or later, each distinct body kept once', async () => {
    const gc = batcher();
    const copy = (text: string, extra: Partial<NewEvent> = {}) => event('clash', { body: Buffer.from(text), ...extra });
    const answers = await Promise.all([copy('A'), copy('B'), copy('A'), copy('B'), copy('C')].map((e) => gc.insert(e)));
    const id = (answers[0] as { id: number }).id;
    expect(answers).toEqual([
      { status: 'accepted', id },
      { status: 'conflict', eventId: id },
      { status: 'duplicate' },
      { status: 'conflict', eventId: id },
      { status: 'conflict', eventId: id },
    ]);
    // Later copies, batched and through the nonce path (the event store's own insert).
    expect(await gc.insert(copy('B'))).toEqual({ status: 'conflict', eventId: id });
    expect(await gc.insert(copy('D', { nonce: 'clash-nonce' }))).toEqual({ status: 'conflict', eventId: id });
    expect(await gc.insert(copy('A', { nonce: 'clash-nonce-2' }))).toEqual({ status: 'duplicate' });
    const kept = await migrated.database.rows<{ body: Buffer; body_size: number }>(
      sql`select body, body_size from event_conflicts where event_id = ${id} order by id`,
    );
    expect(kept.map((r) => Buffer.from(r.body).toString()).sort()).toEqual(['B', 'C', 'D']);
    expect(kept.map((r) => r.body_size)).toEqual([1, 1, 1]);
  });

  it('a row the database refuses fails only its own request, not its neighbours', async () => {
    const gc = batcher();
    const answers = await Promise.allSettled([
      gc.insert(event('good-1')),
      gc.insert(event('poison', { topic: 'nul\u0000byte' })), // text cannot hold U+0000
      gc.insert(event('good-2')),
      gc.insert(event('poison', { topic: 'nul\u0000byte' })),
      gc.insert(event('good-3')),
    ]);
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(answers.filter((a) => a.status === 'fulfilled').map((a) => a.value.status)).toEqual([
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect((await writers(['good-1', 'good-2', 'good-3', 'poison'])).size).toBe(3);
  });

  it('an event with a nonce is written with its nonce in one transaction', async () => {
    const gc = batcher();
    expect(await gc.insert(event('nonce-1', { nonce: 'n-1' }))).toEqual({ status: 'accepted', id: expect.any(Number) });
    expect(await gc.insert(event('nonce-2', { nonce: 'n-1' }))).toEqual({ status: 'replayed' });
    expect(await gc.insert(event('nonce-1', { nonce: 'n-1' }))).toEqual({ status: 'duplicate' });
    expect((await writers(['nonce-1', 'nonce-2'])).size).toBe(1);
  });

  it('refuses new events at once while more bytes than allowed wait for the database', async () => {
    const gc = batcher({ maxQueuedBytes: 30 });
    const first = gc.insert(event('queued-1')); // 17 bytes: taken
    const second = gc.insert(event('queued-2')); // would make 34: refused
    await expect(second).rejects.toThrow(/ingest queue full/);
    expect((await first).status).toBe('accepted');
  });

  it('an event still queued after maxWaitMs is not written: its request fails (503), the sender retries', async () => {
    let clock = 0;
    const gc = createGroupCommit({
      database: migrated.database,
      store: createEventStore(migrated.database),
      maxWaitMs: 1000,
      now: () => clock,
    });
    const first = gc.insert(event('in-time'));
    await nextTurn(); // its write is under way
    const late = gc.insert(event('too-late'));
    clock += 2000; // the write in flight took longer than the late event may wait
    expect((await first).status).toBe('accepted');
    await expect(late).rejects.toMatchObject({ code: 'storage_timeout' });
    expect([...(await writers(['in-time', 'too-late'])).keys()]).toEqual(['in-time']);
  });

  it('refuses a new event at once when the events ahead of it would take longer than maxWaitMs', async () => {
    let clock = 0;
    const gc = createGroupCommit({
      database: migrated.database,
      store: createEventStore(migrated.database),
      maxBatch: 2,
      maxWaitMs: 1000,
      now: () => clock,
    });
    const timed = gc.insert(event('paced'));
    await nextTurn();
    clock += 600; // one write takes 600 ms
    await timed;
    await nextTurn(); // the write's end is timed after its requests are answered
    const [a, b] = [gc.insert(event('paced-a')), gc.insert(event('paced-b'))]; // one write ahead: 600 ms
    const refused = gc.insert(event('paced-c')); // two writes ahead: 1200 ms
    await expect(refused).rejects.toMatchObject({ code: 'storage_timeout' });
    expect((await a).status).toBe('accepted');
    expect((await b).status).toBe('accepted');
    expect((await writers(['paced-a', 'paced-b', 'paced-c'])).size).toBe(2);
  });
});

describe('group commit when the database goes away', () => {
  it('PGlite closed: every waiting request is rejected, none answered', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    await runMigrations(database);
    const gc = createGroupCommit({ database, store: createEventStore(database) });
    await gc.insert(event('before'));
    await database.close();
    const answers = await Promise.allSettled(['a', 'b', 'c', 'a'].map((id) => gc.insert(event(id))));
    expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
  });

  it.runIf(databaseKinds().includes('postgres'))(
    'PostgreSQL connection cut during a write: every request of the batch and of the queue is rejected',
    async () => {
      const testDb = await createTestDatabase('postgres');
      const { proxy, url } = await proxyDatabase(testDb.url!);
      const database = await openDatabase({ url, poolSize: 2, connectTimeoutSeconds: 1 });
      try {
        await runMigrations(database, url);
        const gc = createGroupCommit({ database, store: createEventStore(database) });
        expect((await gc.insert(event('up'))).status).toBe('accepted');
        const inFlight = gc.insert(event('cut-0'));
        await nextTurn(); // the write is on the wire
        const queued = ['cut-1', 'cut-2', 'cut-2'].map((id) => gc.insert(event(id)));
        await proxy.cut();
        const answers = await Promise.allSettled([inFlight, ...queued]);
        expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      } finally {
        await database.sql!.end({ timeout: 0 }); // the cut connections cannot close politely
        await proxy.close();
        await testDb.drop();
      }
    },
  );
});

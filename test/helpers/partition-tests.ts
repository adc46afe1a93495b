import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import type { Database } from '../../src/db/client';

/** An answer of the gateway to a delivery, as test/helpers/signers.ts post() returns it. */
interface Delivered {
  json: { status?: unknown; id?: unknown };
}

// Shared by the partition and retention tests (PostgreSQL).

const ROLLBACK = new Error('rolled back on purpose');

/** The day partition suffix (YYYYMMDD, UTC) of the day `offsetDays` from today. */
export const partitionDay = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');

/** A transaction on its own connection that runs `first`, then stays open until ended (committed, or rolled back). */
export function heldTransaction(url: string, first: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  let release!: (rollback: boolean) => void;
  const released = new Promise<boolean>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const done = client.begin(async (tx) => {
    await first(tx);
    started();
    if (await released) throw ROLLBACK;
  });
  return {
    running,
    async end({ rollback = false } = {}) {
      release(rollback);
      await done.catch((err: unknown) => {
        if (err !== ROLLBACK) throw err;
      });
      await client.end();
    },
  };
}

/**
 * What the retention race tests share (PostgreSQL, a gateway started by the test): counting,
 * waiting for a statement blocked on a lock, and a delivered event aged as retention finds it.
 */
export function retentionRaceKit(database: Database, deliver: (body: string, webhookId: string) => Promise<Delivered>) {
  const count = async (query: SQL) => Number((await database.rows<{ n: number }>(query))[0]!.n);
  /** True while a statement whose text matches `pattern` waits for a lock. */
  const waiting = async (pattern: string) =>
    (await count(sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like ${pattern}`)) > 0;

  /** Delivers an event, then ages it `daysAgo` days, completed, as the worker leaves it. Returns its id. */
  async function agedEvent(body: string, webhookId: string, daysAgo: number): Promise<number> {
    await database.rows(sql`select gateway_ensure_partition(t, ((now() - make_interval(days => ${daysAgo})) at time zone 'UTC')::date)
      from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`);
    const first = await deliver(body, webhookId);
    if (first.json.status !== 'accepted')
      throw new Error(`${webhookId} was not accepted: ${JSON.stringify(first.json)}`);
    const id = Number(first.json.id);
    await database.rows(sql`delete from event_queue where event_id = ${id}`);
    await database.rows(sql`update webhook_events set status = 'completed', attempts = 1,
      received_at = now() - make_interval(days => ${daysAgo}), processed_at = now() - make_interval(days => ${daysAgo})
      where id = ${id}`);
    await database.rows(
      sql`update event_keys set received_at = now() - make_interval(days => ${daysAgo}) where event_id = ${id}`,
    );
    await database.rows(sql`insert into processing_log (event_id, attempt, worker, started_at, finished_at, outcome)
      values (${id}, 1, 'w', now() - make_interval(days => ${daysAgo}), now() - make_interval(days => ${daysAgo}), 'completed')`);
    return id;
  }

  return { count, waiting, agedEvent };
}

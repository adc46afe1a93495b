import type postgres from 'postgres';
import { openDatabase } from '../../src/db/client';
import { createPartitions } from '../../src/store/partitions';
import type { BenchDatabase } from '../lib/database';
import { orderBody } from '../lib/webhook';

/** Retention of one day of events: the partition drop against the row-by-row delete it replaced. */
export interface RetentionRun {
  events: number;
  generateSec: number;
  /** On-disk size of the day's three partitions (tables, TOAST and indexes), MB. */
  dayMb: number;
  /** createPartitions().dropExpired(): the day's events, attempts and deliveries, and its keys. */
  dropSec: number;
  dropped: string[];
  /** The pre-0019 retention statement (batches of 1,000, cascading to the logs) on pre-0019 tables. */
  rowDeleteSec: number;
  rowsDeleted: number;
  /** Events the baseline was measured on (fewer than `events` when capped); rowDeleteSec is scaled up. */
  baselineEvents: number;
}

const CHUNK = 100_000;
const DAYS_AGO = 200;
// The retention statement of the previous release (src/store/retention.ts before migration 0019),
// with the batch size the retention cron uses.
const ROW_BATCH = 1000;

/**
 * Generates a day of `events` completed events, 200 days old, each with its key, one attempt and
 * one delivery, as the gateway stores them, and times the retention that drops that day. Then the
 * same day again in the previous release's tables (no partitions, foreign keys on delete cascade,
 * the same indexes) in a schema of its own, and times the previous release's batched delete: a
 * competent baseline (indexed foreign keys, skip locked, batches that keep locks short).
 */
export async function measureRetention(db: BenchDatabase, events: number, baselineCap = events): Promise<RetentionRun> {
  const body = Buffer.from(orderBody());
  const day = new Date(Date.now() - DAYS_AGO * 86_400_000).toISOString().slice(0, 10);
  let started = performance.now();
  await db.sql`select gateway_ensure_partition(t, ${day}::date)
               from unnest(array['webhook_events', 'processing_log', 'delivery_attempts']) t`;
  await generate(db.sql, '', day, events, body, true);
  const generateSec = (performance.now() - started) / 1000;
  await db.sql`checkpoint`.catch(() => {});

  const suffix = `_p${day.replaceAll('-', '')}`;
  const [{ bytes }] = await db.sql<[{ bytes: number }]>`
    select sum(pg_total_relation_size(c.oid))::float8 as bytes from pg_class c
    where c.relname in (${'webhook_events' + suffix}, ${'processing_log' + suffix}, ${'delivery_attempts' + suffix})`;
  const database = await openDatabase({ url: db.url, poolSize: 2 });
  started = performance.now();
  const { dropped } = await createPartitions(database).dropExpired({ completedDays: 30, failedDays: 90 });
  const dropSec = (performance.now() - started) / 1000;
  await database.close();

  await createBaselineTables(db.sql);
  // The row delete of a whole 1 M day took 26 min here: the baseline may be measured on fewer rows
  // (BENCH_RETENTION_BASELINE) and scaled linearly — its cost per row does not fall with size.
  const baselineEvents = Math.min(events, baselineCap);
  await generate(db.sql, 'retention_baseline.', day, baselineEvents, body, false);
  await db.sql`checkpoint`.catch(() => {});
  started = performance.now();
  let rowsDeleted = 0;
  for (;;) {
    const deleted = await db.sql`
      delete from retention_baseline.webhook_events where id in (
        select id from retention_baseline.webhook_events
        where status = 'completed' and processed_at < now() - make_interval(days => 30)
        limit ${ROW_BATCH}
        for update skip locked
      ) returning id`;
    rowsDeleted += deleted.length;
    if (deleted.length < ROW_BATCH) break;
  }
  const rowDeleteSec = ((performance.now() - started) / 1000) * (events / baselineEvents);
  await db.sql`drop schema retention_baseline cascade`;
  return {
    events,
    generateSec,
    dayMb: bytes / 1024 / 1024,
    dropSec,
    dropped,
    rowDeleteSec,
    rowsDeleted,
    baselineEvents,
  };
}

/** A day of completed events in the tables of `schema` ('' for the gateway's, which get their keys too). */
async function generate(sql: postgres.Sql, schema: string, day: string, events: number, body: Buffer, keys: boolean) {
  const t = (name: string) => sql(`${schema}${name}`);
  for (let from = 1; from <= events; from += CHUNK) {
    const to = Math.min(events, from + CHUNK - 1);
    // Without the notify trigger (session_replication_role = replica): history notifies nobody.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
      with e as (
        insert into ${t('webhook_events')} (source, webhook_id, account, topic, status, body, content_hash, headers, attempts,
                                            next_attempt_at, received_at, processed_at)
        select 'shopify', 'bench.myshopify.com/retention-' || n, 'bench.myshopify.com', 'orders/create', 'completed',
               ${body}::bytea, sha256(${body}::bytea), '{"content-type":"application/json"}'::jsonb, 1, at, at,
               at + interval '15 milliseconds'
        from generate_series(${from}::int, ${to}::int) as n,
             lateral (select ${day}::date::timestamp at time zone 'UTC' + (n - 1) * (interval '1 day' / ${events}::int)) as x(at)
        returning id, source, webhook_id, content_hash, received_at, processed_at
      ),
      k as (
        insert into event_keys (source, webhook_id, event_id, content_hash, received_at)
        select source, webhook_id, id, content_hash, received_at from e where ${keys}
      ),
      p as (
        insert into ${t('processing_log')} (event_id, attempt, worker, started_at, finished_at, outcome)
        select id, 1, 'retention', received_at, processed_at, 'completed' from e
      )
      insert into ${t('delivery_attempts')} (event_id, attempt, destination, started_at, duration_ms, outcome, http_status)
      select id, 1, 'crm', received_at, 15, 'delivered', 200 from e`;
    });
  }
}

/** The three history tables as migrations 0000–0018 left them (the previous release). */
async function createBaselineTables(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create schema retention_baseline;
    create table retention_baseline.webhook_events (
      id bigint generated always as identity primary key, source text not null, webhook_id text not null,
      account text, topic text not null, status text not null default 'received', body bytea not null,
      content_hash bytea, headers jsonb not null default '{}', attempts int not null default 0,
      max_attempts int not null default 8, next_attempt_at timestamptz not null default now(), last_error text,
      received_at timestamptz not null default now(), processed_at timestamptz, replayed_at timestamptz,
      unique (source, webhook_id));
    create index on retention_baseline.webhook_events (source, id);
    create index on retention_baseline.webhook_events (status, id);
    create index on retention_baseline.webhook_events (processed_at) where status = 'failed';
    create table retention_baseline.processing_log (
      id bigint generated always as identity primary key,
      event_id bigint not null references retention_baseline.webhook_events (id) on delete cascade,
      attempt int not null, worker text not null, started_at timestamptz not null default now(),
      finished_at timestamptz, outcome text not null default 'running', error text);
    create index on retention_baseline.processing_log (event_id, id);
    create table retention_baseline.delivery_attempts (
      id bigint generated always as identity primary key,
      event_id bigint not null references retention_baseline.webhook_events (id) on delete cascade,
      attempt int not null, destination text not null, started_at timestamptz not null, duration_ms int not null,
      outcome text not null, http_status int, error text);
    create index on retention_baseline.delivery_attempts (event_id, id);
    create index on retention_baseline.delivery_attempts (started_at);
    create unique index on retention_baseline.delivery_attempts (event_id, destination) where outcome = 'delivered';`);
}

import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase } from '../../src/db/client';
import { runMigrations } from '../../src/db/migrate';

export interface BenchDatabase {
  name: string;
  url: string;
  /** A small pool for the bench's own statements (setup, checks, LISTEN). */
  sql: postgres.Sql;
  /** Empties the gateway's tables and checkpoints, so every run starts from the same state. */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

/**
 * A fresh, randomly named database on the server of `serverUrl`, with the gateway's migrations
 * applied; drop() removes it (with force: whatever is still connected is cut).
 */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `gw_bench_${randomBytes(5).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabase(serverUrl, name);
  const database = await openDatabase({ url, poolSize: 1 });
  await runMigrations(database, url);
  await database.close();
  // JIT off like the gateway's pool: the bench's counts must not spend seconds compiling.
  const sql = postgres(url, { max: 4, onnotice: () => {}, connection: { jit: 'off' } });
  // The lean naive baseline's table (bench/servers/naive.ts): the minimum a durable, deduplicating
  // ingest needs, nothing the gateway has on top (status indexes, notify triggers, foreign keys).
  await sql`
    create table naive_events (
      id bigint generated always as identity primary key,
      source text not null, webhook_id text not null, account text, topic text not null,
      body bytea not null, headers jsonb not null, received_at timestamptz not null default now(),
      unique (source, webhook_id))`;
  return {
    name,
    url,
    sql,
    async reset() {
      // No foreign keys reach the partitioned history (migration 0019): its keys, queue and conflicts are named.
      await sql`truncate webhook_events, event_keys, event_queue, event_conflicts, processing_log, delivery_attempts, seen_nonces,
                system_log, naive_events restart identity cascade`;
      // Start each run without a checkpoint pending from the previous one (needs pg_checkpoint or superuser).
      await sql`checkpoint`.catch(() => {});
    },
    async drop() {
      await sql.end({ timeout: 1 });
      const cleanup = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

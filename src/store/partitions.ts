import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Database } from '../db/client';
import { deleteKeysOfDroppedDays } from './dropped-day-keys';

/**
 * Day partitions of the history tables (migration 0019, docs/adr/0008-partitioned-history.md):
 * created ahead, and dropped as a whole once retention is past them. The SQL function
 * gateway_ensure_partition does the creating, under an advisory lock, so gateways doing this at
 * once do not race; rows that landed in a default partition meanwhile move into the new one.
 */

type HistoryTable = 'webhook_events' | 'processing_log' | 'delivery_attempts';

/** A day partition as named by gateway_ensure_partition: `<table>_pYYYYMMDD`, [lo, hi) in UTC. */
interface DayPartition {
  name: string;
  lo: Date;
  hi: Date;
}

const DAY_MS = 86_400_000;

type Rows = <T>(query: SQL) => Promise<T[]>;

/** Since when an event of a day past retention still keeps it: replayed, completed, failed. */
interface Windows {
  replayedSince: Date;
  completedSince: Date;
  failedSince: Date;
}

// A drop waits this long for the partition's lock at most, then is retried by the next run, so
// retention never holds up ingest or the worker behind a long transaction.
const LOCK_TIMEOUT = "set local lock_timeout = '5s'";

export interface DropResult {
  /** Names of the partitions dropped. */
  dropped: string[];
  /** Day partitions past retention but kept, with why (events, or logs whose lock was not granted). */
  kept: { name: string; reason: string }[];
  /** Exactly-once keys deleted because their day was dropped (src/store/dropped-day-keys.ts). */
  keysDeleted: number;
}

export function createPartitions(database: Database) {
  const { rows } = database;

  async function dayPartitions(table: HistoryTable): Promise<DayPartition[]> {
    const found = await rows<{ name: string }>(sql`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${table}::regclass order by c.relname`);
    const pattern = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`);
    const days: DayPartition[] = [];
    for (const { name } of found) {
      const m = pattern.exec(name);
      if (!m) continue;
      const lo = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      days.push({ name, lo, hi: new Date(lo.getTime() + DAY_MS) });
    }
    return days;
  }

  /**
   * Why a day of events must stay (undefined: it may go): due, claimed, unfinished or recently
   * replayed events, and events that finished within their own retention. That retention runs from
   * processed_at, as for the row purge (src/store/retention.ts): an event received long ago that
   * failed for good an hour ago (it waited out a paused source, a held destination or its retries)
   * must stay its RETENTION_FAILED_DAYS, to be looked at and replayed, not vanish with its old day.
   * The checks by index go first; the completed one reads the whole day (no index has completed
   * rows by processed_at, and one would cost every outcome a write), so it runs only for a day that
   * nothing else keeps, and only when `readWholeDay`.
   */
  async function keepReason(
    name: string,
    windows: Windows,
    run: Rows = rows,
    readWholeDay = true,
  ): Promise<string | undefined> {
    const day = sql.identifier(name);
    const [row] = await run<{ queued: boolean; unfinished: boolean; replayed: boolean; failed: boolean }>(sql`
      select exists (select 1 from event_queue q join ${day} e on e.id = q.event_id) as queued,
             exists (select 1 from ${day} where status in ('received', 'processing')) as unfinished,
             exists (select 1 from ${day} where replayed_at >= ${windows.replayedSince.toISOString()}::timestamptz) as replayed,
             exists (select 1 from ${day} where status = 'failed'
                     and processed_at >= ${windows.failedSince.toISOString()}::timestamptz) as failed`);
    if (row?.queued) return 'an event of this day is queued or being processed';
    if (row?.unfinished) return 'an event of this day is not finished';
    if (row?.replayed) return 'an event of this day was replayed within the retention window';
    if (row?.failed) return 'an event of this day failed within RETENTION_FAILED_DAYS';
    if (!readWholeDay) return undefined;
    const [completed] = await run<{ recent: boolean }>(sql`
      select exists (select 1 from ${day} where status = 'completed'
                     and processed_at >= ${windows.completedSince.toISOString()}::timestamptz) as recent`);
    if (completed?.recent) return 'an event of this day completed within RETENTION_COMPLETED_DAYS';
    return undefined;
  }

  /**
   * Drops one day of events, or says why it stays: under the locks (the parent's and the day's)
   * the day is checked again and dropped, and nothing else happens there, so ingest and the worker
   * wait for the locks only as long as a few index reads and the drop. The day's exactly-once keys,
   * conflicts and audit references are not touched here: they go after the drop has committed
   * (deleteKeysOfDroppedDays), so an event never exists without its key. A copy of a delivery that
   * arrives between the two is acknowledged as a duplicate of the event just dropped.
   */
  async function dropEventDay(day: DayPartition, windows: Windows): Promise<string | undefined> {
    try {
      return await database.db.transaction(async (tx) => {
        await tx.execute(sql.raw(LOCK_TIMEOUT));
        // The parent first, then the day, in the order the drop itself takes them: a statement that
        // opens every partition (the event view, an export page, a claim) holds the parent while it
        // waits for the day, and the drop asking for the parent after the day made a deadlock, which
        // PostgreSQL broke by failing one of the two. `only`: not every other day as well.
        await tx.execute(sql`lock table only webhook_events in access exclusive mode`);
        await tx.execute(sql`lock table ${sql.identifier(day.name)} in access exclusive mode`);
        // Not the whole-day read under these locks (it would hold up ingest and the worker): an
        // event of the day can finish after the first check only by being replayed, and then it is
        // queued or replayed within the window, which this re-check sees.
        const run: Rows = async <T>(query: SQL) => rowsOf<T>(await tx.execute(query));
        const kept = await keepReason(day.name, windows, run, false);
        if (kept) return kept;
        await tx.execute(sql`drop table ${sql.identifier(day.name)}`);
        return undefined;
      });
    } catch (err) {
      if (sqlStateOf(err) === LOCK_NOT_AVAILABLE) return LOCK_NOT_GRANTED;
      throw err;
    }
  }

  return {
    /** Makes sure the partitions of today and the next `days` days exist; returns how many were created. */
    async createAhead(days: number): Promise<number> {
      // Creating a partition locks the parent table exclusively: behind a long statement (an
      // export) it would hold up ingest queued behind it. So it gives up after 5 s and the next run
      // (hourly) tries again; days are made a week ahead, so there is time for many tries.
      return database.db.transaction(async (tx) => {
        await tx.execute(sql.raw(LOCK_TIMEOUT));
        const [row] = rowsOf<{ made: number }>(
          await tx.execute(sql`select gateway_partitions_ahead(${days}::int) as made`),
        );
        return Number(row?.made ?? 0);
      });
    },

    /**
     * Drops the day partitions wholly older than the longer of the two retentions: a day of events
     * only when none of them is due, claimed, unfinished, replayed within the window or finished
     * within its own retention (those stay for the row-by-row retention, src/store/retention.ts),
     * and a day of attempt or delivery logs only when no event it could belong to is left (it ends
     * before the oldest day of events still kept and the oldest event in the default partition).
     * The default partitions are never dropped. A day's exactly-once keys go only after the day
     * (deleteKeysOfDroppedDays): a key never ends before its event. A day that cannot be locked
     * within 5 s is reported kept and tried again by the next run; the run goes on.
     */
    async dropExpired(options: { completedDays: number; failedDays: number; now?: Date }): Promise<DropResult> {
      // The database's clock, as row retention and received_at use: a host whose clock is ahead
      // (or stepped) must not drop days that are still inside the window.
      const now = options.now ?? new Date((await rows<{ now: Date | string }>(sql`select now() as now`))[0]!.now);
      const cutoff = new Date(now.getTime() - Math.max(options.completedDays, options.failedDays) * DAY_MS);
      const windows: Windows = {
        replayedSince: cutoff,
        completedSince: new Date(now.getTime() - options.completedDays * DAY_MS),
        failedSince: new Date(now.getTime() - options.failedDays * DAY_MS),
      };
      const result: DropResult = { dropped: [], kept: [], keysDeleted: 0 };
      for (const day of await dayPartitions('webhook_events')) {
        if (day.hi > cutoff) continue;
        let reason: string | undefined;
        try {
          reason = (await keepReason(day.name, windows)) ?? (await dropEventDay(day, windows));
        } catch (err) {
          // Another gateway's retention run dropped it first (they run on the same schedule).
          if (goneMeanwhile(err)) continue;
          throw err;
        }
        if (reason) result.kept.push({ name: day.name, reason });
        else result.dropped.push(day.name);
      }
      const keptDays = await dayPartitions('webhook_events');
      // Now that their events are gone: the keys of this run's days and of any day an earlier run
      // dropped without getting here.
      result.keysDeleted = await deleteKeysOfDroppedDays(
        database,
        cutoff,
        new Set(keptDays.map((d) => d.name.slice('webhook_events_p'.length))),
      );
      const [oldest] = await rows<{ at: Date | string | null }>(
        sql`select min(received_at) as at from webhook_events_default`,
      );
      let floor = cutoff;
      if (oldest?.at) floor = new Date(Math.min(floor.getTime(), new Date(oldest.at).getTime()));
      if (keptDays[0]) floor = new Date(Math.min(floor.getTime(), keptDays[0].lo.getTime()));
      for (const table of ['processing_log', 'delivery_attempts'] as const) {
        for (const day of await dayPartitions(table)) {
          if (day.hi > floor) continue;
          let gone = false;
          try {
            await database.db.transaction(async (tx) => {
              await tx.execute(sql.raw(LOCK_TIMEOUT));
              // The parent first, as for a day of events: two gateways dropping the same day at once
              // queue here, one after the other. Without it, the second's drop looked the day up,
              // then its parent after the first had dropped it, and PostgreSQL failed it with XX000
              // "could not find tuple for parent of relation" (seen in a CI run of partitions.test.ts).
              await tx.execute(sql`lock table only ${sql.identifier(table)} in access exclusive mode`);
              // Another gateway's run may have dropped it while this one waited for the lock.
              const [found] = rowsOf<{ day: string | null }>(
                await tx.execute(sql`select to_regclass(${day.name})::text as day`),
              );
              gone = !found?.day;
              if (!gone) await tx.execute(sql`drop table ${sql.identifier(day.name)}`);
            });
          } catch (err) {
            // A long reader of the logs (an export page) holds it: the next run tries again, and
            // the rest of this run (other days, the row purge) goes on, as for a day of events.
            if (sqlStateOf(err) !== LOCK_NOT_AVAILABLE) throw err;
            result.kept.push({ name: day.name, reason: LOCK_NOT_GRANTED });
            continue;
          }
          if (!gone) result.dropped.push(day.name);
        }
      }
      return result;
    },
  };
}

export type Partitions = ReturnType<typeof createPartitions>;

const UNDEFINED_TABLE = '42P01';
const LOCK_NOT_AVAILABLE = '55P03';
const LOCK_NOT_GRANTED = 'its lock was not granted within 5 s; the next run tries again';

/** The SQLSTATE of a database error, wherever the driver put it. */
function sqlStateOf(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** True for "relation does not exist": another gateway dropped the day first. */
const goneMeanwhile = (err: unknown): boolean => sqlStateOf(err) === UNDEFINED_TABLE;

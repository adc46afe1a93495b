import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { PollFileError, PollRunStatus, PollTrigger } from '../db/schema-poll';

/** Which process is asking: written to the lock and the run. */
export interface PollInstance {
  hostname: string;
  pid: number;
}

/** A run that holds its source's lock. `token` fences every later write. */
export interface ClaimedRun {
  runId: number;
  source: string;
  token: string;
}

/** Counters a run reports while it goes and when it ends. */
export interface RunProgress {
  listed: number;
  stored: number;
  duplicates: number;
  acknowledged: number;
  errors: number;
  errorDetails: PollFileError[];
}

/** Who holds a source's lock right now. */
export interface LockHolder {
  hostname: string;
  pid: number;
  lockedAt: Date;
  expiresAt: Date;
  runId: number | null;
}

interface ClaimRow {
  id: string | number;
  lock_token: string;
}
interface HolderRow {
  hostname: string;
  pid: number;
  locked_at: Date | string;
  expires_at: Date | string;
  run_id: string | number | null;
}

/**
 * All lock statements of the poll runs. The database decides who polls a source: one conditional
 * upsert per claim (pg-boss trySetTimestamp style), so any number of instances and triggers can
 * race for it and exactly one wins. Every time is the database's now(), never a process clock.
 */
export function createPollLocks(database: Database) {
  const { rows } = database;
  return {
    /**
     * Takes the source's lock if it is free or its lease expired, and starts a run in the same
     * statement. Concurrent claims serialise on the row: the loser re-checks the WHERE against the
     * winner's committed row, finds a live lease and gets no row back. A run still marked running
     * when its lock is taken over belonged to a process that stopped heart-beating: it is
     * recorded as abandoned. Returns undefined when the lock is held.
     */
    async claim(
      source: string,
      instance: PollInstance,
      trigger: PollTrigger,
      leaseSeconds: number,
    ): Promise<ClaimedRun | undefined> {
      const [row] = await rows<ClaimRow>(sql`
        with claimed as (
          insert into poll_locks as l (source, token, hostname, pid, locked_at, expires_at)
          values (${source}, gen_random_uuid(), ${instance.hostname}, ${instance.pid}, now(),
                  now() + make_interval(secs => ${leaseSeconds}))
          on conflict (source) do update
            set token = excluded.token, hostname = excluded.hostname, pid = excluded.pid,
                locked_at = excluded.locked_at, expires_at = excluded.expires_at
            where l.token is null or l.expires_at <= now()
          returning l.source, l.token
        ),
        abandoned as (
          update poll_runs
          set status = 'abandoned', finished_at = now(),
              error = 'lease expired: ' || hostname || ':' || pid || ' stopped responding'
          where source = ${source} and status = 'running' and exists (select 1 from claimed)
        )
        insert into poll_runs (source, triggered_by, hostname, pid, lock_token)
        select source, ${trigger}, ${instance.hostname}, ${instance.pid}, token from claimed
        returning id, lock_token`);
      return row ? { runId: Number(row.id), source, token: row.lock_token } : undefined;
    },

    /**
     * Heartbeat: extends the lease and records progress. False when the lock is no longer this
     * run's (its lease expired and another instance took it over): the run must stop.
     */
    async heartbeat(run: ClaimedRun, leaseSeconds: number, progress: RunProgress): Promise<boolean> {
      const updated = await rows(sql`
        with extended as (
          update poll_locks set expires_at = now() + make_interval(secs => ${leaseSeconds})
          where source = ${run.source} and token = ${run.token}
          returning source
        )
        update poll_runs
        set heartbeat_at = now(), listed = ${progress.listed}, stored = ${progress.stored},
            duplicates = ${progress.duplicates}, acknowledged = ${progress.acknowledged},
            errors = ${progress.errors}, error_details = ${JSON.stringify(progress.errorDetails)}::jsonb
        where id = ${run.runId} and status = 'running' and exists (select 1 from extended)
        returning id`);
      return updated.length === 1;
    },

    /**
     * Records the run's outcome and releases the lock, both fenced: a run that was declared
     * abandoned keeps that status, and a lock taken over by another run is not released.
     */
    async finish(
      run: ClaimedRun,
      status: Exclude<PollRunStatus, 'running' | 'abandoned'>,
      progress: RunProgress,
      error: string | null,
    ): Promise<boolean> {
      const finished = await rows(sql`
        with released as (
          update poll_locks set token = null, expires_at = null
          where source = ${run.source} and token = ${run.token}
          returning source
        )
        update poll_runs
        set status = ${status}, finished_at = now(), heartbeat_at = now(), listed = ${progress.listed},
            stored = ${progress.stored}, duplicates = ${progress.duplicates},
            acknowledged = ${progress.acknowledged}, errors = ${progress.errors},
            error_details = ${JSON.stringify(progress.errorDetails)}::jsonb, error = ${error}
        where id = ${run.runId} and status = 'running'
        returning id`);
      return finished.length === 1;
    },

    /** The live holder of a source's lock (and its run), or undefined when it is free. */
    async holder(source: string): Promise<LockHolder | undefined> {
      const [row] = await rows<HolderRow>(sql`
        select l.hostname, l.pid, l.locked_at, l.expires_at, r.id as run_id
        from poll_locks l
        left join poll_runs r on r.source = l.source and r.status = 'running' and r.lock_token = l.token
        where l.source = ${source} and l.token is not null and l.expires_at > now()`);
      if (!row) return undefined;
      return {
        hostname: row.hostname,
        pid: row.pid,
        lockedAt: new Date(row.locked_at),
        expiresAt: new Date(row.expires_at),
        runId: row.run_id === null ? null : Number(row.run_id),
      };
    },
  };
}

export type PollLocks = ReturnType<typeof createPollLocks>;

import type { PollLockRow, PollRunRow } from '../db/schema-poll';
import type { PollSourceOptions } from './config';

// JSON shapes of the poll API (snake_case like the rest of the ops API). Secrets never appear:
// a source is shown by its name, kind, schedule and where it polls.

/** A run in a list. */
export function pollRunSummary(run: PollRunRow) {
  return {
    id: run.id,
    source: run.source,
    triggered_by: run.triggeredBy,
    status: run.status,
    worker: `${run.hostname}:${run.pid}`,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    listed: run.listed,
    stored: run.stored,
    duplicates: run.duplicates,
    acknowledged: run.acknowledged,
    errors: run.errors,
    error: run.error,
  };
}

/** One run with its file problems. */
export function pollRunDetail(run: PollRunRow) {
  return {
    ...pollRunSummary(run),
    heartbeat_at: run.heartbeatAt.toISOString(),
    error_details: run.errorDetails.map((e) => ({
      path: e.path ?? null,
      code: e.code,
      message: e.message,
      event_id: e.eventId ?? null,
    })),
  };
}

/** A configured source, its lock (held or free) and its latest run. */
export function pollSourceView(
  options: PollSourceOptions,
  lock: PollLockRow | undefined,
  latest: PollRunRow | undefined,
) {
  const held = lock?.token != null && lock.expiresAt !== null && lock.expiresAt > new Date();
  return {
    name: options.name,
    kind: options.kind,
    schedule: options.schedule,
    directory: options.directory,
    entry_name_prefix: options.entry_name_prefix ?? null,
    endpoint: options.kind === 'sps-rest' ? options.base_url : `sftp://${options.host}:${options.port}`,
    lock: held
      ? {
          held: true,
          held_by: `${lock.hostname}:${lock.pid}`,
          since: lock.lockedAt.toISOString(),
          lease_expires_at: lock.expiresAt!.toISOString(),
        }
      : { held: false },
    latest_run: latest ? pollRunSummary(latest) : null,
  };
}

import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { preparedRows } from '../db/statements';
import { dueNowSet } from '../store/queue-parking';

// Every statement on the destination-protection tables (migrations/0016_destination_protection.sql).
// Each is one round trip on one row (primary key), so worker processes share the state without a
// lock held across a delivery. Times are the database's, so processes on several hosts agree.

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface HealthRow {
  name: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** Milliseconds since the epoch (database clock), or null. */
  openedAt: number | null;
  probeUntil: number | null;
  goneAt: number | null;
  /** The database clock when the row was read: the process compares times against it, not its own clock. */
  nowMs: number;
}

/** A rate-limit window's answer: admitted, or how long until this request's turn in a later window. */
export type RateAnswer = { ok: true } | { ok: false; waitMs: number };

type Raw = Record<string, unknown>;
const ms = (v: unknown) => (v == null ? null : (v instanceof Date ? v : new Date(String(v))).getTime());
const toHealth = (r: Raw): HealthRow => ({
  name: String(r.name),
  state: String(r.state) as CircuitState,
  consecutiveFailures: Number(r.consecutive_failures),
  openedAt: ms(r.opened_at),
  probeUntil: ms(r.probe_until),
  goneAt: ms(r.gone_at),
  nowMs: Number(r.now_ms),
});
const NOW_MS = sql`floor(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export function createProtectionStore(database: Database) {
  const { rows } = database;
  const prepared = preparedRows(database);

  return {
    /** The circuit rows of these destinations (no row: closed, no failures). */
    async health(names: readonly string[]): Promise<Map<string, HealthRow>> {
      if (names.length === 0) return new Map();
      const found = await rows<Raw>(sql`select *, ${NOW_MS} as now_ms from destination_health
        where name in (select json_array_elements_text(${JSON.stringify(names)}::text::json))`);
      return new Map(found.map((r) => [String(r.name), toHealth(r)]));
    },

    /**
     * Takes a slot in the current window of `sizeMs` (1000 or 60000) if fewer than `limit` were
     * taken; else counts the refusal. The refused request's place in the window's line tells which
     * later window is its turn, and where in it: waiting requests spread out evenly instead of all
     * coming back at the next window's start. Prepared: run once per rate-limited delivery.
     */
    async acquire(name: string, kind: 's' | 'm', limit: number): Promise<RateAnswer> {
      const sizeMs = kind === 's' ? 1000 : 60_000;
      const [row] = await prepared<Raw>(sql`
        with clock as (select ${NOW_MS} as now_ms)
        insert into destination_rate as r (name, kind, window_start, admitted, refused, ok)
        select ${name}, ${kind}, now_ms / ${sizeMs}::bigint, 1, 0, true from clock
        -- Only a later window resets the row: a statement that read the clock just before the
        -- window turned, then waited for the row lock, counts against the newer window instead of
        -- setting the row back (two windows flip-flopping would admit twice the limit).
        on conflict (name, kind) do update set
          ok = excluded.window_start > r.window_start or r.admitted < ${limit}::int,
          admitted = case when excluded.window_start > r.window_start then 1
                          when r.admitted < ${limit}::int then r.admitted + 1 else r.admitted end,
          refused = case when excluded.window_start > r.window_start then 0
                         when r.admitted < ${limit}::int then r.refused else r.refused + 1 end,
          window_start = greatest(r.window_start, excluded.window_start)
        returning ok, refused, window_start, (select now_ms from clock) as now_ms`);
      if (!row || row.ok === true) return { ok: true };
      const place = Number(row.refused) - 1; // 0-based among this window's refusals
      const windows = Math.floor(place / limit) + 1;
      const offset = Math.floor(((place % limit) * sizeMs) / limit);
      const due = (Number(row.window_start) + windows) * sizeMs + offset;
      return { ok: false, waitMs: Math.max(1, due - Number(row.now_ms)) };
    },

    /**
     * Makes this delivery the half-open probe if the circuit is open and its cooldown is over, or
     * half-open with a probe whose claim lapsed (its worker died). Undefined: someone else probes.
     */
    async claimProbe(name: string, cooldownSeconds: number, probeSeconds: number): Promise<HealthRow | undefined> {
      const [row] = await rows<Raw>(sql`
        update destination_health set state = 'half_open', probe_until = now() + make_interval(secs => ${probeSeconds}),
          updated_at = now()
        where name = ${name} and ((state = 'open' and opened_at + make_interval(secs => ${cooldownSeconds}) <= now())
          or (state = 'half_open' and probe_until < now()))
        returning *, ${NOW_MS} as now_ms`);
      return row ? toHealth(row) : undefined;
    },

    /**
     * Counts a failed delivery. Opens the circuit at the threshold (closed), or again when the
     * failure is the probe's (half-open). `opened` is true when this failure opened it.
     */
    async failure(name: string, threshold: number, probe: boolean): Promise<{ row: HealthRow; opened: boolean }> {
      const [row] = await rows<Raw>(sql`
        insert into destination_health as h (name, state, consecutive_failures, opened_at)
        values (${name}, case when ${threshold}::int <= 1 then 'open' else 'closed' end, 1,
          case when ${threshold}::int <= 1 then now() end)
        on conflict (name) do update set
          consecutive_failures = h.consecutive_failures + 1,
          state = case when (${probe} and h.state = 'half_open')
                         or (h.state = 'closed' and h.consecutive_failures + 1 >= ${threshold}::int) then 'open'
                       else h.state end,
          opened_at = case when (${probe} and h.state = 'half_open')
                             or (h.state = 'closed' and h.consecutive_failures + 1 >= ${threshold}::int) then now()
                           else h.opened_at end,
          probe_until = case when ${probe} then null else h.probe_until end,
          updated_at = now()
        returning *, opened_at = now() as opened, ${NOW_MS} as now_ms`);
      return { row: toHealth(row!), opened: row!.opened === true };
    },

    /**
     * A delivery succeeded: the circuit closes, its count restarts, and (when it was not closed)
     * the events held for it are due now, in the same statement. Returns the state it had and how
     * many events were released.
     */
    async success(name: string): Promise<{ was: CircuitState; released: number }> {
      const [row] = await rows<Raw>(sql`
        with before as (select state from destination_health where name = ${name} for update),
        changed as (
          update destination_health set state = 'closed', consecutive_failures = 0, opened_at = null,
            probe_until = null, gone_at = null, updated_at = now()
          where name = ${name} returning name
        ),
        released as (
          update event_queue set ${dueNowSet}, held_for = null
          where held_for is not null and jsonb_exists(held_for, ${name}) and claim_token is null
            and exists (select 1 from before where state <> 'closed') and exists (select 1 from changed)
          returning event_id, received_at
        ),
        released_events as (
          update webhook_events e set next_attempt_at = now() from released r where e.id = r.event_id and e.received_at = r.received_at
        )
        select coalesce((select state from before), 'closed') as was, (select count(*) from released)::int as released`);
      return { was: String(row?.was ?? 'closed') as CircuitState, released: Number(row?.released ?? 0) };
    },

    /**
     * A 410 Gone answer: records it and opens the circuit, so a file destination (which cannot be
     * paused: the file owns it) is held and probed after its cooldown; a database destination is
     * also paused (destination-store.ts markGone).
     */
    async gone(name: string): Promise<HealthRow> {
      const [row] = await rows<Raw>(sql`
        insert into destination_health as h (name, state, opened_at, gone_at)
        values (${name}, 'open', now(), now())
        on conflict (name) do update set state = 'open', opened_at = now(), gone_at = now(),
          probe_until = null, updated_at = now()
        returning *, ${NOW_MS} as now_ms`);
      return toHealth(row!);
    },

    /** Every circuit not closed or with failures (metrics; closed ones without a row read as 0). */
    async circuits(): Promise<{ name: string; state: CircuitState }[]> {
      const found = await rows<Raw>(sql`select name, state from destination_health order by name limit 1000`);
      return found.map((r) => ({ name: String(r.name), state: String(r.state) as CircuitState }));
    },

    /** Forgets a destination's 410 (an operator resumed it). */
    async clearGone(name: string): Promise<void> {
      await rows(sql`update destination_health set gone_at = null, state = 'closed', consecutive_failures = 0,
        opened_at = null, probe_until = null, updated_at = now() where name = ${name} and gone_at is not null`);
    },
  };
}

export type ProtectionStore = ReturnType<typeof createProtectionStore>;

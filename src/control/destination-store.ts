import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import type { SealedSecret } from './crypto';
import { readHealth } from './destination-health';
import {
  destinationRow,
  filterJson,
  sealedJson,
  WITH_SOURCES,
  type DestinationRow,
  type DestinationWrite,
  type Raw,
} from './destination-rows';
import type { Guarded } from './store';
import { dueNowSet } from '../store/queue-parking';
import type { StoredDestinationState } from '../deliver/confirm';

export type { DestinationHealth } from './destination-health';
export type { DestinationRow, DestinationWrite } from './destination-rows';

// Every statement on the destination tables (migrations/0012_destinations.sql). Each change is one
// statement (an update, which builds on the stored row, reads it `for update` first, in the same
// transaction) and bumps the destination's version (ETag); the tables' triggers NOTIFY
// "gateway_control" at commit, so every instance's registry re-reads within a second.
// The row and its conversions are in ./destination-rows.ts.
export function createDestinationStore(database: Database) {
  const { rows } = database;

  const miss = async (name: string): Promise<Guarded<never>> => {
    const [row] = await rows<Raw>(sql`select version from destinations where name = ${name}`);
    return row ? { ok: false, reason: 'stale', version: Number(row.version) } : { ok: false, reason: 'missing' };
  };
  const reread = async (name: string) => {
    const [row] = await rows<Raw>(sql`${WITH_SOURCES} where d.name = ${name}`);
    return row ? destinationRow(row) : undefined;
  };
  /** The events held for `name` become due now, when `when` holds and the change matched a row. */
  // Two CTEs: the queue rows, and the events' next_attempt_at the ops views show.
  const release = (name: string, when: SQL) => sql`
    released as (
      update event_queue set ${dueNowSet}, held_for = null
      where ${when} and exists (select 1 from changed) and held_for is not null
        and jsonb_exists(held_for, ${name}) and claim_token is null
      returning event_id, received_at
    ),
    released_events as (
      update webhook_events e set next_attempt_at = now() from released r where e.id = r.event_id and e.received_at = r.received_at
    )`;
  /** Replaces the attached sources in the same statement as the change it follows. */
  const attach = (sources: string[]) => JSON.stringify(sources);
  /** The write of an update, its attachments, and the re-planning of the events held for it. */
  const updateStatement = (name: string, write: DestinationWrite): SQL => {
    const s = write.sealed ? sealedJson(write.sealed.value) : null;
    return sql`
        with changed as (
          update destinations set url = ${write.url}, timeout_ms = ${write.timeoutMs},
            header_names = ${JSON.stringify(write.headerNames)}::jsonb, filter = ${filterJson(write.filter)}::jsonb,
            transform = ${filterJson(write.transform)}::jsonb,
            rule_version = case when ${write.ruleChanged ?? false} then version + 1 else rule_version end,
            rate_limit = ${filterJson(write.rateLimit)}::jsonb, circuit = ${filterJson(write.circuit)}::jsonb,
            key_id = coalesce(${s?.key_id ?? null}, key_id),
            iv = coalesce(decode(${s?.iv ?? null}, 'base64'), iv),
            tag = coalesce(decode(${s?.tag ?? null}, 'base64'), tag),
            ciphertext = coalesce(decode(${s?.ciphertext ?? null}, 'base64'), ciphertext),
            fingerprint = coalesce(${write.sealed?.fingerprint ?? null}, fingerprint),
            secret_created_at = case when ${write.sealed?.newSecret ?? false} then now() else secret_created_at end,
            version = version + 1, updated_at = now()
          where name = ${name}
          returning name
        ),
        detached as (
          delete from destination_sources where destination in (select name from changed)
            and source not in (select json_array_elements_text(${attach(write.sources)}::text::json))
        ),
        attached as (
          insert into destination_sources (destination, source)
          select c.name, s from changed c cross join json_array_elements_text(${attach(write.sources)}::text::json) as s
          on conflict do nothing
        ),
        -- A held event whose source was detached must not wait for a resume that no longer
        -- concerns it: every change re-plans the held events (still paused: held again, uncounted).
        ${release(name, sql`true`)}
        select name from changed`;
  };

  return {
    async list(): Promise<DestinationRow[]> {
      return (await rows<Raw>(sql`${WITH_SOURCES} order by d.name`)).map(destinationRow);
    },

    get: reread,

    /** Creates it with its sources in one statement; undefined when the name is taken. */
    async create(
      name: string,
      write: DestinationWrite & { sealed: NonNullable<DestinationWrite['sealed']> },
      origin: 'api' | 'apply' = 'api',
    ): Promise<DestinationRow | undefined> {
      const s = sealedJson(write.sealed.value);
      const [created] = await rows<Raw>(sql`
        with created as (
          insert into destinations (name, url, timeout_ms, header_names, filter, transform, rate_limit, circuit, key_id, iv, tag, ciphertext, fingerprint, origin)
          values (${name}, ${write.url}, ${write.timeoutMs}, ${JSON.stringify(write.headerNames)}::jsonb, ${filterJson(write.filter)}::jsonb,
            ${filterJson(write.transform)}::jsonb, ${filterJson(write.rateLimit)}::jsonb, ${filterJson(write.circuit)}::jsonb, ${s.key_id},
            decode(${s.iv}, 'base64'), decode(${s.tag}, 'base64'), decode(${s.ciphertext}, 'base64'), ${write.sealed.fingerprint}, ${origin})
          on conflict (name) do nothing returning name
        ),
        attached as (
          insert into destination_sources (destination, source)
          select c.name, s from created c cross join json_array_elements_text(${attach(write.sources)}::text::json) as s
        )
        select name from created`);
      return created ? reread(name) : undefined;
    },

    /**
     * Changes url, timeout, headers/secret (when sealed is given) and the attached sources; held
     * events are re-planned. Read-modify-write in one transaction: the row is read `for update` and
     * `build` makes the write from it, so a change merges into what is stored now (not into an
     * instance's snapshot, which may not have heard another instance's change yet).
     */
    async update(
      name: string,
      build: (current: DestinationRow) => DestinationWrite,
      ifVersion?: number,
    ): Promise<Guarded<DestinationRow>> {
      const written = await inTransaction(database, async (run): Promise<Guarded<null>> => {
        const [locked] = await run<Raw>(sql`${WITH_SOURCES} where d.name = ${name} for update of d`);
        if (!locked) return { ok: false, reason: 'missing' };
        const current = destinationRow(locked);
        if (ifVersion !== undefined && current.version !== ifVersion)
          return { ok: false, reason: 'stale', version: current.version };
        await run(updateStatement(name, build(current)));
        return { ok: true, value: null };
      });
      return written.ok ? { ok: true, value: (await reread(name))! } : written;
    },

    /**
     * Pauses or resumes. A resume makes the events held for the destination due in the same
     * statement, so every instance that hears the NOTIFY finds them due; an event also held for
     * another destination that is still paused is held again by its next attempt, uncounted.
     */
    async setPaused(name: string, paused: boolean, ifVersion?: number): Promise<Guarded<DestinationRow>> {
      const [row] = await rows<Raw>(sql`
        with changed as (
          update destinations set paused = ${paused}, paused_reason = null, version = version + 1, updated_at = now()
          where name = ${name} and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int) returning name
        ),
        -- A resume also forgets a 410 Gone: the operator says the endpoint is back.
        forgotten as (
          update destination_health set state = 'closed', consecutive_failures = 0, opened_at = null,
            probe_until = null, gone_at = null, updated_at = now()
          where name = ${name} and not ${paused} and gone_at is not null and exists (select 1 from changed)
        ),
        ${release(name, sql`not ${paused}`)}
        select name from changed`);
      if (!row) return miss(name);
      return { ok: true, value: (await reread(name))! };
    },

    /**
     * The destination answered 410 Gone: paused with the reason, unless already paused. True when
     * this call paused it (so the audit entry and the warning are written once, not per delivery).
     */
    async markGone(name: string, reason: string): Promise<boolean> {
      const changed = await rows(sql`update destinations set paused = true, paused_reason = ${reason},
        version = version + 1, updated_at = now() where name = ${name} and not paused returning name`);
      return changed.length === 1;
    },

    /** Deletes it (and its attachments); nothing waits for a destination that is gone. */
    async remove(name: string, ifVersion?: number): Promise<Guarded<DestinationRow>> {
      const before = await reread(name);
      const [row] = await rows<Raw>(sql`
        with changed as (
          delete from destinations where name = ${name}
            and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int) returning name
        ),
        ${release(name, sql`true`)}
        select name from changed`);
      return row && before ? { ok: true, value: before } : miss(name);
    },

    /** The named destinations' version and pause as stored now (deleted ones are absent): src/deliver/confirm.ts. */
    async states(names: readonly string[]): Promise<Map<string, StoredDestinationState>> {
      const found = await rows<Raw>(sql`
        select name, version, paused from destinations
        where name in (select json_array_elements_text(${JSON.stringify(names)}::text::json))`);
      return new Map(found.map((r) => [String(r.name), { version: Number(r.version), paused: Boolean(r.paused) }]));
    },

    /** Delivery counts, held events, circuit and the last deliveries of each named destination. */
    health: (names: readonly string[], lastPerDestination = 5) => readHealth(rows, names, lastPerDestination),

    /** Re-seals one destination if it is still sealed with `fromKeyId` (`keys rotate`). */
    async reseal(name: string, fromKeyId: string, sealed: SealedSecret): Promise<boolean> {
      const updated = await rows(sql`
        update destinations set key_id = ${sealed.keyId}, iv = ${sealed.iv}, tag = ${sealed.tag}, ciphertext = ${sealed.ciphertext}
        where name = ${name} and key_id = ${fromKeyId} returning name`);
      return updated.length === 1;
    },
  };
}

export type DestinationStore = ReturnType<typeof createDestinationStore>;

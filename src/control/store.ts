import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { inTransaction } from '../db/statements';
import { MAX_SOURCE_SECRETS } from '../config/secret-count';
import { GatewayError } from '../errors';
import { parkSource, unparkSource } from '../store/queue-parking';
import type { SealedSecret } from './crypto';
import { secretRow, sourceRow, type Guarded, type Raw, type SecretRow, type SourceRow } from './source-rows';

// Every statement of the control plane's tables (migrations/0009_control_plane.sql). Each change
// is one statement, so it is atomic without a transaction (an update, which merges into the stored
// entry, reads it `for update` in one), and bumps the source's version (ETag);
// pause, resume and delete also park or give back the source's queued events, in a transaction.
// The tables' triggers NOTIFY "gateway_control" at commit.

export type { Guarded, SecretRow, SourceRow } from './source-rows';

/** A rotation that would leave more valid secrets than a source may hold (rolled back). */
const tooManySecrets = (name: string, valid: number) =>
  new GatewayError(
    409,
    'too_many_secrets',
    `Source "${name}" already has ${valid} valid secrets, the most it may hold is ${MAX_SOURCE_SECRETS}: revoke one (DELETE /api/sources/${name}/secrets/{id}) or rotate with a shorter overlap_seconds`,
  );

export function createControlStore(database: Database) {
  const { rows } = database;

  /** Tells "no such source" from "changed since If-Match" after a guarded statement matched nothing. */
  const miss = async (name: string): Promise<Guarded<never>> => {
    const [row] = await rows<Raw>(sql`select version from sources where name = ${name}`);
    return row ? { ok: false, reason: 'stale', version: Number(row.version) } : { ok: false, reason: 'missing' };
  };

  return {
    async listSources(): Promise<SourceRow[]> {
      return (await rows<Raw>(sql`select * from sources order by name`)).map(sourceRow);
    },

    async getSource(name: string): Promise<SourceRow | undefined> {
      const [row] = await rows<Raw>(sql`select * from sources where name = ${name}`);
      return row ? sourceRow(row) : undefined;
    },

    /** Every secret, expired ones included (the registry drops them per request; the API shows them). */
    async listSecrets(source?: string): Promise<SecretRow[]> {
      const found = source
        ? await rows<Raw>(sql`select * from source_secrets where source = ${source} order by id`)
        : await rows<Raw>(sql`select * from source_secrets order by id`);
      return found.map(secretRow);
    },

    /** Creates the source with its first secrets; undefined when the name is taken. */
    async createSource(
      source: { name: string; provider: string; spec: Raw; origin?: 'api' | 'apply' },
      secrets: { sealed: SealedSecret; fingerprint: string; notAfter?: Date }[],
    ): Promise<SourceRow | undefined> {
      // One statement: the source never exists without the secrets it was created with.
      const sealed = JSON.stringify(
        secrets.map(({ sealed: s, fingerprint, notAfter }) => ({
          key_id: s.keyId,
          iv: s.iv.toString('base64'),
          tag: s.tag.toString('base64'),
          ciphertext: s.ciphertext.toString('base64'),
          fingerprint,
          not_after: notAfter?.toISOString() ?? null,
        })),
      );
      const [created] = await rows<Raw>(sql`
        with created as (
          insert into sources (name, provider, spec, origin)
          values (${source.name}, ${source.provider}, ${JSON.stringify(source.spec)}::jsonb, ${source.origin ?? 'api'})
          on conflict (name) do nothing returning *
        ),
        sealed as (
          insert into source_secrets (source, key_id, iv, tag, ciphertext, fingerprint, not_after)
          select c.name, s.key_id, decode(s.iv, 'base64'), decode(s.tag, 'base64'), decode(s.ciphertext, 'base64'), s.fingerprint, s.not_after
          from created c cross join json_to_recordset(${sealed}::text::json) as s(key_id text, iv text, tag text, ciphertext text, fingerprint text, not_after timestamptz)
        )
        select * from created`);
      if (!created) return undefined;
      return sourceRow(created);
    },

    /**
     * Read-modify-write of one source in a transaction: its row is read `for update`, so `merge`
     * builds on what is stored now (not on an instance's snapshot, which may not have heard another
     * instance's change yet) and no other change can land between the read and the write.
     */
    async updateSource(
      name: string,
      merge: (current: SourceRow) => Promise<{ provider: string; spec: Raw }>,
      ifVersion?: number,
    ): Promise<Guarded<SourceRow>> {
      return inTransaction(database, async (run): Promise<Guarded<SourceRow>> => {
        const [locked] = await run<Raw>(sql`select * from sources where name = ${name} for update`);
        if (!locked) return { ok: false, reason: 'missing' };
        const current = sourceRow(locked);
        if (ifVersion !== undefined && current.version !== ifVersion)
          return { ok: false, reason: 'stale', version: current.version };
        const change = await merge(current);
        const spec = JSON.stringify(change.spec);
        const [row] = await run<Raw>(sql`
          update sources set provider = ${change.provider}, spec = ${spec}::jsonb,
            version = version + 1, updated_at = now(),
            -- A new transformation is a new rule version; any other change keeps it (compared as jsonb: key order does not matter).
            transform_version = case when spec -> 'transform' is distinct from ${spec}::jsonb -> 'transform'
                                     then version + 1 else transform_version end
          where name = ${name} returning *`);
        return { ok: true, value: sourceRow(row!) };
      });
    },

    /**
     * Pauses or resumes, and parks or gives back what the source holds in the hot queue, in one
     * transaction (src/store/queue-parking.ts): a resume's write of the source row waits for any
     * claim parking its events right now, then gives back every parked row.
     */
    async setPaused(name: string, paused: boolean, ifVersion?: number): Promise<Guarded<SourceRow>> {
      const row = await inTransaction(database, async (run) => {
        const [changed] = await run<Raw>(sql`
          update sources set paused = ${paused}, version = version + 1, updated_at = now()
          where name = ${name} and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int) returning *`);
        if (changed) await run(paused ? parkSource(name) : unparkSource(name));
        return changed;
      });
      return row ? { ok: true, value: sourceRow(row) } : miss(name);
    },

    /**
     * Deletes the source and (cascade) its secrets. Its stored events stay; its parked events are
     * given back (a deleted source is not paused), in the same transaction.
     */
    async deleteSource(name: string, ifVersion?: number): Promise<Guarded<SourceRow>> {
      const row = await inTransaction(database, async (run) => {
        const [deleted] = await run<Raw>(sql`
          delete from sources where name = ${name}
            and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int) returning *`);
        if (deleted) await run(unparkSource(name));
        return deleted;
      });
      return row ? { ok: true, value: sourceRow(row) } : miss(name);
    },

    /**
     * Adds a secret and ends every other secret's validity `overlapSeconds` from now (those ending
     * sooner keep their end), in one transaction: no instant without a valid secret. Those whose
     * fingerprint is in `keep` stay as they are (apply: the other secrets its file lists). The
     * source's row is locked first, by its own statement: the next one then sees a rotation that
     * committed meanwhile (one statement would not, its snapshot taken before the lock was had),
     * so of two concurrent rotations the later one ends the secret the earlier one added.
     */
    async rotateSecret(
      name: string,
      added: { sealed: SealedSecret; fingerprint: string },
      overlapSeconds: number,
      ifVersion?: number,
      keep: readonly string[] = [],
    ): Promise<Guarded<SecretRow>> {
      const { sealed, fingerprint } = added;
      const row = await inTransaction(database, async (run) => {
        const [bumped] = await run<Raw>(sql`
          update sources set version = version + 1, updated_at = now()
          where name = ${name} and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int)
          returning name`);
        if (!bumped) return undefined;
        const [inserted] = await run<Raw>(sql`
          with ended as (
            update source_secrets set not_after = now() + make_interval(secs => ${overlapSeconds})
            where source = ${name}
              and (not_after is null or not_after > now() + make_interval(secs => ${overlapSeconds}))
              and fingerprint not in (select jsonb_array_elements_text(${JSON.stringify(keep)}::jsonb))
          )
          insert into source_secrets (source, key_id, iv, tag, ciphertext, fingerprint)
          values (${name}, ${sealed.keyId}, ${sealed.iv}, ${sealed.tag}, ${sealed.ciphertext}, ${fingerprint})
          returning *`);
        // The source's row is locked by the version bump above, so no other rotation counts meanwhile.
        const [held] = await run<{ valid: number }>(sql`
          select count(*)::int as valid from source_secrets
          where source = ${name} and (not_after is null or not_after > now())`);
        if (Number(held!.valid) > MAX_SOURCE_SECRETS) throw tooManySecrets(name, Number(held!.valid) - 1);
        return inserted;
      });
      return row ? { ok: true, value: secretRow(row) } : miss(name);
    },

    /** Revokes one secret at once, guarded by If-Match like every change; undefined when the source has no secret with that id. */
    async revokeSecret(name: string, id: number, ifVersion?: number): Promise<Guarded<SecretRow | undefined>> {
      // The source's row is locked first, as a rotation locks it before its secrets: deleting the
      // secret first took the two locks in the other order, and a rotation waiting meanwhile
      // deadlocked with it.
      const [row] = await rows<Raw>(sql`
        with guard as (select name from sources where name = ${name} and (${ifVersion ?? null}::int is null or version = ${ifVersion ?? null}::int) for update),
        revoked as (delete from source_secrets where source in (select name from guard) and id = ${id} returning *),
        bumped as (update sources set version = version + 1, updated_at = now() where name in (select source from revoked))
        select * from revoked`);
      if (row) return { ok: true, value: secretRow(row) };
      // Nothing revoked: no such source, a version other than If-Match's, or no such secret.
      const missed = await miss(name);
      if (!missed.ok && missed.reason === 'stale' && (ifVersion === undefined || missed.version === ifVersion))
        return { ok: true, value: undefined };
      return missed;
    },

    /**
     * Events held by paused sources (due or waiting for a retry), per source: their hot queue rows
     * (a blocked ordered lane's head is not held by the pause, nor is an event claimed before it:
     * its attempt runs). Not the archive's status index, which spans every day of history, dead
     * entries included.
     */
    async onHold(): Promise<Map<string, number>> {
      const found = await rows<Raw>(sql`
        select source, count(*) as held from event_queue
        where blocked_at is null and claim_token is null and source in (select name from sources where paused)
        group by source`);
      return new Map(found.map((r) => [String(r.source), Number(r.held)]));
    },

    /** Re-seals one secret if it is still sealed with `fromKeyId` (a concurrent rotation wins). */
    async reseal(id: number, fromKeyId: string, sealed: SealedSecret): Promise<boolean> {
      const updated = await rows(sql`
        update source_secrets set key_id = ${sealed.keyId}, iv = ${sealed.iv}, tag = ${sealed.tag}, ciphertext = ${sealed.ciphertext}
        where id = ${id} and key_id = ${fromKeyId} returning id`);
      return updated.length === 1;
    },
  };
}

export type ControlStore = ReturnType<typeof createControlStore>;

import { and, desc, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { rejectedRequests, type RejectedRequestRow } from '../db/schema-alerts';

/** One rejected request as recorded (before the database gives it an id). */
export interface NewRejectedRequest {
  receivedAt: Date;
  source: string;
  cause: string;
  status: number;
  client: string | null;
  userAgent: string | null;
  bodyBytes: number | null;
  bodySha256: string | null;
  headers: Record<string, string>;
}

/** Requests of one source and cause in one minute beyond the per-minute cap: counted, not kept. */
export interface RejectionAggregate {
  minute: Date;
  source: string;
  cause: string;
  status: number;
  count: number;
}

export interface RejectedRequestFilter {
  source?: string;
  cause?: string;
  since?: Date;
  until?: Date;
  beforeId?: number;
  limit: number;
}

/** The SQL of the rejected-request log. */
export function createRejectedRequestStore({ db, rows }: Database) {
  return {
    /** Writes one batch: the detailed rows in one insert, each aggregate as an upsert adding its count. */
    async write(entries: readonly NewRejectedRequest[], aggregates: readonly RejectionAggregate[]): Promise<void> {
      if (entries.length > 0) await db.insert(rejectedRequests).values([...entries]);
      for (const a of aggregates) {
        await rows(sql`
          insert into rejected_requests (received_at, source, cause, status, headers, repeat_count, aggregate_minute)
          values (${a.minute.toISOString()}, ${a.source}, ${a.cause}, ${a.status}, '{}'::jsonb, ${a.count}, ${a.minute.toISOString()})
          on conflict (source, cause, aggregate_minute) where aggregate_minute is not null
          do update set repeat_count = rejected_requests.repeat_count + excluded.repeat_count`);
      }
    },

    /** Newest first, keyset-paginated on id. */
    async list(filter: RejectedRequestFilter): Promise<RejectedRequestRow[]> {
      const where = and(
        filter.source === undefined ? undefined : eq(rejectedRequests.source, filter.source),
        filter.cause === undefined ? undefined : eq(rejectedRequests.cause, filter.cause),
        filter.since === undefined ? undefined : gte(rejectedRequests.receivedAt, filter.since),
        filter.until === undefined ? undefined : lte(rejectedRequests.receivedAt, filter.until),
        filter.beforeId === undefined ? undefined : lt(rejectedRequests.id, filter.beforeId),
      );
      return db.select().from(rejectedRequests).where(where).orderBy(desc(rejectedRequests.id)).limit(filter.limit);
    },

    /**
     * The latest rejection of each named source: "last rejection and why". One index probe per
     * source on (source, id), so the answer costs the same whatever the table holds.
     */
    async lastPerSource(sources: readonly string[]): Promise<RejectedRequestRow[]> {
      const found = await Promise.all(
        sources.map((source) =>
          db
            .select()
            .from(rejectedRequests)
            .where(eq(rejectedRequests.source, source))
            .orderBy(desc(rejectedRequests.id))
            .limit(1),
        ),
      );
      return found.flat();
    },
  };
}

export type RejectedRequestStore = ReturnType<typeof createRejectedRequestStore>;

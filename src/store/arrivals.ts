import { and, asc, eq, gt, inArray, notInArray, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { webhookEvents } from '../db/schema';

/** One stored event as the live stream shows an arrival: identity, state, and the request itself. */
export interface ArrivalRow {
  id: number;
  source: string;
  topic: string;
  status: 'received' | 'processing' | 'completed' | 'failed';
  attempts: number;
  webhookId: string;
  receivedAt: Date;
  headers: Record<string, string>;
  body: Buffer;
}

const columns = {
  id: webhookEvents.id,
  source: webhookEvents.source,
  topic: webhookEvents.topic,
  status: webhookEvents.status,
  attempts: webhookEvents.attempts,
  webhookId: webhookEvents.webhookId,
  receivedAt: webhookEvents.receivedAt,
  headers: webhookEvents.headers,
  body: webhookEvents.body,
};

/** The queries behind the live stream's resume (Last-Event-ID) and its `include=request` option. */
export function createArrivalQueries({ db }: Database) {
  return {
    /**
     * Events stored after `afterId`, oldest first, at most `limit` (the primary key index: no scan
     * of history). With `withRequest` false the body is not read.
     */
    async after(
      afterId: number,
      filter: { source?: string; topic?: string; excludeSources?: readonly string[] },
      limit: number,
    ): Promise<Omit<ArrivalRow, 'headers' | 'body'>[]> {
      const where: SQL[] = [gt(webhookEvents.id, afterId)];
      if (filter.source) where.push(eq(webhookEvents.source, filter.source));
      if (filter.topic) where.push(eq(webhookEvents.topic, filter.topic));
      if (filter.excludeSources?.length) where.push(notInArray(webhookEvents.source, [...filter.excludeSources]));
      const { headers: _h, body: _b, ...light } = columns;
      return db
        .select(light)
        .from(webhookEvents)
        .where(and(...where))
        .orderBy(asc(webhookEvents.id))
        .limit(limit);
    },

    /** Body and kept headers of these events (in any order; a purged event is simply missing). */
    async requests(ids: readonly number[]): Promise<ArrivalRow[]> {
      if (ids.length === 0) return [];
      return db
        .select(columns)
        .from(webhookEvents)
        .where(inArray(webhookEvents.id, [...ids]));
    },
  };
}

export type ArrivalQueries = ReturnType<typeof createArrivalQueries>;

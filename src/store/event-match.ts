import { eq, gte, lt, notInArray, sql, type SQL } from 'drizzle-orm';
import { webhookEvents, type EventStatus } from '../db/schema';
import { isClaimed } from './claims';

// An operator's match on stored events (the events list, the bulk replay): its where-clause.

/** What the ops API can select events by. */
export interface EventMatch {
  source?: string;
  status?: EventStatus;
  topic?: string;
  webhookId?: string;
  /** Received at or after. */
  since?: Date;
  /** Received before. */
  until?: Date;
  /** The body contains this text (exact, case-sensitive bytes: works for any payload encoding). */
  contains?: string;
  /** Leave these sources out (payload search skips sources with masked fields). */
  excludeSources?: readonly string[];
}

/**
 * The events of one webhook id, found through event_keys' primary key (source, webhook_id) instead
 * of by walking the archive, which has no index on webhook_id: 2.0-2.7 s per lookup with 1 M events
 * of history, more with every day kept (bench/sql/event-lookup-cost.ts). Without a source, every
 * source is tried: a recursive scan takes each distinct source from the same index, one descent per
 * source, each probed by the primary key. Each array is computed once per query (an initplan): the ids become index conditions on
 * every day partition's primary key, and the received_at values prune the days at run time.
 */
function byWebhookId(webhookId: string, source: string | undefined): SQL[] {
  const keys =
    source === undefined
      ? sql`with recursive sources(source) as (
              (select source from event_keys order by source limit 1)
              union all
              select (select k.source from event_keys k where k.source > s.source order by k.source limit 1)
              from sources s where s.source is not null)
            select k.event_id, k.received_at from sources s
            -- One probe of the primary key per source (at most one key each). A plain join, or a
            -- lateral one the planner may flatten into it, hashed the whole of event_keys after a
            -- sequential scan on unanalyzed tables; the limit keeps the subquery a subquery.
            cross join lateral (
              select event_id, received_at from event_keys k
              where k.source = s.source and k.webhook_id = ${webhookId} limit 1) k`
      : sql`select event_id, received_at from event_keys where source = ${source} and webhook_id = ${webhookId}`;
  return [
    sql`${webhookEvents.id} = any(array(select event_id from (${keys}) k))`,
    sql`${webhookEvents.receivedAt} = any(array(select received_at from (${keys}) k))`,
  ];
}

/** The where-clause for a match; every condition is optional. */
export function matching(filter: EventMatch): SQL[] {
  const conditions: SQL[] = [];
  if (filter.source) conditions.push(eq(webhookEvents.source, filter.source));
  // 'processing' is a claim on the queue row, not a stored status (src/store/claims.ts).
  if (filter.status === 'processing') conditions.push(isClaimed);
  else if (filter.status === 'received') conditions.push(eq(webhookEvents.status, 'received'), sql`not ${isClaimed}`);
  else if (filter.status) conditions.push(eq(webhookEvents.status, filter.status));
  if (filter.topic) conditions.push(eq(webhookEvents.topic, filter.topic));
  if (filter.webhookId)
    conditions.push(eq(webhookEvents.webhookId, filter.webhookId), ...byWebhookId(filter.webhookId, filter.source));
  if (filter.since) conditions.push(gte(webhookEvents.receivedAt, filter.since));
  if (filter.until) conditions.push(lt(webhookEvents.receivedAt, filter.until));
  if (filter.excludeSources?.length) conditions.push(notInArray(webhookEvents.source, [...filter.excludeSources]));
  // A byte search rather than a text cast: a body that is not valid UTF-8 cannot make it fail.
  if (filter.contains)
    conditions.push(sql`position(convert_to(${filter.contains}, 'UTF8') in ${webhookEvents.body}) > 0`);
  return conditions;
}

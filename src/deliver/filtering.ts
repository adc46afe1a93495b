import { matchesFilter, type FilterContext } from '../routing/filter';
import { filterBody } from '../routing/exact-numbers';
import type { DeliveryLog } from '../store/deliveries';
import type { DeliveredEvent } from '../worker/handlers';
import type { Destination } from './destinations';
import { parseRequestTarget } from '../ingest/request-target';

/** The error text of a delivery its destination's filter skipped (outcome `ignored`). */
export const FILTERED = 'filtered';

/**
 * What a stored event offers a filter. The path and query string are those stored at ingest
 * (credential-like parameters left out, src/ingest/request-target.ts); an event stored before
 * migration 0018 has neither, so conditions on them see nothing there (`$exists: false`).
 */
export function filterContext(
  event: Pick<DeliveredEvent, 'topic' | 'headers' | 'payload' | 'rawBody'> & { requestTarget?: string | null },
): FilterContext {
  // The body is read only if a filter asks for it (most destinations have none), and only once.
  let body: { value: unknown } | undefined;
  return {
    topic: event.topic,
    headers: event.headers,
    ...parseRequestTarget(event.requestTarget),
    get body() {
      body ??= { value: filterBody(event.rawBody, event.payload) };
      return body.value;
    },
  };
}

/** The destinations whose filter the event matches (or that have none), and the others. */
export function splitByFilter<D extends Pick<Destination, 'filter'>>(
  context: FilterContext,
  destinations: readonly D[],
): { matched: D[]; ignored: D[] } {
  const matched: D[] = [];
  const ignored: D[] = [];
  for (const d of destinations) (!d.filter || matchesFilter(d.filter, context) ? matched : ignored).push(d);
  return { matched, ignored };
}

/** Logs the destinations whose filter skipped the event: done for them, not a failure, never retried. */
export async function recordIgnored(
  event: DeliveredEvent,
  destinations: readonly { name: string; ruleVersion?: number }[],
  deliveries: DeliveryLog,
): Promise<void> {
  const startedAt = new Date();
  for (const { name: destination, ruleVersion } of destinations)
    await deliveries.record({
      eventId: event.id,
      eventReceivedAt: event.receivedAt,
      attempt: event.attempt,
      destination,
      ruleVersion: ruleVersion ?? null,
      startedAt,
      durationMs: 0,
      outcome: 'ignored',
      httpStatus: null,
      error: FILTERED,
    });
}

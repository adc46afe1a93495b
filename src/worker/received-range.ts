import type { ClaimedEvent } from './claim-sql';

/** The range of the archive's partition key in a batch of claimed events, as bounds PostgreSQL prunes by. */
export interface Range {
  receivedFrom: string;
  receivedTo: string;
}

/** A Date holds milliseconds and the database microseconds: a stored value lies in [its Date, +1 ms). */
export function rangeOf(events: readonly ClaimedEvent[]): Range {
  const times = events.map((e) => e.receivedAt.getTime());
  return {
    receivedFrom: new Date(Math.min(...times)).toISOString(),
    receivedTo: new Date(Math.max(...times) + 1).toISOString(),
  };
}

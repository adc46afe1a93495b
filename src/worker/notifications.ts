import type { Database } from '../db/client';
import { listenOn } from '../db/listen';

/** What the webhook_events trigger announces (see migrations/0002_notify_due_events.sql). */
export interface EventNotification {
  id: number;
  source: string;
  topic: string;
  status: 'received' | 'completed' | 'failed';
  attempts: number;
  /** True when the event can be claimed right now. */
  due: boolean;
  /** Sent when an ordered event became its lane's head (migrations/0017_ordering.sql): a wake-up only. */
  promoted?: boolean;
}

export const EVENTS_CHANNEL = 'webhook_events';

/**
 * Subscribes to event notifications from every process on the database (PostgreSQL LISTEN on a
 * dedicated connection that postgres.js re-establishes after an outage; PGlite's in-process
 * equivalent). Returns the unsubscribe function.
 */
export async function listenForEvents(
  database: Database,
  onEvent: (event: EventNotification) => void,
): Promise<() => Promise<void>> {
  const deliver = (payload: string) => {
    try {
      onEvent(JSON.parse(payload) as EventNotification);
    } catch {
      // A malformed payload can only come from a foreign NOTIFY on our channel: ignore it.
    }
  };
  return listenOn(database, EVENTS_CHANNEL, deliver);
}

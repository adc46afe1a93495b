import type { Database } from './client';

/**
 * Subscribes to a NOTIFY channel: PostgreSQL LISTEN on postgres.js's dedicated connection (which it
 * re-establishes after an outage; notifications sent meanwhile are lost, so callers also poll), or
 * PGlite's in-process equivalent. `onRelisten` is called each time postgres.js (re)establishes the
 * LISTEN, the first time included: a caller re-reads there what it may have missed. Returns the
 * unsubscribe function.
 */
export async function listenOn(
  database: Database,
  channel: string,
  deliver: (payload: string) => void,
  onRelisten?: () => void,
): Promise<() => Promise<void>> {
  if (database.pglite) return database.pglite.listen(channel, deliver);
  const { unlisten } = await database.sql!.listen(channel, deliver, onRelisten);
  return unlisten;
}

import type { PGlite } from '@electric-sql/pglite';

/** Resolves once the event loop has had a turn: pending I/O (new connections, bodies, timers) runs first. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Makes every statement and transaction run on the embedded database end with a turn of the event loop.
 *
 * PGlite runs a statement synchronously on this thread (WASM) and settles its promise through
 * microtasks only, so code that awaits one statement after another — an export reading page after
 * page, a worker claiming batch after batch — never lets the event loop take I/O until it is done:
 * measured on an export of 68,664 events, the whole process (`/healthz`, ingest, the worker's
 * heartbeats) stopped answering for 70 s; 2,000 awaited `select`s in a row let a 10 ms timer fire 0
 * times in 7.5 s. One `setImmediate` per statement costs microseconds and bounds the wait to one
 * statement. On PostgreSQL results arrive on the socket, a new turn each, so nothing is needed there.
 */
export function yieldAfterEachStatement(pglite: PGlite): void {
  // Own properties in front of the class's methods: drizzle, LISTEN and the migrator all call these.
  pglite.query = thenTurn(pglite.query.bind(pglite));
  pglite.exec = thenTurn(pglite.exec.bind(pglite));
  pglite.transaction = thenTurn(pglite.transaction.bind(pglite));
}

/** `run`, then a turn of the event loop before its result (or error) is handed on. */
function thenTurn<F extends (...args: never[]) => Promise<unknown>>(run: F): F {
  return (async (...args: Parameters<F>) => {
    try {
      return await run(...args);
    } finally {
      await nextTurn();
    }
  }) as F;
}

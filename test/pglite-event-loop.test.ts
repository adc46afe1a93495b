import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client';

// PGlite runs each statement on the process's own thread and settles it through microtasks only:
// without a turn of the event loop between statements, a run of awaited statements (an export's
// pages, the worker's claims) kept every request — /healthz, ingest — waiting until it ended
// (70 s for an export of 68,664 events, measured with wrk against `npm start`).
describe('the embedded database and the event loop', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
  });
  afterAll(async () => {
    await database?.close();
  });

  it('a run of awaited statements lets a timer due meanwhile fire before the run ends', async () => {
    let firedAfter: number | undefined;
    let done = 0;
    setTimeout(() => (firedAfter = done), 0);
    // setTimeout(0) is due after 1 ms: wait for that on the clock, never as a macrotask, so only
    // the statements below can give the timer its turn.
    const due = Date.now() + 2;
    while (Date.now() < due);
    for (; done < 200; done++) await database.rows(sql`select 1 as one`);
    expect(firedAfter).toBeDefined();
    expect(firedAfter!).toBeLessThan(200);
  });

  it('a transaction and a raw statement each end with a turn of the event loop', async () => {
    const turnTaken = async (run: () => Promise<unknown>) => {
      let turned = false;
      setImmediate(() => (turned = true));
      await run();
      return turned;
    };
    const transaction = () => database.db.transaction((tx) => tx.execute(sql`select 1`));
    expect(await turnTaken(transaction)).toBe(true);
    expect(await turnTaken(() => database.pglite!.exec('select 1'))).toBe(true);
  });
});

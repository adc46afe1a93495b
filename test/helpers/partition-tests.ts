import postgres from 'postgres';

// Shared by the partition and retention tests (PostgreSQL).

const ROLLBACK = new Error('rolled back on purpose');

/** The day partition suffix (YYYYMMDD, UTC) of the day `offsetDays` from today. */
export const partitionDay = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');

/** A transaction on its own connection that runs `first`, then stays open until ended (committed, or rolled back). */
export function heldTransaction(url: string, first: (tx: postgres.TransactionSql) => Promise<unknown>) {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  let release!: (rollback: boolean) => void;
  const released = new Promise<boolean>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const done = client.begin(async (tx) => {
    await first(tx);
    started();
    if (await released) throw ROLLBACK;
  });
  return {
    running,
    async end({ rollback = false } = {}) {
      release(rollback);
      await done.catch((err: unknown) => {
        if (err !== ROLLBACK) throw err;
      });
      await client.end();
    },
  };
}

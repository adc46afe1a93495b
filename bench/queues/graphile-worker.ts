// graphile-worker (0.17.x, the last line for Node 20) processing BENCH_JOBS no-op jobs: the
// runner starts idle and prints "ready"; on "go" the jobs are added in one call (add_jobs; the
// runner hears of them by LISTEN/NOTIFY, as the gateway's worker does) and the clock runs until
// the last job has left the jobs table. Configured with its documented batching: a local queue of
// BENCH_BATCH jobs per fetch, batched completions, BENCH_CONCURRENCY jobs at once, pool of 10.
import { makeWorkerUtils, run, Logger } from 'graphile-worker';

const jobs = Number(process.env.BENCH_JOBS);
const batch = Number(process.env.BENCH_BATCH ?? 50);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 50);
const connectionString = process.env.DATABASE_URL!;
const quiet = new Logger(() => (level, message) => {
  if (level === 'error') process.stderr.write(`graphile-worker: ${message}\n`);
});

const utils = await makeWorkerUtils({ connectionString, logger: quiet });
await utils.migrate();
let handled = 0;
let allHandled: () => void = () => {};
const everyJobHandled = new Promise<void>((resolve) => (allHandled = resolve));
const runner = await run({
  connectionString,
  concurrency,
  maxPoolSize: 10,
  noHandleSignals: true,
  logger: quiet,
  taskList: {
    noop: async () => {
      if (++handled === jobs) allHandled();
    },
  },
  preset: { worker: { localQueue: { size: batch }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
});
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));

await utils.addJobs(Array.from({ length: jobs }, (_, n) => ({ identifier: 'noop', payload: { n } })));
const started = performance.now();
await everyJobHandled;
// Completions are written in batches after the handler returns: done when the table is empty.
const remaining = async () =>
  utils.withPgClient(
    async (client) =>
      (await client.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs')).rows[0]!.n,
  );
while ((await remaining()) > 0) await new Promise((r) => setTimeout(r, 5));
const elapsedMs = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ elapsedMs, completed: handled, completedInDb: jobs - (await remaining()) })}\n`,
);
await runner.stop();
await utils.release();
process.exit(0);

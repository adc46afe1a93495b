// pg-boss (10.x, the last line for Node 20) processing BENCH_JOBS no-op jobs: the child inserts
// them, prints "ready", and on "go" runs BENCH_LOOPS fetch → handle → complete loops of
// BENCH_BATCH jobs each until every job is completed, then prints {"elapsedMs":…}.
// The loops are pg-boss's own work() cycle without its polling pause (at least 0.5 s between
// fetches), which would otherwise cap each loop at two batches a second: pg-boss at its fastest.
import PgBoss from 'pg-boss';

const jobs = Number(process.env.BENCH_JOBS);
const batchSize = Number(process.env.BENCH_BATCH ?? 50);
const loops = Number(process.env.BENCH_LOOPS ?? 2);
const queue = 'bench';

const boss = new PgBoss({ connectionString: process.env.DATABASE_URL!, max: 10, supervise: false, schedule: false });
boss.on('error', (err) => process.stderr.write(`pg-boss: ${String(err)}\n`));
await boss.start();
await boss.createQueue(queue);
await boss.getDb().executeSql('delete from pgboss.job where name = $1', [queue]); // jobs of an earlier round
for (let i = 0; i < jobs; i += 5000) {
  await boss.insert(Array.from({ length: Math.min(5000, jobs - i) }, (_, j) => ({ name: queue, data: { n: i + j } })));
}
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));

const noop = async (_job: PgBoss.Job<object>) => {};
let completed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: loops }, async () => {
    for (;;) {
      const batch = await boss.fetch<object>(queue, { batchSize });
      if (batch.length === 0) return;
      await Promise.all(batch.map(noop));
      await boss.complete(
        queue,
        batch.map((job) => job.id),
      );
      completed += batch.length;
    }
  }),
);
const elapsedMs = performance.now() - started;
const [row] = (
  await boss
    .getDb()
    .executeSql(`select count(*)::int as n from pgboss.job where name = $1 and state = 'completed'`, [queue])
).rows;
process.stdout.write(`${JSON.stringify({ elapsedMs, completed, completedInDb: row.n })}\n`);
await boss.stop({ graceful: false, wait: true });
process.exit(0);

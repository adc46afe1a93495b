/**
 * Is the shared rate-limit row a hot spot? Two database pools (as two gateway processes would
 * have) take slots of one destination's per-second window as fast as they can:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/rate-limit.ts
 *
 * Prints acquisitions/s and their p50/p99 latency, with a limit far above what is reached (every
 * call updates the row) and with a limit of 50/s (most calls are refusals, the row still updated).
 * RATE_BENCH_SECONDS (default 5), RATE_BENCH_CONCURRENCY per pool (default 8).
 */
import { openDatabase } from '../src/db/client';
import { createProtectionStore } from '../src/deliver/protection-sql';
import { createBenchDatabase } from './lib/database';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');
const seconds = Number(process.env.RATE_BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.RATE_BENCH_CONCURRENCY ?? 8);

const db = await createBenchDatabase(serverUrl);
const pools = await Promise.all([0, 1].map(() => openDatabase({ url: db.url, poolSize: concurrency })));
try {
  for (const limit of [1_000_000, 50]) {
    const latencies: number[] = [];
    let admitted = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      pools.flatMap((pool) => {
        const store = createProtectionStore(pool);
        return Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) {
            const t = performance.now();
            if ((await store.acquire(`bench-${limit}`, 's', limit)).ok) admitted += 1;
            latencies.push(performance.now() - t);
          }
        });
      }),
    );
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(2);
    console.log(
      `limit ${limit}/s: ${(latencies.length / seconds).toFixed(0)} acquire calls/s (${(admitted / seconds).toFixed(0)} admitted/s), p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, 2 pools x ${concurrency}`,
    );
  }
} finally {
  for (const pool of pools) await pool.close();
  await db.drop();
}

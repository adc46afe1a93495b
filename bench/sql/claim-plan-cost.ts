// The worker's statements against a large hot queue that has been analyzed (the worker's own
// vacuum/analyze does, every 15 s and whenever the queue doubles; so does autovacuum): Q due
// events (default 300,000) in the queue, then claims of 100 and their outcomes, one after another,
// for R rounds (default 50), as one worker's loop with no-op handlers runs them. Prints ms per claim,
// per outcome batch and per lease-recovery check (median, p90). Run: node --import tsx bench/sql/claim-plan-cost.ts
// (docs/performance.md, *The claim's generic plan on a large queue*).
import { openDatabase } from '../../src/db/client';
import { createQueue } from '../../src/worker/queue-sql';
import { createBenchDatabase } from '../lib/database';
import { addQueued } from './queued';

const db = await createBenchDatabase('postgres://postgres@127.0.0.1:5432/postgres');
const gateway = await openDatabase({ url: db.url, poolSize: 2 });
try {
  await addQueued(db, 'shopify', Number(process.env.Q ?? 300_000), '1 minute');
  await db.sql`vacuum analyze event_queue`;
  const queue = createQueue(gateway);
  const claims: number[] = [];
  const outcomes: number[] = [];
  for (let round = 0; round < Number(process.env.R ?? 50); round++) {
    let t = performance.now();
    const claimed = await queue.claim('bench:1', 100);
    claims.push(performance.now() - t);
    t = performance.now();
    await queue.finishMany(claimed.map((event) => ({ event, result: { outcome: 'completed' as const } })));
    outcomes.push(performance.now() - t);
  }
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, p90 ${s[Math.floor(s.length * 0.9)]!.toFixed(1)} ms`;
  };
  // Every worker tick (once a second) looks for expired leases first: a scan of the queue.
  const recoveries: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await queue.recoverExpiredLeases(60);
    recoveries.push(performance.now() - t);
  }
  console.log(
    JSON.stringify({ claim: stat(claims.slice(1)), outcome: stat(outcomes.slice(1)), leaseRecovery: stat(recoveries) }),
  );
} finally {
  await gateway.close();
  await db.drop();
}

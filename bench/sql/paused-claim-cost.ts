// What a paused source's backlog costs the claim before and after it is parked (migration 0027,
// src/store/queue-parking.ts): on a fresh bench database with H events of history (default 1 M),
// P due events of a paused source queued ahead of R due events of others (defaults 200,000 and
// 100,000), the claim's scan to 100 claimable events with the paused events in its range (as
// before 0027) and parked; the gateway's own claim of 100 after parking; and what the pause (parks
// them) and the resume (gives them back) take. Three times each where repeatable. Run:
// node --import tsx bench/sql/paused-claim-cost.ts (docs/performance.md, *A paused source's backlog*).
import { createControlStore } from '../../src/control/store';
import { openDatabase } from '../../src/db/client';
import { createQueue } from '../../src/worker/queue-sql';
import { createBenchDatabase } from '../lib/database';
import { addQueued } from './queued';
import { addHistory } from '../phases/history';

const db = await createBenchDatabase('postgres://postgres@127.0.0.1:5432/postgres');
const gateway = await openDatabase({ url: db.url, poolSize: 2 });
try {
  console.log('history s', await addHistory(db, Number(process.env.H ?? 1_000_000)));
  const add = (source: string, n: number, age: string) => addQueued(db, source, n, age);
  await add('github', Number(process.env.P ?? 200_000), '10 minutes');
  await add('shopify', Number(process.env.R ?? 100_000), '1 minute');
  await db.sql`insert into sources (name, provider, spec) values ('github', 'github', '{}'::jsonb)`;
  await db.sql`vacuum analyze event_queue`;
  const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
  const scan = `select count(*) from (select event_id from event_queue q where claim_token is null and run_at <= now()
    and (not exists (select 1 from sources where paused) or not exists (select 1 from sources ps where ps.name = q.source and ps.paused))
    order by run_at, event_id limit 100) d`;
  const time = async (label: string, run: () => Promise<unknown>, handBack?: () => Promise<unknown>) => {
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const result = await run();
      console.log(label, ms(t), JSON.stringify(result).slice(0, 80));
      await handBack?.();
    }
  };
  // As before 0027: the source paused, its events still in the claim's range.
  await db.sql`update sources set paused = true where name = 'github'`;
  await time('claim scan, paused events in range', () => db.sql.unsafe(scan));
  await db.sql`update sources set paused = false where name = 'github'`;
  const control = createControlStore(gateway);
  let t = performance.now();
  await control.setPaused('github', true);
  console.log('pause (parks them)', ms(t));
  await time('claim scan, paused events parked', () => db.sql.unsafe(scan));
  const queue = createQueue(gateway);
  const claim = async () => (await queue.claim('bench:1', 100)).length;
  const handBack = () =>
    db.sql`update event_queue set claim_token = null, locked_by = null, locked_at = null where claim_token is not null`;
  await time('claim of 100, paused events parked', claim, handBack);
  t = performance.now();
  await control.setPaused('github', false);
  console.log('resume (gives them back)', ms(t));
  // The same queue with no source paused: what a claim costs anyway.
  await time('claim of 100, nothing paused', claim, handBack);
} finally {
  await gateway.close();
  await db.drop();
}

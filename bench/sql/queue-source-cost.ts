// What reading each queued event's source from the archive costs against the queue row's own
// source (migration 0025): on a fresh bench database with H events of history (default 1 M) and B
// due events (default 300,000; two thirds of them of a paused source, queued ahead of the rest),
// the backlog count per source, the claim's scan past a paused source, and the on-hold count, three
// times each. Run: node --import tsx bench/sql/queue-source-cost.ts (docs/performance.md,
// *The queue row's source*).
import { createBenchDatabase } from '../lib/database';
import { addQueued } from './queued';
import { addHistory } from '../phases/history';
const db = await createBenchDatabase('postgres://postgres@127.0.0.1:5432/postgres');
try {
  console.log('history s', await addHistory(db, Number(process.env.H ?? 1_000_000)));
  const backlog = Number(process.env.B ?? 300_000);
  const add = (source: string, n: number, age: string) => addQueued(db, source, n, age);
  await add('github', (backlog * 2) / 3, '10 minutes');
  await add('shopify', backlog / 3, '1 minute');
  await db.sql`vacuum analyze event_queue`;
  const time = async (label: string, text: string) => {
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = await db.sql.unsafe(text);
      console.log(label, (performance.now() - t).toFixed(0), 'ms', JSON.stringify(r).slice(0, 120));
    }
  };
  await time(
    'due by source, archive lookup',
    `select e.source, count(*)::int as n from event_queue q cross join lateral (select e.source from webhook_events e where e.id = q.event_id and e.received_at = q.received_at limit 1) e where q.claim_token is null and q.run_at <= now() group by e.source`,
  );
  await time(
    'due by source, queue only',
    `select source, count(*)::int as n from event_queue q where q.claim_token is null and q.run_at <= now() group by source`,
  );
  await db.sql`insert into sources (name, provider, spec, paused) values ('github', 'github', '{}'::jsonb, true)`;
  const due = (test: string) =>
    `select count(*) from (select event_id from event_queue q where claim_token is null and run_at <= now() and (not exists (select 1 from sources where paused) or ${test}) order by run_at, event_id limit 100) d`;
  await time(
    'claim scan, paused source ahead, archive lookup',
    due(
      `not exists (select 1 from webhook_events pe join sources ps on ps.name = pe.source where pe.id = q.event_id and pe.received_at = q.received_at and ps.paused)`,
    ),
  );
  await time(
    'claim scan, paused source ahead, queue source',
    due(`not exists (select 1 from sources ps where ps.name = q.source and ps.paused)`),
  );
  await time(
    'on hold, archive status',
    `select source, count(*) as held from webhook_events where status = 'received' and source in (select name from sources where paused) group by source`,
  );
  await time(
    'on hold, queue',
    `select source, count(*) as held from event_queue where blocked_at is null and source in (select name from sources where paused) group by source`,
  );
} finally {
  await db.drop();
}

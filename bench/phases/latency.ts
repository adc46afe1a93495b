import type { BenchDatabase } from '../lib/database';
import { INGEST_PATH, orderBody, shopifyHeaders } from '../lib/webhook';
import { startIngestServer } from './ingest';

export interface LatencyRun {
  ratePerSec: number;
  durationSec: number;
  events: number;
  /** received_at → processed_at, both PostgreSQL's clock (statement start of the insert and of the outcome write). */
  dbP50Ms: number;
  dbP99Ms: number;
  /** From the moment the bench sent the request to the moment it heard the completion NOTIFY. */
  clientP50Ms: number;
  clientP99Ms: number;
}

/**
 * One gateway process (web and worker, default worker settings), fed signed webhooks at a steady
 * `rate` per second: how long from receipt until each event is completed (no-op handler).
 */
export async function measureLatency(db: BenchDatabase, rate: number, durationSec: number): Promise<LatencyRun> {
  await db.reset();
  // The bench listens for completions itself, as a live-stream viewer would: registered as one, so
  // the gateway announces outcomes (it writes them without a NOTIFY while nobody watches).
  await db.sql`insert into stream_watchers (process, expires_at) values ('bench', 'infinity')`;
  const { proc, url } = await startIngestServer('gateway', db, { role: 'all' });
  const body = orderBody();
  const headers = shopifyHeaders(body);
  const sentAt = new Map<number, number>();
  const completedAt = new Map<number, number>();
  const listening = await db.sql.listen('webhook_events', (payload) => {
    const n = JSON.parse(payload) as { id: number; status: string };
    if (n.status === 'completed') completedAt.set(n.id, performance.now());
  });
  try {
    const total = rate * durationSec;
    const started = performance.now();
    const requests: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = performance.now();
      requests.push(
        fetch(`${url}${INGEST_PATH}`, {
          method: 'POST',
          body,
          headers: { ...headers, 'x-shopify-webhook-id': `lat-${i}` },
        })
          .then((res) => res.json() as Promise<{ id?: number }>)
          .then((answer) => {
            if (answer.id !== undefined) sentAt.set(answer.id, sent);
          }),
      );
    }
    await Promise.all(requests);
    const deadline = Date.now() + 30_000;
    while ([...sentAt.keys()].some((id) => !completedAt.has(id)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const client = [...sentAt].filter(([id]) => completedAt.has(id)).map(([id, sent]) => completedAt.get(id)! - sent);
    const [dbTimes] = await db.sql<[{ p50: number; p99: number }]>`
      select percentile_cont(0.5) within group (order by extract(epoch from processed_at - received_at)) * 1000 as p50,
             percentile_cont(0.99) within group (order by extract(epoch from processed_at - received_at)) * 1000 as p99
      from webhook_events where status = 'completed'`;
    return {
      ratePerSec: rate,
      durationSec,
      events: client.length,
      dbP50Ms: dbTimes.p50,
      dbP99Ms: dbTimes.p99,
      clientP50Ms: percentile(client, 0.5),
      clientP99Ms: percentile(client, 0.99),
    };
  } finally {
    await listening.unlisten();
    await proc.stop();
    await db.sql`delete from stream_watchers where process = 'bench'`;
  }
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

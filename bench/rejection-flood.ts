/**
 * What a flood of bad signatures costs good ingest, with the rejected-request log on:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:flood
 *
 * One gateway (role web) on a fresh database. Phase 1: good signed requests alone. Phase 2: the
 * same good load while a second load generator sends requests whose signature is wrong. Prints
 * good acks/s in both phases, their ratio, the flood's rejected/s and the rows the flood left in
 * rejected_requests (the per-source/cause/minute cap plus one aggregate row per minute).
 * FLOOD_DURATION (seconds, default 15), FLOOD_CONNECTIONS (default 20), GOOD_CONNECTIONS (default 10);
 * FLOOD_LOG_PER_MINUTE sets the gateway's REJECTED_REQUESTS_PER_MINUTE (default 20; 0 keeps only
 * the aggregate rows, to compare the cost of the detailed rows).
 */
import { createHmac } from 'node:crypto';
import postgres from 'postgres';
import { createBenchDatabase } from './lib/database';
import { pickLoadTool, runLoad } from './lib/load';
import { killAll } from './lib/processes';
import { ID_HEADER, INGEST_PATH, orderBody, shopifyHeaders } from './lib/webhook';
import { startIngestServer } from './phases/ingest';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');
const seconds = Number(process.env.FLOOD_DURATION ?? 15);
const floodConnections = Number(process.env.FLOOD_CONNECTIONS ?? 20);
const goodConnections = Number(process.env.GOOD_CONNECTIONS ?? 10);

const tool = pickLoadTool();
const db = await createBenchDatabase(serverUrl);
const body = orderBody();
const good = shopifyHeaders(body);
const bad = { ...good, 'x-shopify-hmac-sha256': createHmac('sha256', 'not-the-secret').update(body).digest('base64') };
try {
  const { proc, url } = await startIngestServer('gateway', db, {
    env: { REJECTED_REQUESTS_PER_MINUTE: process.env.FLOOD_LOG_PER_MINUTE ?? '20' },
  });
  try {
    const load = (headers: Record<string, string>, connections: number) =>
      runLoad(tool, {
        url: `${url}${INGEST_PATH}`,
        connections,
        durationSec: seconds,
        body,
        headers,
        idHeader: ID_HEADER,
      });
    await runLoad(tool, {
      url: `${url}${INGEST_PATH}`,
      connections: goodConnections,
      durationSec: 3,
      body,
      headers: good,
      idHeader: ID_HEADER,
    });
    const alone = await load(good, goodConnections);
    const [withFlood, flood] = await Promise.all([load(good, goodConnections), load(bad, floodConnections)]);
    // The log is written once a second: give the last batch time to land.
    await new Promise((r) => setTimeout(r, 2000));
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const [rows] = await sql<{ rows: number; counted: number }[]>`
      select count(*)::int as rows, coalesce(sum(repeat_count), 0)::int as counted from rejected_requests`;
    await sql.end();
    const floodPerSec = (flood.failed / seconds).toFixed(0);
    console.log(
      `load tool: ${tool}, ${seconds} s per phase, good ${goodConnections} connections, flood ${floodConnections}, REJECTED_REQUESTS_PER_MINUTE ${process.env.FLOOD_LOG_PER_MINUTE ?? '20'}`,
    );
    console.log(`good alone:        ${alone.okPerSec.toFixed(0)} acks/s (p99 ${alone.p99Ms} ms)`);
    console.log(`good during flood: ${withFlood.okPerSec.toFixed(0)} acks/s (p99 ${withFlood.p99Ms} ms)`);
    console.log(`ratio:             ${(withFlood.okPerSec / alone.okPerSec).toFixed(2)}`);
    console.log(
      `flood:             ${floodPerSec} rejected/s; rejected_requests holds ${rows!.rows} rows standing for ${rows!.counted} requests`,
    );
  } finally {
    await proc.stop();
  }
} finally {
  await db.drop();
  killAll();
}

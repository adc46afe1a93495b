import type { BenchDatabase } from '../lib/database';
import { runLoad, type LoadResult, type LoadTool } from '../lib/load';
import {
  cpuSecondsOf,
  freePort,
  memoryOf,
  postgresCpuSeconds,
  spawnNode,
  waitUntilUp,
  type NodeProcess,
} from '../lib/processes';
import { ID_HEADER, INGEST_PATH, SHOPIFY_SECRET, orderBody, shopifyHeaders } from '../lib/webhook';

export type IngestServer = 'gateway' | 'naive' | 'hmac-only';

export interface IngestRun extends LoadResult {
  server: IngestServer;
  peakRssMb: number;
  /** Rows the run added (durable servers): at least every 2xx answer. */
  storedRows?: number;
  /** 2xx answers over warm-up and measurement: storedRows must not be below it. */
  acknowledged: number;
  /** CPU time per 2xx answer of the measured run, in µs: the server process and every PostgreSQL process. */
  cpuUsPerAck?: { server: number; postgres: number };
}

export interface SoakRun extends IngestRun {
  /** [seconds since start, RSS MB], once a second. */
  rssSamples: [number, number][];
  /** Least-squares slope of RSS over the last three quarters of the run, MB per minute. */
  rssSlopeMbPerMin: number;
}

interface IngestContext {
  db: BenchDatabase;
  tool: LoadTool;
  warmupSec: number;
}

/** Starts one of the three servers on a free port against the bench database and waits until it answers. */
export async function startIngestServer(
  server: IngestServer,
  db: BenchDatabase,
  options: { role?: 'web' | 'all' | 'default'; env?: Record<string, string> } = {},
) {
  const port = await freePort();
  const env = {
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
    LOG_LEVEL: 'warn',
    DB_POOL_SIZE: '10',
    ...options.env,
  };
  const proc: NodeProcess =
    server === 'gateway'
      ? spawnNode(
          'src/main.ts',
          options.role === 'default' ? ['start'] : ['start', '--role', options.role ?? 'web'],
          env,
        )
      : spawnNode(`bench/servers/${server}.ts`, [], env);
  await waitUntilUp(`http://127.0.0.1:${port}/healthz`);
  return { proc, url: `http://127.0.0.1:${port}` };
}

const body = orderBody();
const headers = shopifyHeaders(body);

/** One server, one connection count: fresh tables, fresh process, warm-up, then the measured run. */
export async function measureIngest(
  ctx: IngestContext,
  server: IngestServer,
  connections: number,
  durationSec: number,
  options: { reset?: boolean } = {},
): Promise<IngestRun> {
  if (options.reset !== false) await ctx.db.reset();
  const before = server === 'hmac-only' ? 0 : await lastId(ctx.db, server);
  const { proc, url } = await startIngestServer(server, ctx.db);
  try {
    const load = (sec: number) =>
      runLoad(ctx.tool, {
        url: `${url}${INGEST_PATH}`,
        connections,
        durationSec: sec,
        body,
        headers,
        idHeader: ID_HEADER,
      });
    const warm = await load(ctx.warmupSec);
    const cpuBefore = { server: cpuSecondsOf(proc.pid), postgres: postgresCpuSeconds() };
    const result = await load(durationSec);
    const perAck = (seconds: number) => (seconds * 1e6) / Math.max(result.ok, 1);
    return {
      ...result,
      server,
      cpuUsPerAck: {
        server: perAck(cpuSecondsOf(proc.pid) - cpuBefore.server),
        postgres: perAck(postgresCpuSeconds() - cpuBefore.postgres),
      },
      peakRssMb: memoryOf(proc.pid).peakRssMb,
      acknowledged: warm.ok + result.ok,
      storedRows: server === 'hmac-only' ? undefined : await storedRows(ctx.db, server, before),
    };
  } finally {
    await proc.stop();
  }
}

/** The gateway under sustained load, its memory sampled every second. */
export async function soakIngest(ctx: IngestContext, connections: number, durationSec: number): Promise<SoakRun> {
  await ctx.db.reset();
  const { proc, url } = await startIngestServer('gateway', ctx.db);
  const started = Date.now();
  const rssSamples: [number, number][] = [];
  const sampler = setInterval(() => rssSamples.push([(Date.now() - started) / 1000, memoryOf(proc.pid).rssMb]), 1000);
  try {
    const result = await runLoad(ctx.tool, {
      url: `${url}${INGEST_PATH}`,
      connections,
      durationSec,
      body,
      headers,
      idHeader: ID_HEADER,
    });
    clearInterval(sampler);
    const tail = rssSamples.filter(([t]) => t >= durationSec / 4);
    return {
      ...result,
      server: 'gateway',
      peakRssMb: memoryOf(proc.pid).peakRssMb,
      acknowledged: result.ok,
      storedRows: await storedRows(ctx.db, 'gateway'),
      rssSamples,
      rssSlopeMbPerMin: slope(tail) * 60,
    };
  } finally {
    clearInterval(sampler);
    await proc.stop();
  }
}

/** Rows the server stored after `afterId`: the naive server has its own table (see bench/servers/naive.ts). */
async function storedRows(db: BenchDatabase, server: IngestServer, afterId = 0): Promise<number> {
  const [row] =
    server === 'naive'
      ? await db.sql<[{ n: number }]>`select count(*)::int as n from naive_events where id > ${afterId}`
      : await db.sql<[{ n: number }]>`select count(*)::int as n from webhook_events where id > ${afterId}`;
  return row.n;
}

async function lastId(db: BenchDatabase, server: IngestServer): Promise<number> {
  const [row] =
    server === 'naive'
      ? await db.sql<[{ n: number }]>`select coalesce(max(id), 0)::bigint::float8 as n from naive_events`
      : await db.sql<[{ n: number }]>`select coalesce(max(id), 0)::bigint::float8 as n from webhook_events`;
  return row.n;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

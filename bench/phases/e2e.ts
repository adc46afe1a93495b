import type { BenchDatabase } from '../lib/database';
import { runLoad, type LoadResult, type LoadTool } from '../lib/load';
import { cpuSecondsOf, memoryOf, postgresCpuSeconds } from '../lib/processes';
import { ID_HEADER, INGEST_PATH, orderBody, shopifyHeaders } from '../lib/webhook';
import { startIngestServer } from './ingest';

export interface BurstRun extends LoadResult {
  /** Events not yet completed or failed when the burst's load stopped. */
  backlogAtEnd: number;
  /** Seconds from the burst's start until no event was left (or the cap was hit). */
  untilDrainedSec: number;
  drained: boolean;
  /** Acknowledged events ÷ untilDrainedSec: what the process finishes per second under this load. */
  completedPerSec: number;
  /**
   * CPU time per acknowledged event from the burst's start until drained, in µs: the gateway process
   * and every PostgreSQL process. On 2 cores, 5,000 events/s leave 400 µs per event for all of
   * them and the load generator together: where the time goes, independent of how fast the machine is today.
   */
  cpuUsPerEvent: { gateway: number; postgres: number };
  /**
   * WAL the server wrote per acknowledged event over the same span (pg_current_wal_lsn), in bytes:
   * what drives checkpoints, and with them the worst ack p99s (docs/performance.md, *Where the WAL
   * goes*). Server-wide: anything else writing on the server counts too.
   */
  walBytesPerEvent: number;
}

export interface EndToEndRun {
  label: string;
  /**
   * The unmeasured load before the first burst (BENCH_WARMUP seconds, as every ingest measurement
   * has) and how long its events took to drain: a gateway users run has been running, and a fresh
   * process answers its first half-second at a quarter of its rate (code not yet optimised by V8,
   * connections still opening), which made burst 1 the slowest of most runs.
   */
  warmup: { sec: number; acknowledged: number; drainedSec: number; drained: boolean };
  /** Completed or failed events in webhook_events before the first burst (the history phase). */
  historyEvents: number;
  bursts: BurstRun[];
  peakRssMb: number;
}

const body = orderBody();
const headers = shopifyHeaders(body);
const DRAIN_CAP_SEC = 60;

/**
 * The process users run: `npm start` (web and worker in one process, default settings) on
 * PostgreSQL. Consecutive bursts of signed Shopify webhooks at `connections`, each followed by a
 * wait until the backlog is drained (at most 60 s): completed/s = acknowledged ÷ time until none
 * was left. The bursts are consecutive on purpose: a queue that slows down as it fills (dead index
 * entries, a growing attempt log) shows as a falling curve.
 */
export async function measureEndToEnd(
  db: BenchDatabase,
  tool: LoadTool,
  options: {
    label: string;
    bursts: number;
    burstSec: number;
    connections: number;
    reset: boolean;
    warmupSec: number;
    env?: Record<string, string>;
  },
): Promise<EndToEndRun> {
  if (options.reset) await db.reset();
  const historyEvents = await unfinished(db, true);
  const { proc, url } = await startIngestServer('gateway', db, { role: 'default', env: options.env ?? {} });
  const load = (durationSec: number) =>
    runLoad(tool, {
      url: `${url}${INGEST_PATH}`,
      connections: options.connections,
      durationSec,
      body,
      headers,
      idHeader: ID_HEADER,
    });
  /** Waits until no event is left (at most DRAIN_CAP_SEC past the load): what is left. */
  const drain = async (started: number, loadSec: number) => {
    let left = await unfinished(db);
    while (left > 0 && performance.now() - started < (loadSec + DRAIN_CAP_SEC) * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      left = await unfinished(db);
    }
    return left;
  };
  try {
    const warmStarted = performance.now();
    const warm = options.warmupSec > 0 ? await load(options.warmupSec) : undefined;
    const warmLeft = await drain(warmStarted, options.warmupSec);
    const warmup = {
      sec: options.warmupSec,
      acknowledged: warm?.ok ?? 0,
      drainedSec: (performance.now() - warmStarted) / 1000,
      drained: warmLeft === 0,
    };
    const bursts: BurstRun[] = [];
    for (let i = 0; i < options.bursts; i++) {
      const started = performance.now();
      const cpuBefore = { gateway: cpuSecondsOf(proc.pid), postgres: postgresCpuSeconds() };
      const walBefore = await walPosition(db);
      const burst = await load(options.burstSec);
      const backlogAtEnd = await unfinished(db);
      const left = backlogAtEnd > 0 ? await drain(started, options.burstSec) : 0;
      const untilDrainedSec = (performance.now() - started) / 1000;
      const perEvent = (seconds: number) => (seconds * 1e6) / Math.max(burst.ok, 1);
      const walBytes = await walBytesSince(db, walBefore);
      bursts.push({
        cpuUsPerEvent: {
          gateway: perEvent(cpuSecondsOf(proc.pid) - cpuBefore.gateway),
          postgres: perEvent(postgresCpuSeconds() - cpuBefore.postgres),
        },
        walBytesPerEvent: walBytes / Math.max(burst.ok, 1),
        ...burst,
        backlogAtEnd,
        untilDrainedSec,
        drained: left === 0,
        completedPerSec: (left === 0 ? burst.ok : burst.ok - left) / untilDrainedSec,
      });
    }
    return { label: options.label, historyEvents, warmup, bursts, peakRssMb: memoryOf(proc.pid).peakRssMb };
  } finally {
    await proc.stop();
  }
}

/**
 * Events still to process (or, with `finished`, the ones done): the bench's own count, not the
 * gateway's. Unfinished events are counted on the hot queue, which holds exactly those (the outcome
 * that completes or fails an event deletes its queue row in the same statement; no event of this
 * phase is ordered or held). Counting them through the archive's status index, as before, walked
 * an index entry per dead row version (no vacuum): 300 ms and 95,000 blocks per count with 1 M
 * events of history (pg_stat_statements, 2026-12-03), polled every 100 ms while a backlog drains,
 * so the instrument took a core from the worker it was timing.
 *
 * Finished events are every stored event (one exactly-once key each in event_keys) less the
 * unfinished ones. Counting them by the archive's status, as before, read the whole archive: with
 * 10 M events of history a 4-minute sequential read of ~40 GB through the page cache right before
 * the first burst (pg_stat_activity sampled every 0.2 s, 2026-12-04), evicting what the gateway's
 * indexes had in it; that first burst ran at 3,130 and 1,355 completed/s in two of the day's three
 * full runs with 10 M events (the bursts after it: 4,881–5,752 and 2,237–2,579/s).
 */
async function unfinished(db: BenchDatabase, finished = false): Promise<number> {
  const [row] = finished
    ? await db.sql<[{ n: number }]>`
        select ((select count(*) from event_keys) - (select count(*) from event_queue))::int as n`
    : await db.sql<[{ n: number }]>`select count(*)::int as n from event_queue`;
  return row.n;
}

async function walPosition(db: BenchDatabase): Promise<string> {
  const [row] = await db.sql<[{ lsn: string }]>`select pg_current_wal_lsn()::text as lsn`;
  return row.lsn;
}

async function walBytesSince(db: BenchDatabase, lsn: string): Promise<number> {
  const [row] = await db.sql<
    [{ bytes: string }]
  >`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${lsn}::pg_lsn)::text as bytes`;
  return Number(row.bytes);
}

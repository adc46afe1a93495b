// `npm run bench`: the gateway against a naive per-request insert and an HMAC-only ceiling, its
// worker against pg-boss and graphile-worker, and receive→completed latency — all in one run on
// one database, so the ratios are fair on a machine whose speed drifts. See docs/performance.md.
//
// DATABASE_URL        PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432/postgres);
//                     a fresh randomly named database is created there and dropped afterwards.
// BENCH_DURATION      seconds per ingest measurement (default 10), after BENCH_WARMUP (default 2)
// BENCH_SOAK          seconds of sustained load for the memory check (default 120)
// BENCH_JOBS          no-op jobs per worker system and round (default 20000; BENCH_WORKER_ROUNDS, default 3)
// BENCH_RATE          requests/s of the latency measurement (default 500)
// BENCH_LOAD_TOOL     wrk or autocannon (default: wrk when installed, else autocannon)
// BENCH_SOAK_MINUTES  run only the steady-rate soak for this many minutes (BENCH_SOAK_RATE/s, default 500)
// BENCH_BURST         seconds per end-to-end burst (default 15; three bursts at 50 connections,
//                     after BENCH_WARMUP seconds of unmeasured load, drained)
// BENCH_HISTORY       completed events of history to add before ingest and end-to-end run again
//                     (default 1000000,10000000 as issue #13 asks: adds up to each in turn; set
//                     1000000 alone for a shorter run)
// BENCH_RETENTION     events in the day whose retention is measured (default 1000000)
// BENCH_RETENTION_BASELINE  rows the pre-0019 row delete is timed on, scaled to the day (default 100000)
// BENCH_PHASES        comma list to run only some of: ingest,soak,worker,latency,e2e,history,retention,footprint,x12,ordering
// BENCH_ORDERING_KEYS ordering keys (lanes) of the ordering phase (default 1000)
// BENCH_GATEWAY_ENV   "NAME=value …" added to every gateway process (A/B of one setting, e.g. HEAP_GROWING_PERCENT=0)
// BENCH_GATEWAY_NODE_ARGS  node options for every gateway process (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
import { cpus, loadavg } from 'node:os';
import { createBenchDatabase } from './lib/database';
import { pickLoadTool } from './lib/load';
import { killAll } from './lib/processes';
import { judge, renderTable, writeResults, type BenchResults, type HistoryRun } from './lib/results';
import { measureEndToEnd, type EndToEndRun } from './phases/e2e';
import { addHistory, settleBacklog } from './phases/history';
import { measureFootprint, renderFootprint, soakSteady } from './phases/footprint';
import { measureIngest, soakIngest, type IngestRun, type IngestServer } from './phases/ingest';
import { measureLatency } from './phases/latency';
import { measureRetention } from './phases/retention';
import { measureOrdering } from './phases/ordering';
import { measureGatewayWorker, measureQueueLibrary, type WorkerRun } from './phases/worker';
import { measureX12 } from './phases/x12';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings = {
  durationSec: env('BENCH_DURATION', 10),
  warmupSec: env('BENCH_WARMUP', 2),
  soakSec: env('BENCH_SOAK', 120),
  jobs: env('BENCH_JOBS', 20_000),
  rate: env('BENCH_RATE', 500),
  workerRounds: env('BENCH_WORKER_ROUNDS', 3),
  burstSec: env('BENCH_BURST', 15),
  history: process.env.BENCH_HISTORY ?? '1000000,10000000',
  retention: env('BENCH_RETENTION', 1_000_000),
  retentionBaseline: env('BENCH_RETENTION_BASELINE', 100_000),
  batch: 50,
  concurrency: 50,
};
const phases = new Set(
  (process.env.BENCH_PHASES ?? 'ingest,soak,worker,latency,e2e,history,retention,footprint,x12,ordering').split(','),
);
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

const startedAt = new Date();
const loadAverageAtStart = loadavg();
const loadTool = pickLoadTool();
log(`load generator: ${loadTool}; creating a database on ${new URL(serverUrl).host}`);
const db = await createBenchDatabase(serverUrl);
let exitCode = 0;
if (process.env.BENCH_SOAK_MINUTES) {
  try {
    const slices = await soakSteady(db, Number(process.env.BENCH_SOAK_MINUTES), env('BENCH_SOAK_RATE', 500));
    process.stdout.write(`\n${JSON.stringify(slices, null, 1)}\n`);
  } finally {
    killAll();
    await db.drop();
  }
  process.exit(0);
}
try {
  const [{ version }] = await db.sql<[{ version: string }]>`select version()`;
  const ctx = { db, tool: loadTool, warmupSec: settings.warmupSec };

  const ingest: IngestRun[] = [];
  for (const connections of phases.has('ingest') ? [50, 200] : []) {
    // The three servers one after the other, each alone on the machine with fresh tables.
    for (const server of ['hmac-only', 'naive', 'gateway'] as IngestServer[]) {
      log(`ingest: ${server}, ${connections} connections, ${settings.durationSec} s`);
      ingest.push(await measureIngest(ctx, server, connections, settings.durationSec));
    }
  }
  if (phases.has('soak')) log(`ingest: gateway sustained for ${settings.soakSec} s, 50 connections`);
  const soak = phases.has('soak') ? await soakIngest(ctx, 50, settings.soakSec) : undefined;

  const workerSettings = { jobs: settings.jobs, batch: settings.batch, concurrency: settings.concurrency };
  const rounds: WorkerRun[][] = [[], [], []];
  for (let round = 1; phases.has('worker') && round <= settings.workerRounds; round++) {
    // Interleaved rounds, median per system: one slow moment of the machine cannot decide a ratio.
    log(
      `worker round ${round}/${settings.workerRounds}: gateway, pg-boss, graphile-worker, ${settings.jobs} no-op jobs each`,
    );
    rounds[0]!.push(await measureGatewayWorker(db, workerSettings));
    rounds[1]!.push(await measureQueueLibrary(db, 'pg-boss', workerSettings));
    rounds[2]!.push(await measureQueueLibrary(db, 'graphile-worker', workerSettings));
  }
  const worker = rounds.filter((r) => r.length > 0).map(median);

  const orderingKeys = env('BENCH_ORDERING_KEYS', 1000);
  if (phases.has('ordering')) log(`ordering: ${settings.jobs} no-op jobs unordered, then over ${orderingKeys} keys`);
  const ordering = phases.has('ordering') ? await measureOrdering(db, workerSettings, orderingKeys) : undefined;

  if (phases.has('latency')) log(`latency: ${settings.rate} requests/s for 10 s`);
  const latency = phases.has('latency') ? await measureLatency(db, settings.rate, 10) : undefined;

  const e2e: EndToEndRun[] = [];
  const e2eOptions = { bursts: 3, burstSec: settings.burstSec, connections: 50, warmupSec: settings.warmupSec };
  if (phases.has('e2e') || phases.has('history')) {
    log(
      `end-to-end: npm start, ${settings.warmupSec} s warm-up, then 3 bursts of ${settings.burstSec} s at 50 connections, empty database`,
    );
    e2e.push(await measureEndToEnd(db, loadTool, { ...e2eOptions, label: 'empty', reset: true }));
  }
  const history: HistoryRun[] = [];
  if (phases.has('history')) {
    // Ingest on an empty database, then the same with history: the curve is read as ratios.
    log('history: ingest on an empty database, 50 connections');
    const empty = await measureIngest(ctx, 'gateway', 50, settings.durationSec);
    await settleBacklog(db);
    history.push({ events: 0, generateSec: 0, ingest: empty, e2e: e2e[0]! });
    let total = 0;
    for (const size of settings.history.split(',').map(Number)) {
      log(`history: adding ${size - total} completed events (to ${size})`);
      const generateSec = await addHistory(db, size - total);
      total = size;
      log(`history: ${size} events; ingest, then end-to-end`);
      const ingestRun = await measureIngest(ctx, 'gateway', 50, settings.durationSec, { reset: false });
      await settleBacklog(db);
      const e2eRun = await measureEndToEnd(db, loadTool, { ...e2eOptions, label: `history ${size}`, reset: false });
      history.push({ events: size, generateSec, ingest: ingestRun, e2e: e2eRun });
    }
  }

  if (phases.has('retention')) log(`retention: a day of ${settings.retention} events, partition drop vs row delete`);
  const retention = phases.has('retention')
    ? await measureRetention(db, settings.retention, settings.retentionBaseline)
    : undefined;

  if (phases.has('footprint')) log('footprint: --help, idle RSS (PostgreSQL, PGlite), --web-processes 1 and 2');
  const footprint = phases.has('footprint') ? await measureFootprint(ctx, settings.durationSec) : undefined;
  if (phases.has('x12')) log('x12: parsing 1 MB and 4 MB of 850s; the formerly quadratic inputs');
  const x12 = phases.has('x12') ? measureX12() : undefined;

  const partial: Omit<BenchResults, 'targets'> = {
    startedAt: startedAt.toISOString(),
    durationSec: (Date.now() - startedAt.getTime()) / 1000,
    machine: { cpus: cpus().length, node: process.version, postgres: version, loadAverageAtStart },
    loadTool,
    settings,
    ingest,
    soak,
    worker,
    workerRounds: rounds.flat(),
    ordering,
    latency,
    e2e,
    history,
    retention,
    footprint,
    x12,
  };
  const results: BenchResults = { ...partial, targets: judge(partial) };
  process.stdout.write(`\n${renderTable(results)}\n\n${footprint ? `${renderFootprint(footprint)}\n\n` : ''}`);
  log(`results written to ${writeResults(results)} (${results.durationSec.toFixed(0)} s)`);
  // Integrity: a durable server stored every event it acknowledged; every queue finished every job.
  const problems = [
    ...[...ingest, ...(soak ? [soak] : []), ...history.map((h) => h.ingest)]
      .filter((run) => run.storedRows !== undefined && run.storedRows < run.acknowledged)
      .map((run) => `${run.server}: ${run.acknowledged} acknowledged but only ${run.storedRows} stored`),
    ...rounds
      .flat()
      .filter((run) => run.completedInDb !== run.jobs)
      .map((run) => `${run.system}: ${run.completedInDb} of ${run.jobs} jobs completed`),
    ...(ordering &&
    (ordering.completedInDb.ordered !== ordering.jobs || ordering.completedInDb.unordered !== ordering.jobs)
      ? [`ordering: ${JSON.stringify(ordering.completedInDb)} of ${ordering.jobs} jobs completed`]
      : []),
  ];
  if (problems.length > 0) throw new Error(problems.join('; '));
} catch (err) {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  exitCode = 1;
} finally {
  killAll();
  await db.drop();
}
process.exit(exitCode);

/** The run with the median throughput (rounds of one system). */
function median(runs: WorkerRun[]): WorkerRun {
  return [...runs].sort((a, b) => a.perSec - b.perSec)[Math.floor(runs.length / 2)]!;
}

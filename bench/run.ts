// `npm run bench`: the gateway against a naive per-request insert and an HMAC-only ceiling, its
// worker against pg-boss and graphile-worker, and receive→completed latency — all in one run on
// one database, so the ratios are fair on a machine whose speed drifts. See docs/performance.md.
//
// DATABASE_URL        PostgreSQL server to use (default postgres://postgres@127.0.0.1:5432/postgres);
//                     a fresh randomly named database is created there and dropped afterwards.
// BENCH_DURATION      seconds per ingest measurement (default 10), after BENCH_WARMUP (default 2)
// BENCH_SOAK          seconds of sustained load for the memory check (default 60)
// BENCH_JOBS          no-op jobs per worker system and round (default 20000; BENCH_WORKER_ROUNDS, default 3)
// BENCH_RATE          requests/s of the latency measurement (default 500)
// BENCH_LOAD_TOOL     wrk or autocannon (default: wrk when installed, else autocannon)
// BENCH_SOAK_MINUTES  run only the steady-rate soak for this many minutes (BENCH_SOAK_RATE/s, default 500)
import { cpus, loadavg } from 'node:os';
import { createBenchDatabase } from './lib/database';
import { pickLoadTool } from './lib/load';
import { killAll } from './lib/processes';
import { judge, renderTable, writeResults, type BenchResults } from './lib/results';
import { measureFootprint, renderFootprint, soakSteady } from './phases/footprint';
import { measureIngest, soakIngest, type IngestRun, type IngestServer } from './phases/ingest';
import { measureLatency } from './phases/latency';
import { measureGatewayWorker, measureQueueLibrary, type WorkerRun } from './phases/worker';
import { measureX12 } from './phases/x12';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings = {
  durationSec: env('BENCH_DURATION', 10),
  warmupSec: env('BENCH_WARMUP', 2),
  soakSec: env('BENCH_SOAK', 60),
  jobs: env('BENCH_JOBS', 20_000),
  rate: env('BENCH_RATE', 500),
  workerRounds: env('BENCH_WORKER_ROUNDS', 3),
  batch: 50,
  concurrency: 50,
};
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
  for (const connections of [50, 200]) {
    // The three servers one after the other, each alone on the machine with fresh tables.
    for (const server of ['hmac-only', 'naive', 'gateway'] as IngestServer[]) {
      log(`ingest: ${server}, ${connections} connections, ${settings.durationSec} s`);
      ingest.push(await measureIngest(ctx, server, connections, settings.durationSec));
    }
  }
  log(`ingest: gateway sustained for ${settings.soakSec} s, 50 connections`);
  const soak = await soakIngest(ctx, 50, settings.soakSec);

  const workerSettings = { jobs: settings.jobs, batch: settings.batch, concurrency: settings.concurrency };
  const rounds: WorkerRun[][] = [[], [], []];
  for (let round = 1; round <= settings.workerRounds; round++) {
    // Interleaved rounds, median per system: one slow moment of the machine cannot decide a ratio.
    log(
      `worker round ${round}/${settings.workerRounds}: gateway, pg-boss, graphile-worker, ${settings.jobs} no-op jobs each`,
    );
    rounds[0]!.push(await measureGatewayWorker(db, workerSettings));
    rounds[1]!.push(await measureQueueLibrary(db, 'pg-boss', workerSettings));
    rounds[2]!.push(await measureQueueLibrary(db, 'graphile-worker', workerSettings));
  }
  const worker = rounds.map(median);

  log(`latency: ${settings.rate} requests/s for 10 s`);
  const latency = await measureLatency(db, settings.rate, 10);

  log('footprint: --help, idle RSS (PostgreSQL, PGlite), --web-processes 1 and 2');
  const footprint = await measureFootprint(ctx, settings.durationSec);
  log('x12: parsing 1 MB and 4 MB of 850s; the formerly quadratic inputs');
  const x12 = measureX12();

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
    latency,
    footprint,
    x12,
  };
  const results: BenchResults = { ...partial, targets: judge(partial) };
  process.stdout.write(`\n${renderTable(results)}\n\n${renderFootprint(footprint)}\n\n`);
  log(`results written to ${writeResults(results)} (${results.durationSec.toFixed(0)} s)`);
  // Integrity: a durable server stored every event it acknowledged; every queue finished every job.
  const problems = [
    ...[...ingest, soak]
      .filter((run) => run.storedRows !== undefined && run.storedRows < run.acknowledged)
      .map((run) => `${run.server}: ${run.acknowledged} acknowledged but only ${run.storedRows} stored`),
    ...rounds
      .flat()
      .filter((run) => run.completedInDb !== run.jobs)
      .map((run) => `${run.system}: ${run.completedInDb} of ${run.jobs} jobs completed`),
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

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { StartupError } from '../config/errors';
import { lockDataDir } from './data-dir-lock';
import { DATA_DIR_MODE, keepDataDirPrivate } from './data-dir-mode';
import { pgdataTemplatePath, restorePgdataTemplate } from './pgdata-template';
import { yieldAfterEachStatement } from './pglite-yield';
import * as schema from './schema';

export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The gateway's handle on its database, whichever engine is behind it. */
export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Drizzle;
  /** Runs a raw statement and returns its rows (postgres.js and PGlite shape results differently). */
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  close(): Promise<void>;
  /** postgres.js client, for LISTEN/NOTIFY and dedicated connections; absent on PGlite. */
  readonly sql?: postgres.Sql;
  /**
   * postgres.js client for the statements whose text never changes (src/db/statements.ts): its
   * sessions plan each prepared statement once (plan_cache_mode = force_generic_plan); absent on PGlite.
   */
  readonly plannedSql?: postgres.Sql;
  readonly pglite?: PGlite;
  /**
   * PGlite only: the DATA_DIR was left by a process that did not close it (killed), so opening it
   * replayed the write-ahead log; which process, and how long the opening took.
   */
  readonly recovered?: { pid: number; started: string; openMs: number };
}

export interface DatabaseOptions {
  /** postgres:// URL; without it an embedded PGlite database is used. */
  url?: string;
  /** PGlite data directory; `memory://` keeps everything in memory. */
  dataDir?: string;
  poolSize?: number;
  connectTimeoutSeconds?: number;
  /** backend_flush_after of every session, in kB; 0 leaves the server's setting (default 256). */
  backendFlushAfterKb?: number;
}

/** The rows of `tx.execute` inside a transaction: postgres.js returns them, PGlite an object holding them. */
export const rowsOf = <T>(result: unknown): T[] =>
  (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];

/** Opens PostgreSQL (when a URL is given) or embedded PGlite. Nothing connects before this is called. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  return openPglite(options.dataDir ?? './data');
}

function openPostgres(url: string, options: DatabaseOptions): Database {
  const { main, planned } = splitPool(options.poolSize ?? 10);
  const sql = connect(url, main, options, {});
  const plannedSql = connect(url, planned, options, PLAN_ONCE);
  const db = drizzlePostgres(sql, { schema }) as unknown as Drizzle;
  // Wrapping a postgres.js client in drizzle sets its serializers and parsers: timestamps, json and
  // jsonb pass as text both ways. The hot statements rely on that exactly as drizzle's queries do
  // (received_at ranges keep their microseconds, JSON parameters are not encoded twice), so the
  // second client gets the same treatment.
  drizzlePostgres(plannedSql, { schema });
  return {
    kind: 'postgres',
    db,
    sql,
    plannedSql,
    rows: async <T>(query: SQL) => (await db.execute(query)) as unknown as T[],
    close: async () => {
      await Promise.all([sql.end({ timeout: 5 }), plannedSql.end({ timeout: 5 })]);
    },
  };
}

/**
 * PostgreSQL plans a prepared statement anew for each call (a custom plan) while that looks
 * cheaper than its generic plan, and a statement whose parameters bound a range of day partitions
 * always looks cheaper planned for its values: with `pg_stat_statements` (track_planning) on the
 * end-to-end bench, 82 % of the worker's outcome statements and 76 % of its claims were planned
 * again, 0.7 ms (outcome) and 1.3–8.4 ms (claim, 1 M events of history) per call; `perf` put
 * ~14 % of PostgreSQL's CPU under the end-to-end bench in planning. Planned once, their generic plans prune partitions as the executor
 * starts; per row, outcome 79 → 68 µs and claim 200 → 148 µs with 1 M history (planning included).
 * The ops API's reads keep custom plans: their filters can be skewed (one source, one status).
 */
const PLAN_ONCE = { plan_cache_mode: 'force_generic_plan' };

/**
 * DB_POOL_SIZE is the process's whole budget: half of it (at least one) for the hot statements'
 * connections, the rest (at least one) for everything else. postgres.js opens connections only
 * when they are needed.
 */
export function splitPool(poolSize: number): { main: number; planned: number } {
  const planned = Math.max(1, Math.floor(poolSize / 2));
  return { planned, main: Math.max(1, poolSize - planned) };
}

function connect(url: string, max: number, options: DatabaseOptions, settings: Record<string, string>) {
  return postgres(url, {
    max,
    // Fail fast when the server is gone so ingest can answer 503 instead of hanging.
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    // postgres.js's default reconnect backoff grows to 20 s; after an outage that left the gateway
    // answering 503 for tens of seconds after the database was back. Capped at 1 s (with jitter).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    // JIT off: the worker's statements are short, but a generic plan over many day partitions of
    // unanalyzed history is estimated above jit_above_cost, and PostgreSQL then compiled ~760
    // functions with LLVM on every claim: 7–12 s per claim (auto_explain, 1 M history), the
    // end-to-end bench fell from ~3,000 to 35 completed/s. OLTP statements never gain from JIT.
    connection: { application_name: 'webhook-gateway', jit: 'off', ...flushAfter(options), ...settings },
  });
}

/**
 * The pages a session writes out of shared buffers (evicting them to read others: ingest and the
 * worker dirty pages faster than a small shared_buffers holds them) land in the kernel's page cache
 * and stay dirty until Linux writes back everything older than 30 s (vm.dirty_expire_centisecs) at
 * once. Measured in the end-to-end bench (2026-12-04): 320 MB dirty after 30 s of load, then
 * written in one go while commits waited on WAL fsync (IO:WALSync, LWLock:WALWrite): acks of
 * 100–300 ms, the third burst's ack p99 at 149–400 ms in every run. With backend_flush_after
 * (PostgreSQL asks the kernel to start writing after every 256 kB a session wrote;
 * sync_file_range on Linux, ignored where unsupported) the dirty pages held at ~125 MB and that
 * burst's p99 was 59 ms. PostgreSQL leaves it off by default; a session may set it (PGC_USERSET).
 */
function flushAfter(options: DatabaseOptions): Record<string, string> {
  const kb = options.backendFlushAfterKb ?? 256;
  return kb > 0 ? { backend_flush_after: `${kb}kB` } : {};
}

// PGlite's default shared_buffers is PostgreSQL's 128 MB, all of it inside the process's WASM
// memory once touched. 16 MB holds the gateway's hot pages on a one-box install (the files stay in
// the OS page cache): idle RSS 352 → 238 MB measured, see docs/performance.md.
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * PGlite is a 9 MB WASM module. V8 first compiles it with its baseline compiler (Liftoff), then
 * recompiles hot functions with TurboFan in the background; those optimised copies and the
 * compiler's own memory cost 60–100 MB of RSS that is never given back. Liftoff only, measured
 * with the compiled build (docs/performance.md, "Why PGlite spiked"): idle RSS on a new DATA_DIR
 * 236–281 → 177 MB, and ingest on PGlite was not slower (interleaved runs: 593 vs 470 and 839 vs
 * 731 requests/s) — no background recompilation competes for the two cores. The flag only
 * affects WASM compiled after it is set; QuickJS (transformations, src/transform) is compiled after
 * it too, on its own threads (docs/destinations.md#transformations has its cost with and without).
 */
const WASM_BASELINE_ONLY = '--liftoff-only';

async function openPglite(dataDir: string): Promise<Database> {
  setFlagsFromString(WASM_BASELINE_ONLY);
  const inMemory = dataDir.startsWith('memory://');
  const lock = inMemory ? undefined : await prepareDataDir(dataDir);
  const openedAt = performance.now();
  try {
    // Loaded here, not at the top: a gateway on PostgreSQL never needs PGlite's 0.5 MB of
    // JavaScript (idle RSS, docs/performance.md *Footprint*).
    const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
    ]);
    const pglite = await PGlite.create(inMemory ? undefined : dataDir, {
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
    });
    yieldAfterEachStatement(pglite);
    const db = drizzlePglite(pglite, { schema }) as unknown as Drizzle;
    const unclean = lock?.uncleanStop;
    return {
      kind: 'pglite',
      db,
      pglite,
      recovered: unclean && { ...unclean, openMs: Math.round(performance.now() - openedAt) },
      rows: async <T>(query: SQL) => ((await db.execute(query)) as unknown as { rows: T[] }).rows,
      close: async () => {
        await pglite.close();
        await lock?.release();
      },
    };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

/** Creates DATA_DIR if needed (the owner's alone), takes its one-process lock, and runs initdb there on first use. */
async function prepareDataDir(dataDir: string) {
  try {
    mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new StartupError(
        `DATA_DIR ${dataDir} is not a directory: point DATA_DIR at a directory (it is created if missing).`,
      );
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new StartupError(`cannot create DATA_DIR ${dataDir} (${code}): choose a directory this user can write to.`);
    }
    throw err;
  }
  if (!statSync(dataDir).isDirectory()) {
    throw new StartupError(
      `DATA_DIR ${dataDir} is not a directory: point DATA_DIR at a directory (it is created if missing).`,
    );
  }
  const lock = await lockDataDir(dataDir);
  try {
    keepDataDirPrivate(dataDir);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      const template = pgdataTemplatePath();
      if (!template || !(await restorePgdataTemplate(template, dataDir))) await initializeInChild(dataDir);
    }
    return lock;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * Without a template (src/db/pgdata-template.ts), PGlite's first start runs initdb in a second PGlite
 * instance and copies its memory: the process peaked at 880–950 MB and kept ~800 MB resident
 * afterwards (the WASM memories are never returned). Done in a short-lived child process instead,
 * the gateway's own peak stays that of a reopen.
 */
async function initializeInChild(dataDir: string): Promise<void> {
  const script =
    'const { PGlite } = await import(process.argv[1]); await (await PGlite.create(process.argv[2])).close();';
  const pgliteUrl = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  await promisify(execFile)(
    process.execPath,
    [WASM_BASELINE_ONLY, '--input-type=module', '-e', script, pgliteUrl, dataDir],
    {
      timeout: 10 * 60_000,
    },
  );
}

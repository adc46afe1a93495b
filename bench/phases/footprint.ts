// The compiled build as users meet it: `webhook-gateway --help` time, idle RSS on PostgreSQL and on
// PGlite (first start and reopen), ingest with `start --web-processes 1` and `2`, and an optional
// soak at a steady rate (BENCH_SOAK_MINUTES; not part of the default run). Prints its own table
// with the targets of issue #13 items 5 and 6. See docs/performance.md and docs/scaling.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchDatabase } from '../lib/database';
import { runLoad, type LoadTool } from '../lib/load';
import { ROOT, freePort, memoryOf, spawnNode, waitUntilUp } from '../lib/processes';
import { ID_HEADER, INGEST_PATH, SHOPIFY_SECRET, orderBody, shopifyHeaders } from '../lib/webhook';

export interface FootprintRun {
  helpMs: number;
  nodeBaselineMs: number;
  idle: { database: string; rssMb: number; peakRssMb: number }[];
  cluster: { webProcesses: number; okPerSec: number; p99Ms: number }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Wall time of a command, median of `runs`. */
function timeCommand(args: string[], runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
}

/** Starts the compiled gateway, waits until it answers, lets it idle, and reads its memory. */
async function idleMemory(env: Record<string, string>) {
  const port = await freePort();
  const proc = spawnNode('src/main.ts', ['start'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
    ...env,
  });
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/healthz`, 180_000);
    await sleep(5_000);
    return memoryOf(proc.pid);
  } finally {
    await proc.stop();
  }
}

export async function measureFootprint(
  ctx: { db: BenchDatabase; tool: LoadTool; warmupSec: number },
  durationSec: number,
): Promise<FootprintRun> {
  const nodeBaselineMs = timeCommand(['-e', '0']);
  const helpMs = timeCommand(['dist/main.js', '--help']);
  const idle: FootprintRun['idle'] = [];
  await ctx.db.reset();
  idle.push({ database: 'PostgreSQL', ...rename(await idleMemory({ DATABASE_URL: ctx.db.url })) });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-pglite-'));
  try {
    idle.push({ database: 'PGlite, first start', ...rename(await idleMemory({ DATA_DIR: dataDir })) });
    idle.push({ database: 'PGlite, reopened', ...rename(await idleMemory({ DATA_DIR: dataDir })) });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const cluster: FootprintRun['cluster'] = [];
  for (const webProcesses of [1, 2]) {
    await ctx.db.reset();
    const port = await freePort();
    const proc = spawnNode('src/main.ts', ['start', '--web-processes', String(webProcesses)], {
      DATABASE_URL: ctx.db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
    });
    try {
      await waitUntilUp(`http://127.0.0.1:${port}/healthz`, 180_000);
      const body = orderBody();
      const load = (sec: number) =>
        runLoad(ctx.tool, {
          url: `http://127.0.0.1:${port}${INGEST_PATH}`,
          connections: 50,
          durationSec: sec,
          body,
          headers: shopifyHeaders(body),
          idHeader: ID_HEADER,
        });
      await load(ctx.warmupSec);
      const result = await load(durationSec);
      cluster.push({ webProcesses, okPerSec: result.okPerSec, p99Ms: result.p99Ms });
    } finally {
      await proc.stop();
    }
  }
  return { helpMs, nodeBaselineMs, idle, cluster };
}

const rename = (m: { rssMb: number; peakRssMb: number }) => ({ rssMb: m.rssMb, peakRssMb: m.peakRssMb });

/** The footprint table with its targets, met or missed. */
export function renderFootprint(r: FootprintRun): string {
  const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const rows = [
    [
      '`webhook-gateway --help`',
      `${f0(r.helpMs)} ms (node -e 0: ${f0(r.nodeBaselineMs)} ms)`,
      '≤ 300 ms',
      met(r.helpMs <= 300),
    ],
    ...r.idle.map((i) => {
      const limit = i.database === 'PostgreSQL' ? 120 : 250;
      return [
        `idle RSS, ${i.database}`,
        `${f0(i.rssMb)} MB (peak ${f0(i.peakRssMb)} MB)`,
        `≤ ${limit} MB`,
        met(i.rssMb <= limit),
      ];
    }),
    ...r.cluster.map((c) => [
      `ingest, --web-processes ${c.webProcesses}, 50 conns`,
      `${f0(c.okPerSec)} acks/s, p99 ${c.p99Ms.toFixed(1)} ms`,
      '',
      '',
    ]),
  ];
  const header = ['footprint', 'result', 'target', ''];
  return [header, header.map(() => '---'), ...rows].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

/**
 * Soak (BENCH_SOAK_MINUTES): one gateway process (web and worker, PostgreSQL) at a steady request
 * rate, in one-minute slices: RSS and ack p99 per minute should stay flat.
 */
export async function soakSteady(db: BenchDatabase, minutes: number, rate: number) {
  await db.reset();
  const port = await freePort();
  const proc = spawnNode('src/main.ts', ['start'], {
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
  });
  const slices: { minute: number; rssMb: number; acks: number; p99Ms: number; backlog: number }[] = [];
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/healthz`, 180_000);
    const body = orderBody();
    for (let minute = 1; minute <= minutes; minute++) {
      const result = await autocannon({
        url: `http://127.0.0.1:${port}${INGEST_PATH}`,
        connections: 10,
        overallRate: rate,
        duration: 60,
        method: 'POST',
        body,
        headers: { ...shopifyHeaders(body), [ID_HEADER]: `soak-${minute}-[<id>]` },
        idReplacement: true,
      });
      const [{ backlog }] = await db.sql<
        [{ backlog: number }]
      >`select count(*)::int as backlog from webhook_events where status in ('received', 'processing')`;
      slices.push({ minute, rssMb: memoryOf(proc.pid).rssMb, acks: result['2xx'], p99Ms: result.latency.p99, backlog });
      process.stderr.write(`[soak] minute ${minute}: ${JSON.stringify(slices.at(-1))}\n`);
    }
  } finally {
    await proc.stop();
  }
  return slices;
}

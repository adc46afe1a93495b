import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../src/db/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort, waitUntilHealthy } from '../helpers/process';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The PostgreSQL server the reliability suite uses (it always needs a real one). */
export const serverUrl = () => process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Everything every gateway process printed during this file, for the secrets check. */
export const processOutput: string[] = [];

export interface GatewayProcess {
  port: number;
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts test/fixtures/gateway-process.ts (the real gateway) and waits until it answers /healthz. */
export async function startGatewayProcess(
  env: Record<string, string>,
  options: { port?: number; role?: string } = {},
): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const args = [
    '--import',
    'tsx',
    'test/fixtures/gateway-process.ts',
    ...(options.role ? ['--role', options.role] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const index = processOutput.push('') - 1;
  const collect = (d: Buffer) => (processOutput[index] += d.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  if (options.role !== 'worker') await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`);
  else
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('gateway ready') && resolve()),
    );
  return { port, url: `http://127.0.0.1:${port}`, child, exited };
}

export interface LoadResult {
  sent: number;
  /** Keys that got a 200 (accepted or duplicate). */
  acknowledged: Set<string>;
  /** Keys whose request failed (connection error, 5xx, timeout): the sender would retry them. */
  failed: Set<string>;
  statuses: Map<number, number>;
  /** Slowest answer seen, in ms. */
  slowestMs: number;
}

/**
 * A bounded load generator: `concurrency` loops, each sending `request(key)` with fresh keys until
 * `until()` is true (or `maxRequests` is reached). Each request has its own timeout.
 */
export async function runLoad(options: {
  concurrency: number;
  until: () => boolean;
  maxRequests: number;
  keyPrefix: string;
  request: (key: string) => Promise<Response>;
  timeoutMs?: number;
}): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, acknowledged: new Set(), failed: new Set(), statuses: new Map(), slowestMs: 0 };
  let next = 0;
  const loop = async () => {
    while (!options.until() && next < options.maxRequests) {
      const key = `${options.keyPrefix}-${next++}`;
      result.sent += 1;
      const started = Date.now();
      try {
        const response = await Promise.race([
          options.request(key),
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('client timeout')), options.timeoutMs ?? 10_000),
          ),
        ]);
        await response.arrayBuffer().catch(() => undefined);
        result.statuses.set(response.status, (result.statuses.get(response.status) ?? 0) + 1);
        (response.status === 200 ? result.acknowledged : result.failed).add(key);
        if (response.status !== 200) await sleep(100); // a sender backs off too
      } catch {
        result.failed.add(key);
        result.statuses.set(0, (result.statuses.get(0) ?? 0) + 1);
        await sleep(100);
      }
      result.slowestMs = Math.max(result.slowestMs, Date.now() - started);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return result;
}

export interface SummaryRow {
  scenario: string;
  faults: number;
  sent: number;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicates: number;
  stuck: number;
}

/** Adds a row to the suite's summary table (printed when the suite ends). */
export function recordSummary(row: SummaryRow): void {
  const file = process.env.RELIABILITY_SUMMARY_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Resolves after ms milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts, straight from the table, what a scenario's summary row reports for one source. */
export async function tally(sql: import('postgres').Sql, source: string) {
  const [row] = await sql<[{ stored: number; distinct_ids: number; stuck: number; completed: number }]>`
    select count(*)::int as stored,
           count(distinct webhook_id)::int as distinct_ids,
           count(*) filter (where status not in ('completed', 'failed'))::int as stuck,
           count(*) filter (where status = 'completed')::int as completed
    from webhook_events where source = ${source}`;
  return { stored: row.stored, duplicates: row.stored - row.distinct_ids, stuck: row.stuck, completed: row.completed };
}

/** Which of these webhook ids are not in the table (acknowledged but lost, if any). */
export async function missing(
  sql: import('postgres').Sql,
  source: string,
  webhookIds: Iterable<string>,
): Promise<string[]> {
  const ids = [...webhookIds];
  if (ids.length === 0) return [];
  const present = await sql<{ webhook_id: string }[]>`
    select webhook_id from webhook_events where source = ${source} and webhook_id = any(${ids})`;
  const found = new Set(present.map((r) => r.webhook_id));
  return ids.filter((id) => !found.has(id));
}

export const RELIABILITY_SECRETS = {
  shopify: 'reliability-shopify-secret-7Qx',
  ops: 'reliability-ops-token-9Zk',
};

/** A signed Shopify delivery for `key` (computed here with node:crypto, not by the gateway). */
export function shopifyDelivery(
  baseUrl: string,
  key: string,
  body = JSON.stringify({ id: key, total_price: '10.00', note: 'x'.repeat(1200) }),
) {
  const signature = createHmac('sha256', RELIABILITY_SECRETS.shopify).update(body).digest('base64');
  return fetch(`${baseUrl}/api/webhooks/shopify/orders/create`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': signature,
      'x-shopify-webhook-id': key,
      'x-shopify-shop-domain': 'load.myshopify.com',
      'x-shopify-topic': 'orders/create',
    },
  });
}

/** Resends each key until it is acknowledged (what a provider's retry does); returns those still failing. */
export async function resendUntilAcknowledged(baseUrl: string, keys: Iterable<string>, tries = 5): Promise<string[]> {
  const queue = [...keys];
  const stillFailing: string[] = [];
  const worker = async () => {
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      let ok = false;
      for (let i = 0; i < tries && !ok; i++) {
        ok = await shopifyDelivery(baseUrl, key).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ok) await sleep(200);
      }
      if (!ok) stillFailing.push(key);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return stillFailing;
}

/** Shopify dedupe keys are scoped by shop. */
export const shopifyWebhookId = (key: string) => `load.myshopify.com/${key}`;

/** Fails if any secret appears in anything the gateway processes printed. */
export function secretsInOutput(secrets: readonly string[]): string[] {
  const everything = processOutput.join('\n');
  return secrets.filter((s) => everything.includes(s));
}

/** Resident memory of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * Per-file set-up shared by the scenarios: a fresh PostgreSQL database (dropped afterwards), a
 * connection to inspect it, and every gateway process the file started killed at the end.
 */
export function useScenarioDatabase() {
  const scenario = {
    testDb: undefined as unknown as TestDatabase,
    db: undefined as unknown as Database,
    processes: [] as GatewayProcess[],
    /** Starts a gateway process that is killed when the file ends. */
    async start(env: Record<string, string>, options?: { port?: number; role?: string }) {
      const started = await startGatewayProcess(env, options);
      scenario.processes.push(started);
      return started;
    },
  };
  beforeAll(async () => {
    process.env.TEST_DATABASE_URL ??= serverUrl();
    scenario.testDb = await createTestDatabase('postgres');
    scenario.db = await scenario.testDb.open();
  });
  afterAll(async () => {
    for (const p of scenario.processes) p.child.kill('SIGKILL');
    await scenario.testDb?.drop();
  });
  return scenario;
}

import { expect } from 'vitest';
import { Writable } from 'node:stream';
import { defineConfig, type GatewayConfig } from '../../src/config/env';
import { createGateway, type Gateway, type GatewayOptions, type Role } from '../../src/gateway';
import { createLogger } from '../../src/logger';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './database';

type Overrides = Parameters<typeof defineConfig>[0];

export interface TestGateway {
  url: string;
  gateway: Gateway;
  config: GatewayConfig;
  testDb: TestDatabase;
  /** Every log line the gateway wrote, for assertions (and for grepping for secrets). */
  logs: string[];
  /** Raw SQL against the gateway's database. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export const SECRETS = {
  shopify: 'shpss_test_secret_1',
  easypost: 'easypost-secret-é',
  keycloak: 'keycloak-bearer-secret',
  ops: 'ops-token-for-tests',
};

/**
 * Starts the real gateway (HTTP on a free loopback port, worker unless role says otherwise) on a
 * fresh database of the given kind. Cron is set to a slow tick so tests drive timing themselves.
 */
export async function startTestGateway(
  kind: DatabaseKind,
  overrides: Overrides = {},
  options: { role?: Role; testDb?: TestDatabase; audit?: GatewayOptions['audit'] } = {},
): Promise<TestGateway> {
  const testDb = options.testDb ?? (await createTestDatabase(kind));
  const config = defineConfig({
    port: 0,
    host: '127.0.0.1',
    logLevel: 'info',
    secrets: {
      shopify: [SECRETS.shopify],
      easypost: [SECRETS.easypost],
      keycloak: [SECRETS.keycloak],
    },
    opsTokens: [SECRETS.ops],
    shutdownTimeoutMs: 2000,
    ...overrides,
    worker: { cron: '*/2 * * * * *', retryBaseMs: 10, retryMaxMs: 100, leaseSeconds: 30, ...overrides.worker },
    database: { url: testDb.url, ...overrides.database },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const database = await testDb.open();
  // The gateway's own logger (serializers and redaction included), at debug level, into `logs`.
  const gateway = createGateway(config, {
    logger: createLogger('debug', sink),
    database,
    role: options.role,
    audit: options.audit,
  });
  const { port } = await gateway.start();
  return {
    url: `http://127.0.0.1:${port}`,
    gateway,
    config,
    testDb,
    logs,
    query: <T>(text: string, params: unknown[] = []) => rawQuery<T>(gateway, text, params),
    async stop() {
      await gateway.stop();
      if (!options.testDb) await testDb.drop();
    },
  };
}

async function rawQuery<T>(gateway: Gateway, text: string, params: unknown[]): Promise<T[]> {
  const db = gateway.database;
  if (db.pglite) return (await db.pglite.query<T>(text, params)).rows;
  return (await db.sql!.unsafe(text, params as never[])) as unknown as T[];
}

/**
 * Events held by an open circuit: waits until every one is back in 'received' and returns them.
 * A probe may hold one in 'processing' for a moment; any other status (failed, completed) fails at once.
 */
export async function waitUntilAllHeld<E extends { status: string }>(
  read: () => Promise<E[]>,
  timeoutMs = 10_000,
): Promise<E[]> {
  const held = await waitFor(
    async () => {
      const rows = await read();
      expect(
        rows.every((e) => e.status === 'received' || e.status === 'processing'),
        JSON.stringify(rows),
      ).toBe(true);
      return rows.every((e) => e.status === 'received') ? rows : undefined;
    },
    timeoutMs,
    'every held event back in received',
  );
  return held!;
}

/** Polls until `check` returns a truthy value (no fixed sleeps in tests). */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The stored status of event `id` (received, processing, completed or failed); undefined when there is no such event. */
export async function eventStatus(gw: TestGateway, id: number): Promise<string | undefined> {
  return (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [id]))[0]?.status;
}

/** One ops API request with the admin token; the answer's status and JSON body (typed loosely: tests read what they assert). */
export async function opsCall(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

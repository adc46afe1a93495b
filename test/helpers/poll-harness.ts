import { Writable } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import pino from 'pino';
import { createApp } from '../../src/app';
import { createDocumentParser, type DocumentParser } from '../../src/poll/document-parser';
import type { Database } from '../../src/db/client';
import { runMigrations } from '../../src/db/migrate';
import { pollSourcesSchema } from '../../src/poll/config';
import type { PollInstance } from '../../src/poll/lock-sql';
import { createPollRoutes } from '../../src/poll/routes';
import { createPollRunLog } from '../../src/poll/run-log';
import { createPollRunner, type PollRunner } from '../../src/poll/runner';
import { createPollScheduler, type PollScheduler } from '../../src/poll/scheduler';
import { createEventStore } from '../../src/store/events';
import { createAuthenticator } from '../../src/ops/auth';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './database';
import { SECRETS } from './gateway';
import { SPS_ENV } from './poll-sps-mocks';

// The poll subsystem composed the way the gateway will compose it: a migrated database, the event
// store, a runner, a scheduler, and the poll routes mounted on the real app shell (createApp, so
// errors render exactly as in production), served over real HTTP on a free loopback port.

export interface PollHarness {
  url: string;
  database: Database;
  testDb: TestDatabase;
  runner: PollRunner;
  scheduler: PollScheduler;
  logs: string[];
  /** POST /api/sps/poll with the ops token; `source` goes in the JSON body when given. */
  poll(source?: string): Promise<{ status: number; json: any }>;
  /** GET an ops path with the token. */
  get(path: string): Promise<{ status: number; json: any }>;
  /** Raw SQL against the harness's database. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Share a database with another harness (a second gateway instance). */
  testDb?: TestDatabase;
  instance?: PollInstance;
  now?: () => number;
  maxAttempts?: number;
  database?: Database;
  onStored?: (eventId: number) => void;
}

let sharedParser: DocumentParser | undefined;
/**
 * One parser worker for every harness of a test file: starting a worker thread (and tsx in it)
 * costs seconds on a loaded machine. Its thread is unref'd, so it never holds the file open.
 */
const parserForTests = () => (sharedParser ??= createDocumentParser({ logger: pino({ level: 'silent' }) }));

/** Starts the poll subsystem on a database of the given kind with the given (raw) poll sources. */
export async function startPollHarness(
  kind: DatabaseKind,
  sources: unknown[],
  options: HarnessOptions = {},
): Promise<PollHarness> {
  const testDb = options.testDb ?? (await createTestDatabase(kind));
  const database = options.database ?? (await testDb.open());
  await runMigrations(database, testDb.url);
  const logs: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
  );
  const runner = createPollRunner({
    database,
    store: createEventStore(database),
    sources: pollSourcesSchema(SPS_ENV).parse(sources),
    logger,
    maxAttempts: options.maxAttempts ?? 8,
    instance: options.instance,
    now: options.now,
    onStored: options.onStored,
    parser: parserForTests(),
  });
  const scheduler = createPollScheduler({ runner, logger });
  const app = createApp({
    logger,
    authenticator: createAuthenticator({ bootstrapTokens: [SECRETS.ops] }),
    routes: [createPollRoutes({ runner, runs: createPollRunLog(database) })],
  });
  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
  });
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };
  return {
    url,
    database,
    testDb,
    runner,
    scheduler,
    logs,
    poll: (source) => call('POST', '/api/sps/poll', source === undefined ? undefined : { source }),
    get: (path) => call('GET', path),
    query: async <T>(text: string, params: unknown[] = []) =>
      database.pglite
        ? (await database.pglite.query<T>(text, params)).rows
        : ((await database.sql!.unsafe(text, params as never[])) as unknown as T[]),
    async stop() {
      await scheduler.stop();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      if (!options.testDb) await testDb.drop();
    },
  };
}

/** Waits for a run to end and returns its row as the API shows it. */
export async function waitForRun(harness: PollHarness, runId: number, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await harness.get(`/api/sps/runs/${runId}`);
    if (json.status && json.status !== 'running') return json;
    if (Date.now() > deadline) throw new Error(`poll run ${runId} did not finish: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/db/migrate';
import { createTestDatabase, databaseKinds, type TestDatabase } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { createFakeSps, spsRestSource } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = 'sps-crash';

/** Runs the crash child to its SIGKILL; resolves with how it ended and what it printed. */
function runDoomedPoller(url: string, files: string[], killOnDelete: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/poll-crash-child.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: url,
      POLL_SOURCE: SOURCE,
      POLL_FILES: JSON.stringify(files),
      KILL_ON_DELETE: killOnDelete,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise<{ signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.once('exit', (_code, signal) => resolve({ signal, output })),
  );
}

// A real process, real PostgreSQL, a real SIGKILL between storing a file and deleting it remotely.
describe.runIf(databaseKinds().includes('postgres'))('a poller killed between store and delete', () => {
  const server = setupServer();
  let testDb: TestDatabase;
  let harness: PollHarness;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    testDb = await createTestDatabase('postgres');
    const db = await testDb.open();
    await runMigrations(db, testDb.url);
  });
  afterAll(async () => {
    server.close();
    await harness?.stop();
    await testDb?.drop();
  });

  it('loses nothing and stores nothing twice; the next run deletes the file the dead one stored', async () => {
    const files = ['out/PO_1.edi', 'out/PO_2.edi', 'out/PO_3.edi'];
    const killed = await runDoomedPoller(testDb.url!, files, 'out/PO_2.edi');
    expect(killed.signal, killed.output).toBe('SIGKILL');

    harness = await startPollHarness('postgres', [spsRestSource({ name: SOURCE, lease_seconds: 1 })], { testDb });
    const events = () =>
      harness.query<{ webhook_id: string }>(
        'select webhook_id from webhook_events where source = $1 order by webhook_id',
        [SOURCE],
      );
    // The child stored PO_1 (and deleted it) and PO_2 (and died in its DELETE); PO_3 was never taken.
    expect(await events()).toEqual([{ webhook_id: 'out/PO_1.edi' }, { webhook_id: 'out/PO_2.edi' }]);
    const [dead] = await harness.query<{ id: number; status: string; hostname: string }>(
      'select id, status, hostname from poll_runs where source = $1',
      [SOURCE],
    );
    expect(dead).toMatchObject({ status: 'running', hostname: 'doomed-host' });

    // SPS as the dead process left it: PO_1 deleted, PO_2's DELETE never arrived, PO_3 untouched.
    const fake = createFakeSps();
    server.resetHandlers(...fake.handlers);
    fake.addFile('out/PO_2.edi', x12PurchaseOrder('out/PO_2.edi'));
    fake.addFile('out/PO_3.edi', x12PurchaseOrder('out/PO_3.edi'));

    const started = await waitFor(
      async () => {
        const r = await harness.poll(SOURCE);
        return r.status === 202 ? r : undefined;
      },
      5_000,
      'the dead run lease to expire',
    );
    const run = await waitForRun(harness, started!.json.runs[0].run_id);
    expect(run).toMatchObject({ status: 'succeeded', listed: 2, stored: 1, duplicates: 1, acknowledged: 2, errors: 0 });
    expect(fake.remaining()).toEqual([]);
    expect(await events()).toEqual(files.map((webhook_id) => ({ webhook_id })));
    const { json } = await harness.get(`/api/sps/runs/${dead!.id}`);
    expect(json).toMatchObject({
      status: 'abandoned',
      error: expect.stringMatching(/^lease expired: doomed-host:\d+ stopped responding$/),
    });
  });
});

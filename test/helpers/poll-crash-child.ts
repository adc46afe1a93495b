// A gateway instance for the poll crash test, run as a real child process: it polls a fake SPS
// (msw, in this process) and kills itself with SIGKILL inside the DELETE of KILL_ON_DELETE, i.e.
// after that file's event was committed and before SPS heard about the delete.
import { setupServer } from 'msw/node';
import pino from 'pino';
import { openDatabase } from '../../src/db/client';
import { pollSourcesSchema } from '../../src/poll/config';
import { createPollRunner } from '../../src/poll/runner';
import { createEventStore } from '../../src/store/events';
import { SPS_ENV, createFakeSps, spsRestSource } from './poll-sps-mocks';
import { x12PurchaseOrder } from './poll-x12';

const fake = createFakeSps();
for (const path of JSON.parse(process.env.POLL_FILES!) as string[]) fake.addFile(path, x12PurchaseOrder(path));
fake.hooks.beforeDelete = (path) => {
  if (path === process.env.KILL_ON_DELETE) process.kill(process.pid, 'SIGKILL');
};
setupServer(...fake.handlers).listen({ onUnhandledRequest: 'bypass' });

const database = await openDatabase({ url: process.env.DATABASE_URL });
const runner = createPollRunner({
  database,
  store: createEventStore(database),
  sources: pollSourcesSchema(SPS_ENV).parse([
    spsRestSource({ name: process.env.POLL_SOURCE, lease_seconds: 1, concurrency: 1 }),
  ]),
  logger: pino({ level: 'warn' }),
  maxAttempts: 8,
  instance: { hostname: 'doomed-host', pid: process.pid },
});
const started = await runner.trigger(process.env.POLL_SOURCE!, 'manual');
if (started.status !== 'started') throw new Error(`poll did not start: ${started.status}`);
await started.done;
process.stdout.write('poll finished without being killed\n');

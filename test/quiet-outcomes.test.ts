import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type DatabaseKind } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// Outcomes are written without their NOTIFY while nobody watches the live stream (migration 0022,
// src/ops/stream-watchers.ts). What is heard is checked on a LISTEN of the test's own.

interface Heard {
  payloads: Record<string, unknown>[];
  /** Waits until everything committed before this call has been heard (a marker NOTIFY after it: delivery is in commit order). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

async function listenRaw(gw: TestGateway): Promise<Heard> {
  const payloads: Record<string, unknown>[] = [];
  const deliver = (payload: string) => payloads.push(JSON.parse(payload));
  let notify: (payload: string) => Promise<unknown>;
  let stop: () => Promise<void>;
  if (gw.testDb.kind === 'postgres') {
    const client = postgres(gw.testDb.url!, { max: 1, onnotice: () => {} });
    const listener = await client.listen('webhook_events', deliver);
    notify = (payload) => client`select pg_notify('webhook_events', ${payload})`;
    stop = async () => {
      await listener.unlisten();
      await client.end();
    };
  } else {
    const pglite = gw.gateway.database.pglite!;
    const unlisten = await pglite.listen('webhook_events', deliver);
    notify = (payload) => pglite.query(`select pg_notify('webhook_events', $1)`, [payload]);
    stop = unlisten;
  }
  let markers = 0;
  return {
    payloads,
    async settle() {
      const marker = ++markers;
      await notify(JSON.stringify({ marker }));
      await waitFor(() => payloads.some((p) => p.marker === marker), 10_000, `marker ${marker} heard`);
    },
    stop,
  };
}

async function send(gw: TestGateway, id: string): Promise<number> {
  const body = JSON.stringify({ id });
  const res = await post(
    `${gw.url}/api/webhooks/shopify/orders/create`,
    body,
    shopifyHeaders(SECRETS.shopify, body, id),
  );
  expect(res.json.status).toBe('accepted');
  return res.json.id;
}

async function completed(gw: TestGateway, id: number) {
  await waitFor(
    async () => {
      const [row] = await gw.query<{ status: string }>('select status from webhook_events where id = $1', [id]);
      return row?.status === 'completed';
    },
    15_000,
    `event ${id} completed`,
  );
}

const statusesOf = (heard: Heard, id: number) => heard.payloads.filter((p) => p.id === id).map((p) => p.status);
const announced = (heard: Heard, id: number) =>
  heard.payloads.filter((p) => p.id === id).map((p) => ({ status: p.status, due: p.due }));

describe.each(databaseKinds())('outcome notifications (%s)', (kind: DatabaseKind) => {
  it('are sent while a live-stream viewer is connected, and not otherwise; due events always are', async () => {
    const gw = await startTestGateway(kind);
    const heard = await listenRaw(gw);
    try {
      // Nobody watches: the completion is not announced; the arrival only as due (to wake a worker),
      // not when the insert claimed the event for this process's worker (a hand-off).
      const quiet = await send(gw, 'quiet-1');
      await completed(gw, quiet);
      await heard.settle();
      expect(announced(heard, quiet).filter((p) => !(p.status === 'received' && p.due === true))).toEqual([]);

      // A viewer: arrival and completion are announced, and reach the viewer.
      const stream = await openEventStream(`${gw.url}/api/events/stream`, SECRETS.ops);
      await waitFor(() => stream.events.some((e) => e.event === 'ready'));
      const watched = await send(gw, 'watched-1');
      await waitFor(
        () => stream.events.some((e) => e.event === 'completed' && e.data.id === watched),
        15_000,
        'completed on the stream',
      );
      await heard.settle();
      expect(statusesOf(heard, watched)).toEqual(['received', 'completed']);
      expect(stream.events.filter((e) => e.data.id === watched).map((e) => e.event)).toEqual(['received', 'completed']);
      await stream.close();

      // The viewer left: unwatched again. A replay makes the event due: announced all the same.
      await waitFor(
        async () => {
          const [row] = await gw.query<{ n: number }>('select count(*)::int as n from stream_watchers');
          return row?.n === 0;
        },
        10_000,
        'registration removed',
      );
      const after = await send(gw, 'quiet-2');
      await completed(gw, after);
      const beforeReplay = announced(heard, quiet).length;
      const replay = await fetch(`${gw.url}/api/events/${quiet}/replay`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.ops}` },
      });
      expect(replay.status).toBe(200);
      await waitFor(
        async () => {
          const [row] = await gw.query<{ n: number }>(
            'select count(*)::int as n from processing_log where event_id = $1',
            [quiet],
          );
          return row?.n === 2;
        },
        15_000,
        'replayed event processed again',
      );
      await completed(gw, quiet);
      await heard.settle();
      expect(announced(heard, after).filter((p) => !(p.status === 'received' && p.due === true))).toEqual([]);
      expect(announced(heard, quiet).slice(beforeReplay)).toEqual([{ status: 'received', due: true }]);
    } finally {
      await heard.stop();
      await gw.stop();
    }
  });
});

describe.runIf(databaseKinds().includes('postgres'))('outcome notifications across processes', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('a viewer on a web process sees the outcomes of a worker process that started before it connected', async () => {
    const testDb = await createTestDatabase('postgres');
    cleanup.push(() => testDb.drop());
    const worker = await startTestGateway('postgres', {}, { testDb, role: 'worker' });
    cleanup.push(() => worker.stop());
    const web = await startTestGateway('postgres', {}, { testDb, role: 'web' });
    cleanup.push(() => web.stop());

    const stream = await openEventStream(`${web.url}/api/events/stream`, SECRETS.ops);
    cleanup.push(() => stream.close());
    await waitFor(() => stream.events.some((e) => e.event === 'ready'));
    // The registration is committed (and announced) before the stream says ready.
    const [row] = await web.query<{ n: number }>(
      'select count(*)::int as n from stream_watchers where expires_at > now()',
    );
    expect(row?.n).toBe(1);

    const id = await send(web, 'cross-quiet-1');
    await waitFor(
      () => stream.events.some((e) => e.event === 'completed' && e.data.id === id),
      15_000,
      'completed on the stream',
    );
    const [attempt] = await web.query<{ worker: string }>('select worker from processing_log where event_id = $1', [
      id,
    ]);
    expect(attempt?.worker).toMatch(/:\d+$/);
  });
});

import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startPollHarness, waitForRun, type PollHarness } from './helpers/poll-harness';
import { createFakeSps, spsRestSource } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';

// Polled files are events like any other: the real gateway's worker claims them, runs the handler
// registered for their source/topic, retries failures and forwards them to destinations in the
// canonical envelope; the ops API shows them.

describe('polled purchase orders through the gateway', () => {
  const fake = createFakeSps();
  const erp: { body: string; headers: Record<string, string> }[] = [];
  const xmlSeen: unknown[] = [];
  const server = setupServer(
    ...fake.handlers,
    // The ERP fails the first delivery, so the event needs a retry.
    http.post('https://erp.example.test/purchase-orders', async ({ request }) => {
      erp.push({ body: await request.text(), headers: Object.fromEntries(request.headers) });
      return erp.length === 1 ? HttpResponse.text('busy', { status: 500 }) : HttpResponse.json({ ok: true });
    }),
  );
  let gw: TestGateway;
  let polls: PollHarness;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    gw = await startTestGateway('pglite', { worker: { cron: '* * * * * *', retryBaseMs: 20, retryMaxMs: 200 } });
    gw.gateway
      .forward(
        'sps',
        {
          aggregateIdPath: 'purchase_orders.0.purchase_order_number',
          destinations: [
            {
              name: 'erp',
              url: 'https://erp.example.test/purchase-orders',
              secret: DESTINATION_SECRET,
              timeoutMs: 2_000,
            },
          ],
        },
        'x12/850',
      )
      .on('sps', 'xml', (event) => void xmlSeen.push(event.payload));
    polls = await startPollHarness('pglite', [spsRestSource({ name: 'sps' })], {
      testDb: gw.testDb,
      database: gw.gateway.database,
      onStored: () => gw.gateway.worker.wake(),
    });
  });
  afterAll(async () => {
    server.close();
    await polls?.stop();
    await gw?.stop();
  });

  it('an 850 is stored once, processed by the worker, retried, and delivered as a parsed purchase order with its raw file', async () => {
    const raw = x12PurchaseOrder('PO-4500012345');
    fake.addFile('out/PO_4500012345.edi', raw);
    fake.addFile(
      'out/PO_note.xml',
      '<?xml version="1.0"?><Order><PurchaseOrderNumber>X-1</PurchaseOrderNumber></Order>',
    );
    const { json } = await polls.poll('sps');
    expect(await waitForRun(polls, json.runs[0].run_id)).toMatchObject({
      status: 'succeeded',
      stored: 2,
      acknowledged: 2,
    });

    const [event] = await gw.query<{ id: number }>(
      `select id from webhook_events where source = 'sps' and topic = 'x12/850'`,
    );
    await waitFor(
      async () =>
        (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [event!.id]))[0]!
          .status === 'completed',
      15_000,
      'the PO to be delivered',
    );

    expect(erp).toHaveLength(2);
    const envelope = new Webhook(DESTINATION_SECRET).verify(erp[1]!.body, erp[1]!.headers) as any;
    expect(envelope).toMatchObject({
      event_type: 'x12/850',
      aggregate_id: 'PO-4500012345',
      source_service: 'sps',
      dedupe_key: 'sps:out/PO_4500012345.edi',
      data: {
        source_kind: 'sps-rest',
        format: 'x12',
        file: { path: 'out/PO_4500012345.edi', encoding: 'utf8', content: raw },
        purchase_orders: [
          { purchase_order_number: 'PO-4500012345', line_items: [{ line_number: '1' }, { line_number: '2' }] },
        ],
      },
    });

    // Queryable like any webhook.
    const listed = await fetch(`${gw.url}/api/events?source=sps&topic=x12/850`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    const { events } = (await listed.json()) as {
      events: { id: number; webhook_id: string; attempts: number; status: string }[];
    };
    expect(events).toEqual([
      expect.objectContaining({ id: event!.id, webhook_id: 'out/PO_4500012345.edi', attempts: 2, status: 'completed' }),
    ]);

    // The XML file went to the handler registered for its topic.
    await waitFor(() => xmlSeen.length === 1, 10_000, 'the xml handler');
    expect(xmlSeen[0]).toMatchObject({ format: 'xml', file: { name: 'PO_note.xml' } });
  });

  it('a file listed again after it was stored is a duplicate, never a second event', async () => {
    fake.addFile('out/PO_4500012345.edi', x12PurchaseOrder('PO-4500012345'));
    const { json } = await polls.poll('sps');
    expect(await waitForRun(polls, json.runs[0].run_id)).toMatchObject({
      status: 'succeeded',
      stored: 0,
      duplicates: 1,
      acknowledged: 1,
    });
    expect(await gw.query(`select count(*)::int as n from webhook_events where source = 'sps'`)).toEqual([{ n: 2 }]);
  });
});

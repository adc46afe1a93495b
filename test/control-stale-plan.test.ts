import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { startIdReceiver } from './helpers/id-receiver';
import { post, shopifyHeaders } from './helpers/signers';

// A worker plans each attempt from its process's snapshot, which hears of a change made through
// another instance by NOTIFY and a re-read through the same pool as the deliveries. Under load on
// a 2-core machine that took seconds (a worker re-read 1.5–2.9 s; deliveries to a destination
// deleted through a web process started up to 1.5 s after the delete had returned). Here the
// snapshot is held stale on purpose — the NOTIFY triggers disabled, the changes written in SQL as
// another instance's would be — and nothing may reach a destination that is deleted, paused or
// moved as stored, whatever the snapshot still says.

const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('deliveries follow what is stored, not a stale snapshot (%s)', (kind) => {
  let gw: TestGateway;
  let before: Awaited<ReturnType<typeof startIdReceiver>>;
  let after: Awaited<ReturnType<typeof startIdReceiver>>;
  let n = 0;
  const api = async (path: string, method = 'GET', body?: unknown) =>
    (await fetch(`${gw.url}${path}`, {
      method,
      headers: auth,
      body: body === undefined ? undefined : JSON.stringify(body),
    })) as Omit<Response, 'json'> & { json(): Promise<any> };
  const send = async (topic: string) => {
    const body = JSON.stringify({ n: ++n });
    const res = await post(
      `${gw.url}/api/webhooks/shopify`,
      body,
      shopifyHeaders(SECRETS.shopify, body, `stale-${n}`, 'acme.myshopify.com', topic),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const event = async (id: number) => (await (await api(`/api/events/${id}`)).json()) as any;
  const triggers = async (on: boolean) => {
    for (const table of ['destinations', 'destination_sources'])
      await gw.query(`alter table ${table} ${on ? 'enable' : 'disable'} trigger ${table}_notify`);
  };

  beforeAll(async () => {
    before = await startIdReceiver();
    after = await startIdReceiver();
    // The backstop re-read is a minute away: only the test decides when the snapshot catches up.
    const control = { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 };
    gw = await startTestGateway(kind, { control });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await before?.close();
    await after?.close();
  }, 60_000);

  it('a destination deleted, paused or moved since the snapshot gets nothing it no longer should', async () => {
    for (const name of ['gone', 'paused', 'moved']) {
      const created = await api('/api/destinations', 'POST', {
        name,
        url: before.url,
        sources: ['shopify'],
        filter: { topic: `orders/${name}` },
      });
      expect(created.status).toBe(201);
    }
    const warm = await send('orders/moved');
    await waitFor(() => before.ids().includes(`evt_${warm}`), 10_000, 'a first delivery');

    // Another instance's changes, as this process has not heard of them yet.
    await triggers(false);
    try {
      await gw.query(`delete from destinations where name = 'gone'`);
      await gw.query(`update destinations set paused = true, version = version + 1 where name = 'paused'`);
      await gw.query(`update destinations set url = $1, version = version + 1 where name = 'moved'`, [after.url]);
      const [gone, paused, moved] = [
        await send('orders/gone'),
        await send('orders/paused'),
        await send('orders/moved'),
      ];

      await waitFor(async () => (await event(gone)).status === 'completed', 10_000, 'the event of the deleted one');
      const held = await waitFor(
        async () => {
          const [p, m] = [await event(paused), await event(moved)];
          return /paused/.test(p.last_error ?? '') && /moved changed/.test(m.last_error ?? '') ? [p, m] : undefined;
        },
        10_000,
        'both held',
      );
      expect(held!.map((e) => e.status)).toEqual(['received', 'received']);
      expect(held!.map((e) => e.attempts)).toEqual([0, 0]); // held, not counted
      expect(before.ids().filter((id) => [gone, paused, moved].map((i) => `evt_${i}`).includes(id))).toEqual([]);

      // The process hears of it: the moved event goes to the new URL, the paused one on resume.
      await triggers(true);
      await gw.query(`select pg_notify('gateway_control', 'test')`);
      await waitFor(async () => (await event(moved)).status === 'completed', 10_000, 'the moved event');
      expect(after.ids()).toEqual([`evt_${moved}`]);
      expect((await api('/api/destinations/paused/resume', 'POST')).status).toBe(200);
      await waitFor(async () => (await event(paused)).status === 'completed', 10_000, 'the resumed event');
      expect(before.ids().filter((id) => id !== `evt_${warm}`)).toEqual([`evt_${paused}`]);
    } finally {
      await triggers(true);
    }
  }, 60_000);
});

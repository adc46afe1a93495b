import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { parse, stringify } from 'lossless-json';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { SHOPIFY_ORDER } from './helpers/json-bodies';
import { startReceiver } from './helpers/receiver';
import { openEventStream } from './helpers/sse';
import { post, shopifyHeaders } from './helpers/signers';

// Numbers beyond what a JavaScript number holds, through the two places the worker reads a
// payload's values rather than forwarding its bytes: destination filters (decided on the digits
// sent) and transformations (a number passed through keeps the digits sent). Real server, real
// signed webhooks, real receivers verifying the signature over the bytes they got.

const MASTER_KEY = randomBytes(32).toString('base64');
const SOURCE_SECRET = `shop-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const flat = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe.each(databaseKinds())('exact numbers in filters and transformations (%s)', (kind) => {
  let gw: TestGateway;
  const receivers: Record<string, Receiver> = {};
  const secrets: Record<string, string> = {};
  let n = 0;
  const api = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: auth,
      // Text is sent as written: a number a JavaScript number cannot hold reaches the gateway whole.
      body: init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const send = async (body: string | Buffer, source = 'shop') => {
    const res = await post(
      `${gw.url}/api/webhooks/${source}`,
      body,
      shopifyHeaders(SOURCE_SECRET, body, `num-${++n}-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  /** `rule`: the filter and transform members, as an object or as JSON text sent as written. */
  const create = async (name: string, rule: object | string, source = 'shop') => {
    receivers[name] = await startReceiver();
    const fields = JSON.stringify({ name, url: receivers[name].url, sources: [source] }).slice(0, -1);
    const members = typeof rule === 'string' ? rule : JSON.stringify(rule).slice(1, -1);
    const created = await api('/api/destinations', {
      method: 'POST',
      body: members ? `${fields},${members}}` : `${fields}}`,
    });
    expect(created.status).toBe(201);
    secrets[name] = created.json.secret;
  };
  /** The body `name` got for the event, as text, after checking its signature. */
  const received = async (name: string, id: number) => {
    const got = (await waitFor(
      () => receivers[name]!.deliveries.find((d) => d.headers['webhook-id'] === `evt_${id}`),
      15_000,
      `event ${id} at ${name}`,
    ))!;
    const text = got.bytes.toString('utf8');
    new Webhook(secrets[name]!).verify(text, flat(got.headers));
    return text;
  };
  const outcomes = async (id: number) => {
    await waitFor(
      async () => (await api(`/api/events/${id}`)).json.status === 'completed',
      15_000,
      `event ${id} completed`,
    );
    const deliveries = (await api(`/api/events/${id}`)).json.deliveries as { destination: string; outcome: string }[];
    return Object.fromEntries(deliveries.map((d) => [d.destination, d.outcome]));
  };

  beforeAll(async () => {
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 } });
    // `raw` takes the bodies that are not JSON, which the transformations of `shop` would refuse.
    for (const name of ['shop', 'raw']) {
      const source = await api('/api/sources', {
        method: 'POST',
        body: { name, provider: 'shopify', secrets: [SOURCE_SECRET] },
      });
      expect(source.status).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
  });

  it('a filter compares the digits sent: amount > 9007199254740992 lets 9007199254740993 through, not 2^53', async () => {
    await create('above', { filter: { body: { amount: { $gt: 9007199254740992 } } } });
    await create('negative', { filter: { body: { amount: { $lt: 0 } } } });
    // An id beyond 2^53 written in a filter is saved with its digits and matches that id (json-filter-operands).
    await create('order', '"filter": {"body": {"id": 820982911946154508}}');
    const over = await send('{"id":820982911946154508,"amount":9007199254740993}');
    const exact = await send('{"id":1,"amount":9007199254740992}');
    const tiny = await send('{"id":2,"amount":-0.1e-999}');
    expect(await outcomes(over)).toEqual({ above: 'delivered', negative: 'ignored', order: 'delivered' });
    expect(await outcomes(exact)).toEqual({ above: 'ignored', negative: 'ignored', order: 'ignored' });
    expect(await outcomes(tiny)).toEqual({ above: 'ignored', negative: 'delivered', order: 'ignored' });
    expect(await received('above', over)).toContain('"data":{"id":820982911946154508,"amount":9007199254740993}');
  });

  it('JSONata and JavaScript transformations that pass numbers through keep the digits sent', async () => {
    await create('jsonata', { transform: { language: 'jsonata', code: 'body' } });
    await create('script', {
      transform: {
        language: 'javascript',
        code: 'function transform(input) { return { order: input.body, total: input.body.total, count: input.body.items.length }; }',
      },
    });
    // 1.10 and 1E+2 print as 1.1 and 100; the ids round; the total has more digits than a double.
    const sent =
      '{"id":820982911946154508,"total":12345678901234567890.123456789,"price":1.10,"qty":1E+2,"items":[{"id":487817672276298554}],"note":"caf\\u00e9 \\ud83d\\ude00"}';
    const id = await send(sent);
    const expected = stringify(parse(sent))!;
    expect(await received('jsonata', id)).toBe(expected);
    // The preview runs the same transformation the same way.
    const preview = await api('/api/destinations/jsonata/preview', { method: 'POST', body: { event_id: id } });
    expect(preview.json.body).toBe(expected);
    expect(await received('script', id)).toBe(`{"order":${expected},"total":12345678901234567890.123456789,"count":1}`);

    // Shopify's test order, passed through whole: every id arrives with its digits.
    const order = await send(SHOPIFY_ORDER.toString('utf8'));
    expect(await received('jsonata', order)).toBe(stringify(parse(SHOPIFY_ORDER.toString('utf8'))));
  });

  it("a source's transformation keeps the digits too: filters and the envelope after it see them", async () => {
    const source = await api('/api/sources', {
      method: 'POST',
      body: {
        name: 'mapped',
        provider: 'shopify',
        secrets: [SOURCE_SECRET],
        transform: { language: 'jsonata', code: '{"id": body.id, "via": "mapped"}' },
      },
    });
    expect(source.status).toBe(201);
    await create('after', { filter: { body: { id: { $gt: 9007199254740992 } } } }, 'mapped');
    const id = await send('{"id":9007199254740993,"noise":true}', 'mapped');
    expect(await outcomes(id)).toEqual({ after: 'delivered' });
    expect(await received('after', id)).toContain('"data":{"id":9007199254740993,"via":"mapped"}');
  });

  it('a number two literals of the payload round to is left as JavaScript prints it; computed numbers are not rewritten', async () => {
    await create('ambiguous', {
      transform: { language: 'jsonata', code: '{"a": body.a, "b": body.b, "zero": body.z, "sum": body.c + 1}' },
    });
    const id = await send('{"a":12345678901234567890,"b":12345678901234567891,"z":-0,"c":1.5}');
    expect(await received('ambiguous', id)).toBe(
      '{"a":12345678901234567000,"b":12345678901234567000,"zero":0,"sum":2.5}',
    );
  });

  it('the event view, the NDJSON export, the live stream and a replay give back the exact bytes of odd bodies', async () => {
    await create('plain', {}, 'raw');
    const bodies = [
      Buffer.from(
        '{"id":12345678901234567890,"a":1.10,"b":-0,"c":0.1e-999,"d":1E+2,"e":1e400,"s":"\\u00e9 \u00e9 \\ud83d\\ude00 \\ud800","k":1,"k":2}',
      ),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":9007199254740993}')]),
      Buffer.from('total=9007199254740993&note=caf%C3%A9'),
      Buffer.from('<order id="820982911946154508"/>'),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    ];
    const stream = await openEventStream(`${gw.url}/api/events/stream?include=request`, SECRETS.ops);
    try {
      const ids: number[] = [];
      for (const body of bodies) ids.push(await send(body, 'raw'));
      for (const [i, id] of ids.entries()) {
        const sent = bodies[i]!;
        const view = (await api(`/api/events/${id}`)).json;
        expect(Buffer.from(view.body.data, view.body.encoding === 'base64' ? 'base64' : 'utf8')).toEqual(sent);
        const arrival = await waitFor(
          () => stream.events.find((e) => e.data.id === id && e.data.request),
          15_000,
          `arrival ${id}`,
        );
        expect(Buffer.from(arrival!.data.request.body_base64, 'base64')).toEqual(sent);
        expect(dataOf(await received('plain', id))).toBe(
          i === 0 ? sent.toString('utf8') : JSON.stringify({ raw_base64: sent.toString('base64') }),
        );
        await outcomes(id);
      }
      // A replay posts only to destinations that have not had the event: one added since gets the same bytes.
      await create('late', {}, 'raw');
      for (const id of ids) expect((await api(`/api/events/${id}/replay`, { method: 'POST' })).status).toBe(200);
      for (const id of ids) expect(await received('late', id)).toBe(await received('plain', id));
      const exported = await fetch(`${gw.url}/api/events/export?format=ndjson&source=raw&limit=1000`, {
        headers: auth,
      });
      const lines = (await exported.text()).trim().split('\n');
      for (const [i, id] of ids.entries()) {
        const line = lines.find((l) => l.startsWith(`{"id":${id},`))!;
        const { body } = JSON.parse(line) as { body: { encoding: string; data: string } };
        expect(Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8')).toEqual(bodies[i]);
      }
    } finally {
      await stream.close();
    }
  });
});

/** The envelope's `data` member as the text it holds (the envelope ends with it, or with tenant_context). */
const dataOf = (envelope: string) => envelope.slice(envelope.indexOf(',"data":') + 8, -1);

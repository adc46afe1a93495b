import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bodyBytes,
  exactJson,
  exactJsonOfText,
  startCorpusHarness,
  type CorpusHarness,
  type EventDetail,
} from './helpers/corpus-gateway';
import { exportedById } from './helpers/corpus-gateway';
import { databaseKinds } from './helpers/database';
import { post } from './helpers/signers';
import {
  STRIPE_CORPUS_SECRET,
  loadStripeExamples,
  stripeDelivery,
  withPendingWebhooks,
  type StripeExample,
} from './helpers/stripe-corpus';

// The ingest promise — a 200 means the exact bytes are stored once and processed — against Stripe
// Events built around the example objects Stripe publishes in its OpenAPI fixtures
// (test/fixtures/stripe, see its README): each signed by stripe-node's generateTestHeaderString,
// sent with Stripe's delivery headers, and forwarded to a real destination.

const examples = loadStripeExamples();
/** What the Dashboard shows as the endpoint's previous secret during a roll (not configured here). */
const ROLLED_SECRET = 'whsec_stripeCorpusPreviousSecret9876543210';
const verifier = new Stripe('sk_test_corpus_not_used_for_calls');

/** Nesting depth of a JSON value (a scalar is 0). */
const depth = (value: unknown): number =>
  value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0;

describe.each(databaseKinds())('Stripe Events built on its OpenAPI fixtures on %s', (kind) => {
  let c: CorpusHarness;
  /** The stored event id of each example, from the first send; the later tests repeat or vary it. */
  const stored = new Map<string, number>();
  /** Events accepted beyond the corpus itself (the derived ones). */
  let extraAccepted = 0;

  const send = (body: Buffer, options?: Parameters<typeof stripeDelivery>[1]) =>
    post(`${c.gw.url}/api/webhooks/stripe`, body, stripeDelivery(body, options));

  beforeAll(async () => {
    c = await startCorpusHarness(
      kind,
      () => [{ name: 'stripe', provider: 'stripe', secrets: [STRIPE_CORPUS_SECRET] }],
      ['stripe'],
    );
  });
  afterAll(() => c?.stop());

  it('covers many resource types, the largest, decimals, nulls and deep nesting, each a valid signed Event', () => {
    const events = examples.map((ex) => JSON.parse(ex.bytes.toString('utf8')) as Record<string, any>);
    expect(examples.length).toBeGreaterThanOrEqual(50);
    expect(new Set(events.map((e) => e.data.object.object)).size).toBeGreaterThanOrEqual(50);
    expect(Math.max(...examples.map((ex) => ex.bytes.length))).toBeGreaterThan(7_000);
    expect(Math.max(...events.map(depth))).toBeGreaterThanOrEqual(11);
    const text = examples.map((ex) => ex.bytes.toString('utf8')).join('\n');
    expect(text).toMatch(/"unit_amount_decimal": "\d+"/);
    expect(text).toMatch(/"percent_off": 25\.5,/);
    expect(text.match(/: null/g)!.length).toBeGreaterThan(500);
    for (const [i, ex] of examples.entries()) {
      // Stripe's Event, keys in the order Stripe's API reference shows them (account only for Connect).
      expect(
        Object.keys(events[i]!).filter((k) => k !== 'account'),
        ex.name,
      ).toEqual(['id', 'object', 'api_version', 'created', 'data', 'livemode', 'pending_webhooks', 'request', 'type']);
      const event = verifier.webhooks.constructEvent(
        ex.bytes,
        stripeDelivery(ex.bytes)['stripe-signature']!,
        STRIPE_CORPUS_SECRET,
      );
      expect(event.id, ex.name).toBe(ex.id);
    }
  });

  it('every Event is answered 200 and stored byte for byte, under its type, with its numbers as sent', async () => {
    const answers = await c.each(examples, async (ex) => ({ ex, res: await send(ex.bytes) }));
    for (const { ex, res } of answers) {
      expect(res.status, `${ex.name}: ${res.text}`).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'accepted', id: expect.any(Number) });
      stored.set(ex.name, res.json.id);
    }
    await c.each(examples, async (ex) => {
      const event = await c.eventDetail(stored.get(ex.name)!);
      expect(bodyBytes(event.body).equals(ex.bytes), `${ex.name}: stored bytes differ`).toBe(true);
      expect(event.topic, ex.name).toBe(ex.type);
      expect(event.webhook_id, ex.name).toBe(ex.id);
      expect(event.payload_unavailable, ex.name).toBeNull();
      expect(exactJson(event.payload), `${ex.name}: payload differs`).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
      expect(event.headers, ex.name).toMatchObject({
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      });
      expect(event.headers['stripe-signature'], ex.name).toBeUndefined();
      // A Connect Event names its connected account; the others have none.
      expect(event.account, ex.name).toBe(JSON.parse(ex.bytes.toString('utf8')).account ?? null);
    });
  });

  it('every Event reaches completed, delivered to a destination with the bytes as sent', async () => {
    await c.allCompleted('stripe', [...stored.values()]);
    for (const ex of examples) {
      const { text, envelope } = c.delivered(stored.get(ex.name)!);
      // `data` is the stored text itself, embedded byte for byte (newlines and indentation too).
      expect(text.includes(`"data":${ex.bytes.toString('utf8')}`), `${ex.name}: data is not the bytes sent`).toBe(true);
      expect(exactJson(envelope.data), ex.name).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
      expect(envelope, ex.name).toMatchObject({ event_type: ex.type, dedupe_key: `stripe:${ex.id}` });
    }
  });

  it('the NDJSON export shows every Event with its bytes and numbers as sent', async () => {
    const byId = await exportedById(c.gw.url, 'stripe');
    for (const ex of examples) {
      const row = byId.get(stored.get(ex.name)!);
      expect(row, ex.name).toBeDefined();
      expect(bodyBytes(row!.body).equals(ex.bytes), `${ex.name}: exported bytes differ`).toBe(true);
      expect(exactJson(row!.payload), ex.name).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
    }
  });

  it('a resend of each Event (same id, same bytes, freshly signed) is a duplicate and not stored twice', async () => {
    const answers = await c.each(examples, async (ex) => ({ ex, res: await send(ex.bytes) }));
    for (const { ex, res } of answers) {
      expect(res.status, ex.name).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'duplicate' });
    }
    await c.each(examples, async (ex) => {
      const { events } = await c.opsGet<{ events: unknown[] }>(
        `/api/events?source=stripe&webhook_id=${encodeURIComponent(ex.id)}`,
      );
      expect(events, ex.name).toHaveLength(1);
    });
  });

  it('a retry whose pending_webhooks changed (same id, other bytes) is kept as a conflict, byte for byte, and not processed', async () => {
    // Stripe counts the endpoints still owed the Event in each attempt's body, so a retry's bytes
    // can differ from the first attempt's in pending_webhooks alone.
    const retry = (ex: StripeExample) => withPendingWebhooks(ex.bytes, 2);
    const answers = await c.each(examples, async (ex) => ({ ex, res: await send(retry(ex)) }));
    for (const { ex, res } of answers) {
      expect(res.status, ex.name).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'conflict', event_id: stored.get(ex.name)! });
    }
    // The same retry again: answered conflict, without a second row.
    const again = await send(retry(examples[0]!));
    expect(again.json).toEqual({ status: 'conflict', event_id: stored.get(examples[0]!.name)! });
    await c.each(examples, async (ex) => {
      const { conflicts } = await c.opsGet<{ conflicts: { id: unknown }[] }>(
        `/api/conflicts?event_id=${stored.get(ex.name)!}`,
      );
      expect(conflicts, ex.name).toHaveLength(1);
      const conflict = await c.opsGet<EventDetail>(`/api/conflicts/${String(conflicts[0]!.id)}`);
      expect(bodyBytes(conflict.body).equals(retry(ex)), `${ex.name}: conflict bytes differ`).toBe(true);
      expect(exactJson(conflict.payload), ex.name).toBe(exactJsonOfText(retry(ex).toString('utf8')));
      // The stored event is still the first attempt, delivered once.
      expect(c.sinkBodies(stored.get(ex.name)!), ex.name).toHaveLength(1);
    });
  });

  it('amounts beyond 2^53, long decimals and non-ASCII text are stored, shown and forwarded as sent', async () => {
    // No published fixture has them: the charge with amounts far past a double's 2^53 (Stripe's
    // amounts are int64), the coupon with more digits than a double keeps, the customer with
    // UTF-8 and \u-escaped text in its metadata, each under a new event id.
    const derive = (name: string, id: string, edit: (text: string) => string) => {
      const ex = examples.find((e) => e.name === name)!;
      const text = edit(ex.bytes.toString('utf8').replace(ex.id, id));
      expect(text, name).not.toBe(ex.bytes.toString('utf8').replace(ex.id, id));
      return Buffer.from(text, 'utf8');
    };
    const bodies = [
      derive('charge.succeeded.json', 'evt_1QcorpusDerivedBigAmount', (t) =>
        t
          .replace('"amount": 100,', '"amount": 12345678901234567891,')
          .replace('"amount_captured": 0,', '"amount_captured": 9007199254740993,'),
      ),
      derive('coupon.created.json', 'evt_1QcorpusDerivedLongDecimal', (t) =>
        t.replace('"percent_off": 25.5,', '"percent_off": 33.333333333333333333333,'),
      ),
      derive('customer.created.json', 'evt_1QcorpusDerivedUnicode', (t) =>
        t.replace(
          '"metadata": {},',
          '"metadata": {\n        "name": "Zoë Ñandú — 東京 🚀",\n        "escaped": "caf\\u00e9 \\ud83d\\ude80"\n      },',
        ),
      ),
    ];
    for (const body of bodies) {
      const res = await send(body);
      expect(res.status, res.text).toBe(200);
      extraAccepted++;
      const event = await c.eventDetail(res.json.id);
      expect(bodyBytes(event.body).equals(body)).toBe(true);
      expect(exactJson(event.payload)).toBe(exactJsonOfText(body.toString('utf8')));
      await c.allCompleted('stripe', [res.json.id]);
      const { text, envelope } = c.delivered(res.json.id);
      expect(text.includes(`"data":${body.toString('utf8')}`)).toBe(true);
      expect(exactJson(envelope.data)).toBe(exactJsonOfText(body.toString('utf8')));
    }
  });

  it('a Stripe-Signature with a v1 per active secret, as during a roll, is accepted whichever entry matches', async () => {
    // Stripe signs with every unexpired secret of the endpoint; the gateway knows only one of them.
    const ex = examples.find((e) => e.name === 'payment_intent.succeeded.json')!;
    for (const [n, secrets] of [
      [ROLLED_SECRET, STRIPE_CORPUS_SECRET],
      [STRIPE_CORPUS_SECRET, ROLLED_SECRET],
    ].entries()) {
      const body = Buffer.from(ex.bytes.toString('utf8').replace(ex.id, `evt_1QcorpusDerivedSecretRoll${n}`));
      const headers = stripeDelivery(body, { secrets });
      expect(headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      const res = await post(`${c.gw.url}/api/webhooks/stripe`, body, headers);
      expect(res.status, res.text).toBe(200);
      expect(res.json).toEqual({ status: 'accepted', id: expect.any(Number) });
      extraAccepted++;
    }
  });

  it('a signature whose timestamp is outside the tolerance is refused 401, saying why, and nothing is stored', async () => {
    const ex = examples.find((e) => e.name === 'invoice.paid.json')!;
    const body = Buffer.from(ex.bytes.toString('utf8').replace(ex.id, 'evt_1QcorpusDerivedStale'));
    const now = Math.floor(Date.now() / 1000);
    const stale = await send(body, { timestamp: now - 600 });
    expect(stale.status).toBe(401);
    expect(stale.json.error.code).toBe('stale_timestamp');
    expect(stale.json.error.message).toMatch(
      /^Timestamp in stripe-signature is stale: \d+ s old, beyond the 300 s tolerance/,
    );
    const future = await send(body, { timestamp: now + 600 });
    expect(future.status).toBe(401);
    expect(future.json.error.code).toBe('future_timestamp');
    const { events } = await c.opsGet<{ events: unknown[] }>(
      '/api/events?source=stripe&webhook_id=evt_1QcorpusDerivedStale',
    );
    expect(events).toEqual([]);
  });

  it('nothing was dropped or stored twice: one event per accepted Event, one conflict per changed retry', async () => {
    const { events } = await c.opsGet<{ events: unknown[] }>('/api/events?source=stripe&limit=500');
    expect(events).toHaveLength(examples.length + extraAccepted);
    const { conflicts } = await c.opsGet<{ conflicts: unknown[] }>('/api/conflicts?source=stripe&limit=500');
    expect(conflicts).toHaveLength(examples.length);
    expect(c.gw.logs.filter((line) => line.includes(STRIPE_CORPUS_SECRET))).toEqual([]);
  });
});

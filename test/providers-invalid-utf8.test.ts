import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { databaseKinds } from './helpers/database';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { stripeHeader } from './helpers/provider-signers';
import { post } from './helpers/signers';

// Ids in JSON bodies that are not valid UTF-8 (src/json/escaped-utf8.ts). They were decoded
// lossily, every invalid byte a bare U+FFFD: two deliveries whose ids differ only in those bytes
// had one dedupe key, and the second was answered "conflict" instead of being stored. Now each such
// byte is U+FFFD and its hex digits; ids in valid UTF-8 are read as before. The key lives in the
// unique index, so both engines.
const GENERIC_SECRET = 'generic-utf8-secret-0123';
const STRIPE_SECRET = 'whsec_utf8_test_secret_0123';

/** Text as UTF-8 and arrays as raw bytes, one after the other. */
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
/** `{"id":"<id>","kind":"item.moved"<rest>}`, so an id (or the rest) can hold any byte. */
const body = (id: Buffer, rest = Buffer.alloc(0)) => bytes('{"id":"', [...id], '","kind":"item.moved"', [...rest], '}');

describe.each(databaseKinds())('ids in bodies that are not UTF-8, on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'generic',
            provider: 'generic-hmac',
            secrets: [GENERIC_SECRET],
            signature_header: 'X-Signature',
            id_path: 'id',
            topic_path: 'kind',
          },
          { name: 'stripe', provider: 'stripe', secrets: [STRIPE_SECRET] },
        ],
      },
      {},
    );
    gw = await startTestGateway(kind, { sources }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const sendGeneric = (payload: Buffer) =>
    post(`${gw.url}/api/webhooks/generic`, payload, {
      'x-signature': createHmac('sha256', GENERIC_SECRET).update(payload).digest('hex'),
    });
  const sendStripe = (payload: Buffer) =>
    post(`${gw.url}/api/webhooks/stripe`, payload, { 'stripe-signature': stripeHeader(STRIPE_SECRET, payload) });
  const stored = async (id: number) =>
    (
      await gw.query<{ webhook_id: string; body: Buffer }>(
        'select webhook_id, body from webhook_events where id = $1',
        [id],
      )
    )[0]!;

  it('generic id_path: ids differing only in invalid bytes are two events, each keyed by its bytes', async () => {
    const payloads = [
      body(bytes('evt-', [0xff])),
      body(bytes('evt-', [0xfe])),
      // A real U+FFFD then "FF", in a body that is not UTF-8 elsewhere: not the byte 0xFF.
      body(bytes('evt-\uFFFDFF'), bytes(',"note":"', [0xc0], '"')),
    ];
    const answers = [];
    for (const payload of payloads) answers.push(await sendGeneric(payload));
    expect(answers.map((a) => [a.status, a.json.status])).toEqual([
      [200, 'accepted'],
      [200, 'accepted'],
      [200, 'accepted'],
    ]);
    const rows = await Promise.all(answers.map((a) => stored(a.json.id)));
    expect(rows.map((r) => r.webhook_id)).toEqual(['evt-\uFFFDFF', 'evt-\uFFFDFE', 'evt-\uFFFDEF\uFFFDBF\uFFFDBDFF']);
    // Stored byte for byte; a retry of the same bytes is still a duplicate.
    expect(rows.map((r) => Buffer.from(r.body))).toEqual(payloads);
    expect((await sendGeneric(payloads[0]!)).json.status).toBe('duplicate');
  });

  it('generic id_path: ids in valid UTF-8 are keyed exactly as before (a U+FFFD they hold included)', async () => {
    const id = 'évt-\uFFFD-東京-😀';
    const answer = await sendGeneric(body(Buffer.from(id)));
    expect(answer.json.status).toBe('accepted');
    expect((await stored(answer.json.id)).webhook_id).toBe(id);
  });

  it('stripe: event ids differing only in invalid bytes are two events', async () => {
    const answers = [];
    for (const last of [0x80, 0x81]) answers.push(await sendStripe(body(bytes('evt_1', [last]))));
    expect(answers.map((a) => a.json.status)).toEqual(['accepted', 'accepted']);
    const rows = await Promise.all(answers.map((a) => stored(a.json.id)));
    expect(rows.map((r) => r.webhook_id)).toEqual(['evt_1\uFFFD80', 'evt_1\uFFFD81']);
  });
});

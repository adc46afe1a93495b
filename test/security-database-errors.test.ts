import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { pollSourcesSchema } from '../src/poll/config';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { createFakeSps, SPS_ENV, spsRestSource } from './helpers/poll-sps-mocks';
import { x12PurchaseOrder } from './helpers/poll-x12';
import { post, shopifyHeaders } from './helpers/signers';

// Security review #12.5: a failed query's error text carries every bound parameter (payload bytes,
// nonces, ids) and the server's detail quotes the whole row. Each test makes the real database
// refuse a real request and checks that the log, the stored errors and the API show the SQLSTATE
// and no payload value.

const NONCE_SECRET = 'nonce-signing-secret';
const PII = 'jane.customer@example.com';

describe.each(databaseKinds())('database errors never carry payload values on %s', (kind) => {
  const sps = setupServer();
  const fake = createFakeSps();
  let gw: TestGateway;
  const ops = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json', ...init.headers },
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const logText = () => gw.logs.join('');

  beforeAll(async () => {
    sps.listen({ onUnhandledRequest: 'bypass' });
    sps.resetHandlers(...fake.handlers);
    const sources = parseSourcesDocument(
      {
        sources: [
          {
            name: 'signed-nonce',
            provider: 'generic-hmac',
            secrets: [NONCE_SECRET],
            signature_header: 'x-signature',
            nonce_header: 'x-nonce',
            signed_payload: '{nonce}.{body}',
            topic_path: 'type',
          },
        ],
      },
      {},
    );
    const polls = pollSourcesSchema(SPS_ENV).parse([spsRestSource({ name: 'sps', schedule: '0 0 1 1 *' })]);
    gw = await startTestGateway(kind, { sources, polls });
    // The database refuses exactly what these tests send; every other row is unaffected. Each
    // constraint makes the server's error detail quote the refused row.
    await gw.query(`alter table webhook_events add constraint test_refuse_topic check (topic <> 'refuse.me')`);
    await gw.query(`alter table webhook_events add constraint test_refuse_sps check (source <> 'sps')`);
    await gw.query(
      `alter table system_log add constraint test_refuse_ip check (ip_address is distinct from '203.0.113.77')`,
    );
    // A value too long for its column is a data exception (class 22), whatever the path.
    await gw.query(`alter table webhook_events alter column topic type varchar(40)`);
  });
  afterAll(async () => {
    sps.close();
    await gw?.stop();
  });

  const signedNonce = (body: string, nonce: string) =>
    post(`${gw.url}/api/webhooks/signed-nonce`, body, {
      'x-signature': createHmac('sha256', NONCE_SECRET).update(`${nonce}.${body}`).digest('hex'),
      'x-nonce': nonce,
    });

  it('an insert the database refuses answers 503 and logs the SQLSTATE, not the payload or the nonce', async () => {
    const nonce = `nonce-${randomUUID()}`;
    const res = await signedNonce(JSON.stringify({ type: 'refuse.me', email: PII }), nonce);
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('database_unavailable');
    await waitFor(() => logText().includes('23514'), 5_000, 'the refusal in the log');
    expect(logText()).toContain('check violation');
    expect(logText()).not.toContain(PII);
    expect(logText()).not.toContain(nonce);
  });

  it('a handler whose write is refused stores and logs the SQLSTATE, not the event data', async () => {
    const uid = `kc-${randomUUID()}`;
    const body = JSON.stringify({
      uid,
      type: 'LOGIN',
      realmId: 'acme',
      clientId: 'portal',
      userId: 'user-8d1f',
      ipAddress: '203.0.113.77',
      details: { username: PII },
      time: Date.now(),
    });
    const res = await post(`${gw.url}/api/keycloak/events`, body, { authorization: `Bearer ${SECRETS.keycloak}` });
    expect(res.json.status).toBe('accepted');
    const row = await waitFor(
      async () =>
        (
          await gw.query<{ last_error: string | null }>('select last_error from webhook_events where id = $1', [
            res.json.id,
          ])
        )[0]?.last_error,
      15_000,
      'a recorded attempt error',
    );
    expect(row).toMatch(/^database error 23514 \(check violation\) on constraint "test_refuse_ip"/);
    const detail = await ops(`/api/events/${res.json.id}`);
    const shown = JSON.stringify({ summary: detail.json.last_error, attempts: detail.json.attempt_log });
    for (const text of [row, shown, logText()]) {
      expect(text).not.toContain('203.0.113.77');
      expect(text).not.toContain(PII);
      expect(text).not.toContain('user-8d1f');
    }
  });

  it("a polled file the database refuses: the run's error details and the log name the SQLSTATE, not the file's content", async () => {
    fake.addFile('out/PO_9001.edi', x12PurchaseOrder('PO-PII-4242'));
    const started = await ops('/api/sps/poll', { method: 'POST', body: JSON.stringify({ source: 'sps' }) });
    expect(started.status).toBe(202);
    const runId = started.json.runs[0].run_id;
    const run = await waitFor(
      async () => {
        const { json } = await ops(`/api/sps/runs/${runId}`);
        return json.status && json.status !== 'running' ? json : undefined;
      },
      15_000,
      'the poll run to finish',
    );
    expect(run.errors).toBe(1);
    expect(run.error_details[0].message).toMatch(
      /^database error 23514 \(check violation\) on constraint "test_refuse_sps"/,
    );
    expect(JSON.stringify(run)).not.toContain('PO-PII-4242');
    expect(logText()).not.toContain('PO-PII-4242');
  });

  it('a value the database refuses answers 400, on the retry too, and nothing is stored', async () => {
    const topic = `orders/${'x'.repeat(60)}`;
    const body = JSON.stringify({ id: 5, email: PII });
    const headers = shopifyHeaders(SECRETS.shopify, body, 'too-long-topic', 'acme.myshopify.com', topic);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await post(`${gw.url}/api/webhooks/shopify`, body, headers);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('unstorable_event');
      expect(res.json.error.message).toContain('database error 22001 (string data right truncation)');
    }
    expect(await gw.query(`select 1 from webhook_events where webhook_id like '%too-long-topic'`)).toHaveLength(0);
    expect(logText()).not.toContain(PII);
  });

  it('a 4,000-character signed nonce is refused with 400 (not a 503 forever); 400 characters are accepted', async () => {
    // Random, so the index cannot compress it below its row-size limit (a repeated letter would fit).
    const long = randomBytes(2000).toString('hex');
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await signedNonce('{"type":"long.nonce"}', long);
      expect(res.status).toBe(400);
      expect(res.json.error).toEqual({
        code: 'invalid_nonce',
        message: 'Nonce in x-nonce is longer than 400 characters; send a shorter random value',
      });
    }
    expect(await gw.query(`select 1 from webhook_events where topic = 'long.nonce'`)).toHaveLength(0);
    const longest = await signedNonce('{"type":"longest.nonce"}', 'm'.repeat(400));
    expect(longest.json.status).toBe('accepted');
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_SECRET } from './helpers/destinations';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// Security review #12.4: credentials in a destination URL (user:password@, or a token in the query)
// ended up in last_error, the delivery log, the API and UI, and the worker log. The config file
// refuses user info (test/security-config.test.ts); every delivery error is redacted as well, for
// URLs given through the embedding API and for receivers that echo the URL they were called with.

const PASSWORD = 'Hunter2DeliveryPass';
const TOKEN = 'tok9f3KxQ27LmZpW8vRb';
const HEADER_TOKEN = 'hdr7Q2mZ9xKpL4vW';

describe('delivery errors never show URL credentials', () => {
  let gw: TestGateway;
  let receiver: http.Server;
  let base: string;

  beforeAll(async () => {
    // A real receiver whose error page echoes the path and query it was called with, like many do.
    receiver = http.createServer((req, res) => {
      req.resume();
      res
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`Cannot POST ${req.url} (no route for ${req.headers.authorization ?? 'anonymous'})`);
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    gw = await startTestGateway('pglite', {
      worker: { cron: '0 0 1 1 *', retryBaseMs: 20, retryMaxMs: 200, maxAttempts: 2 },
    });
    gw.gateway.forward('easypost', {
      destinations: [
        {
          name: 'echo',
          url: `${base}/hooks?token=${TOKEN}&region=eu`,
          secret: DESTINATION_SECRET,
          timeoutMs: 5_000,
          headers: { authorization: `Bearer ${HEADER_TOKEN}` },
        },
        {
          name: 'userinfo',
          url: `http://erp-user:${PASSWORD}@127.0.0.1:9/hooks`,
          secret: DESTINATION_SECRET,
          timeoutMs: 5_000,
        },
      ],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('redacts user info and token query values in the delivery log, last_error, the API and the log', async () => {
    const body = JSON.stringify({ id: 'evt_redact_1', description: 'tracker.updated' });
    const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(res.json.status).toBe('accepted');
    const id = res.json.id as number;
    await waitFor(
      async () => {
        await gw.gateway.worker.tick();
        return (
          (await gw.query<{ status: string }>('select status from webhook_events where id = $1', [id]))[0]!.status ===
          'failed'
        );
      },
      20_000,
      'the event to fail',
    );

    const deliveries = await gw.query<{ destination: string; error: string }>(
      'select destination, error from delivery_attempts where event_id = $1',
      [id],
    );
    const echo = deliveries.find((d) => d.destination === 'echo')!.error;
    const userinfo = deliveries.find((d) => d.destination === 'userinfo')!.error;
    expect(echo).toBe('HTTP 500: Cannot POST /hooks?token=[redacted]&region=eu (no route for [redacted])');
    expect(userinfo).toContain('http://[redacted]@127.0.0.1:9/hooks');

    const detail = await (
      await fetch(`${gw.url}/api/events/${id}`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
    ).text();
    const stored = JSON.stringify(
      await gw.query(
        'select last_error, (select json_agg(error) from processing_log where event_id = $1) as log from webhook_events where id = $1',
        [id],
      ),
    );
    for (const text of [JSON.stringify(deliveries), detail, stored, gw.logs.join('')]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('erp-user');
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(HEADER_TOKEN);
    }
    expect(detail).toContain('[redacted]');
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_SECRET } from './helpers/destinations';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { freePort } from './helpers/process';
import { easypostSignature, post } from './helpers/signers';

// Destinations given from code (`gateway.forward`, docs/embedding.md) are "the code equivalents of
// a source's destinations in the config file": their `rateLimit` and `circuit` apply as they do to
// file destinations (docs/destinations.md#protecting-destinations). They used to be ignored.

describe.each(databaseKinds())('protection of destinations given with gateway.forward (%s)', (kind) => {
  let gw: TestGateway;
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      arrivals.push(Date.now());
      res.writeHead(204).end();
    });
  });
  let n = 0;
  const send = async (description: string) => {
    const body = JSON.stringify({ id: `evt_embedded_${++n}_${Date.now()}`, description });
    const res = await post(`${gw.url}/api/webhooks/easypost`, body, {
      'x-hmac-signature': easypostSignature(SECRETS.easypost, body),
    });
    expect(res.status).toBe(200);
    return res.json.id as number;
  };
  const events = (ids: number[]) =>
    gw.query<{ status: string; attempts: number }>(
      'select status, attempts from webhook_events where id = any($1::bigint[])',
      [ids],
    );

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    const dead = `http://127.0.0.1:${await freePort()}/hooks`;
    gw = await startTestGateway(kind, { worker: { maxAttempts: 4 } });
    gw.gateway.forward(
      'easypost',
      {
        destinations: [
          { name: 'limited', url, secret: DESTINATION_SECRET, timeoutMs: 2000, rateLimit: { perSecond: 1 } },
        ],
      },
      'limited',
    );
    gw.gateway.forward(
      'easypost',
      {
        destinations: [
          {
            name: 'dead',
            url: dead,
            secret: DESTINATION_SECRET,
            timeoutMs: 2000,
            circuit: { failureThreshold: 1, cooldownSeconds: 60 },
          },
        ],
      },
      'dead',
    );
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a rate limit of 1/s spreads three events over more than a second', async () => {
    const ids = [await send('limited'), await send('limited'), await send('limited')];
    await waitFor(async () => (await events(ids)).every((e) => e.status === 'completed'), 15_000, 'the three events');
    expect(arrivals).toHaveLength(3);
    // Three admissions need three 1 s windows, so the first and third are admitted more than 1 s
    // apart; arrivals add each delivery's own latency, which on a loaded machine differs by tens of
    // ms (988 ms was seen). Without the limit all three arrive within a few ms.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(900);
  }, 30_000);

  it('a dead destination opens its circuit: its events are held, not failed after max_attempts', async () => {
    const ids = [await send('dead'), await send('dead'), await send('dead')];
    // Without the breaker, 4 attempts 10-100 ms apart fail every event within a second or two.
    await new Promise((r) => setTimeout(r, 3000));
    const rows = await events(ids);
    expect(rows.filter((e) => e.status === 'failed')).toHaveLength(0);
    expect(rows.reduce((sum, e) => sum + e.attempts, 0)).toBeLessThanOrEqual(3);
  }, 30_000);
});

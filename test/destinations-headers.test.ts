import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// A destination's configured headers next to the gateway's own (content-type, user-agent and the
// Standard Webhooks headers). Header names are case-insensitive: a configured `Content-Type` or
// `User-Agent` used to be sent alongside the gateway's lowercase one, and fetch joined the two
// into one value (`application/json, application/json`), which body parsers refuse.

const MASTER_KEY = randomBytes(32).toString('base64');
const PARTNER_SECRET = `partner-${randomBytes(12).toString('hex')}`;
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };

describe.each(databaseKinds())('configured headers of a destination (%s)', (kind) => {
  let gw: TestGateway;
  const got: { body: string; headers: IncomingHttpHeaders; raw: string[] }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, raw: req.rawHeaders });
      res.writeHead(204).end();
    });
  });
  let url = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 60_000 } });
    const source = await fetch(`${gw.url}/api/sources`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'partner', provider: 'shopify', secrets: [PARTNER_SECRET] }),
    });
    expect(source.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("sends one content-type and one user-agent, the gateway's, when the configured headers name them in another case", async () => {
    const created = await fetch(`${gw.url}/api/destinations`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        name: 'erp',
        url,
        sources: ['partner'],
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'acme-erp', 'X-Team': 'logistics' },
      }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };

    const body = JSON.stringify({ id: 1 });
    const res = await post(
      `${gw.url}/api/webhooks/partner`,
      body,
      shopifyHeaders(PARTNER_SECRET, body, `hdr-${Date.now()}`),
    );
    expect(res.status).toBe(200);
    const delivery = (await waitFor(() => got[0], 10_000, 'the delivery'))!;

    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['user-agent']).toBe('webhook-gateway');
    expect(delivery.headers['x-team']).toBe('logistics');
    const names = delivery.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === 'content-type')).toHaveLength(1);
    const flat = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]));
    expect(new Webhook(secret).verify(delivery.body, flat)).toMatchObject({ source_service: 'partner' });
  });
});

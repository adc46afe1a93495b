import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/gateway';
import { freePort, spawnGateway, waitUntilHealthy, type GatewayProcess } from './helpers/process';
import { shopifyHeaders } from './helpers/signers';
import { startOwnPostgres, type OwnPostgres } from './reliability/own-postgres';

const SECRET = 'outage-log-shopify-secret-4Rp';
const SHOP = 'outage.myshopify.com';

/** A Shopify delivery signed here with node:crypto, independently of the gateway. */
async function deliver(base: string, key: string) {
  const body = JSON.stringify({ id: key, total_price: '10.00', note: 'payload-value-Zq8' });
  const started = Date.now();
  const res = await fetch(`${base}/api/webhooks/shopify/orders/create`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...shopifyHeaders(SECRET, body, key, SHOP) },
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { key, status: res.status, retryAfter: res.headers.get('retry-after'), text, ms: Date.now() - started };
}

const lines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });

describe('a PostgreSQL outage, as senders and the operator see it', () => {
  let pg: OwnPostgres;
  let gw: GatewayProcess | undefined;
  let sql: postgres.Sql | undefined;
  beforeAll(async () => {
    pg = await startOwnPostgres();
  }, 120_000);
  afterAll(async () => {
    gw?.child.kill('SIGKILL');
    await sql?.end();
    pg?.destroy();
  });

  it('answers 503 fast, logs the outage once at its start and once at its end, and resumes by itself', async () => {
    const port = await freePort();
    gw = spawnGateway([], {
      DATABASE_URL: pg.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHOPIFY_WEBHOOK_SECRET: SECRET,
      DB_WRITE_TIMEOUT_MS: '3000',
      DB_CONNECT_TIMEOUT_SECONDS: '2',
      // Debug, so the components' own lines (now at debug) show the worker kept ticking.
      LOG_LEVEL: 'debug',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitUntilHealthy(`${base}/readyz`);
    for (let i = 0; i < 5; i++) expect((await deliver(base, `before-${i}`)).status).toBe(200);

    const mark = gw.output().length;
    pg.stopImmediate();
    // Send until 40 deliveries were answered and the worker failed at least 3 ticks: the count of
    // log lines below is over that much outage, however long it took on this machine.
    const during: Awaited<ReturnType<typeof deliver>>[] = [];
    const workerFailures = () =>
      lines(gw!.output().slice(mark)).filter((l) => l.msg === 'claiming due events failed').length;
    const sender = async (n: number) => {
      for (let i = 0; during.length < 40 || workerFailures() < 3; i++)
        during.push(await deliver(base, `during-${n}-${i}`));
    };
    await Promise.all([0, 1, 2, 3].map(sender));
    const readyDuring = await fetch(`${base}/readyz`);

    await pg.start();
    // A keep-alive socket the gateway closed meanwhile fails one fetch: that is "not ready yet".
    const ready = () =>
      fetch(`${base}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    await waitFor(ready, 30_000, 'readiness after the outage');
    await waitFor(() => gw!.output().slice(mark).includes('database reachable again'), 30_000, 'the end of the outage');
    const outage = lines(gw.output().slice(mark));

    // Senders: a fast 503 with Retry-After and a JSON code, never a 200 for something not stored.
    expect(readyDuring.status).toBe(503);
    for (const answer of during) {
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toBe('5');
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'database_unavailable' } });
      expect(answer.ms).toBeLessThan(5_000); // Shopify's whole-delivery timeout
    }

    // Operator: one error when it starts (with the code), one line when it ends (with its
    // duration), nothing else at warn or above, and no stack anywhere.
    const loud = outage.filter((l) => l.level >= 40);
    expect(loud).toEqual([
      expect.objectContaining({ level: 50, code: 'ECONNREFUSED', msg: expect.stringMatching(/^database unreachable/) }),
    ]);
    const end = outage.filter((l) => l.msg === 'database reachable again');
    expect(end).toEqual([expect.objectContaining({ level: 30, downSeconds: expect.any(Number) })]);
    expect(outage.filter((l) => l.level >= 30 && JSON.stringify(l).includes('"stack"'))).toEqual([]);
    expect(gw.output()).not.toContain('payload-value-Zq8');
    expect(gw.output()).not.toContain(SECRET);

    // Afterwards, without a restart of the gateway: every refused delivery is stored once when
    // resent, and everything is processed.
    const resent = await Promise.all(during.map((answer) => deliver(base, answer.key)));
    expect(resent.filter((r) => r.status === 200 && r.text.includes('"accepted"')).length).toBe(during.length);
    sql = postgres(pg.url, { max: 1 });
    const counted = async () =>
      (
        await sql!<[{ stored: number; ids: number; completed: number }]>`
          select count(*)::int as stored, count(distinct webhook_id)::int as ids,
                 count(*) filter (where status = 'completed')::int as completed
          from webhook_events where source = 'shopify'`
      )[0];
    await waitFor(
      async () => {
        const c = await counted();
        return c.completed === c.stored;
      },
      60_000,
      'processing to resume',
    );
    const c = await counted();
    expect(c.stored).toBe(5 + during.length);
    expect(c.ids).toBe(c.stored);
    expect(gw.child.exitCode).toBeNull();
  }, 180_000);
});

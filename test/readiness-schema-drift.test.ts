// A rolling deploy: the new release migrates the shared database while old processes still serve.
// A newer schema alone leaves an old process ready (migrations: newer) — after `npm run migrate`
// ahead of a deploy, every old process going unready at once would leave none to serve. Once its
// stores fail because of the newer schema (here: a column it does not write made required, as
// 0025 did with event_queue.source), /readyz answers 503 so the balancer stops sending it
// webhooks it can only answer 503; before, it stayed ready (src/db/schema-drift.ts). The worker's
// half is worker-schema-drift.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

const deliver = (url: string, id: string) => {
  const body = JSON.stringify({ id, total_price: '2.00' });
  return post(`${url}/api/webhooks/shopify`, body, shopifyHeaders(SECRETS.shopify, body, id));
};

async function readiness(url: string) {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, json: (await response.json()) as { status: string; checks: object } };
}

describe.each(databaseKinds())('readiness on a newer release schema (%s)', (kind) => {
  it('stays ready on a newer schema it can use; goes unready once its stores fail on it', async () => {
    gw = await startTestGateway(kind);
    expect((await deliver(gw.url, 'before-upgrade')).status).toBe(200);

    // A newer release's migration that only adds: recorded, nothing this release writes changes.
    await gw.query(
      `insert into drizzle.__drizzle_migrations (hash, created_at)
       select 'newer-release', max(created_at) + 1 from drizzle.__drizzle_migrations`,
    );
    expect(await readiness(gw.url)).toEqual({
      status: 200,
      json: { status: 'ready', checks: { database: 'ok', migrations: 'newer' } },
    });
    expect((await deliver(gw.url, 'after-additive-migration')).status).toBe(200);

    // A newer release's migration that makes a column this release does not write required.
    await gw.query(`alter table webhook_events add column newer_release_field text not null default 'x'`);
    await gw.query(`alter table webhook_events alter column newer_release_field drop default`);
    const refused = await deliver(gw.url, 'after-breaking-migration');
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('database_unavailable');

    // The drift is checked off the request's path: wait for the evidence, bounded.
    const deadline = Date.now() + 10_000;
    let seen = await readiness(gw.url);
    while (seen.status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = await readiness(gw.url);
    }
    expect(seen).toEqual({
      status: 503,
      json: { status: 'unavailable', checks: { database: 'ok', migrations: 'newer', schema: 'incompatible' } },
    });

    // More failing stores: still unready, and the operator is told once, without values.
    expect((await deliver(gw.url, 'still-breaking')).status).toBe(503);
    expect((await readiness(gw.url)).status).toBe(503);
    const told = gw.logs.filter((line) => line.includes('schema is newer than this release'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('"applied"');
    expect(told[0]).not.toContain('after-breaking-migration');
    expect(told[0]).not.toContain('total_price');
  }, 90_000);
});

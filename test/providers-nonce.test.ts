import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { createEventStore } from '../src/store/events';
import { databaseKinds } from './helpers/database';
import { startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import {
  hexHmac,
  nowSeconds,
  PROVIDER_SECRETS as S,
  providerSources,
  providerSourcesDocument,
} from './helpers/provider-signers';
import { post } from './helpers/signers';

// The X-OpsIQ nonce: recorded in seen_nonces in the same transaction as the event row.
describe.each(databaseKinds())('nonce replay protection on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, { sources: providerSources() }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const opsiq = (body: string, nonce: string) => {
    const ts = String(nowSeconds());
    return post(`${gw.url}/api/webhooks/opsiq`, body, {
      'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/opsiq`)}`,
      'x-opsiq-timestamp': ts,
      'x-opsiq-nonce': nonce,
    });
  };
  const count = async (table: string, where: string, params: unknown[]) =>
    Number((await gw.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params))[0]!.n);

  it('a new event carrying a nonce already seen is rejected with 401 nonce_replayed and not stored', async () => {
    expect((await opsiq('{"event":"a","n":1}', 'nonce-replayed')).json.status).toBe('accepted');
    const replay = await opsiq('{"event":"a","n":2}', 'nonce-replayed');
    expect(replay.status).toBe(401);
    expect(replay.json.error).toEqual({
      code: 'nonce_replayed',
      message: 'Nonce in x-opsiq-nonce was already used; every delivery needs a fresh nonce',
    });
    expect(await count('webhook_events', `source = 'opsiq' and body = $1`, [Buffer.from('{"event":"a","n":2}')])).toBe(
      0,
    );
    expect(await count('seen_nonces', `source = 'opsiq' and nonce = $1`, ['nonce-replayed'])).toBe(1);
  });

  it('a retry of an accepted delivery with its nonce is a duplicate, not a replay', async () => {
    const body = '{"event":"b"}';
    const ts = String(nowSeconds());
    const headers = {
      'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/opsiq`)}`,
      'x-opsiq-timestamp': ts,
      'x-opsiq-nonce': 'nonce-retry',
    };
    const first = await post(`${gw.url}/api/webhooks/opsiq`, body, headers);
    const retry = await post(`${gw.url}/api/webhooks/opsiq`, body, headers);
    expect([first.json.status, retry.json.status]).toEqual(['accepted', 'duplicate']);
  });

  it('the same nonce on another source is independent', async () => {
    // seen_nonces is keyed by source: a nonce another sender used says nothing about this one.
    await gw.query(`insert into seen_nonces (source, nonce) values ('honey', 'nonce-shared')`);
    expect((await opsiq('{"event":"c"}', 'nonce-shared')).json.status).toBe('accepted');
  });

  it('concurrent new events sharing one nonce: exactly one is stored', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => opsiq(`{"event":"d","n":${i}}`, 'nonce-race')),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 401).every((a) => a.json.error.code === 'nonce_replayed')).toBe(true);
    expect(
      await count('webhook_events', `source = 'opsiq' and convert_from(body, 'UTF8') like '{"event":"d"%'`, []),
    ).toBe(1);
  });

  it('a store that fails records no nonce, so the retry of that delivery is accepted', async () => {
    const store = createEventStore(gw.gateway.database);
    const event = { source: 'opsiq', topic: 't', headers: {}, maxAttempts: 3 };
    // A null topic violates NOT NULL: the event insert fails inside the transaction.
    await expect(
      store.insert({
        ...event,
        topic: null as never,
        webhookId: 'st-3',
        body: Buffer.from('3'),
        nonce: 'nonce-failed',
      }),
    ).rejects.toThrow();
    expect(await count('seen_nonces', `nonce = 'nonce-failed'`, [])).toBe(0);
    expect(
      (await store.insert({ ...event, webhookId: 'st-3', body: Buffer.from('3'), nonce: 'nonce-failed' })).status,
    ).toBe('accepted');
  });

  it('a delivery without its nonce header is rejected naming it', async () => {
    const body = '{"event":"e"}';
    const ts = String(nowSeconds());
    const res = await post(`${gw.url}/api/webhooks/opsiq`, body, {
      'x-opsiq-signature': `sha256=${hexHmac(S.opsiq, `${body}${ts}/api/webhooks/opsiq`)}`,
      'x-opsiq-timestamp': ts,
    });
    expect(res.status).toBe(401);
    expect(res.json.error.message).toBe('Required headers missing: x-opsiq-nonce');
  });
});

// How long a nonce is remembered (#12.7): as long as a request carrying it could still verify.
// With a signed timestamp that is the tolerance (at most a day), so the retention job forgets
// nonces after two days; without one a signature never expires, and neither may its nonce.
describe('nonce retention', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      {
        sources: [
          ...providerSourcesDocument().sources.filter((s) => s.name === 'opsiq'),
          // Signs its nonce but no timestamp: a captured request verifies forever.
          {
            name: 'untimed',
            provider: 'generic-hmac',
            secrets: ['untimed-nonce-secret-0001'],
            signature_header: 'X-Sig',
            signed_payload: '{nonce}.{body}',
            nonce_header: 'X-Nonce',
          },
        ],
      },
      {},
    );
    // The retention job every second, so the test waits for its evidence instead of calling it.
    gw = await startTestGateway('pglite', { sources, retention: { cron: '* * * * * *' } });
  });
  afterAll(() => gw?.stop());

  const untimed = (body: string, nonce: string) =>
    post(`${gw.url}/api/webhooks/untimed`, body, {
      'x-sig': hexHmac('untimed-nonce-secret-0001', `${nonce}.`, body),
      'x-nonce': nonce,
    });

  it('a source without a signed timestamp keeps its nonces past two days; a timestamped one forgets them', async () => {
    await gw.query(
      `insert into seen_nonces (source, nonce, seen_at) values ('opsiq', 'old-timed', now() - interval '3 days'), ('untimed', 'old-untimed', now() - interval '30 days')`,
    );
    await waitFor(
      async () => (await gw.query(`select 1 from seen_nonces where nonce = 'old-timed'`)).length === 0,
      20_000,
      'retention run',
    );
    expect(await gw.query(`select source from seen_nonces where nonce = 'old-untimed'`)).toEqual([
      { source: 'untimed' },
    ]);
    // So a new event replaying that month-old signed nonce is still refused.
    const replay = await untimed('{"n":"new"}', 'old-untimed');
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe('nonce_replayed');
  });
});

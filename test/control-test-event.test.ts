import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

const MASTER_KEY = randomBytes(32).toString('base64');
const admin = { authorization: `Bearer ${SECRETS.ops}` };

describe.each(databaseKinds())('POST /api/sources/{name}/test-event (%s)', (kind) => {
  let gw: TestGateway;
  let viewerToken: string;
  const api = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
    const response = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...admin,
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const testEvent = (name: string, body?: unknown, token?: string) =>
    api(`/api/sources/${name}/test-event`, { method: 'POST', body, token });

  beforeAll(async () => {
    gw = await startTestGateway(kind, { control: { keyring: loadKeyring({ key: MASTER_KEY }), refreshMs: 5000 } });
    const created = await api('/api/tokens', { method: 'POST', body: { name: 'looker', role: 'viewer' } });
    viewerToken = created.body.token;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it("signs a Shopify sample with a database source's newest secret and stores it through ingest", async () => {
    expect((await api('/api/sources', { method: 'POST', body: { name: 'acme', provider: 'shopify' } })).status).toBe(
      201,
    );
    // Rotating with no overlap ends the first secret now: only the new one verifies.
    expect(
      (await api('/api/sources/acme/rotate-secret', { method: 'POST', body: { overlap_seconds: 0 } })).status,
    ).toBe(200);
    const sent = await testEvent('acme', { topic: 'orders/paid' });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ status: 'accepted', topic: 'orders/paid', ingest_status: 200 });
    const event = await api(`/api/events/${sent.body.event_id}`);
    expect(event.body).toMatchObject({ source: 'acme', topic: 'orders/paid' });
    expect(JSON.stringify(event.body)).toContain('"line_items"');
    // A second one is a new event (fresh delivery id), not a duplicate.
    const again = await testEvent('acme', { topic: 'orders/paid' });
    expect(again.body.status).toBe('accepted');
    expect(again.body.event_id).not.toBe(sent.body.event_id);
  });

  it("works for file and environment sources, with the provider's own sample", async () => {
    const shopify = await testEvent('shopify');
    expect(shopify.body).toMatchObject({ status: 'accepted', topic: 'orders/create' });
    const easypost = await testEvent('easypost');
    expect(easypost.body).toMatchObject({ status: 'accepted', topic: 'tracker.updated' });
    expect((await api(`/api/events/${easypost.body.event_id}`)).body).toMatchObject({
      source: 'easypost',
      topic: 'tracker.updated',
    });
  });

  it('signs each scheme as its sender does: Stripe, Standard Webhooks, generic HMAC', async () => {
    await api('/api/sources', { method: 'POST', body: { name: 'pay', provider: 'stripe' } });
    await api('/api/sources', { method: 'POST', body: { name: 'std', provider: 'standard-webhooks' } });
    await api('/api/sources', {
      method: 'POST',
      body: {
        name: 'erp',
        provider: 'generic-hmac',
        signature_header: 'x-erp-signature',
        timestamp_header: 'x-erp-time',
        signed_payload: '{timestamp}.{body}',
        topic_path: 'meta.kind',
        id_path: 'meta.id',
      },
    });
    expect((await testEvent('pay')).body).toMatchObject({ status: 'accepted', topic: 'payment_intent.succeeded' });
    expect((await testEvent('std', { topic: 'invoice.paid' })).body).toMatchObject({
      status: 'accepted',
      topic: 'invoice.paid',
    });
    const erp = await testEvent('erp', { topic: 'stock.changed' });
    expect(erp.body).toMatchObject({ status: 'accepted' });
    expect((await api(`/api/events/${erp.body.event_id}`)).body).toMatchObject({
      source: 'erp',
      topic: 'stock.changed',
    });
  });

  it("holds a paused source's test event: stored and on hold", async () => {
    await api('/api/sources', { method: 'POST', body: { name: 'held', provider: 'github' } });
    expect((await api('/api/sources/held/pause', { method: 'POST' })).status).toBe(200);
    const sent = await testEvent('held', { topic: 'push' });
    expect(sent.body).toMatchObject({ status: 'accepted', topic: 'push' });
    expect((await api('/api/sources/held')).body).toMatchObject({ paused: true, on_hold: 1 });
    expect((await api(`/api/events/${sent.body.event_id}`)).body.status).toBe('received');
  });

  it('answers 404 for an unknown source, 400 for a topic the provider has no sample of', async () => {
    const unknown = await testEvent('nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('source_not_found');
    const topic = await testEvent('pay', { topic: 'charge.refunded' });
    expect(topic.status).toBe(400);
    expect(topic.body.error.message).toMatch(/^topic: .*payment_intent\.succeeded/);
    expect((await testEvent('pay', { topik: 'x' })).status).toBe(400);
    // A JSON content-type with no body is the caller's mistake, answered as one (not a 500).
    const empty = await fetch(`${gw.url}/api/sources/pay/test-event`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).error.code).toBe('invalid_body');
  });

  it('answers 409 when no secret is valid', async () => {
    const created = await api('/api/sources', { method: 'POST', body: { name: 'bare', provider: 'shopify' } });
    expect((await api(`/api/sources/bare/secrets/${created.body.secrets[0].id}`, { method: 'DELETE' })).status).toBe(
      200,
    );
    const sent = await testEvent('bare');
    expect(sent.status).toBe(409);
    expect(sent.body.error.code).toBe('no_valid_secret');
    // Keycloak realm-signed JWTs: the key is the realm's, not the gateway's.
    const jwt = await api('/api/sources', {
      method: 'POST',
      body: {
        name: 'realm',
        provider: 'keycloak',
        jwks_url: 'https://sso.example.com/realms/acme/protocol/openid-connect/certs',
        audience: 'gateway',
      },
    });
    expect(jwt.status, JSON.stringify(jwt.body)).toBe(201);
    const refused = await testEvent('realm');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('cannot_sign');
  });

  it('is admin only, audited, and never returns or logs the secret', async () => {
    expect((await testEvent('acme', undefined, viewerToken)).status).toBe(403);
    const audit = await api('/api/audit?action=source.test_event');
    const entry = audit.body.entries.find((e: any) => e.target === 'acme');
    expect(entry).toMatchObject({
      actor: 'bootstrap',
      action: 'source.test_event',
      after: { test_event: { status: 'accepted' } },
    });
    const created = await api('/api/sources', { method: 'POST', body: { name: 'secretive', provider: 'shopify' } });
    const sent = await testEvent('secretive');
    expect(JSON.stringify(sent.body)).not.toContain(created.body.secret);
    expect(gw.logs.join('')).not.toContain(created.body.secret);
  });

  it('lets any role read the sources, showing spec to admins only', async () => {
    const asViewer = await api('/api/sources/erp', { token: viewerToken });
    expect(asViewer.status).toBe(200);
    expect(asViewer.body).toMatchObject({ name: 'erp', spec: null });
    expect((await api('/api/sources/erp')).body.spec).toMatchObject({ signature_header: 'x-erp-signature' });
    expect((await api('/api/whoami', { token: viewerToken })).body).toEqual({ token_name: 'looker', role: 'viewer' });
  });

  it('shows spec to admins only in the answers of pause and resume too (an operator may call them)', async () => {
    const operator = (await api('/api/tokens', { method: 'POST', body: { name: 'pauser', role: 'operator' } })).body
      .token;
    for (const action of ['pause', 'resume']) {
      const answer = await api(`/api/sources/erp/${action}`, { method: 'POST', token: operator });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ name: 'erp', paused: action === 'pause', spec: null });
    }
    expect((await api('/api/sources/erp/pause', { method: 'POST' })).body.spec).toMatchObject({
      signature_header: 'x-erp-signature',
    });
    expect((await api('/api/sources/erp/resume', { method: 'POST' })).status).toBe(200);
  });

  it('lists runtime sources in the last-rejection summary', async () => {
    const last = await api('/api/requests/last');
    expect(Object.keys(last.body.sources)).toEqual(expect.arrayContaining(['acme', 'erp', 'shopify']));
  });
});

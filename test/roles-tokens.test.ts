import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/store/audit';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

type Json = Record<string, any>;

describe.each(databaseKinds())('ops API tokens and the audit log on %s', (kind) => {
  let gw: TestGateway;
  let second: TestGateway | undefined;
  let eventId: number;

  const api = async (path: string, token: string, init: { method?: string; body?: unknown; base?: string } = {}) => {
    const res = await fetch(`${init.base ?? gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'req-test-1' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: (res.headers.get('content-type')?.includes('application/json') ? JSON.parse(text) : null) as Json,
    };
  };
  const create = (body: unknown) => api('/api/tokens', SECRETS.ops, { method: 'POST', body });

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    // On PostgreSQL a second instance shares the database: revocation must reach it too.
    if (kind === 'postgres') second = await startTestGateway(kind, {}, { testDb: gw.testDb, role: 'web' });
    const body = JSON.stringify({ id: 1 });
    eventId = (
      await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders(SECRETS.shopify, body, 'evt-1'))
    ).json.id;
    // The worker wakes on NOTIFY and processes it at once; a replay while it runs is (rightly) 409,
    // so the tests start from a finished event.
    await waitFor(
      async () =>
        (
          await gw.query(
            `select 1 from webhook_events where id = ${Number(eventId)} and status in ('completed', 'failed')`,
          )
        ).length === 1,
      60_000,
    );
  }, 300_000);

  afterAll(async () => {
    await second?.stop();
    await gw?.stop();
  });

  it('creates a token shown once and keeps only its SHA-256', async () => {
    const before = Date.now();
    const res = await create({ name: 'ci', role: 'operator', expires_in: '30d' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const token: string = res.json.token;
    expect(token).toMatch(/^gwt_[A-Za-z0-9_-]{43}$/);
    expect(res.json).toMatchObject({ name: 'ci', role: 'operator', prefix: `${token.slice(0, 8)}…`, revoked_at: null });
    expect(Date.parse(res.json.expires_at) - before).toBeGreaterThan(30 * 86_400_000 - 60_000);

    const [row] = await gw.query<Json>(
      `select hash, row_to_json(t)::text as whole from api_tokens t where name = 'ci'`,
    );
    expect(row!.hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(row!.whole).not.toContain(token);

    const list = await api('/api/tokens', SECRETS.ops);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(token);
    expect(list.text).not.toContain(row!.hash);
    expect(list.json.tokens.find((t: Json) => t.name === 'ci')).not.toHaveProperty('token');

    const taken = await create({ name: 'ci', role: 'viewer' });
    expect([taken.status, taken.json.error.code]).toEqual([409, 'token_name_taken']);
    const badRole = await create({ name: 'x', role: 'root' });
    expect(badRole.status).toBe(400);
    expect(badRole.json.error.message).toMatch(/role/);
    const badExpiry = await create({ name: 'x', role: 'viewer', expires_in: '3 days' });
    expect(badExpiry.status).toBe(400);
    expect(badExpiry.json.error.message).toMatch(/expires_in/);
    const reserved = await create({ name: 'bootstrap', role: 'viewer' });
    expect(reserved.status).toBe(400);
  });

  it('acts with its role, is recorded as the actor, and stops working within a second of revocation', async () => {
    const { json } = await create({ name: 'replayer', role: 'operator' });
    const token: string = json.token;
    expect((await api('/api/tokens', token)).json.error.code).toBe('forbidden');

    const replay = await api(`/api/events/${eventId}/replay`, token, { method: 'POST' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('x-request-id')).toBe('req-test-1');
    // The worker picks the replayed event up at once; a bulk replay while it is being processed
    // would (rightly) skip it, so wait until that attempt has finished.
    await waitFor(
      async () =>
        (
          await gw.query(
            `select 1 from webhook_events where id = ${Number(eventId)} and status in ('completed', 'failed')`,
          )
        ).length === 1,
      60_000,
    );
    const bulk = await api('/api/events/replay', token, {
      method: 'POST',
      body: { filter: { source: 'shopify' }, dry_run: false },
    });
    expect(bulk.json).toMatchObject({ replayed: 1 });

    const audit = (await api('/api/audit?actor=replayer', SECRETS.ops)).json.entries as Json[];
    expect(audit.map((e) => e.action)).toEqual(['events.bulk_replay', 'event.replay']);
    expect(audit[1]).toMatchObject({
      target: `event:${eventId}`,
      request_id: 'req-test-1',
      client_address: '127.0.0.1',
    });
    expect(audit[0]!.after).toMatchObject({ filter: { source: 'shopify' }, matched: 1, replayed: 1 });
    await waitFor(
      async () =>
        (await gw.query(`select 1 from api_tokens where name = 'replayer' and last_used_at is not null`)).length === 1,
    );

    if (second) expect((await api('/api/stats', token, { base: second.url })).status).toBe(200);
    const revoked = await api('/api/tokens/replayer', SECRETS.ops, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    const at = Date.now();
    for (const base of [gw.url, ...(second ? [second.url] : [])]) {
      await waitFor(
        async () => (await api('/api/stats', token, { base })).status === 401,
        5000,
        `revocation seen at ${base}`,
      );
    }
    // The cache holds an answer for at most 1 s; the rest is request time on a loaded machine.
    expect(Date.now() - at).toBeLessThan(2500);
    const [entry] = (await api('/api/audit?action=token.revoke', SECRETS.ops)).json.entries as Json[];
    expect(entry).toMatchObject({ actor: 'bootstrap', target: 'token:replayer', before: { revoked_at: null } });
    expect(entry!.after.revoked_at).toEqual(expect.any(String));
    expect((await api('/api/tokens/nobody', SECRETS.ops, { method: 'DELETE' })).status).toBe(404);
  });

  it('redacts secrets in the audit log, filters, pages and exports it', async () => {
    await recordAudit(gw.gateway.database, {
      actor: 'control-plane',
      action: 'source.update',
      target: 'source:shopify',
      before: { name: 'shopify', secret: 'shpss_old', options: { api_key: 'k-1', region: 'eu' } },
      after: { name: 'shopify', secrets: [{ id: 1 }] },
    });
    const res = await api('/api/audit?action=source.update', SECRETS.ops);
    const [entry] = res.json.entries as Json[];
    expect(entry!.before).toEqual({
      name: 'shopify',
      secret: '[redacted]',
      options: { api_key: '[redacted]', region: 'eu' },
    });
    expect(entry!.after).toEqual({ name: 'shopify', secrets: '[redacted]' });
    expect(res.text).not.toContain('shpss_old');

    await recordAudit(gw.gateway.database, {
      actor: 'control-plane',
      action: 'source.pause',
      target: 'source:shopify',
    });
    const first = await api('/api/audit?actor=control-plane&limit=1', SECRETS.ops);
    expect(first.json.entries[0].action).toBe('source.pause');
    expect(first.json.entries).toHaveLength(1);
    const next = await api(`/api/audit?actor=control-plane&limit=1&cursor=${first.json.next_cursor}`, SECRETS.ops);
    expect(next.json.entries[0].id).toBeLessThan(first.json.entries[0].id);
    expect(
      (await api(`/api/audit?since=${new Date(Date.now() + 60_000).toISOString()}`, SECRETS.ops)).json.entries,
    ).toEqual([]);
    const bad = await api('/api/audit?since=yesterday', SECRETS.ops);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/since/);

    const ndjson = await api('/api/audit/export', SECRETS.ops);
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = ndjson.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    const total = (await gw.query<{ n: number }>('select count(*)::int as n from audit_log'))[0]!.n;
    expect(lines).toHaveLength(total);
    expect(lines[0]).toMatchObject({ action: 'source.pause' });
    const csv = await api('/api/audit/export?format=csv&action=source.update', SECRETS.ops);
    expect(csv.text.split('\r\n')[0]).toBe('id,at,actor,action,target,before,after,request_id,client_address');
    expect(csv.text).toContain('"{""name"":""shopify"",""secret"":""[redacted]""');
  });

  it('is managed from the CLI', async () => {
    const env = { OPS_API_TOKEN: SECRETS.ops };
    const made = await runCli(
      ['tokens', 'create', '--name', 'from-cli', '--role', 'viewer', '--expires-in', '12h', '--url', gw.url],
      env,
      60_000,
    );
    expect(made.code).toBe(0);
    expect(made.stdout.trim()).toMatch(/^gwt_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain('not shown again');
    const viewer = made.stdout.trim();
    const listed = await runCli(['tokens', 'list', '--url', gw.url], env, 60_000);
    expect(listed.stdout).toMatch(/from-cli\s+viewer\s+gwt_\S+…/);
    expect(listed.stdout).not.toContain(viewer);
    const refused = await runCli(['tokens', 'list', '--url', gw.url, '--token', viewer], {}, 60_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403 forbidden');
    const revoked = await runCli(['tokens', 'revoke', 'from-cli', '--url', gw.url], env, 60_000);
    expect([revoked.code, revoked.stdout]).toEqual([0, expect.stringContaining('Revoked token "from-cli"')]);
  }, 240_000);
});

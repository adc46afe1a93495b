import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { inTransaction } from '../src/db/statements';
import { createTestDatabase, postgresUrl, type TestDatabase } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';

// Two gateway instances on one PostgreSQL database, each with its own snapshot of the control
// plane (re-read on NOTIFY; the backstop re-read is 60 s here). Changes sent to both at once,
// without If-Match, each touching another field: every one of them must be in the stored result.
// A change merged into the serving instance's snapshot would write back the other's field as it
// was before (a lost update that no one was told about).

const ROUNDS = 5;
const answer = async (pending: Promise<Response>) =>
  (await pending) as Omit<Response, 'json'> & { json(): Promise<any> };
const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const fingerprint = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 12);

describe.skipIf(!postgresUrl())('concurrent changes through two instances on one PostgreSQL', () => {
  let testDb: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;
  const api = (gw: TestGateway, path: string, method = 'GET', body?: unknown) =>
    answer(
      fetch(`${gw.url}${path}`, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
  /** Waits until `gw` serves `path` at `version` (its snapshot heard every change), and returns it. */
  const readAt = (gw: TestGateway, path: string, version: number) =>
    waitFor(
      async () => {
        const res = await api(gw, path);
        const body = res.status === 200 ? await res.json() : undefined;
        return body?.version === version ? body : undefined;
      },
      5000,
      `${path} at version ${version}`,
    );

  beforeAll(async () => {
    testDb = await createTestDatabase('postgres');
    const control = { keyring: loadKeyring({ key: randomBytes(32).toString('base64') }), refreshMs: 60_000 };
    a = await startTestGateway('postgres', { control }, { testDb, role: 'web' });
    b = await startTestGateway('postgres', { control }, { testDb, role: 'web' });
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await testDb?.drop();
  }, 60_000);

  it('a source PATCHed on both instances at once keeps both changes', async () => {
    const created = await api(a, '/api/sources', 'POST', { name: 'shared', provider: 'shopify' });
    expect(created.status).toBe(201);
    let version = 1;
    await readAt(b, '/api/sources/shared', version);
    for (let round = 1; round <= ROUNDS; round++) {
      const [fromA, fromB] = await Promise.all([
        api(a, '/api/sources/shared', 'PATCH', { rate_limit: { per_second: round } }),
        api(b, '/api/sources/shared', 'PATCH', { retry: { max_attempts: round + 1 } }),
      ]);
      expect([fromA.status, fromB.status]).toEqual([200, 200]);
      version += 2;
      const stored = await readAt(a, '/api/sources/shared', version);
      expect(stored.spec, `round ${round}`).toEqual({
        rate_limit: { per_second: round },
        retry: { max_attempts: round + 1 },
      });
    }
  }, 60_000);

  it('secrets rotated on both instances at once: only the newest is left without an end', async () => {
    const created = await api(a, '/api/sources', 'POST', { name: 'rotated', provider: 'shopify' });
    expect(created.status).toBe(201);
    let version = 1;
    await readAt(b, '/api/sources/rotated', version);
    for (let round = 1; round <= ROUNDS; round++) {
      const rotations = await Promise.all(
        [a, b, a, b].map((gw) => api(gw, '/api/sources/rotated/rotate-secret', 'POST', { overlap_seconds: 3600 })),
      );
      expect(rotations.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      version += rotations.length;
      const stored = await readAt(a, '/api/sources/rotated', version);
      // Rotated one after the other, each rotation gives every older secret its end: a secret
      // added by a concurrent rotation and left without one would verify forever.
      const endless = stored.secrets.filter((s: { not_after: string | null }) => s.not_after === null);
      expect(
        endless.map((s: { id: number }) => s.id),
        `round ${round}`,
      ).toEqual([Math.max(...stored.secrets.map((s: { id: number }) => s.id))]);
      // A source holds at most 10 valid secrets: the ended ones go before the next round.
      for (const ended of stored.secrets.filter((s: { not_after: string | null }) => s.not_after !== null)) {
        expect((await api(a, `/api/sources/rotated/secrets/${ended.id}`, 'DELETE')).status).toBe(200);
        version += 1;
      }
    }
  }, 60_000);

  it('a secret revoked while another rotation of the source waits: both are done, no deadlock', async () => {
    const created = await api(a, '/api/sources', 'POST', { name: 'revoked', provider: 'shopify' });
    expect(created.status).toBe(201);
    const [first] = (await created.json()).secrets as { id: number }[];
    await readAt(b, '/api/sources/revoked', 1);
    // A third writer holds the source's row, so that the rotation and the revocation both wait
    // for it and then run into each other: the rotation ends the secret the revocation deletes.
    const holder = await testDb.open({ poolSize: 2 });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const held = inTransaction(holder, async (run) => {
      await run(sql`select 1 from sources where name = 'revoked' for update`);
      holding = true;
      await released;
    });
    await waitFor(() => holding, 5000, 'the row to be held');
    const lockWaits = async () =>
      Number(
        (
          await a.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          )
        )[0]!.n,
      );
    const rotated = api(a, '/api/sources/revoked/rotate-secret', 'POST', { overlap_seconds: 3600 });
    await waitFor(async () => (await lockWaits()) >= 1, 5000, 'the rotation to wait');
    const revoked = api(b, `/api/sources/revoked/secrets/${first!.id}`, 'DELETE');
    await waitFor(async () => (await lockWaits()) >= 2, 5000, 'the revocation to wait');
    release();
    await held;
    const answers = await Promise.all([rotated, revoked]);
    expect(
      await Promise.all(answers.map(async (r) => `${r.status} ${r.status === 200 ? '' : await r.text()}`)),
    ).toEqual(['200 ', '200 ']);
    const stored = await readAt(a, '/api/sources/revoked', 3);
    expect(stored.secrets.map((s: { id: number }) => s.id)).not.toContain(first!.id);
  }, 60_000);

  it('a destination PATCHed on one instance and re-keyed on the other keeps both changes', async () => {
    const created = await api(a, '/api/destinations', 'POST', { name: 'erp', url: 'https://erp.example.com/hooks/0' });
    expect(created.status).toBe(201);
    let version = 1;
    await readAt(b, '/api/destinations/erp', version);
    for (let round = 1; round <= ROUNDS; round++) {
      const secret = `whsec_${Buffer.from(`round-${round}-signing-key-0123456789`).toString('base64')}`;
      const [fromA, fromB, fromA2] = await Promise.all([
        api(a, '/api/destinations/erp', 'PATCH', { url: `https://erp.example.com/hooks/${round}` }),
        api(b, '/api/destinations/erp/rotate-secret', 'POST', { secret }),
        api(a, '/api/destinations/erp', 'PATCH', { timeout_ms: 1000 + round }),
      ]);
      expect([fromA.status, fromB.status, fromA2.status]).toEqual([200, 200, 200]);
      version += 3;
      const stored = await readAt(a, '/api/destinations/erp', version);
      expect(
        { url: stored.url, timeout_ms: stored.timeout_ms, fingerprint: stored.fingerprint },
        `round ${round}`,
      ).toEqual({
        url: `https://erp.example.com/hooks/${round}`,
        timeout_ms: 1000 + round,
        fingerprint: fingerprint(secret),
      });
    }
  }, 60_000);

  it('an alert channel re-keyed on one instance while edited on the other keeps both changes', async () => {
    const key = (round: number) => `whsec_${Buffer.from(`alert-channel-key-${round}-0123456789`).toString('base64')}`;
    const created = await api(a, '/api/alerts/channels', 'POST', {
      name: 'oncall',
      type: 'webhook',
      url: 'https://alerts.example.com/0',
      secret: key(0),
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    for (let round = 1; round <= ROUNDS; round++) {
      // The edit on B leaves the secret out (it is never shown), so it keeps the stored one.
      const [fromA, fromB] = await Promise.all([
        api(a, `/api/alerts/channels/${id}`, 'PUT', { name: 'oncall', type: 'webhook', secret: key(round) }),
        api(b, `/api/alerts/channels/${id}`, 'PUT', {
          name: 'oncall',
          type: 'webhook',
          url: `https://alerts.example.com/${round}`,
        }),
      ]);
      expect([fromA.status, fromB.status]).toEqual([200, 200]);
      const { channels } = await (await api(a, '/api/alerts/channels')).json();
      expect(
        { url_fingerprint: channels[0].url_fingerprint, secret_fingerprint: channels[0].secret_fingerprint },
        `round ${round}`,
      ).toEqual({
        // The URL's path is never shown (it may be the credential): its fingerprint says which it is.
        url_fingerprint: fingerprint(`https://alerts.example.com/${round}`),
        secret_fingerprint: fingerprint(key(round)),
      });
    }
  }, 60_000);

  it('a channel deleted on one instance while a rule naming it is created on the other: never both', async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const channel = await api(a, '/api/alerts/channels', 'POST', {
        name: `pager-${round}`,
        type: 'email',
        to: ['ops@example.com'],
      });
      expect(channel.status).toBe(201);
      const { id } = await channel.json();
      const [deleted, rule] = await Promise.all([
        api(a, `/api/alerts/channels/${id}`, 'DELETE'),
        api(b, '/api/alerts/rules', 'POST', {
          name: `backlog-${round}`,
          kind: 'backlog_age',
          channels: [`pager-${round}`],
        }),
      ]);
      // One of them wins; the other is refused saying why. A rule naming a deleted channel would
      // send its notices nowhere.
      const outcome = [deleted.status, rule.status];
      expect(
        [
          [204, 400],
          [409, 201],
        ],
        `round ${round}: ${outcome}`,
      ).toContainEqual(outcome);
      const { rules } = await (await api(a, '/api/alerts/rules')).json();
      const { channels } = await (await api(a, '/api/alerts/channels')).json();
      const named = new Set(channels.map((c: { name: string }) => c.name));
      for (const r of rules) for (const n of r.channels) expect(named.has(n), `rule ${r.name} names ${n}`).toBe(true);
    }
  }, 60_000);
});

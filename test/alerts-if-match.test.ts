import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../src/control/crypto';
import { createTestDatabase, databaseKinds, postgresUrl, type TestDatabase } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

const print = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

// Alert rules and channels carry a version, answered as the ETag; a PUT or DELETE sent with
// If-Match is made only if the row is still at that version (412 version_mismatch otherwise), so
// two admins editing one rule — in the UI, with apply -f — cannot silently overwrite each other.

const auth = { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' };
const key = (n: number) => `whsec_${Buffer.from(`alert-if-match-key-${n}-0123456789`).toString('base64')}`;

interface Answer {
  status: number;
  etag: string | null;
  json: any;
}

const call = async (
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  ifMatch?: string,
): Promise<Answer> => {
  const response = await fetch(`${gw.url}${path}`, {
    method,
    headers: ifMatch === undefined ? auth : { ...auth, 'if-match': ifMatch },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, etag: response.headers.get('etag'), json: text ? JSON.parse(text) : undefined };
};

describe.each(databaseKinds())('alert rules and channels with If-Match on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, {}, { role: 'web' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('a rule answers its version as the ETag; a stale If-Match on PUT or DELETE is 412 and changes nothing', async () => {
    const created = await call(gw, 'POST', '/api/alerts/rules', { name: 'backlog', kind: 'backlog_age' });
    expect([created.status, created.etag, created.json.version]).toEqual([201, '"1"', 1]);
    const path = `/api/alerts/rules/${created.json.id}`;
    expect((await call(gw, 'GET', path)).etag).toBe('"1"');

    const saved = await call(
      gw,
      'PUT',
      path,
      { name: 'backlog', kind: 'backlog_age', params: { older_than_seconds: 60 } },
      '"1"',
    );
    expect([saved.status, saved.etag, saved.json.version]).toEqual([200, '"2"', 2]);

    const stale = await call(gw, 'PUT', path, { name: 'backlog', kind: 'backlog_age', enabled: false }, '"1"');
    expect(stale.status).toBe(412);
    expect(stale.json.error.code).toBe('version_mismatch');
    expect(stale.json.error.message).toBe(
      'Alert rule "backlog" changed since the version you sent in If-Match; it is now version 2: GET it again and retry',
    );
    expect((await call(gw, 'DELETE', path, undefined, '"1"')).status).toBe(412);

    const stored = await call(gw, 'GET', path);
    expect([stored.etag, stored.json.enabled, stored.json.params]).toEqual(['"2"', true, { older_than_seconds: 60 }]);
    expect((await call(gw, 'DELETE', path, undefined, 'W/"2"')).status).toBe(204);
    expect((await call(gw, 'GET', path)).status).toBe(404);
  });

  it('a channel answers its version as the ETag; a stale If-Match on PUT or DELETE is 412 and changes nothing', async () => {
    const created = await call(gw, 'POST', '/api/alerts/channels', {
      name: 'hooks',
      type: 'webhook',
      url: 'https://alerts.example.com/a',
      secret: key(1),
    });
    expect([created.status, created.etag, created.json.version]).toEqual([201, '"1"', 1]);
    const path = `/api/alerts/channels/${created.json.id}`;
    const saved = await call(
      gw,
      'PUT',
      path,
      { name: 'hooks', type: 'webhook', url: 'https://alerts.example.com/b' },
      '"1"',
    );
    expect([saved.status, saved.etag]).toEqual([200, '"2"']);

    const stale = await call(gw, 'PUT', path, { name: 'hooks', type: 'webhook', secret: key(2) }, '"1"');
    expect([stale.status, stale.json.error.code]).toEqual([412, 'version_mismatch']);
    expect(stale.json.error.message).toContain('Alert channel "hooks" changed since the version you sent in If-Match');
    expect((await call(gw, 'DELETE', path, undefined, '"1"')).status).toBe(412);

    const stored = await call(gw, 'GET', path);
    expect([stored.etag, stored.json.url_fingerprint, stored.json.secret_fingerprint]).toEqual([
      '"2"',
      print('https://alerts.example.com/b'),
      created.json.secret_fingerprint,
    ]);
  });

  it('without If-Match (or with *) a change is made as before; a malformed If-Match is 400', async () => {
    const created = await call(gw, 'POST', '/api/alerts/rules', { name: 'failures', kind: 'event_failed' });
    const path = `/api/alerts/rules/${created.json.id}`;
    expect((await call(gw, 'PUT', path, { name: 'failures', kind: 'event_failed', enabled: false })).etag).toBe('"2"');
    expect((await call(gw, 'PUT', path, { name: 'failures', kind: 'event_failed' }, '*')).etag).toBe('"3"');
    const malformed = await call(gw, 'PUT', path, { name: 'failures', kind: 'event_failed' }, 'version-3');
    expect([malformed.status, malformed.json.error.code]).toEqual([400, 'invalid_if_match']);
    const { rules } = (await call(gw, 'GET', '/api/alerts/rules')).json;
    expect(rules.find((r: { name: string }) => r.name === 'failures').version).toBe(3);
  });

  it('a PUT whose body is not a JSON object is 400 invalid_request, for a rule and for a channel', async () => {
    const rule = await call(gw, 'POST', '/api/alerts/rules', { name: 'not-an-object', kind: 'event_failed' });
    const channel = await call(gw, 'POST', '/api/alerts/channels', {
      name: 'not-an-object',
      type: 'webhook',
      url: 'http://127.0.0.1:9/alerts',
      secret: key(9),
    });
    expect(channel.status, JSON.stringify(channel.json)).toBe(201);
    for (const path of [`/api/alerts/rules/${rule.json.id}`, `/api/alerts/channels/${channel.json.id}`])
      for (const body of [null, [1], 'text']) {
        const answer = await call(gw, 'PUT', path, body);
        expect([path, answer.status, answer.json.error.code]).toEqual([path, 400, 'invalid_request']);
      }
  });
});

describe.skipIf(!postgresUrl())('alert rules and channels saved on two instances at once', () => {
  let testDb: TestDatabase;
  let a: TestGateway;
  let b: TestGateway;

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

  it('a rule edited from the same read on both: one save is 412, and the stored rule is the other one', async () => {
    const created = await call(a, 'POST', '/api/alerts/rules', { name: 'signatures', kind: 'signature_failures' });
    const path = `/api/alerts/rules/${created.json.id}`;
    let version = 1;
    for (let round = 1; round <= 5; round++) {
      const read = await call(b, 'GET', path);
      expect(read.etag).toBe(`"${version}"`);
      const edits = [
        { name: 'signatures', kind: 'signature_failures', params: { count: 10 + round, minutes: 5 } },
        { name: 'signatures', kind: 'signature_failures', params: { count: 100 + round, minutes: 5 }, enabled: false },
      ] as const;
      const answers = await Promise.all([
        call(a, 'PUT', path, edits[0], read.etag!),
        call(b, 'PUT', path, edits[1], read.etag!),
      ]);
      expect(answers.map((x) => x.status).sort(), `round ${round}`).toEqual([200, 412]);
      const winner = answers.findIndex((x) => x.status === 200);
      expect(answers[1 - winner]!.json.error.code).toBe('version_mismatch');
      const stored = await call(a, 'GET', path);
      expect({ params: stored.json.params, enabled: stored.json.enabled, version: stored.json.version }).toEqual({
        params: edits[winner]!.params,
        enabled: winner === 0,
        version: ++version,
      });
      // Re-sent with the version stored now, the refused edit saves (and the next round starts enabled).
      if (winner === 1) {
        expect((await call(a, 'PUT', path, edits[0], stored.etag!)).status).toBe(200);
        version++;
      }
    }
  }, 60_000);

  it('a channel edited from the same read on both: one save is 412, and the stored channel is the other one', async () => {
    const created = await call(a, 'POST', '/api/alerts/channels', {
      name: 'oncall',
      type: 'webhook',
      url: 'https://alerts.example.com/0',
      secret: key(0),
    });
    const path = `/api/alerts/channels/${created.json.id}`;
    for (let round = 1; round <= 5; round++) {
      const read = await call(a, 'GET', path);
      const answers = await Promise.all([
        call(
          a,
          'PUT',
          path,
          { name: 'oncall', type: 'webhook', url: `https://alerts.example.com/a${round}` },
          read.etag!,
        ),
        call(
          b,
          'PUT',
          path,
          { name: 'oncall', type: 'webhook', url: `https://alerts.example.com/b${round}` },
          read.etag!,
        ),
      ]);
      expect(answers.map((x) => x.status).sort(), `round ${round}`).toEqual([200, 412]);
      const winner = answers.findIndex((x) => x.status === 200);
      const stored = await call(b, 'GET', path);
      expect([stored.json.url_fingerprint, stored.etag]).toEqual([
        print(`https://alerts.example.com/${winner === 0 ? 'a' : 'b'}${round}`),
        `"${round + 1}"`,
      ]);
    }
    // A delete from a stale read is refused too: the channel edited meanwhile stays.
    expect((await call(b, 'DELETE', path, undefined, '"1"')).status).toBe(412);
    expect((await call(a, 'GET', path)).status).toBe(200);
  }, 60_000);
});

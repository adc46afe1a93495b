import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { maskedIdentitySources } from './helpers/masked-sources';
import { post } from './helpers/signers';
import { openEventStream } from './helpers/sse';

// The views show a webhook id or topic read from a masked path as "[masked]", but the list, export,
// bulk replay and stream filters matched the clear value stored beside the body: a viewer could
// confirm a guessed masked value ("is there an event with webhook_id=X?"). Below admin such a filter
// now leaves those sources out, and naming one in `source` is refused with 403 (docs/security.md).

const API_KEY = 'api-key-for-masked-filter-tests';
const REF = 'ORD-GUESS-5c1d2e';
const KIND = 'kind-guess-93af';
const OPEN_REF = 'OPEN-REF-1';

type Json = Record<string, any>;

describe.each(databaseKinds())('filters on a masked identity on %s', (kind) => {
  let gw: TestGateway;
  let viewer: string;
  let operator: string;
  let keyed: number;
  let open: number;
  const streams: Awaited<ReturnType<typeof openEventStream>>[] = [];

  const call = async (path: string, token: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      json: (res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : null) as Json,
    };
  };
  const ids = async (path: string, token: string) => {
    const res = await call(path, token);
    expect(res.status, `${path}: ${res.text}`).toBe(200);
    return (res.json.events as { id: number }[]).map((e) => e.id);
  };
  const send = (source: string, ref: string) =>
    post(`${gw.url}/api/webhooks/${source}`, JSON.stringify({ order: { ref }, meta: { kind: KIND } }), {
      'x-api-key': API_KEY,
      'content-type': 'application/json',
    });
  const stream = async (query: string, token: string) => {
    const opened = await openEventStream(`${gw.url}/api/events/stream?${query}`, token);
    streams.push(opened);
    expect(opened.status).toBe(200);
    await waitFor(() => opened.events.some((e) => e.event === 'ready'), 10_000, 'the stream to be ready');
    return opened;
  };

  beforeAll(async () => {
    // `keyed` reads id and topic from masked paths; `open` reads them from the same paths, unmasked.
    const sources = maskedIdentitySources(API_KEY, { keyed: ['order', 'meta.kind'], open: [] });
    gw = await startTestGateway(kind, { sources }, { role: 'web' });
    const token = async (name: string, role: string) => {
      const res = await call('/api/tokens', SECRETS.ops, { name, role });
      expect(res.status, res.text).toBe(201);
      return res.json.token as string;
    };
    [viewer, operator] = [await token('masked-viewer', 'viewer'), await token('masked-operator', 'operator')];
    const sent = await send('keyed', REF);
    expect(sent.status).toBe(200);
    keyed = sent.json.id as number;
    const other = await send('open', OPEN_REF);
    expect(other.status).toBe(200);
    open = other.json.id as number;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(streams.map((s) => s.close()));
    await gw?.stop();
  });

  it('the list does not confirm a guessed masked webhook id or topic for a viewer or an operator', async () => {
    for (const token of [viewer, operator]) {
      expect(await ids(`/api/events?webhook_id=${REF}`, token)).toEqual([]);
      expect(await ids(`/api/events?topic=${KIND}`, token)).toEqual([open]);
      expect(await ids(`/api/events?webhook_id=${OPEN_REF}`, token)).toEqual([open]);
      // Filters that read nothing from the body still find the event (its identity shown masked).
      const all = await call('/api/events?source=keyed', token);
      expect(all.json.events.map((e: Json) => [e.id, e.webhook_id, e.topic])).toEqual([
        [keyed, '[masked]', '[masked]'],
      ]);
    }
  });

  it('naming the masked source with such a filter is refused with 403 filter_not_allowed', async () => {
    for (const path of [
      `/api/events?source=keyed&webhook_id=${REF}`,
      `/api/events?source=keyed&topic=${KIND}`,
      `/api/events/export?source=keyed&topic=x`,
    ]) {
      const res = await call(path, viewer);
      expect(res.status, path).toBe(403);
      expect(res.json.error.code).toBe('filter_not_allowed');
      expect(res.text).not.toContain(REF);
    }
    expect(await ids(`/api/events?source=open&webhook_id=${OPEN_REF}`, viewer)).toEqual([open]);
    for (const [token, role] of [
      [viewer, 'a viewer'],
      [operator, 'an operator'],
    ] as const) {
      const named = await call(`/api/events?source=keyed&webhook_id=${REF}`, token);
      expect(named.json.error.message).toContain(`so ${role} token cannot filter its events by webhook_id`);
    }
    const refused = await fetch(`${gw.url}/api/events/stream?source=keyed&topic=${KIND}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).error.code).toBe('filter_not_allowed');
  });

  it('a refused payload search advises only filters the caller may use on that source', async () => {
    const prefix = 'Source keyed masks payload fields, so its payloads cannot be searched with q; ';
    for (const [token, role] of [
      [viewer, 'a viewer'],
      [operator, 'an operator'],
    ] as const) {
      const res = await call('/api/events?source=keyed&q=ORD', token);
      expect(res.status).toBe(400);
      expect(res.json.error).toEqual({
        code: 'search_not_allowed',
        message: `${prefix}filter it by status or time (since/until) instead, or ask an admin to filter it by webhook_id or topic (it reads its webhook id and topic from a masked payload path, which ${role} token cannot filter by)`,
      });
      // The advice holds: the filters it names are answered, the ones it leaves out are refused.
      expect(await ids('/api/events?source=keyed&status=received', token)).toEqual([keyed]);
      expect((await call(`/api/events?source=keyed&topic=${KIND}`, token)).status).toBe(403);
    }
    const admin = await call('/api/events?source=keyed&q=ORD', SECRETS.ops);
    expect(admin.json.error.message).toBe(
      `${prefix}filter it by webhook_id, topic, status or time (since/until) instead`,
    );
  });

  it('the export and the bulk replay dry-run count do not confirm it either', async () => {
    const exported = await call(`/api/events/export?format=ndjson&webhook_id=${REF}`, viewer);
    expect(exported.status).toBe(200);
    expect(exported.text).toBe('');
    const byTopic = await call(`/api/events/export?format=ndjson&topic=${KIND}`, viewer);
    expect(
      byTopic.text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual([open]);
    const dry = await call('/api/events/replay', operator, { filter: { webhook_id: REF } });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json).toMatchObject({ dry_run: true, matched: 0 });
    const named = await call('/api/events/replay', operator, { filter: { source: 'keyed', topic: KIND } });
    expect(named.status).toBe(403);
    expect(named.json.error.code).toBe('filter_not_allowed');
  });

  it('below admin the list, export and bulk replay name the masked source they did not search', async () => {
    const skipped = { sources: ['keyed'], reason: 'masked_identity' };
    for (const token of [viewer, operator]) {
      expect((await call(`/api/events?webhook_id=${REF}`, token)).json.not_searched).toEqual(skipped);
      expect((await call(`/api/events?topic=${KIND}`, token)).json.not_searched).toEqual(skipped);
    }
    const exported = await fetch(`${gw.url}/api/events/export?format=csv&topic=${KIND}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(JSON.parse(exported.headers.get('x-not-searched') ?? 'null')).toEqual(skipped);
    await exported.body?.cancel();
    const dry = await call('/api/events/replay', operator, { filter: { topic: KIND } });
    expect(dry.json).toMatchObject({ dry_run: true, matched: 1, not_searched: skipped });
    // Filters that leave nothing out say nothing.
    for (const path of ['/api/events?status=received', `/api/events?source=open&topic=${KIND}`]) {
      expect(Object.keys((await call(path, viewer)).json), path).toEqual(['events', 'next_cursor']);
    }
  });

  it('an admin gets no not_searched field: nothing was left out', async () => {
    const list = await call(`/api/events?webhook_id=${REF}`, SECRETS.ops);
    expect(Object.keys(list.json)).toEqual(['events', 'next_cursor']);
    const exported = await fetch(`${gw.url}/api/events/export?format=ndjson&topic=${KIND}`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    expect(exported.headers.has('x-not-searched')).toBe(false);
    await exported.body?.cancel();
    expect((await call('/api/events/replay', SECRETS.ops, { filter: { topic: KIND } })).json).not.toHaveProperty(
      'not_searched',
    );
  });

  it('the CLI events list prints a note naming the source it did not search', async () => {
    const args = ['events', 'list', '--topic', KIND, '--url', gw.url];
    // Two CLI processes (each loading TypeScript) at once: slow on a busy machine, hence the bounds.
    const [asViewer, asAdmin] = await Promise.all([
      runCli(args, { OPS_API_TOKEN: viewer }, 60_000),
      runCli(args, { OPS_API_TOKEN: SECRETS.ops }, 60_000),
    ]);
    expect(asViewer.code, asViewer.stderr).toBe(0);
    expect(asViewer.stdout).toContain('open');
    expect(asViewer.stderr).toContain(
      'Not searched: keyed (it reads the filtered topic or webhook id from a masked payload path',
    );
    expect(asAdmin.code, asAdmin.stderr).toBe(0);
    expect(asAdmin.stderr).not.toContain('Not searched');
  }, 90_000);

  it('an admin still finds the event by its webhook id and topic', async () => {
    expect(await ids(`/api/events?webhook_id=${REF}`, SECRETS.ops)).toEqual([keyed]);
    expect(await ids(`/api/events?source=keyed&topic=${KIND}`, SECRETS.ops)).toEqual([keyed]);
    const dry = await call('/api/events/replay', SECRETS.ops, { filter: { webhook_id: REF } });
    expect(dry.json).toMatchObject({ matched: 1 });
  });

  it('the live stream does not match a masked topic for a viewer, live or resumed', async () => {
    // Resumed from the database: the keyed event (the lower id) would come first.
    const resumed = await stream(`topic=${KIND}&after=0`, viewer);
    await waitFor(
      () => resumed.events.some((e) => e.event === 'received' && e.data.id === open),
      10_000,
      'the resumed arrival',
    );
    expect(resumed.events.filter((e) => e.event === 'received').map((e) => e.data.id)).toEqual([open]);

    // Live: a keyed arrival, then an open one with the same topic, in that order on the bus.
    const live = await stream(`topic=${KIND}`, viewer);
    const admin = await stream(`topic=${KIND}`, SECRETS.ops);
    const secret = await send('keyed', `${REF}-2`);
    const plain = await send('open', `${OPEN_REF}-2`);
    await waitFor(() => live.events.some((e) => e.data.id === plain.json.id), 10_000, 'the open arrival');
    expect(live.events.filter((e) => e.event === 'received').map((e) => e.data.id)).toEqual([plain.json.id]);
    await waitFor(() => admin.events.some((e) => e.data.id === plain.json.id), 10_000, 'the open arrival (admin)');
    expect(admin.events.filter((e) => e.event === 'received').map((e) => e.data.id)).toEqual([
      secret.json.id,
      plain.json.id,
    ]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { sendCompletedOrders } from './helpers/completed-orders';
import { eventStatus, opsCall, SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';

// Operator requests a hostile or careless caller sends: each is refused before it changes anything,
// with a code and a message naming what was wrong.

describe.each(databaseKinds())('hostile ops API inputs on %s', (kind) => {
  let gw: TestGateway;
  let eventId: number;

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    [eventId] = (await sendCompletedOrders(gw, ['h-1'])) as [number];
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it.each([
    [
      'a misspelled filter key',
      { filter: { sourse: 'nobody' }, dry_run: false },
      'filter: unknown key(s) sourse; use source, status',
    ],
    [
      'a misspelled top-level key',
      { filters: { source: 'nobody' }, dry_run: false },
      'unknown key(s) filters; use filter and dry_run',
    ],
  ])('bulk replay with %s is refused, and replays nothing', async (_what, body, message) => {
    const answer = await opsCall(gw, 'POST', '/api/events/replay', body);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('invalid_request');
    expect(answer.json.error.message).toContain(message);
    expect(await eventStatus(gw, eventId)).toBe('completed');
  });

  it('bulk replay with known keys still matches as before', async () => {
    const answer = await opsCall(gw, 'POST', '/api/events/replay', { filter: { source: 'nobody' }, dry_run: true });
    expect(answer).toEqual({ status: 200, json: { dry_run: true, matched: 0, replayed: 0 } });
    const all = await opsCall(gw, 'POST', '/api/events/replay', { filter: { source: 'shopify' } });
    expect(all.json).toEqual({ dry_run: true, matched: 1, replayed: 0 });
  });

  it.each([
    ['a NUL in source', '?source=%00&after=0', 'source: must not contain a NUL character'],
    ['a NUL in topic', '?topic=a%00&after=0', 'topic: must not contain a NUL character'],
    ['a topic longer than the list takes', `?topic=${'t'.repeat(257)}`, 'topic: must be at most 256 characters'],
  ])('the live stream refuses %s with a 400 before it opens', async (_what, query, message) => {
    const response = await fetch(`${gw.url}/api/events/stream${query}`, {
      headers: { authorization: `Bearer ${SECRETS.ops}` },
    });
    if (response.status !== 400) await response.body?.cancel(); // an opened stream never ends
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 'invalid_request' });
    expect(JSON.parse(text).error.message).toContain(message);
  });

  it('a token lifetime the database cannot store is refused naming expires_in, and no token is made', async () => {
    const answer = await opsCall(gw, 'POST', '/api/tokens', { name: 'forever', role: 'viewer', expires_in: '999999w' });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('invalid_request');
    expect(answer.json.error.message).toContain('expires_in: must be at most 100 years');
    expect((await opsCall(gw, 'GET', '/api/tokens')).json.tokens).toEqual([]);
    const century = await opsCall(gw, 'POST', '/api/tokens', { name: 'century', role: 'viewer', expires_in: '36525d' });
    expect(century.status).toBe(201);
    expect(new Date(century.json.expires_at).getUTCFullYear()).toBeGreaterThanOrEqual(2125);
  });

  it.each([
    ['PUT', '/api/events', 'GET, HEAD'],
    ['POST', '/api/events/1', 'GET, HEAD'],
    ['DELETE', '/api/events/1/replay', 'POST'],
    ['OPTIONS', '/api/tokens', 'GET, POST, HEAD'],
  ])('%s %s, a path served for other methods, answers 405 with Allow', async (method, path, allow) => {
    const response = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${SECRETS.ops}` } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error).toEqual({
      code: 'method_not_allowed',
      message: `${method} is not supported on ${path}; use ${allow}`,
    });
  });

  it('a path served for no method still answers 404', async () => {
    const answer = await opsCall(gw, 'PUT', '/api/nothing-here');
    expect(answer).toEqual({
      status: 404,
      json: { error: { code: 'not_found', message: 'No route for PUT /api/nothing-here' } },
    });
  });

  it.each([
    ['GET', '/api/stats/series?source=%00', 'source: must not contain a NUL character'],
    ['GET', '/api/sps/runs?source=%00', 'source: must not contain a NUL character'],
    ['POST', '/api/sps/poll?source=%00', 'must not contain a NUL character'],
    ['POST', `/api/sps/poll?source=${'s'.repeat(201)}`, 'source: must be at most 200 characters'],
  ])('%s %s: a NUL or over-long source name is refused naming the field', async (method, path, message) => {
    const answer = await opsCall(gw, method, path);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('invalid_request');
    expect(answer.json.error.message).toContain(message);
  });
});

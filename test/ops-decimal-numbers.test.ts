import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { sendCompletedOrders } from './helpers/completed-orders';
import { eventStatus, opsCall, startTestGateway, type TestGateway } from './helpers/gateway';

// Ids and page sizes in ops API paths and query strings are decimal digits: other spellings that
// JavaScript's Number() reads (1e3, 0x10, 5.0, +5, " 5") were silently taken for another number,
// /api/events/5.0 showing event 5 and ?limit=0x10 a page of 16. They are refused with 400 instead.

const DIGITS_ONLY = 'must be written in decimal digits 0-9 only';

describe.each(databaseKinds())('numbers in ops API paths and queries on %s', (kind) => {
  let gw: TestGateway;
  let eventId: number;

  beforeAll(async () => {
    gw = await startTestGateway(kind, { worker: { cron: '0 0 1 1 *' } });
    eventId = (await sendCompletedOrders(gw, ['d-1', 'd-2', 'd-3'])).at(-1)!;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('an event id written in decimal digits is served', async () => {
    const answer = await opsCall(gw, 'GET', `/api/events/${eventId}`);
    expect(answer.status).toBe(200);
    expect(answer.json.id).toBe(eventId);
    expect((await opsCall(gw, 'GET', '/api/events?limit=2')).json.events).toHaveLength(2);
  });

  it.each([
    ['a decimal point', (id: number) => `${id}.0`],
    ['an exponent', (id: number) => `${id}e0`],
    ['a hex prefix', (id: number) => `0x${id.toString(16)}`],
    ['a sign', (id: number) => `+${id}`],
    ['a leading space', (id: number) => `%20${id}`],
  ])('an event id with %s is refused with 400, not read as another number', async (_what, spell) => {
    for (const path of [`/api/events/${spell(eventId)}`, `/api/conflicts?event_id=${spell(eventId)}`]) {
      const answer = await opsCall(gw, 'GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.json.error.code).toBe('invalid_request');
      expect(answer.json.error.message).toMatch(new RegExp(`^(id|event_id): ${DIGITS_ONLY} .*e\\.g\\. 42`));
    }
  });

  it('a replay of an id with a decimal point is refused and replays nothing', async () => {
    const answer = await opsCall(gw, 'POST', `/api/events/${eventId}.0/replay`);
    expect(answer.status).toBe(400);
    expect(answer.json.error.message).toContain(`id: ${DIGITS_ONLY}`);
    expect(await eventStatus(gw, eventId)).toBe('completed');
  });

  it.each([
    '/api/alerts/rules/1e0',
    '/api/alerts/channels/0x1',
    '/api/sps/runs/1.0',
    '/api/sources/shopify/secrets/1e0',
  ])('%s: an id not in decimal digits is refused with 400', async (path) => {
    const answer = await opsCall(gw, path.includes('/secrets/') ? 'DELETE' : 'GET', path);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('invalid_request');
    expect(answer.json.error.message).toContain(DIGITS_ONLY);
  });

  it.each(['0x10', '1e1', '5.0', '+5', '0b1', 'Infinity'])(
    'limit=%s is refused on every list, saying what is allowed',
    async (limit) => {
      for (const list of [
        '/api/events',
        '/api/conflicts',
        '/api/requests',
        '/api/audit',
        '/api/system-log',
        '/api/alerts',
        '/api/sps/runs',
      ]) {
        const answer = await opsCall(gw, 'GET', `${list}?limit=${encodeURIComponent(limit)}`);
        expect(answer.status, list).toBe(400);
        expect(answer.json.error.code, list).toBe('invalid_request');
        expect(answer.json.error.message, list).toContain(`limit: ${DIGITS_ONLY}`);
      }
    },
  );
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// Security review #12.13: hostile values in ids and ops API filters.

describe.each(databaseKinds())('hostile identifiers and filters on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(kind, {}, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  /** An EasyPost delivery whose body is exactly `body` (JSON escapes kept as written). */
  const easypost = (body: string) =>
    post(`${gw.url}/api/webhooks/easypost`, body, { 'x-hmac-signature': easypostSignature(SECRETS.easypost, body) });

  it('an id with a lone surrogate is keyed as stored: a new event is accepted, not answered duplicate', async () => {
    const first = await easypost('{"id":"evt_\\ud800_lone","description":"tracker.created"}');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ status: 'accepted', id: expect.any(Number) });
    const [row] = await gw.query<{ webhook_id: string }>('select webhook_id from webhook_events where id = $1', [first.json.id]);
    expect(row!.webhook_id).toBe('evt_\uFFFD_lone');
    // Ids are normalised once, at identification: one differing only in its lone surrogate is the same id.
    const second = await easypost('{"id":"evt_\\udfff_lone","description":"tracker.created"}');
    expect(second.json).toEqual({ status: 'duplicate' });
    expect(await gw.query(`select 1 from webhook_events where webhook_id like 'evt_%_lone'`)).toHaveLength(1);
  });
});

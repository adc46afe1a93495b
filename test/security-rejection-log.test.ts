import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startTestGateway, waitFor, type TestGateway } from './helpers/gateway';
import { post, shopifyHeaders } from './helpers/signers';

// Issue #11 §6: rejected requests are logged at info with source and reason code — never the
// signature or the secret — and a flood cannot flood the log.

describe('rejected requests in the log', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', { rejectionLog: { limit: 3, intervalMs: 1000 } }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const lines = () => gw.logs.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('logs each rejection at info with source and reason, at most N per interval, then one summary with the count', async () => {
    const body = '{"id":1}';
    const forged = shopifyHeaders('a-guessed-secret', body, 'flood');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(`${gw.url}/api/webhooks/shopify/orders/create`, body, forged)),
    );
    expect(answers.every((a) => a.status === 401)).toBe(true);
    await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, { 'x-shopify-topic': 'orders/create' });

    const rejected = lines().filter((l) => l.msg === 'request rejected');
    expect(rejected.filter((l) => l.reason === 'invalid_signature')).toHaveLength(3);
    expect(rejected.filter((l) => l.reason === 'missing_signature')).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      level: 30,
      source: 'shopify',
      reason: 'invalid_signature',
      status: 401,
      client: '127.0.0.1',
    });

    const summary = await waitFor(
      () => lines().find((l) => l.reason === 'invalid_signature' && l.suppressed !== undefined),
      10_000,
      'the summary line',
    );
    expect(summary).toMatchObject({ level: 30, source: 'shopify', suppressed: 17 });
    // A reason that stayed under the limit has nothing to summarise.
    expect(lines().some((l) => l.reason === 'missing_signature' && l.suppressed !== undefined)).toBe(false);

    const text = gw.logs.join('');
    expect(text).not.toContain(forged['x-shopify-hmac-sha256']);
    expect(text).not.toContain('a-guessed-secret');
    expect(text).not.toContain(SECRETS.shopify);
  });

  it('a new interval logs again', async () => {
    const before = lines().filter((l) => l.msg === 'request rejected' && l.reason === 'invalid_signature').length;
    const body = '{"id":2}';
    await post(`${gw.url}/api/webhooks/shopify/orders/create`, body, shopifyHeaders('wrong', body, 'later'));
    expect(lines().filter((l) => l.msg === 'request rejected' && l.reason === 'invalid_signature')).toHaveLength(
      before + 1,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { addressKey } from '../src/ingest/client-address';
import { createFailureLimiter } from '../src/ingest/rate-limit';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { easypostSignature, post } from './helpers/signers';

// Security review #12.1: the per-source rate limit was spent before verification, so anyone could
// use up a source's bucket without a credential and lock the real sender out. Only verified
// requests spend it now; requests that fail verification spend a bucket of their client address.

/**
 * One token back every 1,000 s: the bursts decide every answer, however slowly a loaded machine
 * runs the requests (a refill between two of them would change the outcome).
 */
const SLOW = 0.001;

const limitedSource = () =>
  parseSourcesDocument(
    {
      sources: [
        {
          name: 'limited',
          provider: 'easypost',
          secrets: [SECRETS.easypost],
          rate_limit: { per_second: SLOW, burst: 3 },
        },
      ],
    },
    {},
  );

let serial = 0;
const signed = () => {
  const body = JSON.stringify({ id: `evt_rl_${(serial += 1)}_${Date.now()}`, description: 'tracker.updated' });
  return { body, signature: easypostSignature(SECRETS.easypost, body) };
};
const forged = () => {
  const body = JSON.stringify({ id: `evt_forged_${(serial += 1)}`, description: 'tracker.updated' });
  return { body, signature: easypostSignature('not-the-secret', body) };
};

describe('rate limits behind one trusted proxy', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(
      'pglite',
      { sources: limitedSource(), unverifiedRateLimit: { perSecond: SLOW, burst: 5 }, trustProxy: 1 },
      { role: 'web' },
    );
  });
  afterAll(() => gw?.stop());

  const send = (request: { body: string; signature: string }, forwardedFor: string) =>
    post(`${gw.url}/api/webhooks/limited`, request.body, {
      'x-hmac-signature': request.signature,
      'x-forwarded-for': forwardedFor,
    });

  it('an unauthenticated flood does not lock out the genuine sender', async () => {
    // One after another: a failure counts once it is answered, so requests still in flight
    // together can all get past the check (bounded by MAX_CONNECTIONS; see docs/security.md).
    const flood = [];
    for (let i = 0; i < 40; i++) flood.push(await send(forged(), '198.51.100.7'));
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    const refused = flood.find((r) => r.status === 429)!;
    expect(refused.json.error.code).toBe('too_many_failures');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The genuine sender, from its own address, still has the source's whole burst.
    const genuine = [];
    for (let i = 0; i < 3; i++) genuine.push(await send(signed(), '192.0.2.10'));
    expect(genuine.map((r) => r.json.status)).toEqual(['accepted', 'accepted', 'accepted']);
    // Verified requests beyond the source's own limit are still limited.
    const over = await send(signed(), '192.0.2.10');
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe('rate_limited');
  });

  it('an address that keeps failing is refused before its body is read, even with a valid signature', async () => {
    const request = signed();
    const res = await send(request, '198.51.100.7');
    expect(res.status).toBe(429);
    expect(res.json.error.code).toBe('too_many_failures');
    const id = (JSON.parse(request.body) as { id: string }).id;
    expect(await gw.query('select 1 from webhook_events where webhook_id = $1', [id])).toHaveLength(0);
  });

  it('only the entry the trusted proxy appended counts: what the client wrote before it is ignored', async () => {
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await send(forged(), `10.9.${i}.1, 203.0.113.50`)).status);
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });
});

describe('rate limits with no trusted proxy', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(
      'pglite',
      { sources: limitedSource(), unverifiedRateLimit: { perSecond: SLOW, burst: 3 } },
      { role: 'web' },
    );
  });
  afterAll(() => gw?.stop());

  it('X-Forwarded-For is ignored: rotating it does not buy fresh buckets', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const { body, signature } = forged();
      answers.push(
        (
          await post(`${gw.url}/api/webhooks/limited`, body, {
            'x-hmac-signature': signature,
            'x-forwarded-for': `10.0.0.${i}`,
          })
        ).status,
      );
    }
    expect(answers).toEqual([401, 401, 401, 429, 429, 429]);
    const text = await (
      await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.ops}` } })
    ).text();
    expect(text).toContain(
      'webhook_gateway_requests_total{source="limited",outcome="rejected",reason="too_many_failures"} 3',
    );
  });
});

describe('the failure limiter', () => {
  it('tracks a bounded number of addresses, forgetting the least recently seen', () => {
    const limiter = createFailureLimiter({ perSecond: 1, burst: 1 }, { maxTracked: 100, now: () => 0 });
    for (let i = 0; i < 5000; i++) limiter.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.tracked).toBe(100);
    expect(limiter.blockedFor('10.0.19.135')).toBeGreaterThan(0); // the last one seen (4999)
    expect(limiter.blockedFor('10.0.0.0')).toBe(0); // long forgotten
  });

  it('keys IPv6 clients by their /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:aa:bb:1:2:3:4')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('2001:db8:aa:bb::ffff')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
  });
});

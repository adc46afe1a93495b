import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import {
  githubSignature,
  hexHmac,
  nowSeconds,
  PROVIDER_SECRETS as S,
  providerSources,
  rawPost,
  sourceSigners,
  standardSignature,
  stripeHeader,
} from './helpers/provider-signers';
import { post } from './helpers/signers';
import { requireHeaders } from '../providers/signature';

// One test per way of trying to get an unauthentic request stored, then a property-based sweep of
// random bodies and headers against every source. Replayed nonces: providers-nonce.test.ts.
describe('adversarial requests', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', { sources: providerSources() }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const total = async () => Number((await gw.query<{ n: string }>('select count(*) as n from webhook_events'))[0]!.n);
  /** Sends and asserts the request was refused with `status`/`code` and stored nothing. */
  const refused = async (send: () => Promise<{ status: number; json: any }>, status: number, code: string) => {
    const before = await total();
    const res = await send();
    expect(res.status, JSON.stringify(res.json)).toBe(status);
    expect(res.json.error.code).toBe(code);
    expect(await total()).toBe(before);
    return res.json.error.message as string;
  };
  const githubHeaders = (signature: string) => ({
    'x-hub-signature-256': signature,
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
  });
  const body = JSON.stringify({ id: 'evt_adv', type: 'charge.refunded', action: 'x' });

  it('wrong length signature: a truncated HMAC is rejected', async () => {
    const truncated = githubSignature(S.github, body).slice(0, -2);
    await refused(
      () => post(`${gw.url}/api/webhooks/github`, body, githubHeaders(truncated)),
      401,
      'invalid_signature',
    );
  });

  it('wrong encoding: the right HMAC in base64 where hex is expected is rejected', async () => {
    const base64 = `sha256=${createHmac('sha256', S.github).update(body).digest('base64')}`;
    const message = await refused(
      () => post(`${gw.url}/api/webhooks/github`, body, githubHeaders(base64)),
      401,
      'invalid_signature',
    );
    expect(message).toBe('Signature in x-hub-signature-256 is not valid hex');
  });

  it('empty header: a present but empty signature header counts as missing', async () => {
    const message = await refused(
      () => post(`${gw.url}/api/webhooks/github`, body, githubHeaders('')),
      401,
      'missing_signature',
    );
    expect(message).toBe('Required headers missing: x-hub-signature-256');
  });

  it('prefix only: "sha256=" with nothing after it is rejected', async () => {
    await refused(
      () => post(`${gw.url}/api/webhooks/github`, body, githubHeaders('sha256=')),
      401,
      'invalid_signature',
    );
  });

  describe('duplicated header (sent twice on the wire)', () => {
    it('two Stripe-Signature headers, both valid, are ambiguous and rejected', async () => {
      const header = stripeHeader(S.stripe, body);
      await refused(
        () => rawPost(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': [header, header] }),
        401,
        'invalid_signature',
      );
    });

    it('two webhook-id headers are rejected: the signed id would be ambiguous', async () => {
      const ts = nowSeconds();
      const headers = {
        'webhook-id': ['msg_a', 'msg_b'],
        'webhook-timestamp': String(ts),
        'webhook-signature': standardSignature(S.standard, 'msg_a', ts, body),
      };
      await refused(() => rawPost(`${gw.url}/api/webhooks/standard`, body, headers), 401, 'invalid_signature');
    });

    it('a forged signature header next to a valid one is rejected by a one-signature scheme', async () => {
      const ts = String(nowSeconds());
      const valid = `sha256=${hexHmac(S.honey, `${ts}.`, body)}`;
      const headers = {
        'x-honey-signature': [valid, `sha256=${'0'.repeat(64)}`],
        'x-honey-timestamp': ts,
        'x-honey-delivery-id': 'dup-sig',
      };
      await refused(() => rawPost(`${gw.url}/api/webhooks/honey`, body, headers), 401, 'invalid_signature');
    });
  });

  it("signature for another source: a valid Stripe signature under another endpoint's secret is rejected", async () => {
    const header = stripeHeader(S.stripeStrict, body);
    await refused(
      () => post(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': header }),
      401,
      'invalid_signature',
    );
  });

  const timestamped: [string, (t: number) => Promise<{ status: number; json: any }>][] = [
    [
      'stripe',
      (t) => post(`${gw.url}/api/webhooks/stripe`, body, { 'stripe-signature': stripeHeader(S.stripe, body, t) }),
    ],
    [
      'standard webhooks',
      (t) =>
        post(`${gw.url}/api/webhooks/standard`, body, {
          'webhook-id': `msg_${t}`,
          'webhook-timestamp': String(t),
          'webhook-signature': standardSignature(S.standard, `msg_${t}`, t, body),
        }),
    ],
    [
      'generic HMAC (X-Honey)',
      (t) =>
        post(`${gw.url}/api/webhooks/honey`, body, {
          'x-honey-signature': `sha256=${hexHmac(S.honey, `${t}.`, body)}`,
          'x-honey-timestamp': String(t),
          'x-honey-delivery-id': `dlv_${t}`,
        }),
    ],
  ];

  describe.each(timestamped)('%s', (_name, send) => {
    // nowSeconds() rounds down: -301 is at least 301 s old; +302 stays over 300 s ahead for a second.
    it('stale timestamp (correctly signed, 301 s old) is rejected as stale', async () => {
      const message = await refused(() => send(nowSeconds() - 301), 401, 'stale_timestamp');
      expect(message).toMatch(/is stale: 30\d s old, beyond the 300 s tolerance; .*check this gateway's clock/);
    });

    it('future timestamp (correctly signed, 302 s ahead) is rejected as in the future', async () => {
      const message = await refused(() => send(nowSeconds() + 302), 401, 'future_timestamp');
      expect(message).toMatch(
        /is in the future: 30\d s ahead, beyond the 300 s tolerance; check the sender's clock and this gateway's/,
      );
    });

    it('a timestamp 290 s off either way is within tolerance', async () => {
      expect((await send(nowSeconds() - 290)).status).toBe(200);
      expect((await send(nowSeconds() + 290)).status).toBe(200);
    });
  });

  it('a timestamp that is not a number is rejected', async () => {
    const headers = {
      'x-honey-signature': `sha256=${hexHmac(S.honey, 'soon.', body)}`,
      'x-honey-timestamp': 'soon',
      'x-honey-delivery-id': 'nan',
    };
    await refused(() => post(`${gw.url}/api/webhooks/honey`, body, headers), 401, 'invalid_timestamp');
  });

  describe('non-UTF-8 body bytes', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x7d]);
    const sign = (b: Buffer) => createHmac('sha512', S.plain).update(b).digest('base64');

    it('are verified over the raw bytes and stored byte for byte', async () => {
      const res = await post(`${gw.url}/api/webhooks/plain`, bytes, {
        'x-signature': sign(bytes),
        'content-type': 'application/octet-stream',
      });
      expect(res.json.status).toBe('accepted');
      const [row] = await gw.query<{ body: Uint8Array }>('select body from webhook_events where id = $1', [
        res.json.id,
      ]);
      expect(Buffer.from(row!.body).equals(bytes)).toBe(true);
    });

    it('a signature over the UTF-8-decoded text instead of the bytes is rejected', async () => {
      const lossy = Buffer.from(bytes.toString('utf8'), 'utf8');
      await refused(
        () => post(`${gw.url}/api/webhooks/plain`, bytes, { 'x-signature': sign(lossy) }),
        401,
        'invalid_signature',
      );
    });
  });

  it('huge header: a 10 000-character signature is refused before any HMAC work', async () => {
    const huge = `sha256=${'ab'.repeat(5000)}`;
    const message = await refused(
      () => post(`${gw.url}/api/webhooks/github`, body, githubHeaders(huge)),
      401,
      'header_too_long',
    );
    expect(message).toBe('Headers longer than 4096 characters: x-hub-signature-256');
  });

  it('a missing header is reported before a too-long one, each list complete', () => {
    const long = 'x'.repeat(4097);
    const headers = { a: long, b: '  ', c: long, d: 'ok' };
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (err) {
        return err as { code?: string; message: string };
      }
      throw new Error('requireHeaders accepted what it should refuse');
    };
    expect(failure(() => requireHeaders(headers, ['a', 'b', 'c', 'e', 'd'], 'signature'))).toMatchObject({
      code: 'missing_signature',
      message: 'Required headers missing: b, e',
    });
    expect(failure(() => requireHeaders(headers, ['a', 'd', 'c'], 'identity'))).toMatchObject({
      code: 'header_too_long',
      message: 'Headers longer than 4096 characters: a, c',
    });
    expect(requireHeaders(headers, ['d'], 'identity')).toEqual({ d: 'ok' });
  });

  it('property: of random bodies and headers sent to every source, only the valid ones are stored', async () => {
    const signers = sourceSigners(SECRETS.keycloak);
    let serial = 0;
    const mutation = fc.oneof(
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 3 },
      fc.record({ kind: fc.constant('flip-body' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('replace-header' as const), which: fc.nat(), value: fc.string({ maxLength: 80 }) }),
      fc.record({ kind: fc.constant('drop-header' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('other-source' as const), which: fc.nat() }),
    );
    const scenario = fc.record({
      signer: fc.nat({ max: signers.length - 1 }),
      json: fc.boolean(),
      bytes: fc.uint8Array({ maxLength: 200 }),
      text: fc.string({ maxLength: 60 }),
      mutation,
      junk: fc.dictionary(fc.stringMatching(/^x-junk-[a-z]{1,8}$/), fc.stringMatching(/^[!-~]{0,40}$/), { maxKeys: 3 }),
    });

    await fc.assert(
      fc.asyncProperty(scenario, async ({ signer: index, json, bytes, text, mutation: m, junk }) => {
        const signer = signers[index]!;
        serial += 1;
        const id = `prop-${serial}-${randomUUID()}`;
        let payload = json ? Buffer.from(JSON.stringify({ id, uid: id, type: 'prop.test', text })) : Buffer.from(bytes);
        const headers: Record<string, string> = {
          ...junk,
          'content-type': 'application/json',
          ...signer.sign(payload),
        };
        let target = signer.target;
        let valid = !signer.needsJson || json;

        if (m.kind === 'flip-body' && payload.length > 0) {
          payload = Buffer.from(payload);
          const at = m.at % payload.length;
          payload[at] = payload[at]! ^ m.xor;
          if (signer.bodySigned) valid = false;
        } else if (m.kind === 'replace-header' && signer.protectedHeaders.length > 0) {
          const name = signer.protectedHeaders[m.which % signer.protectedHeaders.length]!;
          if (m.value.trim() !== headers[name]!.trim()) valid = false;
          headers[name] = m.value;
        } else if (m.kind === 'drop-header' && signer.requiredHeaders.length > 0) {
          delete headers[signer.requiredHeaders[m.which % signer.requiredHeaders.length]!];
          valid = false;
        } else if (m.kind === 'other-source') {
          const others = signers.filter((s) => s.source !== signer.source);
          target = others[m.which % others.length]!.target.replace(/\?.*$/, '');
          valid = false;
        }

        const before = await total();
        const res = await post(`${gw.url}${target}`, payload, headers);
        const after = await total();
        const context = `${signer.source} ${m.kind} → ${target}: ${res.status} ${res.text}`;
        if (valid) {
          expect(res.status, context).toBe(200);
          expect(after - before, context).toBe(res.json.status === 'accepted' ? 1 : 0);
        } else {
          expect([400, 401], context).toContain(res.status);
          expect(after, context).toBe(before);
        }
      }),
      { numRuns: 250 },
    );
  });
});

// Standard Webhooks' asymmetric signatures (the spec's "Signature scheme": `v1a,<base64>`, ed25519
// over `<webhook-id>.<webhook-timestamp>.<body>`, verified with a `whpk_<base64 public key>`),
// through the real server. Signatures are made here with node:crypto from a key pair the test
// generates, not by the gateway's code. Verification does not depend on the database: PGlite only.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSourcesDocument } from '../src/config/file';
import { CannotSignError, SIGNERS } from '../src/senders/signers';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { nowSeconds, standardSignature } from './helpers/provider-signers';
import { post } from './helpers/signers';

const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  // The private key as the spec serialises it for a sender: whsk_ + base64 of the 32-byte seed.
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return { whpk: `whpk_${raw.toString('base64')}`, whsk: `whsk_${seed.toString('base64')}`, raw, privateKey };
}

const v1a = (privateKey: KeyObject, id: string, timestamp: number, body: string) =>
  `v1a,${sign(null, Buffer.from(`${id}.${timestamp}.${body}`), privateKey).toString('base64')}`;

describe('Standard Webhooks v1a (ed25519)', () => {
  const sender = keyPair();
  const stranger = keyPair();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('pglite', {
      // Validated as a GATEWAY_CONFIG file is: the whpk_ key passes the provider's secret check.
      sources: parseSourcesDocument(
        {
          sources: [
            { name: 'asym', provider: 'standard-webhooks', secrets: [sender.whpk] },
            { name: 'both', provider: 'standard-webhooks', secrets: [WHSEC, sender.whpk] },
          ],
        },
        {},
      ),
    });
  });
  afterAll(() => gw?.stop());

  const deliver = (source: string, id: string, body: string, signature: string, timestamp = nowSeconds()) =>
    post(`${gw.url}/api/webhooks/${source}`, body, {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    });

  it("accepts a v1a signature under the configured public key and stores the sender's exact bytes", async () => {
    const body = '{"type":"contact.created", "data":{"id":"1f81eb52"}}';
    const ts = nowSeconds();
    const res = await deliver('asym', 'msg_ed_1', body, v1a(sender.privateKey, 'msg_ed_1', ts, body), ts);
    expect(res.json).toEqual({ status: 'accepted', id: expect.any(Number) });
    const [row] = await gw.query<{ body: string; topic: string }>(
      `select convert_from(body, 'UTF8') as body, topic from webhook_events where id = $1`,
      [res.json.id],
    );
    expect(row).toEqual({ body, topic: 'contact.created' });
  });

  it('refuses a v1a signature by another key, or over other bytes', async () => {
    const body = '{"type":"contact.created"}';
    const ts = nowSeconds();
    const byStranger = await deliver('asym', 'msg_ed_2', body, v1a(stranger.privateKey, 'msg_ed_2', ts, body), ts);
    expect(byStranger.status).toBe(401);
    expect(byStranger.json.error.code).toBe('invalid_signature');
    const tampered = await deliver(
      'asym',
      'msg_ed_3',
      '{"type":"contact.deleted"}',
      v1a(sender.privateKey, 'msg_ed_3', ts, body),
      ts,
    );
    expect(tampered.status).toBe(401);
    const otherId = await deliver('asym', 'msg_ed_4', body, v1a(sender.privateKey, 'msg_ed_3', ts, body), ts);
    expect(otherId.status).toBe(401);
  });

  it('never takes the public key as an HMAC key: a v1 made with it is refused', async () => {
    const body = '{"type":"forged"}';
    const ts = nowSeconds();
    // Anyone may know a public key; an HMAC under its bytes must not pass.
    const forged = standardSignature(`whsec_${sender.raw.toString('base64')}`, 'msg_forged', ts, body);
    const res = await deliver('asym', 'msg_forged', body, forged, ts);
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('invalid_signature');
  });

  it('with a whsec_ secret and a whpk_ key, either kind passes; one valid entry among invalid ones is enough', async () => {
    const body = '{"type":"invoice.paid"}';
    const ts = nowSeconds();
    const hmacOnly = await deliver('both', 'msg_both_1', body, standardSignature(WHSEC, 'msg_both_1', ts, body), ts);
    expect(hmacOnly.json.status).toBe('accepted');
    const mixed = [
      standardSignature('whsec_dGhlIG9sZCBzZWNyZXQgb2YgdGhpcyBhcHA=', 'msg_both_2', ts, body),
      v1a(stranger.privateKey, 'msg_both_2', ts, body),
      v1a(sender.privateKey, 'msg_both_2', ts, body),
    ].join(' ');
    expect((await deliver('both', 'msg_both_2', body, mixed, ts)).json.status).toBe('accepted');
  });

  it('refuses a header with no v1 or v1a entry, and a v1a entry that is not base64, before the body', async () => {
    const body = '{"type":"x"}';
    const none = await deliver('asym', 'msg_none', body, 'v2,AAAA');
    expect(none.status).toBe(401);
    expect(none.json.error.message).toBe('No v1 or v1a signature in webhook-signature');
    const garbled = await deliver('asym', 'msg_garbled', body, 'v1a,not*base64');
    expect(garbled.status).toBe(401);
    expect(garbled.json.error.message).toBe('Signature in webhook-signature is not valid base64');
  });

  it("send/trigger's signer signs v1a with a whsk_ key the gateway accepts, and says a whpk_ key cannot sign", async () => {
    const body = Buffer.from('{"type":"order.shipped"}');
    const delivery = { body, path: '/api/webhooks/asym', id: 'msg_cli_1', now: new Date(), options: {} };
    const signed = SIGNERS['standard-webhooks'].sign({ ...delivery, secret: sender.whsk });
    expect(signed.headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    const res = await post(`${gw.url}/api/webhooks/asym`, body, signed.headers);
    expect(res.json.status).toBe('accepted');
    expect(() => SIGNERS['standard-webhooks'].sign({ ...delivery, secret: sender.whpk })).toThrow(CannotSignError);
  });
});

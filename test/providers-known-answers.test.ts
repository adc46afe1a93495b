import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { providerModules } from '../providers';
import { parseSourcesDocument } from '../src/config/file';
import { startTestGateway, type TestGateway } from './helpers/gateway';
import { post } from './helpers/signers';

// Signatures the senders themselves publish (test/fixtures/senders/README.md names each source):
// the gateway must accept them as they are, and refuse them once one byte of the body changes.
// Unlike the other provider tests, nothing here is signed by us or by a library we chose.

const GITHUB = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

const EASYPOST = {
  // NFC, as EasyPost/examples publishes it; EasyPost keys the HMAC with the NFKD form.
  secret: 's\u00e9cret',
  file: readFileSync(new URL('fixtures/senders/easypost-event-body.json', import.meta.url)),
  signature: 'hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db',
};
// easypost-node signs JSON.stringify(JSON.parse(file)): the file's bytes without its final newline.
const EASYPOST_BODY = EASYPOST.file.subarray(0, EASYPOST.file.length - 1);

const STANDARD = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

/** The same text with one character in the middle changed. */
const changeOne = (text: string) => {
  const i = Math.floor(text.length / 2);
  return `${text.slice(0, i)}${text[i] === 'a' ? 'b' : 'a'}${text.slice(i + 1)}`;
};

describe('signatures published by the senders', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const sources = parseSourcesDocument(
      { sources: [{ name: 'github-docs', provider: 'github', secrets: [GITHUB.secret] }] },
      {},
    );
    // EasyPost's published secret is 7 bytes, under the start-up floor for operator-chosen
    // secrets; the built-in EasyPost source is given it directly, as a test may.
    gw = await startTestGateway('pglite', { sources, secrets: { easypost: [EASYPOST.secret] } }, { role: 'web' });
  });
  afterAll(() => gw?.stop());

  const stored = async (source: string) =>
    gw.query<{ webhook_id: string; body: Uint8Array }>(
      'select webhook_id, body from webhook_events where source = $1',
      [source],
    );

  it("GitHub's documented test vector is accepted, and refused with one byte changed", async () => {
    const headers = { 'x-hub-signature-256': GITHUB.signature, 'x-github-event': 'ping' };
    const changed = await post(`${gw.url}/api/webhooks/github-docs`, changeOne(GITHUB.body), {
      ...headers,
      'x-github-delivery': 'docs-vector-changed',
    });
    expect(changed.status).toBe(401);
    expect(changed.json.error.code).toBe('invalid_signature');

    const res = await post(`${gw.url}/api/webhooks/github-docs`, GITHUB.body, {
      ...headers,
      'x-github-delivery': 'docs-vector',
    });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('accepted');
    const rows = await stored('github-docs');
    expect(rows.map((r) => [r.webhook_id, Buffer.from(r.body).toString('utf8')])).toEqual([
      ['docs-vector', GITHUB.body],
    ]);
  });

  it("EasyPost's client-library fixture (secret sécret, NFKD) is accepted, and refused with one byte changed", async () => {
    expect(EASYPOST.file.at(-1)).toBe(0x0a);
    expect(EASYPOST_BODY.toString('utf8')).toBe(JSON.stringify(JSON.parse(EASYPOST.file.toString('utf8'))));

    const changed = await post(`${gw.url}/api/webhooks/easypost`, changeOne(EASYPOST_BODY.toString('utf8')), {
      'x-hmac-signature': EASYPOST.signature,
    });
    expect(changed.status).toBe(401);

    const res = await post(`${gw.url}/api/webhooks/easypost`, EASYPOST_BODY, {
      'content-type': 'application/json',
      'x-hmac-signature': EASYPOST.signature,
    });
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('accepted');
    const rows = await stored('easypost');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.webhook_id).toBe('evt_1');
    expect(Buffer.from(rows[0]!.body).equals(EASYPOST_BODY)).toBe(true);
  });
});

describe("the Standard Webhooks libraries' test vector", () => {
  // Its timestamp is from 2021, beyond any tolerance a source may have: the provider module is
  // asked at that moment instead of the gateway now.
  afterEach(() => vi.useRealTimers());
  const module = providerModules['standard-webhooks'];
  const provider = module.create(module.options.parse({}));
  const request = (body: string) => ({
    rawBody: Buffer.from(body, 'utf8'),
    headers: {
      'webhook-id': STANDARD.id,
      'webhook-timestamp': String(STANDARD.timestamp),
      'webhook-signature': STANDARD.signature,
    },
    path: '/api/webhooks/standard',
    query: '',
    subPath: '',
  });

  it('verifies at its own time, and not with one byte changed', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: STANDARD.timestamp * 1000 + 30_000 });
    const verified = await provider.verify(request(STANDARD.body), [STANDARD.secret]);
    expect(verified.signed.toString('utf8')).toBe(`${STANDARD.id}.${STANDARD.timestamp}.${STANDARD.body}`);
    expect(() => provider.verify(request(changeOne(STANDARD.body)), [STANDARD.secret])).toThrow(
      expect.objectContaining({ code: 'invalid_signature' }),
    );
  });

  it('is refused as stale today', () => {
    expect(() => provider.verify(request(STANDARD.body), [STANDARD.secret])).toThrow(
      expect.objectContaining({ code: 'stale_timestamp' }),
    );
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providerModules, type PushProvider } from '../providers';
import { parseSourceEntry } from '../src/config/file';
import { GatewayError } from '../src/errors';
import { databaseKinds } from './helpers/database';
import { SECRETS, startTestGateway, type TestGateway } from './helpers/gateway';
import { providerSources, sourceSigners } from './helpers/provider-signers';
import { headFirstClient } from './helpers/head-first';
import { SHOPIFY, at, event, headCases, standardHeaders } from './helpers/signature-head-cases';
import { easypostSignature, shopifyHeaders } from './helpers/signers';
import { apiKeyWithIds, credentialFirstCases, identityHeadCases } from './helpers/identity-head-cases';
import { checkIdentity, normaliseIdentity } from '../src/ingest/identity-limits';
import { PROVIDER_SECRETS } from './helpers/provider-signers';

// Providers that sign the body still refuse, from the headers alone and before a byte of the body
// is read, what the headers decide: a missing, over-long or malformed signature header, a signed
// timestamp outside the tolerance; then, behind a good credential, missing or over-long identity
// headers (delivery id, event, shop). Each refusal is the one verify (or identify and the identity
// limits) gives once the body is in. The requests go over raw sockets: the head is sent, the body
// declared but never sent.

const MAX_BODY = 64 * 1024;

/** An exact message, or a pattern where it carries a measured age. */
const matching = (message: string | RegExp) => (typeof message === 'string' ? message : expect.stringMatching(message));

describe.each(databaseKinds())('signature headers checked before the body on %s', (kind) => {
  let gw: TestGateway;
  beforeAll(async () => {
    // A Stripe source whose secret is not set yet: its 503 still comes before any header check.
    const unset = parseSourceEntry({ name: 'stripe-unset', provider: 'stripe' }, {}, { requireSecrets: false });
    gw = await startTestGateway(kind, {
      sources: [...providerSources(), unset, apiKeyWithIds()],
      maxBodyBytes: MAX_BODY,
      ingestBodyBudgetBytes: 4 * MAX_BODY,
      timeouts: { headersMs: 5000, requestMs: 5000 },
    });
  });
  afterEach(() => closeAll());
  afterAll(() => gw?.stop());

  const { held, heldIs, sendHead, answered, closeAll } = headFirstClient(() => gw.url);

  it('a missing, malformed or stale signature header is answered 401 before any of the body is sent', async () => {
    for (const { source, target, headers, code, message } of headCases()) {
      const request = sendHead(target, headers, 1000);
      const answer = await answered(request, `the answer to ${source} ${code}`);
      expect(answer.status, `${source} ${code}`).toBe(401);
      expect(answer.json.error, `${source} ${code}`).toEqual({ code, message: matching(message) });
    }
    // None was admitted to read a body: nothing is held although every connection is still open.
    expect(await held()).toBe(0);
  });

  /** Sends each case's head only: each must be answered as the case says, with no body held. */
  async function answeredFromHead(cases: ReturnType<typeof identityHeadCases>) {
    for (const { source, target, body, headers, status, code, message } of cases) {
      const answer = await answered(sendHead(target, headers, body.length), `the answer to ${source} ${code}`);
      expect({ source, status: answer.status, error: answer.json.error }).toEqual({
        source,
        status,
        error: { code, message },
      });
    }
    expect(await held()).toBe(0);
  }

  it('a good credential with a missing or over-long identity header is answered 400 before its body', () =>
    answeredFromHead(identityHeadCases()));

  it('the credential is checked before the identity: missing or wrong, it is still 401', () =>
    answeredFromHead(credentialFirstCases()));

  it('no signature and a body over MAX_BODY_BYTES: 401 before 413', async () => {
    const answer = await answered(sendHead('/api/webhooks/github', {}, MAX_BODY + 1), 'the refusal');
    expect(answer).toEqual({
      status: 401,
      json: { error: { code: 'missing_signature', message: 'Required headers missing: x-hub-signature-256' } },
    });
  });

  it('a source without a secret answers 503 source_not_configured first, before its body', async () => {
    const answer = await answered(sendHead('/api/webhooks/stripe-unset', {}, 1000), 'the refusal');
    expect(answer).toEqual({
      status: 503,
      json: {
        error: { code: 'source_not_configured', message: 'Source stripe-unset has no verification secret configured' },
      },
    });
    expect(await held()).toBe(0);
  });

  it('a correctly signed request of every provider is admitted, reads its body and is stored: 200', async () => {
    const signers = sourceSigners(SECRETS.keycloak).filter((s) =>
      ['stripe', 'github', 'standard', 'honey', 'opsiq', 'plain'].includes(s.source),
    );
    const deliveries = [
      ...signers.map((s) => ({ source: s.source, target: s.target, sign: s.sign })),
      { ...at('svix'), sign: (body: Buffer) => standardHeaders('svix', body) },
      { ...SHOPIFY, sign: (body: Buffer) => shopifyHeaders(SECRETS.shopify, body, randomUUID()) },
      {
        ...at('easypost'),
        sign: (body: Buffer) => ({ 'x-hmac-signature': easypostSignature(SECRETS.easypost, body) }),
      },
      {
        ...at('apikey-ids'),
        sign: () => ({ 'x-api-key': PROVIDER_SECRETS.apiKey, 'x-event-id': randomUUID(), 'x-event-type': 'x' }),
      },
    ];
    expect(deliveries).toHaveLength(10);
    for (const { source, target, sign } of deliveries) {
      const body = event();
      const request = sendHead(target, sign(body), body.length);
      // Admitted: its declared length is taken from the budget while the body is awaited.
      await heldIs(body.length);
      expect(request.answer(), source).toBe('');
      request.socket.write(body);
      const answer = await answered(request, `the answer to ${source}`);
      expect({ source, status: answer.status, outcome: answer.json.status }).toEqual({
        source,
        status: 200,
        outcome: 'accepted',
      });
      await heldIs(0);
    }
  });
});

describe('verify and identify refuse what the head check refuses, with the same error', () => {
  const configs = new Map([...providerSources(), apiKeyWithIds()].map((s) => [s.name, s]));
  /** The source's provider and secrets, as the gateway builds them (env sources with default options). */
  function providerOf(source: string): { provider: PushProvider; secrets: string[] } {
    if (source === 'shopify' || source === 'easypost') {
      const module = providerModules[source];
      return { provider: module.create(module.options.parse({})), secrets: [SECRETS[source]] };
    }
    const config = configs.get(source)!;
    return {
      provider: providerModules[config.provider].create(config.options),
      secrets: config.secrets.map((s) => s.value),
    };
  }
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      if (err instanceof GatewayError) return { status: err.status, code: err.code, message: err.message };
      throw err;
    }
    return undefined;
  };

  it('for every case, with the body in', () => {
    for (const { source, target, headers, code, message } of headCases()) {
      const { provider, secrets } = providerOf(source);
      const head = { headers, path: target, query: '', subPath: '' };
      const expected = { status: 401, code, message: matching(message) };
      expect(
        refusal(() => provider.verify({ ...head, rawBody: event() }, secrets)),
        `${source} ${code}`,
      ).toEqual(expected);
      expect(
        refusal(() => provider.verifyHead?.(head, secrets)),
        `${source} ${code}`,
      ).toEqual(expected);
    }
  });

  it('for every identity case, with the body in and the credential verified', async () => {
    for (const { source, target, body, headers, status, code, message } of identityHeadCases()) {
      const { provider, secrets } = providerOf(source);
      const head = { headers, path: target, query: '', subPath: '' };
      const request = { ...head, rawBody: body };
      const expected = { status, code, message };
      // After the body, as ingest runs it: verify, identify, the identity limits.
      const verification = await provider.verify(request, secrets);
      expect(
        refusal(() => checkIdentity(normaliseIdentity(provider.identify(request, verification)))),
        `${source} ${code}`,
      ).toEqual(expected);
      // Before it: verifyHead, identifyHead, the identity limits.
      expect(
        refusal(() => {
          provider.verifyHead?.(head, secrets);
          checkIdentity(provider.identifyHead!(head));
        }),
        `${source} ${code}`,
      ).toEqual(expected);
    }
  });
});

import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseSourcesDocument, type SourceConfig } from '../../src/config/file';

// Independent signers for the config-file providers: each computes what the sender would send from
// the provider's documented scheme, with node:crypto directly (never through the gateway's code).

export const nowSeconds = () => Math.floor(Date.now() / 1000);

const hmac = (algorithm: string, key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/** `Stripe-Signature` for `<t>.<body>`, keyed with the whsec_ string as-is. */
export const stripeHeader = (secret: string, body: string | Buffer, t = nowSeconds()) =>
  `t=${t},v1=${hmac('sha256', secret, `${t}.`, body).toString('hex')}`;

/** `X-Hub-Signature-256`. */
export const githubSignature = (secret: string, body: string | Buffer) =>
  `sha256=${hmac('sha256', secret, body).toString('hex')}`;

/** One `v1,<base64>` entry of a Standard Webhooks signature; the key is the base64 after whsec_. */
export const standardSignature = (secret: string, id: string, timestamp: number | string, body: string | Buffer) =>
  `v1,${hmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'), `${id}.${timestamp}.`, body).toString('base64')}`;

/** Hex HMAC-SHA256 of the body (X-Keycloak-Signature, and the X-Honey/OpsIQ building block). */
export const hexHmac = (secret: string, ...parts: (string | Buffer)[]) =>
  hmac('sha256', secret, ...parts).toString('hex');

/** Secrets of the sources in `providerSources()` (none shared, so a signature for one fails on another). */
export const PROVIDER_SECRETS = {
  stripe: 'whsec_stripe_test_secret',
  stripeStrict: 'whsec_stripe_strict_secret',
  github: 'github-webhook-secret',
  // 24 random bytes, base64, as Svix issues them.
  standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  honey: 'honey-shared-secret',
  opsiq: 'opsiq-endpoint-secret',
  plain: 'plain-sha512-secret',
  basic: 'hooks:correct horse battery',
  apiKey: 'api-key-7f3a9c2b',
  apiKeyQuery: 'query-key-0c41d2e8',
  keycloak: 'keycloak-file-secret',
};

/**
 * One source of every config-file provider, as a GATEWAY_CONFIG document. The X-Honey and X-OpsIQ
 * sources follow the schemes documented by those senders (see /work/shared/seeds).
 */
export const providerSourcesDocument = () => ({
  sources: [
    { name: 'stripe', provider: 'stripe', secrets: [PROVIDER_SECRETS.stripe] },
    { name: 'stripe-strict', provider: 'stripe', secrets: [PROVIDER_SECRETS.stripeStrict], tolerance_seconds: 10 },
    { name: 'github', provider: 'github', secrets: [PROVIDER_SECRETS.github] },
    { name: 'standard', provider: 'standard-webhooks', secrets: [PROVIDER_SECRETS.standard] },
    { name: 'svix', provider: 'svix', secrets: [PROVIDER_SECRETS.standard] },
    { name: 'kc-sha1', provider: 'keycloak', secrets: [PROVIDER_SECRETS.keycloak], algorithm: 'sha1' },
    {
      name: 'honey',
      provider: 'generic-hmac',
      secrets: [PROVIDER_SECRETS.honey],
      signature_header: 'X-Honey-Signature',
      signature_prefix: 'sha256=',
      signed_payload: '{timestamp}.{body}',
      timestamp_header: 'X-Honey-Timestamp',
      id_header: 'X-Honey-Delivery-Id',
      // X-Honey signs only timestamp and body; its signed timestamp bounds replays.
      allow_unsigned_id: true,
      topic_header: 'X-Honey-Event-Type',
    },
    {
      name: 'opsiq',
      provider: 'generic-hmac',
      secrets: [PROVIDER_SECRETS.opsiq],
      signature_header: 'X-OpsIQ-Signature',
      signature_prefix: 'sha256=',
      signed_payload: '{body}{timestamp}{path}',
      timestamp_header: 'X-OpsIQ-Timestamp',
      nonce_header: 'X-OpsIQ-Nonce',
      // X-OpsIQ does not sign its nonce; its signed timestamp bounds replays.
      allow_unsigned_nonce: true,
      topic_path: 'event',
    },
    {
      name: 'plain',
      provider: 'generic-hmac',
      secrets: [PROVIDER_SECRETS.plain],
      algorithm: 'sha512',
      encoding: 'base64',
      signature_header: 'X-Signature',
    },
    { name: 'basic', provider: 'basic-auth', secrets: [PROVIDER_SECRETS.basic] },
    { name: 'apikey', provider: 'api-key', secrets: [PROVIDER_SECRETS.apiKey], header: 'X-Api-Key' },
    { name: 'apikey-query', provider: 'api-key', secrets: [PROVIDER_SECRETS.apiKeyQuery], query: 'token' },
  ],
});

/** The fixture sources, validated the way the gateway validates a GATEWAY_CONFIG file. */
export const providerSources = (): SourceConfig[] => parseSourcesDocument(providerSourcesDocument(), {});

/** How to send a correctly authenticated request to one fixture source. */
export interface SourceSigner {
  source: string;
  /** Path plus query string. */
  target: string;
  /** Headers of a valid delivery of `body`; a fresh delivery id/nonce each call. */
  sign(body: Buffer): Record<string, string>;
  /** Changing any of these (or the body, where `bodySigned`) makes the request invalid. */
  protectedHeaders: readonly string[];
  /** Dropping any of these makes the request invalid. */
  requiredHeaders: readonly string[];
  /** The body is covered by the signature (false for basic auth and API keys). */
  bodySigned: boolean;
  /** Identification needs a JSON object body. */
  needsJson: boolean;
}

/** A valid request for every fixture source (and the env-configured Keycloak one). */
export function sourceSigners(keycloakSecret: string): SourceSigner[] {
  const s = PROVIDER_SECRETS;
  return [
    {
      source: 'stripe',
      target: '/api/webhooks/stripe',
      sign: (body) => ({ 'stripe-signature': stripeHeader(s.stripe, body) }),
      protectedHeaders: ['stripe-signature'],
      requiredHeaders: ['stripe-signature'],
      bodySigned: true,
      needsJson: true,
    },
    {
      source: 'github',
      target: '/api/webhooks/github',
      sign: (body) => ({
        'x-hub-signature-256': githubSignature(s.github, body),
        'x-github-delivery': randomUUID(),
        'x-github-event': 'push',
      }),
      protectedHeaders: ['x-hub-signature-256'],
      requiredHeaders: ['x-hub-signature-256', 'x-github-delivery', 'x-github-event'],
      bodySigned: true,
      needsJson: false,
    },
    {
      source: 'standard',
      target: '/api/webhooks/standard',
      sign: (body) => {
        const id = `msg_${randomUUID()}`;
        const ts = nowSeconds();
        return {
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': standardSignature(s.standard, id, ts, body),
        };
      },
      protectedHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
      requiredHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
      bodySigned: true,
      needsJson: false,
    },
    {
      source: 'honey',
      target: '/api/webhooks/honey',
      sign: (body) => {
        const ts = String(nowSeconds());
        return {
          'x-honey-signature': `sha256=${hexHmac(s.honey, `${ts}.`, body)}`,
          'x-honey-timestamp': ts,
          'x-honey-delivery-id': `dlv_${randomUUID()}`,
          'x-honey-event-type': 'inventory.stock_received',
        };
      },
      protectedHeaders: ['x-honey-signature', 'x-honey-timestamp'],
      requiredHeaders: ['x-honey-signature', 'x-honey-timestamp', 'x-honey-delivery-id'],
      bodySigned: true,
      needsJson: false,
    },
    {
      source: 'opsiq',
      target: '/api/webhooks/opsiq',
      sign: (body) => {
        const ts = String(nowSeconds());
        return {
          'x-opsiq-signature': `sha256=${hexHmac(s.opsiq, body, ts, '/api/webhooks/opsiq')}`,
          'x-opsiq-timestamp': ts,
          'x-opsiq-nonce': randomUUID(),
        };
      },
      protectedHeaders: ['x-opsiq-signature', 'x-opsiq-timestamp'],
      requiredHeaders: ['x-opsiq-signature', 'x-opsiq-timestamp', 'x-opsiq-nonce'],
      bodySigned: true,
      needsJson: false,
    },
    {
      source: 'plain',
      target: '/api/webhooks/plain',
      sign: (body) => ({ 'x-signature': hmac('sha512', s.plain, body).toString('base64') }),
      protectedHeaders: ['x-signature'],
      requiredHeaders: ['x-signature'],
      bodySigned: true,
      needsJson: false,
    },
    {
      source: 'basic',
      target: '/api/webhooks/basic',
      sign: () => ({ authorization: `Basic ${Buffer.from(s.basic).toString('base64')}` }),
      protectedHeaders: ['authorization'],
      requiredHeaders: ['authorization'],
      bodySigned: false,
      needsJson: false,
    },
    {
      source: 'apikey',
      target: '/api/webhooks/apikey',
      sign: () => ({ 'x-api-key': s.apiKey }),
      protectedHeaders: ['x-api-key'],
      requiredHeaders: ['x-api-key'],
      bodySigned: false,
      needsJson: false,
    },
    {
      source: 'apikey-query',
      target: `/api/webhooks/apikey-query?token=${encodeURIComponent(s.apiKeyQuery)}`,
      sign: () => ({}),
      protectedHeaders: [],
      requiredHeaders: [],
      bodySigned: false,
      needsJson: false,
    },
    {
      source: 'keycloak',
      target: '/api/keycloak/events',
      sign: (body) => ({ 'x-keycloak-signature': hexHmac(keycloakSecret, body) }),
      protectedHeaders: ['x-keycloak-signature'],
      requiredHeaders: ['x-keycloak-signature'],
      bodySigned: true,
      needsJson: true,
    },
  ];
}

/**
 * POST over node:http, so a header can really be sent twice (fetch would join the values into one
 * line before sending) and the body goes out byte for byte.
 */
export function rawPost(
  url: string,
  body: Buffer | string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; json: any; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, json, headers: response.headers });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

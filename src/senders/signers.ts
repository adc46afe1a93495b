import { createHash, createHmac, createPrivateKey, randomUUID, sign } from 'node:crypto';
import type { ProviderName } from '../../providers';

// What each provider sends, computed here with node:crypto from the provider's documented scheme
// (the gateway's verification code is not used, so `send`, `trigger` and the ops API's test event
// are also a check of it).

/** A source this module cannot sign for (its secret is not one we hold, or it is declared elsewhere). */
export class CannotSignError extends Error {
  override name = 'CannotSignError';
  readonly code = 'cannot_sign';
}

/** Everything a signer may need about one delivery. */
export interface Delivery {
  secret: string;
  body: Buffer;
  /** Request path, e.g. /api/webhooks/shopify (signed by some generic-hmac sources). */
  path: string;
  /** The delivery id the sender puts in a header (providers that take the id from the payload ignore it). */
  id: string;
  topic?: string;
  /** Shopify shop domain. */
  account?: string;
  now: Date;
  /** The source's options from GATEWAY_CONFIG (generic-hmac, basic-auth, api-key). */
  options: Readonly<Record<string, unknown>>;
}

/** Headers to send, and a query string for API keys sent that way. */
export interface SignedRequest {
  headers: Record<string, string>;
  query?: string;
}

interface Signer {
  /** Where the topic comes from when it is not a header the sender sets (so --topic would be ignored). */
  topicFrom?: (options: Readonly<Record<string, unknown>>) => string | undefined;
  /** Same for the delivery id. */
  idFrom?: (options: Readonly<Record<string, unknown>>) => string | undefined;
  /**
   * Why no secret can sign for a source with these options (it verifies with a key only its
   * sender holds), and what to do instead; undefined when a shared secret signs for it. Asked
   * before a secret is asked for, so no one is told to pass a secret that cannot help.
   */
  cannotSign?: (options: Readonly<Record<string, unknown>>) => string | undefined;
  /** The signature depends on the source's options (header, scheme, algorithm): without them it would be refused. */
  needsOptions?: true;
  sign(delivery: Delivery): SignedRequest;
}

const hmac = (algorithm: string, key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};
const seconds = (now: Date) => String(Math.floor(now.getTime() / 1000));
/** A released Admin API version, as Shopify names the one a delivery's payload follows. */
const SHOPIFY_API_VERSION = '2025-01';

/** Headers named by a configurable source's identity options (id_header, topic_header). */
function identityHeaders(delivery: Delivery): Record<string, string> {
  const { id_header: idHeader, topic_header: topicHeader } = delivery.options as {
    id_header?: string;
    topic_header?: string;
  };
  return {
    ...(idHeader ? { [idHeader]: delivery.id } : {}),
    ...(topicHeader && delivery.topic ? { [topicHeader]: delivery.topic } : {}),
  };
}

/** How a source created at runtime is signed for: its options are read from the gateway. */
const BY_NAME = ' (a source created at runtime: with an admin ops token, send reads its options from the gateway)';

/**
 * A keycloak source with jwks_url verifies realm-signed JWTs, which a shared secret cannot make:
 * what such a source does, as the end of a sentence naming it.
 */
const keycloakCannotSign = (o: Readonly<Record<string, unknown>>) =>
  o.jwks_url
    ? "verifies JWTs signed with the Keycloak realm's private key (jwks_url), which only Keycloak holds, so no secret can sign for it " +
      'here: trigger the event in Keycloak instead (log in to the realm whose webhook points at this source)'
    : undefined;

/** Configurable sources: topic and id come from a header if one is configured, else from the payload. */
const configuredTopic = (o: Readonly<Record<string, unknown>>) =>
  o.topic_header ? undefined : 'its topic_path setting';
const configuredId = (o: Readonly<Record<string, unknown>>) =>
  o.id_header ? undefined : 'the payload (id_path) or the content hash';

/** PKCS#8 DER of an ed25519 private key, up to its 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A Standard Webhooks `whsk_<base64 of the 32-byte ed25519 seed>` private key. */
function whskPrivateKey(secret: string) {
  const seed = Buffer.from(secret.slice('whsk_'.length), 'base64');
  if (seed.length !== 32)
    throw new CannotSignError('A whsk_ private key is whsk_ followed by the base64 of a 32-byte ed25519 seed');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Standard Webhooks; Svix sends the same scheme under svix- header names. */
function standardWebhooksSigner(prefix: 'webhook' | 'svix'): Signer {
  return {
    topicFrom: () => 'the payload\'s "type"',
    sign: (d) => {
      const t = seconds(d.now);
      if (d.secret.startsWith('whpk_'))
        throw new CannotSignError(
          "A whpk_ public key verifies v1a signatures but cannot make one: pass the sender's whsk_ private key of the pair with --secret",
        );
      const signature = d.secret.startsWith('whsk_')
        ? `v1a,${sign(null, Buffer.concat([Buffer.from(`${d.id}.${t}.`), d.body]), whskPrivateKey(d.secret)).toString('base64')}`
        : `v1,${hmac('sha256', Buffer.from(d.secret.replace(/^whsec_/, ''), 'base64'), `${d.id}.${t}.`, d.body).toString('base64')}`;
      return {
        headers: { [`${prefix}-id`]: d.id, [`${prefix}-timestamp`]: t, [`${prefix}-signature`]: signature },
      };
    },
  };
}

export const SIGNERS: Record<ProviderName, Signer> = {
  shopify: {
    sign: (d) => ({
      headers: {
        'x-shopify-hmac-sha256': hmac('sha256', d.secret, d.body).toString('base64'),
        'x-shopify-webhook-id': d.id,
        'x-shopify-shop-domain': d.account ?? 'dev-shop.myshopify.com',
        'x-shopify-topic': d.topic ?? 'orders/create',
        // @shopify/shopify-api's validator also requires the API version; the event id is what
        // a source with `dedupe: event_id` keys on.
        'x-shopify-api-version': SHOPIFY_API_VERSION,
        'x-shopify-event-id': d.id,
        'x-shopify-triggered-at': d.now.toISOString(),
      },
    }),
  },
  easypost: {
    topicFrom: () => 'the payload\'s "description"',
    idFrom: () => 'the payload\'s "id"',
    // The key is the NFKD-normalised secret (the same bytes as the secret for ASCII).
    sign: (d) => ({
      headers: {
        'x-hmac-signature': `hmac-sha256-hex=${hmac('sha256', Buffer.from(d.secret.normalize('NFKD'), 'utf8'), d.body).toString('hex')}`,
      },
    }),
  },
  keycloak: {
    topicFrom: () => 'the payload\'s "type"',
    idFrom: () => 'the payload\'s "uid" or "id"',
    // As p2-inc/keycloak-events signs: X-Keycloak-Signature, the hex HMAC of the body with the
    // source's algorithm (HmacSHA256 unless `algorithm: sha1`). Every keycloak source accepts it
    // for any of its secrets, also one written user:password for Basic senders.
    needsOptions: true,
    cannotSign: keycloakCannotSign,
    sign: (d) => {
      const o = d.options as { algorithm?: string };
      const refused = keycloakCannotSign(d.options);
      if (refused) throw new CannotSignError(`This keycloak source ${refused}`);
      return { headers: { 'x-keycloak-signature': hmac(o.algorithm ?? 'sha256', d.secret, d.body).toString('hex') } };
    },
  },
  stripe: {
    topicFrom: () => 'the payload\'s "type"',
    idFrom: () => 'the payload\'s "id"',
    sign: (d) => {
      const t = seconds(d.now);
      return {
        headers: { 'stripe-signature': `t=${t},v1=${hmac('sha256', d.secret, `${t}.`, d.body).toString('hex')}` },
      };
    },
  },
  github: {
    sign: (d) => ({
      headers: {
        'x-hub-signature-256': `sha256=${hmac('sha256', d.secret, d.body).toString('hex')}`,
        'x-hub-signature': `sha1=${hmac('sha1', d.secret, d.body).toString('hex')}`,
        'x-github-delivery': d.id,
        'x-github-event': d.topic ?? 'ping',
      },
    }),
  },
  'standard-webhooks': standardWebhooksSigner('webhook'),
  svix: standardWebhooksSigner('svix'),
  'generic-hmac': {
    needsOptions: true,
    topicFrom: configuredTopic,
    idFrom: configuredId,
    sign: (d) => {
      const o = d.options as {
        algorithm: string;
        encoding: 'hex' | 'base64';
        secret_encoding: 'utf8' | 'hex' | 'base64';
        signature_header?: string;
        signature_prefix: string;
        signed_payload: string;
        timestamp_header?: string;
        timestamp_unit: 's' | 'ms';
        nonce_header?: string;
      };
      if (!o.signature_header)
        throw new CannotSignError(
          `A generic-hmac source is described in GATEWAY_CONFIG: declare it there, then send to it by name${BY_NAME}`,
        );
      const timestamp = o.timestamp_unit === 'ms' ? String(d.now.getTime()) : seconds(d.now);
      const nonce = randomUUID();
      const values: Record<string, string | Buffer> = {
        body: d.body,
        timestamp,
        nonce,
        id: d.id,
        path: d.path,
        query: '',
      };
      // "{timestamp}.{body}" → the literal text and the values, in order, as the sender signs them.
      const parts = o.signed_payload.split(/(\{[a-z_]+\})/).map((part) => {
        const name = /^\{([a-z_]+)\}$/.exec(part)?.[1];
        return name !== undefined && name in values ? values[name]! : part;
      });
      const key = Buffer.from(d.secret, o.secret_encoding);
      return {
        headers: {
          [o.signature_header]: `${o.signature_prefix}${hmac(o.algorithm, key, ...parts).toString(o.encoding)}`,
          ...(o.timestamp_header ? { [o.timestamp_header]: timestamp } : {}),
          ...(o.nonce_header ? { [o.nonce_header]: nonce } : {}),
          ...identityHeaders(d),
        },
      };
    },
  },
  'basic-auth': {
    topicFrom: configuredTopic,
    idFrom: configuredId,
    sign: (d) => ({
      headers: { authorization: `Basic ${Buffer.from(d.secret, 'utf8').toString('base64')}`, ...identityHeaders(d) },
    }),
  },
  'api-key': {
    needsOptions: true,
    topicFrom: configuredTopic,
    idFrom: configuredId,
    sign: (d) => {
      const o = d.options as { header?: string; prefix?: string; query?: string };
      if (o.query)
        return { headers: identityHeaders(d), query: new URLSearchParams({ [o.query]: d.secret }).toString() };
      if (!o.header)
        throw new CannotSignError(
          `An api-key source is described in GATEWAY_CONFIG: declare it there, then send to it by name${BY_NAME}`,
        );
      return { headers: { [o.header]: `${o.prefix ?? ''}${d.secret}`, ...identityHeaders(d) } };
    },
  },
};

/** Provider names `send --provider` accepts. */
export const SIGNED_PROVIDERS = Object.keys(SIGNERS) as ProviderName[];

/**
 * A delivery id derived from the body, so sending the same file again is a retry of the same
 * delivery (and shows deduplication): `msg_<hex>` for Standard Webhooks, else a UUID, as Shopify
 * and GitHub send theirs.
 */
export function deliveryIdFor(body: Buffer, provider: ProviderName): string {
  const hex = createHash('sha256').update(body).digest('hex');
  if (provider === 'standard-webhooks' || provider === 'svix') return `msg_${hex.slice(0, 32)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

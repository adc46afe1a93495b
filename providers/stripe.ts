import { z } from 'zod';
import { badRequest, unauthorized } from '../src/errors';
import { toleranceSeconds } from './options';
import {
  assertHmac,
  checkTimestamp,
  decodeSignatures,
  parseJsonObject,
  requireHeaders,
  signedBytes,
} from './signature';
import { defineProvider, type RequestHead } from './types';

const SIGNATURE_HEADER = 'stripe-signature';

const malformed = () =>
  unauthorized('invalid_signature', `${SIGNATURE_HEADER} is malformed; expected t=<unix time>,v1=<hex>[,v1=<hex>…]`);

/** Splits `t=…,v1=…,v1=…,v0=…` into the one timestamp and the v1 signatures (v0 and unknown schemes ignored). */
function parseStripeHeader(header: string): { timestamp: string; signatures: string[] } {
  const timestamps: string[] = [];
  const signatures: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw malformed();
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') timestamps.push(value);
    else if (key === 'v1') signatures.push(value);
  }
  // Exactly one t: a repeated header (joined with ", ") or a spliced one is ambiguous, so refused.
  if (timestamps.length !== 1) throw malformed();
  if (signatures.length === 0) throw unauthorized('invalid_signature', `No v1 signature in ${SIGNATURE_HEADER}`);
  return { timestamp: timestamps[0]!, signatures };
}

/**
 * Everything Stripe-Signature alone decides, in verify's order: present and within the length
 * bound, well-formed, its timestamp within the tolerance, its v1 signatures valid hex. Called
 * before the body is read (verifyHead) and again by verify, which adds the HMAC over the body.
 */
function readStripeSignature(
  request: RequestHead,
  toleranceSeconds: number,
): { timestamp: string; presented: Buffer[] } {
  const { [SIGNATURE_HEADER]: header } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
  const { timestamp, signatures } = parseStripeHeader(header);
  checkTimestamp(timestamp, { header: SIGNATURE_HEADER, toleranceSeconds });
  return { timestamp, presented: decodeSignatures(SIGNATURE_HEADER, 'hex', signatures) };
}

/** Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<raw body>`, keyed with the whsec_ string as-is. */
export const stripe = defineProvider({
  name: 'stripe',
  options: z.strictObject({ tolerance_seconds: toleranceSeconds }),
  // Stripe issues the secret (whsec_…): only its form is checked, never its length.
  checkSecret: (secret) => (secret.startsWith('whsec_') ? undefined : 'a Stripe signing secret starts with whsec_'),
  create: (options) => ({
    name: 'stripe',
    replayWindowSeconds: options.tolerance_seconds,
    keptHeaders: ['content-type', 'user-agent'],
    identityPaths: { webhookId: [['id']], topic: [['type']], account: [['account']] },

    verifyHead(request) {
      readStripeSignature(request, options.tolerance_seconds);
    },

    verify(request, secrets) {
      const { timestamp, presented } = readStripeSignature(request, options.tolerance_seconds);
      const signed = signedBytes(`${timestamp}.`, request.rawBody);
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
        signed,
        presented,
      });
      return { signed };
    },

    identify(request) {
      const event = parseJsonObject(request.rawBody, 'Stripe');
      if (typeof event.id !== 'string' || event.id.length === 0) {
        throw badRequest('missing_id', 'Stripe payload has no "id" field to deduplicate on');
      }
      return {
        webhookId: event.id,
        topic: typeof event.type === 'string' && event.type ? event.type : 'unknown',
        // Connect events name the connected account they happened on.
        account: typeof event.account === 'string' ? event.account : undefined,
      };
    },
  }),
});

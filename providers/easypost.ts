import { badRequest } from '../src/errors';
import { decodeSignature, hmacMatches, invalidSignature, parseJsonObject, requireHeaders } from './signature';
import type { PushProvider } from './types';

const SIGNATURE_HEADER = 'x-hmac-signature';
const PREFIX = 'hmac-sha256-hex=';

/** EasyPost: `hmac-sha256-hex=<hex>` over the raw body, keyed with the NFKD-normalised secret. */
export const easypost: PushProvider = {
  name: 'easypost',
  keptHeaders: ['content-type', 'user-agent'],

  verify(request, secrets) {
    const { [SIGNATURE_HEADER]: header } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
    const presented = header.startsWith(PREFIX) ? decodeSignature(header.slice(PREFIX.length), 'hex') : null;
    const ok =
      presented !== null &&
      hmacMatches({
        algorithm: 'sha256',
        keys: secrets.map((secret) => Buffer.from(secret.normalize('NFKD'), 'utf8')),
        signed: request.rawBody,
        presented: [presented],
      });
    if (!ok) throw invalidSignature(SIGNATURE_HEADER);
  },

  identify(request) {
    const event = parseJsonObject(request.rawBody, 'EasyPost');
    if (typeof event.id !== 'string' || event.id.length === 0) {
      throw badRequest('missing_id', 'EasyPost payload has no "id" field to deduplicate on');
    }
    const topic = typeof event.description === 'string' && event.description ? event.description : 'unknown';
    return { webhookId: event.id, topic };
  },
};

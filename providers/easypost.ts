import { z } from 'zod';
import { badRequest } from '../src/errors';
import { assertHmac, invalidSignature, parseJsonObject, requireHeaders, secretLengthProblem } from './signature';
import { defineProvider } from './types';

const SIGNATURE_HEADER = 'x-hmac-signature';
const PREFIX = 'hmac-sha256-hex=';

/** EasyPost: `hmac-sha256-hex=<hex>` over the raw body, keyed with the NFKD-normalised secret. */
export const easypost = defineProvider({
  name: 'easypost',
  options: z.strictObject({}),
  // EasyPost does not issue this secret: it is the webhook_secret given when creating the webhook.
  checkSecret: (secret) => secretLengthProblem(Buffer.byteLength(secret.normalize('NFKD'), 'utf8')),
  create: () => ({
    name: 'easypost',
    keptHeaders: ['content-type', 'user-agent'],
    identityPaths: { webhookId: [['id']], topic: [['description']] },

    verify(request, secrets) {
      const { [SIGNATURE_HEADER]: header } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
      if (!header.startsWith(PREFIX)) throw invalidSignature(SIGNATURE_HEADER);
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        encoding: 'hex',
        keys: secrets.map((secret) => Buffer.from(secret.normalize('NFKD'), 'utf8')),
        signed: request.rawBody,
        signatures: [header.slice(PREFIX.length)],
      });
      return { signed: request.rawBody };
    },

    identify(request) {
      const event = parseJsonObject(request.rawBody, 'EasyPost');
      if (typeof event.id !== 'string' || event.id.length === 0) {
        throw badRequest('missing_id', 'EasyPost payload has no "id" field to deduplicate on');
      }
      const topic = typeof event.description === 'string' && event.description ? event.description : 'unknown';
      return { webhookId: event.id, topic };
    },
  }),
});

import { z } from 'zod';
import { badRequest } from '../src/errors';
import { assertHmac, parseJsonObject, prefixedSignature, secretLengthProblem } from './signature';
import { defineProvider, type RequestHead } from './types';

const SIGNATURE_HEADER = 'x-hmac-signature';
const PREFIX = 'hmac-sha256-hex=';

/** What X-Hmac-Signature alone decides (present, within the length bound, `hmac-sha256-hex=`, valid hex): the presented signature. */
const readSignature = (request: RequestHead) =>
  prefixedSignature(request.headers, { header: SIGNATURE_HEADER, prefix: PREFIX, encoding: 'hex' });

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

    // The signature header alone is checked before the body is read; the HMAC needs the body.
    verifyHead(request) {
      readSignature(request);
    },

    verify(request, secrets) {
      const presented = readSignature(request);
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        keys: secrets.map((secret) => Buffer.from(secret.normalize('NFKD'), 'utf8')),
        signed: request.rawBody,
        presented,
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

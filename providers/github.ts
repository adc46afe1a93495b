import { z } from 'zod';
import { assertHmac, invalidSignature, requireHeaders, tryParseJson } from './signature';
import { defineProvider } from './types';

const SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

/** GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body; X-GitHub-Delivery is the id. */
export const github = defineProvider({
  name: 'github',
  options: z.strictObject({}),
  create: () => ({
    name: 'github',
    keptHeaders: [
      'content-type',
      'user-agent',
      'x-github-event',
      'x-github-delivery',
      'x-github-hook-id',
      'x-github-hook-installation-target-type',
      'x-github-hook-installation-target-id',
    ],

    verify(request, secrets) {
      const { [SIGNATURE_HEADER]: header } = requireHeaders(request.headers, [SIGNATURE_HEADER], 'signature');
      if (!header.startsWith(PREFIX)) throw invalidSignature(SIGNATURE_HEADER);
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        encoding: 'hex',
        keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
        signed: request.rawBody,
        signatures: [header.slice(PREFIX.length)],
      });
      return { signed: request.rawBody };
    },

    identify(request) {
      const ids = requireHeaders(request.headers, ['x-github-delivery', 'x-github-event'], 'identity');
      // The body may be form-encoded (payload=…) when the hook is set up that way; then no action.
      const payload = tryParseJson(request.rawBody) as { action?: unknown } | null | undefined;
      const action = typeof payload?.action === 'string' && payload.action ? `.${payload.action}` : '';
      // A redelivery keeps its X-GitHub-Delivery GUID, so it deduplicates.
      return { webhookId: ids['x-github-delivery'], topic: `${ids['x-github-event']}${action}` };
    },
  }),
});

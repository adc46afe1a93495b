import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { toleranceSeconds } from './options';
import {
  assertHmac,
  checkTimestamp,
  decodeKey,
  decodeSignatures,
  requireHeaders,
  secretLengthProblem,
  signedBytes,
  tryParseJson,
} from './signature';
import { defineProvider, type RequestHead } from './types';

/** `whsec_<base64>` (or the bare base64, as the Svix libraries accept) → the HMAC key bytes. */
const keyOf = (secret: string) => decodeKey(secret.replace(/^whsec_/, ''), 'base64');

/**
 * Standard Webhooks (and Svix, which uses `svix-` header names): `webhook-signature` is a
 * space-separated list of `v1,<base64>` over `<webhook-id>.<webhook-timestamp>.<raw body>`.
 */
export const standardWebhooks = defineProvider({
  name: 'standard-webhooks',
  options: z.strictObject({ tolerance_seconds: toleranceSeconds }),
  checkSecret: (secret) => {
    const key = keyOf(secret);
    if (!key) return 'a Standard Webhooks secret is whsec_ followed by base64';
    // The spec asks for 24 to 64 random bytes (Svix issues 24); 16 is the floor for every provider.
    return secretLengthProblem(key.length, 'the decoded key');
  },
  create: (options) => ({
    name: 'standard-webhooks',
    replayWindowSeconds: options.tolerance_seconds,
    keptHeaders: ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'svix-id', 'svix-timestamp'],
    identityPaths: { topic: [['type']] },

    verifyHead(request) {
      readSignatureHeaders(request, options.tolerance_seconds);
    },

    verify(request, secrets) {
      const { id, timestamp, signatureHeader, presented } = readSignatureHeaders(request, options.tolerance_seconds);
      const signed = signedBytes(`${id}.${timestamp}.`, request.rawBody);
      assertHmac({
        header: signatureHeader,
        algorithm: 'sha256',
        keys: secrets.map(keyOf).filter((key) => key !== null),
        signed,
        presented,
      });
      return { signed };
    },

    // The id is a signature header (required by verifyHead); its length limit applies before the body too.
    identifyHead: (request) => ({ webhookId: deliveryId(request) }),

    identify(request) {
      const payload = tryParseJson(request.rawBody) as { type?: unknown } | null | undefined;
      return {
        webhookId: deliveryId(request),
        topic: typeof payload?.type === 'string' && payload.type ? payload.type : 'unknown',
      };
    },
  }),
});

/**
 * Everything the three headers alone decide, in verify's order: all present and within the length
 * bound, the timestamp within the tolerance, at least one v1 entry, one of them valid base64.
 * Called before the body is read (verifyHead) and again by verify, which adds the HMAC.
 */
function readSignatureHeaders(request: RequestHead, toleranceSeconds: number) {
  const names = headerNames(request.headers);
  const values = requireHeaders(request.headers, [names.id, names.timestamp, names.signature], 'signature');
  checkTimestamp(values[names.timestamp], { header: names.timestamp, toleranceSeconds });
  const signatures = values[names.signature]
    .split(/\s+/)
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3));
  if (signatures.length === 0) throw unauthorized('invalid_signature', `No v1 signature in ${names.signature}`);
  return {
    id: values[names.id],
    timestamp: values[names.timestamp],
    signatureHeader: names.signature,
    presented: decodeSignatures(names.signature, 'base64', signatures),
  };
}

/** The sender's message id, so a retry deduplicates; only called once verifyHead has required it. */
const deliveryId = (request: RequestHead) => request.headers[headerNames(request.headers).id]!.trim();

/** The webhook- spelling unless only the svix- one is present; never a mix of the two. */
function headerNames(headers: Readonly<Record<string, string>>) {
  const prefix =
    headers['webhook-signature'] === undefined && headers['svix-signature'] !== undefined ? 'svix' : 'webhook';
  return { id: `${prefix}-id`, timestamp: `${prefix}-timestamp`, signature: `${prefix}-signature` } as const;
}

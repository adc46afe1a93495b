import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { toleranceSeconds } from './options';
import { ED25519_PUBLIC_KEY_BYTES, ed25519Matches, whpkPublicKey } from './ed25519';
import {
  checkTimestamp,
  decodeKey,
  decodeStrict,
  hmacMatches,
  invalidSignature,
  requireHeaders,
  secretLengthProblem,
  signedBytes,
  tryParseJson,
} from './signature';
import { defineProvider, type RequestHead } from './types';

/**
 * `whsec_<base64>` (or the bare base64, as the Svix libraries accept) → the HMAC key bytes. Never a
 * `whpk_` public key: whoever knows a public key could otherwise make a v1 HMAC with it.
 */
const keyOf = (secret: string) =>
  secret.startsWith('whpk_') ? null : decodeKey(secret.replace(/^whsec_/, ''), 'base64');

/**
 * Standard Webhooks (and Svix, which uses `svix-` header names): `webhook-signature` is a
 * space-separated list of `v1,<base64>` (HMAC-SHA256 under a `whsec_` secret) and `v1a,<base64>`
 * (ed25519, verified with a `whpk_` public key) over `<webhook-id>.<webhook-timestamp>.<raw body>`;
 * any one entry valid under any configured key passes (the spec's "Signature scheme").
 */
export const standardWebhooks = defineProvider({
  name: 'standard-webhooks',
  options: z.strictObject({ tolerance_seconds: toleranceSeconds }),
  checkSecret: (secret) => {
    if (secret.startsWith('whsk_'))
      return "this is the sender's private signing key (whsk_), which must never leave the sender: configure the whpk_ public key of its pair, and have the sender replace the exposed private key";
    if (secret.startsWith('whpk_'))
      return whpkPublicKey(secret)
        ? undefined
        : `a Standard Webhooks public key is whpk_ followed by the base64 of a ${ED25519_PUBLIC_KEY_BYTES}-byte ed25519 key`;
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
      const { id, timestamp, signatureHeader, hmacs, ed25519s } = readSignatureHeaders(
        request,
        options.tolerance_seconds,
      );
      const signed = signedBytes(`${id}.${timestamp}.`, request.rawBody);
      const keys = secrets.map(keyOf).filter((key) => key !== null);
      const publicKeys = secrets.map(whpkPublicKey).filter((key) => key !== null);
      // Both checks run whatever the first finds, so timing does not tell which kind matched.
      const byHmac = hmacMatches({ algorithm: 'sha256', keys, signed, presented: hmacs });
      const byEd25519 = ed25519Matches(publicKeys, signed, ed25519s);
      if (!byHmac && !byEd25519) throw invalidSignature(signatureHeader);
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
 * bound, the timestamp within the tolerance, at least one v1 or v1a entry, one of them valid base64.
 * Called before the body is read (verifyHead) and again by verify, which adds the HMAC and ed25519.
 */
function readSignatureHeaders(request: RequestHead, toleranceSeconds: number) {
  const names = headerNames(request.headers);
  const values = requireHeaders(request.headers, [names.id, names.timestamp, names.signature], 'signature');
  checkTimestamp(values[names.timestamp], { header: names.timestamp, toleranceSeconds });
  const entries = values[names.signature].split(/\s+/);
  const versioned = (prefix: string) =>
    entries.filter((entry) => entry.startsWith(prefix)).map((entry) => entry.slice(prefix.length));
  const hmacTexts = versioned('v1,');
  const ed25519Texts = versioned('v1a,');
  if (hmacTexts.length + ed25519Texts.length === 0)
    throw unauthorized('invalid_signature', `No v1 or v1a signature in ${names.signature}`);
  const decoded = (texts: string[]) => texts.map((text) => decodeStrict(text, 'base64')).filter((b) => b !== null);
  const hmacs = decoded(hmacTexts);
  const ed25519s = decoded(ed25519Texts);
  if (hmacs.length + ed25519s.length === 0)
    throw unauthorized('invalid_signature', `Signature in ${names.signature} is not valid base64`);
  return {
    id: values[names.id],
    timestamp: values[names.timestamp],
    signatureHeader: names.signature,
    hmacs,
    ed25519s,
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

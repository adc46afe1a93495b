import { z } from 'zod';
import { refuseRepeatedIdentity } from './repeated-headers';
import { assertHmac, prefixedSignature, requireHeaders, tryParseJson, utf8SecretProblem } from './signature';
import { defineProvider, type RequestHead } from './types';

const SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

/** What X-Hub-Signature-256 alone decides (present, within the length bound, `sha256=`, valid hex): the presented signature. */
const readSignature = (request: RequestHead) =>
  prefixedSignature(request.headers, { header: SIGNATURE_HEADER, prefix: PREFIX, encoding: 'hex' });

/**
 * What the identity headers alone decide (X-GitHub-Delivery and X-GitHub-Event present and within
 * the length bound, else 400): the dedupe key and the topic before the body's `.action`. Called
 * before the body is read (identifyHead) and again by identify. A redelivery keeps both its hook id
 * and its GUID, so it deduplicates; another hook's delivery of the same event does not.
 */
function readDelivery(request: RequestHead): { webhookId: string; topic: string } {
  const ids = requireHeaders(request.headers, ['x-github-delivery', 'x-github-event'], 'identity');
  refuseRepeatedIdentity(request.headers, ['x-github-hook-id']);
  const hook = request.headers['x-github-hook-id']?.trim();
  const delivery = ids['x-github-delivery'];
  return { webhookId: hook ? `${hook}/${delivery}` : delivery, topic: ids['x-github-event'] };
}

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body. X-GitHub-Delivery identifies the
 * *event*, not the delivery: GitHub sends the same GUID to every webhook (hook) subscribed to that
 * event ("shared with all deliveries for all webhooks that subscribe to this event", hook-delivery
 * `guid` in GitHub's REST description). Two hooks pointing at one source would collide on it, so the
 * dedupe key is scoped by X-GitHub-Hook-ID, "the unique identifier of the webhook" (GitHub's
 * delivery-headers docs). Deliveries without that header (older GitHub Enterprise Server releases
 * did not send it) keep the bare GUID.
 */
export const github = defineProvider({
  name: 'github',
  options: z.strictObject({}),
  // The secret is whatever the hook's owner typed in GitHub's settings.
  checkSecret: utf8SecretProblem,
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
    // "Payloads are capped at 25 MB" (GitHub Docs, webhook events and payloads, *Payload cap*), and
    // "GitHub does not automatically redeliver failed deliveries": a 413 below that loses the event.
    // 25 MiB covers 25 MB whichever way GitHub counts it.
    senderMaxBodyBytes: 25 * 1024 * 1024,
    // The topic ends with the body's `action`; the delivery id comes from headers.
    identityPaths: { topic: [['action']] },

    // The signature header alone is checked before the body is read; the HMAC needs the body.
    verifyHead(request) {
      readSignature(request);
    },

    verify(request, secrets) {
      const presented = readSignature(request);
      assertHmac({
        header: SIGNATURE_HEADER,
        algorithm: 'sha256',
        keys: secrets.map((secret) => Buffer.from(secret, 'utf8')),
        signed: request.rawBody,
        presented,
      });
      return { signed: request.rawBody };
    },

    identifyHead: readDelivery,

    identify(request) {
      const { webhookId, topic } = readDelivery(request);
      const payload = readPayload(request.rawBody) as { action?: unknown } | null | undefined;
      const action = typeof payload?.action === 'string' && payload.action ? `.${payload.action}` : '';
      return { webhookId, topic: `${topic}${action}` };
    },

    documentOf: formPayload,
  }),
});

const FORM = 'application/x-www-form-urlencoded';

/**
 * The JSON of a delivery from a hook set to the `form` content type, the default for hooks created
 * through the REST API ("Supported values include json and form. The default is form.", GitHub's
 * hook `config.content_type`), which "sends the JSON payload as a form parameter called `payload`"
 * (GitHub Docs, webhook content types): that parameter URL-decoded as UTF-8, the JSON exactly as
 * GitHub encoded it. Undefined for any other body, after a look at the content type alone: a `json`
 * hook's delivery (and every other provider's) costs nothing more. The stored bytes and the
 * signature are the raw body either way.
 */
function formPayload(body: Buffer, headers: Readonly<Record<string, string>>): Buffer | undefined {
  const type = headers['content-type'];
  if (type === undefined || type.split(';', 1)[0]!.trim().toLowerCase() !== FORM) return undefined;
  return formParameter(body);
}

/** The form parameter `payload` as UTF-8 bytes (URLSearchParams decoding); undefined when there is none. */
function formParameter(body: Buffer): Buffer | undefined {
  const payload = new URLSearchParams(body.toString('utf8')).get('payload');
  return payload === null ? undefined : Buffer.from(payload, 'utf8');
}

/**
 * The event's JSON for the topic's action: the body, else its form parameter `payload` whatever the
 * content type says (as the topic has always been read). Undefined when neither holds JSON.
 */
function readPayload(rawBody: Buffer): unknown {
  const json = tryParseJson(rawBody);
  if (json !== undefined) return json;
  const form = formParameter(rawBody);
  return form === undefined ? undefined : tryParseJson(form);
}

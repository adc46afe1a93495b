import { providerModules, type ProviderName, type PushProvider } from '../../providers';
import { buildEnvelope, type EnvelopeOptions } from '../deliver/envelope';
import { standardWebhooksHeaders } from '../deliver/sign';
import { SIGNERS } from '../senders/signers';

/** An arrival as the live stream carries it with `include=request`. */
export interface StreamedArrival {
  id: number;
  source: string;
  topic: string;
  request: {
    provider: string | null;
    webhook_id: string;
    received_at: string;
    headers: Record<string, string>;
    body_base64: string;
  } | null;
  request_withheld?: string;
}

export interface ForwardedRequest {
  body: Buffer;
  headers: Record<string, string>;
  /** How the request is signed, for the printed line: "shopify", "standard-webhooks" or "unsigned". */
  signedAs: string;
}

/** Headers that carry the delivery id the provider signs over (kept by the gateway, never the signature). */
const ID_HEADERS = ['webhook-id', 'svix-id', 'x-shopify-webhook-id', 'x-github-delivery'];

/**
 * The request `listen` sends for an arrival. Signatures are never stored, so the provider's
 * signature is computed afresh, over the original bytes with the provider's scheme and the
 * given secret (as `stripe listen` signs with its own secret): a local app verifies it as it
 * verifies production deliveries. With `envelope`, the gateway's Standard Webhooks envelope is
 * sent instead, signed with the secret when it is a `whsec_` key.
 */
export function forwardedRequest(
  arrival: StreamedArrival & { request: NonNullable<StreamedArrival['request']> },
  options: {
    /**
     * Send the envelope instead, built with the source's settings as its deliveries are
     * (provider, aggregate_id_path, tenant_context; src/cli/listen-envelope.ts).
     */
    envelope?: EnvelopeOptions;
    secret?: string;
    path: string;
    /** The source's provider when the stream does not name it (a source created at runtime). */
    provider?: ProviderName;
    providerOptions?: Readonly<Record<string, unknown>>;
  },
): ForwardedRequest {
  const stored = arrival.request;
  const rawBody = Buffer.from(stored.body_base64, 'base64');
  const provider = (stored.provider as ProviderName | null) ?? options.provider;
  if (options.envelope) {
    // The envelope's data is the event's JSON, as the gateway's deliveries carry it (a GitHub form hook's `payload=…`).
    const document =
      (provider && documentReader(provider, options.providerOptions))?.(rawBody, stored.headers) ?? rawBody;
    let payload: unknown;
    try {
      payload = JSON.parse(document.toString('utf8'));
    } catch {
      payload = undefined;
    }
    const body = buildEnvelope(
      {
        source: arrival.source,
        webhookId: stored.webhook_id,
        topic: arrival.topic,
        rawBody: document,
        payload,
        receivedAt: new Date(stored.received_at),
      },
      // The provider the stream names wins: it is the one the gateway delivers with.
      { ...options.envelope, provider: stored.provider ?? options.envelope.provider },
    );
    const signature = options.secret ? standardWebhooksHeaders(options.secret, `evt_${arrival.id}`, body) : {};
    return {
      body: Buffer.from(body),
      headers: { 'content-type': 'application/json', 'user-agent': 'webhook-gateway-listen', ...signature },
      signedAs: options.secret ? 'standard-webhooks' : 'unsigned',
    };
  }
  const signer = provider ? SIGNERS[provider] : undefined;
  if (!signer || !options.secret) return { body: rawBody, headers: { ...stored.headers }, signedAs: 'unsigned' };
  const id = ID_HEADERS.map((h) => stored.headers[h]).find((v) => v !== undefined) ?? stored.webhook_id;
  const signed = signer.sign({
    secret: options.secret,
    body: rawBody,
    path: options.path,
    id,
    topic: arrival.topic,
    account: stored.headers['x-shopify-shop-domain'],
    now: new Date(),
    options: options.providerOptions ?? {},
  });
  // The fresh signature (and its timestamp) wins over any stored header of the same name.
  return { body: rawBody, headers: { ...stored.headers, ...signed.headers }, signedAs: provider! };
}

/** The provider's documentOf, when it has one (a name the stream gives that this CLI does not know: none). */
function documentReader(
  name: ProviderName,
  options: Readonly<Record<string, unknown>> = {},
): PushProvider['documentOf'] | undefined {
  const module = Object.hasOwn(providerModules, name) ? providerModules[name] : undefined;
  if (!module) return undefined;
  const parsed = module.options.safeParse(options);
  return parsed.success ? module.create(parsed.data).documentOf : undefined;
}

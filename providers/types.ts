/** What a provider sees of an inbound request: raw bytes and lower-cased headers, nothing parsed. */
export interface InboundRequest {
  readonly rawBody: Buffer;
  /** Header names are lower-case. A repeated header arrives joined with ", " (as fetch does). */
  readonly headers: Readonly<Record<string, string>>;
  /** The part of the path after the source's route, without a leading slash ("orders/create"). */
  readonly subPath: string;
}

/** How the gateway names and deduplicates a verified event. */
export interface EventIdentity {
  /** Dedupe key, unique within the source; scoped by account where ids are only unique per account. */
  readonly webhookId: string;
  readonly topic: string;
  readonly account?: string;
}

/**
 * A push provider: a small declaration of what differs between providers. Verification and
 * identification both throw a GatewayError that names the problem (401 for authenticity, 400 for shape).
 */
export interface PushProvider {
  readonly name: string;
  /** Proves the request came from the holder of one of `secrets`. Never called with an empty list. */
  verify(request: InboundRequest, secrets: readonly string[]): void;
  /** Called only after verify succeeded. */
  identify(request: InboundRequest): EventIdentity;
  /** Headers worth storing with the event (never signatures or credentials). */
  readonly keptHeaders: readonly string[];
}

import type { z } from 'zod';

/** What a provider sees of an inbound request: raw bytes and lower-cased headers, nothing parsed. */
export interface InboundRequest {
  readonly rawBody: Buffer;
  /** Header names are lower-case. A repeated header arrives joined with ", " (as fetch does). */
  readonly headers: Readonly<Record<string, string>>;
  /** The request path as received, without the query string ("/api/webhooks/opsiq"). */
  readonly path: string;
  /** The raw query string without the leading "?" ("" when there is none). */
  readonly query: string;
  /** The part of the path after the source's route, without a leading slash ("orders/create"). */
  readonly subPath: string;
}

/** What the gateway knows of a request before its body is read. */
export type RequestHead = Omit<InboundRequest, 'rawBody'>;

/** What a successful verification established, for identification and storage. */
export interface Verification {
  /** The exact bytes the credential covers (the body for plain credentials); hashed when there is no id. */
  readonly signed: Buffer;
  /** A nonce that must not be accepted twice; recorded in the same transaction as the event. */
  readonly nonce?: { readonly header: string; readonly value: string };
}

/** How the gateway names and deduplicates a verified event. */
export interface EventIdentity {
  /** Dedupe key, unique within the source; scoped by account where ids are only unique per account. */
  readonly webhookId: string;
  readonly topic: string;
  readonly account?: string;
}

/**
 * Where `identify` reads each identity field from the JSON body: every path (as steps, "data.id"
 * → ["data", "id"]) it may read the field from. A field read only from headers or computed is left
 * out. The ops API hides a field read from a masked path (src/ops/source-mask.ts).
 */
export interface IdentityPaths {
  readonly webhookId?: readonly (readonly string[])[];
  readonly topic?: readonly (readonly string[])[];
  readonly account?: readonly (readonly string[])[];
}

/**
 * A push provider configured for one source: verification and identification both throw a
 * GatewayError that names the problem (401 for authenticity, 400 for shape).
 */
export interface PushProvider {
  readonly name: string;
  /**
   * Proves the request came from the holder of one of `secrets` (or, for a provider that
   * `verifiesWithoutSecrets`, from the holder of a key it fetches itself). Called with an empty
   * list only when `verifiesWithoutSecrets` is set.
   */
  verify(request: InboundRequest, secrets: readonly string[]): Verification | Promise<Verification>;
  /**
   * What the head alone decides, checked before the body is read so a request refused here never
   * has its body buffered: a credential wholly in the headers or query string (basic-auth,
   * api-key, Keycloak's Basic and bearer secret); for a body-bound signature (an HMAC, a JWT with
   * the body's hash), only its headers — present, within the length bound, well-formed, a signed
   * timestamp within the tolerance. Throws exactly what verify throws for the same request (share
   * the code); verify still checks everything once the body is read.
   */
  verifyHead?(request: RequestHead, secrets: readonly string[]): void;
  /** Set when this source may verify with no configured secret (Keycloak's realm-signed JWTs). */
  readonly verifiesWithoutSecrets?: boolean;
  /**
   * How long a captured request keeps verifying: the signed timestamp's tolerance. Unset when
   * nothing signed expires (no signed timestamp), so nonces of such a source are never forgotten.
   */
  readonly replayWindowSeconds?: number;
  /**
   * What the head alone decides of the identity, checked right after verifyHead (so before the
   * body) when set: throws what identify throws for a missing or over-long identity header, and
   * returns the identity fields the head decides, each the stored value or the start of it (GitHub's
   * topic before its `.action`), for the length limits. A field is returned only if nothing the
   * body decides is checked before it (identify's own errors, then webhookId, topic, account), so
   * no request's answer changes; share the header reading with identify.
   */
  identifyHead?(request: RequestHead): Partial<EventIdentity>;
  /** Called only after verify succeeded. */
  identify(request: InboundRequest, verification: Verification): EventIdentity;
  /** The body paths `identify` reads; unset: not declared, so a masked source hides every field. */
  readonly identityPaths?: IdentityPaths;
  /**
   * The event's JSON document, when the stored body wraps it (GitHub's `form` content type sends it
   * as the form parameter `payload`): what the ordering key, destination filters, payload schemas,
   * transformations, the envelope's `data` and handlers read. Unset, or undefined returned: the
   * body. The stored bytes and the signature stay the body's. `headers` are the stored ones.
   */
  documentOf?(body: Buffer, headers: Readonly<Record<string, string>>): Buffer | undefined;
  /** Headers worth storing with the event (never signatures or credentials). */
  readonly keptHeaders: readonly string[];
  /**
   * The largest body the sender publishes that it sends, when that is above what a gateway takes by
   * default and the sender never retries a refusal (GitHub: 25 MB). A source of the provider without
   * its own `max_body_bytes` takes bodies up to this (within INGEST_BODY_BUDGET_BYTES) rather than
   * MAX_BODY_BYTES, so a large delivery is not answered a final 413 (src/ingest/source-body-limit.ts).
   */
  readonly senderMaxBodyBytes?: number;
  /** Query parameters verify reads a credential from (api-key's `query`): never stored with the event. */
  readonly credentialQueryParams?: readonly string[];
}

/**
 * A provider module: the per-source options it accepts (config-file keys beyond name, provider and
 * secrets) and a factory that turns validated options into a PushProvider.
 */
export interface ProviderModule {
  readonly name: string;
  /** A strict zod object of the provider's options; every key has a default or is optional unless required. */
  readonly options: z.ZodObject;
  /** Sources of this provider are also served at /api/webhooks/<name>/<anything> (the rest is subPath). */
  readonly subPaths: boolean;
  /** Says what is wrong with the form of one secret, at start-up; never echoes the secret. */
  checkSecret(secret: string, options: Record<string, unknown>): string | undefined;
  /** Whether a source with these options may list no secret at all (verification needs none). */
  secretsOptional(options: Record<string, unknown>): boolean;
  /** `options` must be the output of parsing with `this.options`. */
  create(options: Record<string, unknown>): PushProvider;
}

/** Declares a provider module with typed options (erased in the registry). */
export function defineProvider<S extends z.ZodObject>(spec: {
  name: string;
  options: S;
  subPaths?: boolean;
  checkSecret?: (secret: string, options: z.output<S>) => string | undefined;
  secretsOptional?: (options: z.output<S>) => boolean;
  create: (options: z.output<S>) => PushProvider;
}): ProviderModule {
  return {
    name: spec.name,
    options: spec.options,
    subPaths: spec.subPaths ?? false,
    checkSecret: (secret, options) => spec.checkSecret?.(secret, options as z.output<S>),
    secretsOptional: (options) => spec.secretsOptional?.(options as z.output<S>) ?? false,
    create: (options) => spec.create(options as z.output<S>),
  };
}

// The API's views of sources and destinations, with no runtime imports: the UI (src/ui/app) imports these types too, so
// the server and the page cannot drift apart.

/** A secret as the API shows it: never the value, only what tells secrets apart and how old they are. */
export interface SecretView {
  /** null for file/env secrets (they are changed in the file, not through the API). */
  id: number | null;
  fingerprint: string;
  created_at: string | null;
  age_seconds: number | null;
  not_after: string | null;
  expired: boolean;
}

export interface SourceView {
  name: string;
  provider: string;
  managed_by: 'file' | 'database';
  /** Database sources: 'apply' when `webhook-gateway apply` created it (and deletes it when the file drops it). */
  origin: 'api' | 'apply' | null;
  paused: boolean;
  /** Stored events of a paused source waiting to be processed. */
  on_hold: number;
  version: number | null;
  /** Where the provider sends webhooks (path; the UI and CLI prefix the gateway's public origin). */
  path: string;
  /** The source's config-file entry minus name, provider and secrets (database sources). */
  spec: Record<string, unknown> | null;
  /** Per-key ordering (docs/ordering.md), file and database sources alike; null: unordered. */
  ordering: {
    key: { jsonPath: string } | { header: string };
    onFailure: 'continue' | 'block';
    missingKey: 'own_lane' | 'no_key_lane';
  } | null;
  /** Run by the worker before routing (docs/destinations.md#a-sources-transformation); null: none. */
  transform: { language: 'jsonata' | 'javascript'; code: string } | null;
  /** `version` at the last change of `transform`, as each attempt records it; file sources: 0 with a transform, else null. */
  transform_version: number | null;
  /** Its own ingest body limit in bytes (`max_body_bytes`), file and database sources alike; null: MAX_BODY_BYTES. */
  max_body_bytes: number | null;
  secrets: SecretView[];
  created_at: string | null;
  updated_at: string | null;
}

/** A destination as the API, CLI, UI and audit log see it: never its secret or a header's value. */
export interface DestinationView {
  name: string;
  /** "file": declared inline by GATEWAY_CONFIG sources, read-only here; "database": managed at runtime. */
  managed_by: 'file' | 'database';
  origin: 'api' | 'apply' | null;
  url: string;
  timeout_ms: number;
  /** Names only: header values may be credentials. */
  header_names: string[];
  /** Tells whether the header values changed (apply -f compares it) without revealing them; null when unreadable here. */
  headers_fingerprint: string | null;
  sources: string[];
  /** Only matching events are posted (a Filter of src/routing/filter.ts, docs/destinations.md#filters); null: every event. */
  filter: { readonly [key: string]: unknown } | null;
  /** Computes the body posted (docs/destinations.md#transformations); null: the canonical envelope. */
  transform: { language: 'jsonata' | 'javascript'; code: string } | null;
  /** `version` at the last change of filter, transform or sources; each delivery records the one it used. Null: file destinations. */
  rule_version: number | null;
  paused: boolean;
  /** Why the gateway paused it itself ("gone: HTTP 410"); null for an operator's pause or none. */
  paused_reason: string | null;
  /** Deliveries beyond it wait (docs/destinations.md#protecting-destinations); null: none. */
  rate_limit: { per_second?: number; per_minute?: number } | null;
  /** The circuit breaker's settings, defaults filled in. */
  circuit: { failure_threshold: number; cooldown_seconds: number };
  /** The circuit breaker's state, shared by every instance. */
  circuit_state: { state: 'closed' | 'open' | 'half_open'; consecutive_failures: number; opened_at: string | null };
  version: number | null;
  /** 12 hex digits of sha256 of the signing secret; the secret itself is shown once, at creation or rotation. */
  fingerprint: string;
  fingerprint_created_at: string | null;
  /** Why deliveries fail before any request (its secret cannot be decrypted here). */
  problem: string | null;
  health: {
    delivered: number;
    failed: number;
    /** Events waiting for this destination to be resumed. */
    held: number;
    last_deliveries: {
      event_id: number;
      attempt: number;
      at: string;
      outcome: string;
      http_status: number | null;
      error: string | null;
      rule_version: number | null;
    }[];
  };
  created_at: string | null;
  updated_at: string | null;
}

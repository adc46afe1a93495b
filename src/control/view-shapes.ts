// The API's views of sources, with no imports: the UI (src/ui/app) imports these types too, so
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
  secrets: SecretView[];
  created_at: string | null;
  updated_at: string | null;
}

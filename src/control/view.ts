import { fingerprint } from './crypto';
import type { RegisteredSource } from './registry';

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

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** What the API, CLI and audit log see of a source; it holds no secret by construction. */
export function sourceView(source: RegisteredSource, onHold = 0, now = Date.now()): SourceView {
  const row = source.row;
  const secrets: SecretView[] = row
    ? (source.secretRows ?? []).map((s) => ({
        id: s.id,
        fingerprint: s.fingerprint,
        created_at: iso(s.createdAt),
        age_seconds: Math.max(0, Math.floor((now - s.createdAt.getTime()) / 1000)),
        not_after: iso(s.notAfter),
        expired: s.notAfter !== null && s.notAfter.getTime() <= now,
      }))
    : source.secrets.map((s) => ({
        id: null,
        fingerprint: fingerprint(s.value),
        created_at: null,
        age_seconds: null,
        not_after: iso(s.notAfter),
        expired: s.notAfter !== undefined && s.notAfter.getTime() <= now,
      }));
  return {
    name: source.name,
    provider: row?.provider ?? source.provider.name,
    managed_by: source.managedBy,
    origin: row?.origin ?? null,
    paused: source.paused,
    on_hold: onHold,
    version: row?.version ?? null,
    path: `/api/webhooks/${source.name}`,
    spec: row?.spec ?? null,
    secrets,
    created_at: iso(row?.createdAt),
    updated_at: iso(row?.updatedAt),
  };
}

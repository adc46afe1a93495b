import { fingerprint } from './crypto';
import { FILE_TRANSFORM_VERSION } from '../transform/types';
import type { RegisteredSource } from './registry';

export type { SecretView, SourceView } from './view-shapes';
import type { SecretView, SourceView } from './view-shapes';

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
    ordering: source.ordering ?? null,
    transform: source.transform ?? null,
    transform_version: row ? row.transformVersion : source.transform ? FILE_TRANSFORM_VERSION : null,
    max_body_bytes: source.maxBodyBytes ?? null,
    secrets,
    created_at: iso(row?.createdAt),
    updated_at: iso(row?.updatedAt),
  };
}

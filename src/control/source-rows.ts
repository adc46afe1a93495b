import type { SealedSecret } from './crypto';

// A source and its secrets as the control plane's tables hold them (migrations/0009_control_plane.sql),
// converted from the database's values (src/control/store.ts runs the statements).

export interface SourceRow {
  name: string;
  provider: string;
  /** The config-file entry minus name and secrets. */
  spec: Record<string, unknown>;
  paused: boolean;
  origin: 'api' | 'apply';
  version: number;
  /** `version` at the last change of spec.transform; each attempt records the one it ran. */
  transformVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface SecretRow extends SealedSecret {
  id: number;
  source: string;
  fingerprint: string;
  createdAt: Date;
  notAfter: Date | null;
}

/** A write guarded by If-Match: done, no such source, or someone changed it since `version`. */
export type Guarded<T> = { ok: true; value: T } | { ok: false; reason: 'missing' | 'stale'; version?: number };

export type Raw = Record<string, unknown>;
const toDate = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
const toBuffer = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));

export const sourceRow = (r: Raw): SourceRow => ({
  name: String(r.name),
  provider: String(r.provider),
  spec: (typeof r.spec === 'string' ? JSON.parse(r.spec) : r.spec) as Record<string, unknown>,
  paused: r.paused === true,
  origin: r.origin === 'apply' ? 'apply' : 'api',
  version: Number(r.version),
  transformVersion: Number(r.transform_version ?? r.version),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

export const secretRow = (r: Raw): SecretRow => ({
  id: Number(r.id),
  source: String(r.source),
  keyId: String(r.key_id),
  iv: toBuffer(r.iv),
  tag: toBuffer(r.tag),
  ciphertext: toBuffer(r.ciphertext),
  fingerprint: String(r.fingerprint),
  createdAt: toDate(r.created_at),
  notAfter: r.not_after == null ? null : toDate(r.not_after),
});

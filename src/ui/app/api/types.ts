// The ops API's answers as the UI uses them (src/ops/schemas.ts is the source of truth).

export type { SeriesWindow, Stats, StatsSeries } from '../../../store/stats-shapes';

export type EventStatus = 'received' | 'processing' | 'completed' | 'failed';
export const EVENT_STATUSES: readonly EventStatus[] = ['received', 'processing', 'completed', 'failed'];

export interface EventSummary {
  id: number;
  source: string;
  webhook_id: string;
  account: string | null;
  topic: string;
  status: EventStatus;
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  locked_by: string | null;
  locked_at: string | null;
  last_error: string | null;
  received_at: string;
  processed_at: string | null;
  size_bytes: number;
  /** Per-key ordering (docs/ordering.md). */
  orderingKey?: string | null;
  blockedBy?: number | null;
}

export interface AttemptLogEntry {
  attempt: number;
  worker: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  outcome: string;
  error: string | null;
  /** The source's transform_version this attempt ran; null: none ran. */
  transform_version: number | null;
}

export interface DeliveryEntry {
  destination: string;
  attempt: number;
  started_at: string;
  duration_ms: number;
  outcome: string;
  http_status: number | null;
  error: string | null;
  /** The destination's rule version (filter, transform, sources) the delivery used; null: file destination. */
  rule_version: number | null;
}

export interface EventDetail extends EventSummary {
  headers: Record<string, string>;
  /** Path and query string it was received at (credential-like parameters left out); null before 0018. */
  request_target?: string | null;
  /** The parsed body, its numbers as lossless-json LosslessNumber; null when the body is not JSON. */
  payload: unknown;
  /** Why `payload` is null (not UTF-8, not JSON, nested too deeply…), from gateways that say so. */
  payload_unavailable?: { reason: string; message: string } | null;
  body: { encoding: 'utf8' | 'base64'; data: string; masked: boolean };
  attempt_log: AttemptLogEntry[];
  deliveries: DeliveryEntry[];
  /** Deliveries with this event's id but other bytes (absent from gateways before conflicts existed). */
  conflicts?: { count: number; href: string };
}

/** A delivery that repeated a stored event's id with other bytes (GET /api/conflicts). */
export interface ConflictSummary {
  id: number;
  event_id: number;
  source: string;
  webhook_id: string;
  received_at: string;
  content_sha256: string;
  size_bytes: number;
}

export interface ConflictPage {
  conflicts: ConflictSummary[];
  next_cursor: string | null;
}

/** Sources a filter left out: below admin, those reading the filtered topic or webhook id from a masked path. */
export interface NotSearched {
  sources: string[];
  reason: 'masked_identity';
}

export interface EventPage {
  events: EventSummary[];
  next_cursor: string | null;
  not_searched?: NotSearched;
}

/** The filters the list and bulk replay share (GET /api/events, POST /api/events/replay). */
export interface EventFilter {
  source?: string;
  status?: EventStatus;
  topic?: string;
  q?: string;
  since?: string;
  until?: string;
}

export interface BulkReplayResult {
  dry_run: boolean;
  matched: number;
  replayed: number;
  not_searched?: NotSearched;
}

/** What the live stream sends for each change: the event's summary. */
export type LiveEvent = EventSummary;

export const ROLES = ['viewer', 'operator', 'admin', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

/** An ops API token as listed (GET /api/tokens): never the token itself. */
export interface TokenView {
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** POST /api/tokens answers the token once. */
export interface CreatedToken extends TokenView {
  token: string;
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  since?: string;
  until?: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  client_address: string | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}
/** One rejected request (GET /api/requests); `aggregate` rows stand for `count` requests past the minute's cap. */
export interface RejectedRequest {
  id: number;
  received_at: string;
  source: string;
  cause: string;
  status: number;
  client: string | null;
  user_agent: string | null;
  body_bytes: number | null;
  body_sha256: string | null;
  headers: Record<string, string>;
  count: number;
  aggregate: boolean;
}

export interface RejectedRequestPage {
  requests: RejectedRequest[];
  next_cursor: string | null;
}

export interface Alert {
  id: number;
  rule: string;
  kind: string;
  condition: string;
  status: 'open' | 'resolved';
  summary: string;
  opened_at: string;
  resolved_at: string | null;
  opened_notified_at: string | null;
  resolved_notified_at: string | null;
  notify_error: string | null;
}

export interface AlertRule {
  id: number;
  name: string;
  kind: string;
  params: Record<string, unknown>;
  channels: string[];
  enabled: boolean;
  /** Also the ETag: sent back in If-Match, so a change made meanwhile is refused (412), not lost. */
  version: number;
}

export interface AlertChannel {
  id: number;
  name: string;
  type: AlertChannelType;
  target: string;
  has_secret: boolean;
  /** First 12 hex digits of the SHA-256 of the signing secret or Slack URL; never the secret. */
  secret_fingerprint: string | null;
  /** First 12 hex digits of the SHA-256 of the URL (its path, maybe a credential, is never shown). */
  url_fingerprint: string | null;
  /** Also the ETag: sent back in If-Match, so a change made meanwhile is refused (412), not lost. */
  version: number;
}

export type AlertChannelType = 'webhook' | 'slack' | 'email';

/** A rule as POST/PUT /api/alerts/rules take it. */
export type AlertRuleInput = Omit<AlertRule, 'id' | 'version'>;

/** A channel as POST/PUT /api/alerts/channels take it; secret (webhook) and url (slack) are write-only. */
export interface AlertChannelInput {
  name: string;
  type: AlertChannelType;
  url?: string;
  secret?: string;
  to?: string[];
}

export type { DestinationView } from '../../../control/view-shapes';
import type { DestinationView } from '../../../control/view-shapes';

/** POST /api/destinations answers a generated signing secret once. */
export interface CreatedDestination extends DestinationView {
  secret?: string;
}

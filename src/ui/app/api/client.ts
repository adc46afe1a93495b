import { parseApiJson, stringifyExact } from './json';
import type {
  Alert,
  AlertChannel,
  AlertChannelInput,
  AlertRule,
  AlertRuleInput,
  AuditFilter,
  AuditPage,
  BulkReplayResult,
  ConflictPage,
  CreatedDestination,
  CreatedToken,
  DestinationView,
  EventDetail,
  EventFilter,
  EventPage,
  RejectedRequest,
  RejectedRequestPage,
  Role,
  SeriesWindow,
  Stats,
  StatsSeries,
  TokenView,
} from './types';

/** An ops API error: the HTTP status (0 when the gateway could not be reached) and its code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Extra headers (If-Match, say). */
  headers?: Record<string, string>;
}

export interface ApiClientOptions {
  token: string;
  /** Called when the gateway refuses the token (401): the session ends. */
  onUnauthorized?: () => void;
}

/** Query string from a filter object, leaving out empty values. */
export function queryString(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * If-Match from the version the page read, so a change made meanwhile is refused (412), not
 * overwritten. None when the item has no version (a file source, an older gateway): as before.
 */
export const ifMatch = (read: { version?: number | null } | undefined) =>
  read?.version === undefined || read.version === null ? undefined : { 'if-match': `"${read.version}"` };

/** 412 version_mismatch: the item changed since the page read it (If-Match). */
export const isVersionMismatch = (err: unknown): boolean => err instanceof ApiError && err.status === 412;

/** What a page says after a 412, once it has reloaded the item: `what` is `Source "acme"`. */
export const staleMessage = (what: string): string =>
  `${what} was changed by someone else since this page read it — reloaded; review and try again.`;

/** The typed ops API client: every answer is parsed with exact numbers (see json.ts). */
export function createApiClient({ token, onUnauthorized }: ApiClientOptions) {
  async function request<T>(
    path: string,
    { method = 'GET', body, signal, headers: extra }: RequestOptions = {},
  ): Promise<T> {
    const headers: Record<string, string> = { ...extra, authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        signal,
        cache: 'no-store',
        // A filter's exact numbers (LosslessNumber) are sent with their digits.
        body: body === undefined ? undefined : stringifyExact(body),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiError(0, 'unreachable', 'The gateway cannot be reached. Is it running?');
    }
    const text = await response.text();
    if (response.ok) return (response.status === 204 ? null : parseApiJson(text)) as T;
    let error = { code: `http_${response.status}`, message: `The gateway answered ${response.status}.` };
    try {
      error = (parseApiJson(text) as { error?: typeof error }).error ?? error;
    } catch {
      // not JSON (a proxy's error page): keep the generic message
    }
    if (response.status === 401) onUnauthorized?.();
    throw new ApiError(response.status, error.code, error.message);
  }

  return {
    token,
    request,
    stats: (signal?: AbortSignal) => request<Stats>('/api/stats', { signal }),
    statsSeries: (query: { window: SeriesWindow; source?: string }, signal?: AbortSignal) =>
      request<StatsSeries>(`/api/stats/series${queryString({ ...query })}`, { signal }),
    events: (query: EventFilter & { cursor?: string; limit?: number }, signal?: AbortSignal) =>
      request<EventPage>(`/api/events${queryString({ ...query })}`, { signal }),
    event: (id: number, signal?: AbortSignal) => request<EventDetail>(`/api/events/${id}`, { signal }),
    conflicts: (eventId: number, signal?: AbortSignal) =>
      request<ConflictPage>(`/api/conflicts${queryString({ event_id: eventId, limit: 100 })}`, { signal }),
    replay: (id: number) => request<unknown>(`/api/events/${id}/replay`, { method: 'POST' }),
    /** Takes an ordered event out of its key's lane (docs/ordering.md); 409 says why not. */
    skip: (id: number) => request<unknown>(`/api/events/${id}/skip`, { method: 'POST' }),
    bulkReplay: (filter: EventFilter, dryRun: boolean) =>
      request<BulkReplayResult>('/api/events/replay', { method: 'POST', body: { filter, dry_run: dryRun } }),
    tokens: (signal?: AbortSignal) => request<{ tokens: TokenView[] }>('/api/tokens', { signal }),
    createToken: (body: { name: string; role: Role; expires_in?: string }) =>
      request<CreatedToken>('/api/tokens', { method: 'POST', body }),
    revokeToken: (name: string) => request<TokenView>(`/api/tokens/${encodeURIComponent(name)}`, { method: 'DELETE' }),
    audit: (query: AuditFilter & { cursor?: string; limit?: number }, signal?: AbortSignal) =>
      request<AuditPage>(`/api/audit${queryString({ ...query })}`, { signal }),
    rejectedRequests: (
      query: { source?: string; cause?: string; cursor?: string; limit?: number },
      signal?: AbortSignal,
    ) => request<RejectedRequestPage>(`/api/requests${queryString({ ...query })}`, { signal }),
    lastRejections: (signal?: AbortSignal) =>
      request<{ sources: Record<string, RejectedRequest | null> }>('/api/requests/last', { signal }),
    alerts: (query: { status?: 'open' | 'resolved'; limit?: number }, signal?: AbortSignal) =>
      request<{ alerts: Alert[]; next_cursor: string | null }>(`/api/alerts${queryString({ ...query })}`, { signal }),
    destinations: (signal?: AbortSignal) =>
      request<{ destinations: DestinationView[] }>('/api/destinations', { signal }),
    createDestination: (body: { name: string; url: string; sources: string[]; headers?: Record<string, string> }) =>
      request<CreatedDestination>('/api/destinations', { method: 'POST', body }),
    /** Pauses or resumes the destination read as `d` (If-Match: its version; 412 if changed since). */
    destinationAction: (d: DestinationView, action: 'pause' | 'resume') =>
      request<DestinationView>(`/api/destinations/${encodeURIComponent(d.name)}/${action}`, {
        method: 'POST',
        headers: ifMatch(d),
      }),
    deleteDestination: (d: DestinationView) =>
      request<unknown>(`/api/destinations/${encodeURIComponent(d.name)}`, { method: 'DELETE', headers: ifMatch(d) }),
    alertRules: (signal?: AbortSignal) => request<{ rules: AlertRule[] }>('/api/alerts/rules', { signal }),
    alertChannels: (signal?: AbortSignal) => request<{ channels: AlertChannel[] }>('/api/alerts/channels', { signal }),
    /** Creates a rule, or replaces the rule read as `current` (If-Match: its version; 412 if changed since). */
    saveAlertRule: (body: AlertRuleInput, current?: AlertRule) =>
      request<AlertRule>(current === undefined ? '/api/alerts/rules' : `/api/alerts/rules/${current.id}`, {
        method: current === undefined ? 'POST' : 'PUT',
        body,
        headers: ifMatch(current),
      }),
    deleteAlertRule: (rule: AlertRule) =>
      request<null>(`/api/alerts/rules/${rule.id}`, { method: 'DELETE', headers: ifMatch(rule) }),
    /**
     * Creates a channel, or replaces the channel read as `current` (a left-out secret or Slack URL
     * is kept; If-Match: its version).
     */
    saveAlertChannel: (body: AlertChannelInput, current?: AlertChannel) =>
      request<AlertChannel>(current === undefined ? '/api/alerts/channels' : `/api/alerts/channels/${current.id}`, {
        method: current === undefined ? 'POST' : 'PUT',
        body,
        headers: ifMatch(current),
      }),
    deleteAlertChannel: (channel: AlertChannel) =>
      request<null>(`/api/alerts/channels/${channel.id}`, { method: 'DELETE', headers: ifMatch(channel) }),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** Checks a token before it is kept: resolves when the gateway accepts it. */
export async function checkToken(token: string): Promise<void> {
  await createApiClient({ token }).stats();
}

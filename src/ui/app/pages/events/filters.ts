import { EVENT_STATUSES, type EventFilter, type EventStatus, type LiveEvent } from '../../api/types';
import type { FieldErrors } from '../../components/Form';

// The events list's address is its state: /ui/events?source=&status=&topic=&q=&since=&until=&cursor=&limit=.

export const FILTER_NAMES = ['source', 'status', 'topic', 'q', 'since', 'until'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** The API's longest filter texts (src/ops/event-schemas.ts). */
const MAX_TEXT: Record<'source' | 'topic' | 'q', number> = { source: 200, topic: 256, q: 200 };
const MAX_SEARCH = MAX_TEXT.q;
/** An ISO 8601 time with an offset, as the API takes it (and as the form writes it). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export interface ListQuery {
  filter: EventFilter;
  /**
   * Filters in the address that are not valid, with what to write instead: the list is not loaded
   * (a filter left out would show more than was asked for, as if it had been applied).
   */
  invalid: FieldErrors<FilterName>;
  cursor?: string;
  limit: number;
  /** Whether ?limit= was in the address (kept when filters change). */
  limitGiven: boolean;
}

/** Why `value` is not a valid `name` filter, or undefined when it is. */
function invalidFilter(name: FilterName, value: string): string | undefined {
  const quoted = `“${value.length > 40 ? `${value.slice(0, 40)}…` : value}”`;
  if (name === 'status')
    return (EVENT_STATUSES as readonly string[]).includes(value)
      ? undefined
      : `${quoted} is not a status: use ${EVENT_STATUSES.join(', ')} (or any).`;
  if (name === 'since' || name === 'until')
    return ISO_TIME.test(value) && !Number.isNaN(Date.parse(value))
      ? undefined
      : `${quoted} is not a time: use ISO 8601 with a zone, e.g. 2026-11-23T10:00:00Z.`;
  if (value.length > MAX_TEXT[name]) return `At most ${MAX_TEXT[name]} characters (this is ${value.length}).`;
  return value.includes('\u0000') ? 'Must not contain a NUL character.' : undefined;
}

/** Reads the list's query from the address; a filter that is not valid is named in `invalid`. */
export function readQuery(query: Record<string, string>): ListQuery {
  const filter: EventFilter = {};
  const invalid: FieldErrors<FilterName> = {};
  for (const name of FILTER_NAMES) {
    const value = query[name]?.trim();
    if (!value) continue;
    const problem = invalidFilter(name, value);
    if (problem) invalid[name] = problem;
    else if (name === 'status') filter.status = value as EventStatus;
    else filter[name] = value;
  }
  if (filter.since && filter.until && Date.parse(filter.since) >= Date.parse(filter.until))
    invalid.until = 'Must be after “Received from”.';
  const limit = Math.min(Math.max(Number.parseInt(query.limit ?? '', 10) || 50, 1), 500);
  return { filter, invalid, cursor: query.cursor || undefined, limit, limitGiven: Boolean(query.limit) };
}

/** The list's address with the filters of `query` as they were written (valid or not). */
export function rawListHref(query: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (query[name]) params.set(name, query[name]);
  return `/ui/events${params.size ? `?${params}` : ''}`;
}

/** The address of a list view. */
export function listHref(filter: EventFilter, extra: { cursor?: string; limit?: number } = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filter[name]) params.set(name, filter[name]!);
  if (extra.cursor) params.set('cursor', extra.cursor);
  if (extra.limit) params.set('limit', String(extra.limit));
  return `/ui/events${params.size ? `?${params}` : ''}`;
}

export const hasFilter = (filter: EventFilter) => FILTER_NAMES.some((name) => Boolean(filter[name]));

/** A datetime-local input's value (local time, minutes) from an ISO instant, and back. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Checks a filter form's values; returns the filter or the message for each wrong field. */
export function validateFilter(values: Record<FilterName, string>): {
  filter: EventFilter;
  errors: FieldErrors<FilterName>;
} {
  const errors: FieldErrors<FilterName> = {};
  const filter: EventFilter = {};
  if (values.source) filter.source = values.source;
  if (values.topic) filter.topic = values.topic;
  if (values.status) filter.status = values.status as EventStatus;
  if (values.q.length > MAX_SEARCH) errors.q = `At most ${MAX_SEARCH} characters (this is ${values.q.length}).`;
  else if (values.q) filter.q = values.q;
  for (const name of ['since', 'until'] as const) {
    if (!values[name]) continue;
    const iso = fromLocalInput(values[name]);
    if (iso) filter[name] = iso;
    else errors[name] = 'Not a date and time.';
  }
  if (filter.since && filter.until && filter.since >= filter.until) errors.until = 'Must be after “Received from”.';
  return { filter, errors };
}

/**
 * Whether a streamed event that is not on the page belongs on it: only the first page, matching
 * the filters; without a status filter only new arrivals count (not changes of older events).
 */
export function belongsOnFirstPage(query: ListQuery, event: LiveEvent): boolean {
  const { filter } = query;
  if (query.cursor || filter.q || filter.until) return false;
  if (filter.source && event.source !== filter.source) return false;
  if (filter.topic && event.topic !== filter.topic) return false;
  if (filter.since && event.received_at < filter.since) return false;
  return filter.status ? event.status === filter.status : event.status === 'received' && event.attempts === 0;
}

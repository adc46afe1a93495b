import { ifMatch, type ApiClient } from './client';
import type { DestinationView } from './types';
import type { Json } from '../pages/destinations/rules/rule-model';

/** A destination's transformation (docs/destinations.md; absent from gateways without transformations). */
export interface Transform {
  language: 'jsonata' | 'javascript';
  code: string;
}

/** The destination as the rule page reads it: the view, plus `transform` where the gateway has it. */
export type RuleDestination = DestinationView & { transform?: Transform | null; rule_version?: number | null };

/** What the rule page saves: exactly the destination's sources, filter and transform. */
export interface RulePatch {
  sources: string[];
  filter: Json | null;
  /** Left out for gateways whose destinations have no transform (the key would be refused). */
  transform?: Transform | null;
}

export interface PreviewInput {
  event_id?: number;
  payload?: Json;
  topic?: string;
  source?: string;
  path?: string;
  query?: string;
  draft: { filter: Json | null; sources: string[]; transform?: Transform | null };
}

export interface PreviewAnswer {
  matched: boolean;
  /** false: the event's source is not one of the (draft) sources. */
  routed?: boolean;
  body?: string;
  headers?: Record<string, string>;
  /** The event's source transformation ran first (docs/destinations.md#a-sources-transformation); null: none. */
  source_transform?: { source: string; transform_version: number } | null;
  /** stage source: the source's transformation failed, the event would fail with no delivery. */
  error?: { code: string; message: string; position?: unknown; stage?: 'source' | 'destination' };
}

const at = (name: string) => `/api/destinations/${encodeURIComponent(name)}`;

/** The destination routes the rule builder uses, on the session's API client. */
export function rulesApi({ request }: ApiClient) {
  return {
    destination: (name: string, signal?: AbortSignal) => request<RuleDestination>(at(name), { signal }),
    /** If-Match from the version read: a change made meanwhile answers 412. */
    save: (d: RuleDestination, patch: RulePatch) =>
      request<RuleDestination>(at(d.name), {
        method: 'PATCH',
        body: patch,
        headers: ifMatch(d),
      }),
    preview: (name: string, input: PreviewInput, signal?: AbortSignal) =>
      request<PreviewAnswer>(`${at(name)}/preview`, { method: 'POST', body: input, signal }),
  };
}

export type RulesApi = ReturnType<typeof rulesApi>;

import { ifMatch, type ApiClient } from './client';
import type { Role } from './types';

export type { SecretView, SourceView } from '../../../control/view-shapes';
import type { SourceView } from '../../../control/view-shapes';

/** A create or rotate answer: the source, and the secret when the gateway made it (shown once). */
export type WithSecret = SourceView & { secret?: string };

/** POST /api/sources/{name}/test-event: what ingest answered the signed sample. */
export interface TestEventAnswer {
  status: 'accepted' | 'duplicate' | 'conflict' | 'rejected';
  event_id: number | null;
  topic: string | null;
  ingest_status: number;
  error?: { code: string; message: string };
}

/** The providers a source may name (providers/index.ts). */
export const PROVIDERS = [
  'shopify',
  'stripe',
  'github',
  'easypost',
  'keycloak',
  'standard-webhooks',
  'svix',
  'generic-hmac',
  'basic-auth',
  'api-key',
] as const;

const at = (name: string) => `/api/sources/${encodeURIComponent(name)}`;
/**
 * The control plane's source routes, on the session's API client. Every change sends If-Match with
 * the version of the source as the page read it (`s`): one changed meanwhile answers 412.
 */
export function sourcesApi({ request }: ApiClient) {
  return {
    whoami: (signal?: AbortSignal) => request<{ token_name: string; role: Role }>('/api/whoami', { signal }),
    list: (signal?: AbortSignal) => request<{ sources: SourceView[] }>('/api/sources', { signal }),
    create: (entry: Record<string, unknown>) => request<WithSecret>('/api/sources', { method: 'POST', body: entry }),
    update: (s: SourceView, patch: Record<string, unknown>) =>
      request<SourceView>(at(s.name), { method: 'PATCH', body: patch, headers: ifMatch(s) }),
    remove: (s: SourceView) => request<{ deleted: string }>(at(s.name), { method: 'DELETE', headers: ifMatch(s) }),
    rotate: (s: SourceView, overlapSeconds: number) =>
      request<WithSecret>(`${at(s.name)}/rotate-secret`, {
        method: 'POST',
        body: { overlap_seconds: overlapSeconds },
        headers: ifMatch(s),
      }),
    revoke: (s: SourceView, id: number) =>
      request<SourceView>(`${at(s.name)}/secrets/${id}`, { method: 'DELETE', headers: ifMatch(s) }),
    setPaused: (s: SourceView, paused: boolean) =>
      request<SourceView>(`${at(s.name)}/${paused ? 'pause' : 'resume'}`, { method: 'POST', headers: ifMatch(s) }),
    testEvent: (s: SourceView, topic?: string) =>
      request<TestEventAnswer>(`${at(s.name)}/test-event`, { method: 'POST', body: topic ? { topic } : {} }),
  };
}

export type SourcesApi = ReturnType<typeof sourcesApi>;

import type { z } from '@hono/zod-openapi';
import { badRequest } from '../errors';
import type { EventMatch } from '../store/events';
import type { Role } from './auth';
import {
  filterAdviceFor,
  maskedSourcesNow,
  notSearched,
  sourcesHiddenFromFilter,
  type MaskLookups,
  type NotSearched,
} from './masked-filters';
import type { EventMatchQuery } from './schemas';

/**
 * Query parameters → store match, for a caller of this role. `q` matches raw bytes, so on a source
 * with masked fields it would reveal a masked value one guessed prefix at a time (through the list
 * or a dry-run count): those sources are left out of a text search, and naming one with `q` is
 * refused. Searching the masked rendering instead would mean parsing and masking every candidate
 * row in the gateway. `topic` and `webhook_id` read from a masked path are kept from roles below
 * admin the same way (src/ops/masked-filters.ts). Both only add `source not in (…)` to the query:
 * the indexes that serve it stay the same. `notSearched` names the sources the role's identity
 * filter left out, for the answer to say so.
 */
export function toMatch(
  query: z.infer<typeof EventMatchQuery>,
  role: Role,
  lookups: MaskLookups,
): { match: EventMatch; notSearched: NotSearched | undefined } {
  const maskedSources = maskedSourcesNow(lookups.maskedSources);
  if (query.q !== undefined && query.source !== undefined && maskedSources.includes(query.source)) {
    throw badRequest(
      'search_not_allowed',
      `Source ${query.source} masks payload fields, so its payloads cannot be searched with q; ${filterAdviceFor(role, query.source, lookups)}`,
    );
  }
  const hidden = sourcesHiddenFromFilter(
    role,
    { source: query.source, topic: query.topic, webhookId: query.webhook_id },
    lookups,
  );
  const unsearched = query.q !== undefined && query.source === undefined ? maskedSources : [];
  const excluded = [...new Set([...unsearched, ...hidden])];
  const match = {
    source: query.source,
    status: query.status,
    topic: query.topic,
    webhookId: query.webhook_id,
    since: query.since ? new Date(query.since) : undefined,
    until: query.until ? new Date(query.until) : undefined,
    contains: query.q,
    excludeSources: excluded.length > 0 ? excluded : undefined,
  };
  return { match, notSearched: notSearched(hidden) };
}

import { eventDocument, type DocumentLookup } from '../routing/document';
import type { ClaimedEvent } from './queue-sql';

/**
 * The claimed event as everything after the claim reads it (schemas, the source's transformation,
 * filters, destination transformations, the envelope, handlers): its body replaced by the event's
 * JSON document when the provider wraps it (a GitHub form hook's `payload=…`), for this attempt
 * only — the stored bytes are never written. Decoded once per attempt; a provider without
 * documentOf, or a body it does not wrap (GitHub's `json` hooks: a look at the content type), costs
 * a lookup.
 */
export function withDocument(event: ClaimedEvent, lookup: DocumentLookup | undefined): ClaimedEvent {
  const document = eventDocument(lookup, event);
  return document === undefined ? event : { ...event, body: document };
}

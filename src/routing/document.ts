import type { PushProvider } from '../../providers';

/** A source's provider's documentOf (providers/types.ts), looked up per use; undefined: its events' JSON is the body. */
export type DocumentLookup = (source: string) => PushProvider['documentOf'];

/**
 * The JSON document a stored event's body carries when its source's provider wraps it (a GitHub
 * form hook's `payload=…`); undefined when the body is the document. Costs a lookup and, for GitHub,
 * a look at the stored content type unless the body is a form.
 */
export function eventDocument(
  lookup: DocumentLookup | undefined,
  event: { source: string; body: Buffer; headers: Readonly<Record<string, string>> },
): Buffer | undefined {
  return lookup?.(event.source)?.(event.body, event.headers);
}

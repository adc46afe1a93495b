import { forbidden } from '../errors';
import type { Role } from './auth';
import type { SourceMask } from './source-mask';

/** How the ops API finds what a source hides (src/ops/source-mask.ts). */
export interface MaskLookups {
  maskFor: (source: string) => SourceMask;
  /** Sources with masked fields; a function when the list changes at runtime. */
  maskedSources?: readonly string[] | (() => readonly string[]);
}

/** The filters that match a value stored beside the body, which may have been read from it. */
export interface IdentityFilter {
  source?: string;
  topic?: string;
  webhookId?: string;
}

/** The sources with masked fields, read now (database sources' masks change at runtime). */
export const maskedSourcesNow = (masked: MaskLookups['maskedSources']): readonly string[] =>
  (typeof masked === 'function' ? masked() : masked) ?? [];

/**
 * The sources whose events this caller's `topic` or `webhook_id` filter must not match. The views
 * show a value read from a masked path as "[masked]" (src/ops/source-mask.ts), but a filter would
 * match the clear value stored beside the body: "is there an event with webhook_id=X?" would
 * answer yes or no for a masked id, one guess at a time (through the list, an export, a bulk
 * replay's dry-run count or the live stream). So, below admin, a filter leaves those sources out,
 * and naming one of them in `source` is refused with 403 `filter_not_allowed` rather than answered
 * with an empty page an operator would read as "never received". Admins are not limited: they can
 * change a source's mask or add a destination that receives the clear payload, so hiding the
 * match from them would protect nothing and take away their lookup.
 */
export function sourcesHiddenFromFilter(role: Role, filter: IdentityFilter, lookups: MaskLookups): string[] {
  if (role === 'admin' || (filter.topic === undefined && filter.webhookId === undefined)) return [];
  // Each filtered field the source reads from a masked path: what it is, and its query parameter.
  const maskedFields = (source: string) => {
    const mask = lookups.maskFor(source);
    return [
      ...(filter.webhookId !== undefined && mask.webhookId ? [{ field: 'webhook id', param: 'webhook_id' }] : []),
      ...(filter.topic !== undefined && mask.topic ? [{ field: 'topic', param: 'topic' }] : []),
    ];
  };
  if (filter.source !== undefined) {
    const masked = maskedFields(filter.source);
    if (masked.length > 0) {
      throw forbidden(
        'filter_not_allowed',
        `Source ${filter.source} reads its ${masked.map((m) => m.field).join(' and ')} from a masked payload path, so ${role === 'operator' ? 'an' : 'a'} ${role} token cannot filter its events by ${masked.map((m) => m.param).join(' or ')}; filter it by status or time, or ask an admin`,
      );
    }
    // The source condition already keeps every other source out.
    return [];
  }
  return maskedSourcesNow(lookups.maskedSources).filter((source) => maskedFields(source).length > 0);
}

/** What a list answer says about the sources a filter left out (`not_searched`). */
export interface NotSearched {
  sources: string[];
  reason: 'masked_identity';
}

/**
 * The sources a cross-source filter left out, as the answer names them, or undefined when none
 * was: without it a viewer would read "no match" where the search never looked. Naming them gives
 * no masked value away, only that a source masks the field, which the 403 above already tells any
 * caller naming that source; the answer is the same whether or not a guessed value exists.
 */
export const notSearched = (hidden: readonly string[]): NotSearched | undefined =>
  hidden.length > 0 ? { sources: [...hidden].sort(), reason: 'masked_identity' } : undefined;

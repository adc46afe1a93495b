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

/** An identity field a source reads from a masked path: what it is, and its query parameter. */
interface MaskedIdentityField {
  field: 'webhook id' | 'topic';
  param: 'webhook_id' | 'topic';
}

const maskedIdentityFields = (mask: SourceMask): MaskedIdentityField[] => [
  ...(mask.webhookId ? [{ field: 'webhook id', param: 'webhook_id' } as const] : []),
  ...(mask.topic ? [{ field: 'topic', param: 'topic' } as const] : []),
];

/** "a viewer" / "an operator" / "an admin", for messages. */
const withArticle = (role: Role) => `${role === 'viewer' ? 'a' : 'an'} ${role}`;

/**
 * What a caller of this role can still filter one source's events by, as advice for an error
 * about another filter (`search_not_allowed`): never a filter this role would be refused on it
 * (`filter_not_allowed` below), and "ask an admin" when an admin could filter by more.
 */
export function filterAdviceFor(role: Role, source: string, lookups: MaskLookups): string {
  const refused = role === 'admin' ? [] : maskedIdentityFields(lookups.maskFor(source));
  const allowed = [
    ...(['webhook_id', 'topic'] as const).filter((param) => !refused.some((f) => f.param === param)),
    'status',
    'time (since/until)',
  ];
  const advice = `filter it by ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)!} instead`;
  if (refused.length === 0) return advice;
  const fields = refused.map((f) => f.field).join(' and ');
  const params = refused.map((f) => f.param).join(' or ');
  return `${advice}, or ask an admin to filter it by ${params} (it reads its ${fields} from a masked payload path, which ${withArticle(role)} token cannot filter by)`;
}

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
  const maskedFields = (source: string) =>
    maskedIdentityFields(lookups.maskFor(source)).filter((f) =>
      f.param === 'webhook_id' ? filter.webhookId !== undefined : filter.topic !== undefined,
    );
  if (filter.source !== undefined) {
    const masked = maskedFields(filter.source);
    if (masked.length > 0) {
      throw forbidden(
        'filter_not_allowed',
        `Source ${filter.source} reads its ${masked.map((m) => m.field).join(' and ')} from a masked payload path, so ${withArticle(role)} token cannot filter its events by ${masked.map((m) => m.param).join(' or ')}; filter it by status or time, or ask an admin`,
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

import type { RuleDestination, Transform } from '../../../api/rules';
import { parseExactNumbers, stringifyExact } from '../../../api/json';
import { fromFilter, ruleProblems, toFilter, type Json, type Rule } from './rule-model';

/** The rule page's editing state: which tab, the rows, the JSON text, sources and transform. */
export interface Editing {
  tab: 'builder' | 'json';
  rule: Rule;
  json: string;
  sources: string[];
  transform: Transform | null;
  /** Why the builder tab is not offered for this filter (it would change it). */
  builderRefused?: string;
}

// Exact: an id beyond 2^53 is shown and saved with its digits, never as JSON.parse rounds it.
export const pretty = (filter: Json | null) => (filter === null ? '' : stringifyExact(filter, 2));
export const REFUSED = 'The builder cannot show this filter without changing it: edit it as JSON.';

export function editingOf(d: RuleDestination): Editing {
  const rule = fromFilter(d.filter as Json | null);
  return {
    tab: rule ? 'builder' : 'json',
    rule: rule ?? { topic: '', join: 'and', conditions: [] },
    json: pretty(d.filter as Json | null),
    sources: [...d.sources],
    transform: d.transform ?? null,
    builderRefused: rule ? undefined : REFUSED,
  };
}

/** The filter being edited, or why it cannot be read. */
export function draftFilter(e: Editing): { filter: Json | null; problem?: string } {
  if (e.tab === 'builder') {
    const problems = ruleProblems(e.rule);
    return problems.length ? { filter: null, problem: problems.join('; ') } : { filter: toFilter(e.rule) };
  }
  if (!e.json.trim()) return { filter: null };
  try {
    return { filter: parseExactNumbers(e.json) as Json };
  } catch (err) {
    return { filter: null, problem: `The filter is not JSON: ${(err as Error).message}` };
  }
}

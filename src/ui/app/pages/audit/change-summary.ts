import { stringifyExact } from '../../api/json';

// The audit page's "Change" column. A filter's 820982911946154508 in before/after is read as a
// LosslessNumber (api/json.ts): stringifyExact prints its digits, where JSON.stringify would print
// {"value":"820982911946154508","isLosslessNumber":true}.

/** A state or value as JSON text, `∅` when absent. */
export const auditText = (value: unknown) => (value === undefined ? '∅' : stringifyExact(value));

/**
 * What changed, on one line: the fields whose value differs between before and after
 * (`revoked_at: null → "2026-…"`), or the new state when there was none before. Secrets are
 * redacted by the gateway before storing.
 */
export function changeSummary(before: unknown, after: unknown): string {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys
      .filter((k) => auditText(before[k]) !== auditText(after[k]))
      .map((k) => `${k}: ${auditText(before[k])} → ${auditText(after[k])}`)
      .join('; ');
  }
  if (isObject(after))
    return Object.entries(after)
      .map(([k, v]) => `${k}=${auditText(v)}`)
      .join(' ');
  return after === null || after === undefined ? (before === null ? '' : `was ${auditText(before)}`) : auditText(after);
}

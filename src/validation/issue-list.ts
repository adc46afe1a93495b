import type { z } from 'zod';

// Zod's issues as the one-line message of a 400: "field: what is wrong" for each field, in order.

/** A bound that only says "a JavaScript number can hold this", not the field's own limit. */
const safeIntegerBound = (issue: z.core.$ZodIssue) =>
  (issue.code === 'too_big' && Math.abs(Number(issue.maximum)) === Number.MAX_SAFE_INTEGER) ||
  (issue.code === 'too_small' && Math.abs(Number(issue.minimum)) === Number.MAX_SAFE_INTEGER);

/**
 * "name: must be at most 63 characters; role: must be one of …", one problem per field. `whole`
 * names what a problem of the value itself is about (the body, the query). 1e300 for a field
 * limited to 2592000 broke both `int`'s safe-integer bound and the field's own: only the field's is
 * shown, since the safe-integer one names a limit the field does not have.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], whole = 'body'): string {
  const byField = new Map<string, z.core.$ZodIssue>();
  for (const issue of issues) {
    const field = issue.path.length ? issue.path.map(String).join('.') : whole;
    const kept = byField.get(field);
    if (!kept || (safeIntegerBound(kept) && !safeIntegerBound(issue))) byField.set(field, issue);
  }
  return [...byField].map(([field, issue]) => `${field}: ${issue.message}`).join('; ');
}

import { isLosslessNumber } from 'lossless-json';
import { redactUrlSecrets } from '../deliver/redact';
import { numberValueKey } from '../json/exact-values';
import type { Filter } from '../routing/filter';
import type { Transform } from '../transform/types';
import { fingerprint } from './crypto';
import { headersFingerprint, type DestinationView } from './destination-view';
import { PlanError } from './plan';

/** A destination as the file declares it (top-level `destinations:`), env: references resolved. */
export interface DesiredDestination {
  name: string;
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
  filter: Filter | null;
  transform: Transform | null;
  /** snake_case as in the API; null: none. */
  rateLimit: { per_second?: number; per_minute?: number } | null;
  /** null: the defaults. */
  circuit: { failure_threshold: number; cooldown_seconds: number } | null;
  sources: string[];
  secret: string;
}

/** The circuit settings a view shows for `want` (defaults filled in), to compare like with like. */
const circuitOf = (c: DesiredDestination['circuit']) => c ?? { failure_threshold: 5, cooldown_seconds: 30 };

export type DestinationStep =
  | { action: 'create'; name: string; body: Record<string, unknown> }
  | { action: 'update'; name: string; patch: Record<string, unknown>; keys: string[] }
  | { action: 'rotate-secret'; name: string; secret: string; fingerprint: string }
  | { action: 'delete'; name: string };

/**
 * JSON with sorted keys (PostgreSQL's jsonb does not keep the file's key order) and every number
 * by its value (jsonb does not keep a number's spelling either): a filter's exact numbers too.
 */
export const canonical = (value: unknown): string =>
  isLosslessNumber(value)
    ? numberValueKey(value.value)
    : typeof value === 'number' && Number.isFinite(value)
      ? numberValueKey(String(value))
      : Array.isArray(value)
        ? `[${value.map(canonical).join(',')}]`
        : typeof value === 'object' && value !== null
          ? `{${Object.keys(value)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
              .join(',')}}`
          : JSON.stringify(value);

const sameList = (a: readonly string[], b: readonly string[]) =>
  [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/** How the gateway showed the current destinations to the token that plans. */
export interface DestinationPlanOptions {
  /**
   * The URLs came with user info, query values and fragment redacted (a token below admin,
   * src/control/destination-routes.ts): the file's URL is redacted the same way before comparing.
   */
  redactedUrls?: boolean;
}

/**
 * What `apply` must do so the database's destinations match the file, like planApply for sources:
 * create the missing, update what differs (header values compared by fingerprint, never read),
 * rotate to the file's secret when its fingerprint differs, delete those an earlier apply created
 * that the file no longer lists. File-managed (GATEWAY_CONFIG) names cannot be taken. `sources`:
 * the push sources there will be once the source steps are done, when known.
 */
export function planDestinations(
  desired: readonly DesiredDestination[],
  current: readonly DestinationView[],
  sources?: ReadonlySet<string>,
  options: DestinationPlanOptions = {},
): DestinationStep[] {
  // Like with like: a redacted stored URL never equals the file's whole one, so every URL with a
  // query string would be reported changed. A change only in the redacted parts is then not seen.
  const shownUrl = (url: string) => (options.redactedUrls ? redactUrlSecrets(url) : url);
  const steps: DestinationStep[] = [];
  const byName = new Map(current.map((d) => [d.name, d]));
  // The API refuses an attachment to a source that does not exist: refused here, before the
  // source steps before it are carried out, rather than half-way through.
  for (const want of sources ? desired : []) {
    const unknown = want.sources.filter((s) => !sources!.has(s));
    if (unknown.length > 0)
      throw new PlanError(
        `destination "${want.name}": sources: no push source named ${unknown.map((s) => `"${s}"`).join(', ')} in the file or the gateway; add it to the file's sources or fix the name`,
      );
  }
  for (const want of desired) {
    const have = byName.get(want.name);
    if (have?.managed_by === 'file') {
      throw new PlanError(
        `destination "${want.name}" is already declared in GATEWAY_CONFIG of the gateway; give the runtime destination another name`,
      );
    }
    if (!have) {
      steps.push({
        action: 'create',
        name: want.name,
        body: {
          name: want.name,
          url: want.url,
          timeout_ms: want.timeoutMs,
          headers: want.headers,
          ...(want.filter ? { filter: want.filter } : {}),
          ...(want.transform ? { transform: want.transform } : {}),
          ...(want.rateLimit ? { rate_limit: want.rateLimit } : {}),
          ...(want.circuit ? { circuit: want.circuit } : {}),
          sources: want.sources,
          secret: want.secret,
        },
      });
      continue;
    }
    const patch: Record<string, unknown> = {};
    if (have.url !== shownUrl(want.url)) patch.url = want.url;
    if (have.timeout_ms !== want.timeoutMs) patch.timeout_ms = want.timeoutMs;
    if (have.headers_fingerprint !== headersFingerprint(want.headers)) patch.headers = want.headers;
    if (canonical(have.filter ?? null) !== canonical(want.filter)) patch.filter = want.filter;
    if (canonical(have.transform ?? null) !== canonical(want.transform)) patch.transform = want.transform;
    if (canonical(have.rate_limit ?? null) !== canonical(want.rateLimit ?? null)) patch.rate_limit = want.rateLimit;
    if (canonical(have.circuit) !== canonical(circuitOf(want.circuit))) patch.circuit = want.circuit;
    if (!sameList(have.sources, want.sources)) patch.sources = want.sources;
    const keys = Object.keys(patch);
    if (keys.length > 0) steps.push({ action: 'update', name: want.name, patch, keys });
    const print = fingerprint(want.secret);
    if (print !== have.fingerprint)
      steps.push({ action: 'rotate-secret', name: want.name, secret: want.secret, fingerprint: print });
  }
  const wanted = new Set(desired.map((d) => d.name));
  for (const have of current) {
    if (have.managed_by === 'database' && have.origin === 'apply' && !wanted.has(have.name))
      steps.push({ action: 'delete', name: have.name });
  }
  return steps;
}

/** Said under the plan when the URLs were compared in their redacted form. */
export const REDACTED_URLS_NOTE =
  'Destination URLs were compared as this token sees them, with user info, query values and fragment redacted: a change only there is not shown (plan with an admin token to compare them whole).';

/** The plan's lines; fingerprints and header names only, never a secret or a header's value. */
export function describeDestinationPlan(
  steps: readonly DestinationStep[],
  options: DestinationPlanOptions = {},
): string[] {
  const note = options.redactedUrls ? [REDACTED_URLS_NOTE] : [];
  if (steps.length === 0) return ['No changes: the destinations match the file.', ...note];
  const lines = steps.map((step) => {
    switch (step.action) {
      case 'create':
        // Plans are pasted into CI logs and pull requests: a token in the URL's query must not be.
        return `  + create destination ${step.name} (${redactUrlSecrets(String(step.body.url))})`;
      case 'update':
        return `  ~ update destination ${step.name}: ${step.keys.join(', ')}`;
      case 'rotate-secret':
        return `  ~ replace the signing secret of destination ${step.name} by ${step.fingerprint}`;
      case 'delete':
        return `  - delete destination ${step.name}`;
    }
  });
  const count = (...actions: DestinationStep['action'][]) => steps.filter((s) => actions.includes(s.action)).length;
  return [
    ...lines,
    `Destinations: ${count('create')} to create, ${count('update', 'rotate-secret')} to change, ${count('delete')} to delete.`,
    ...note,
  ];
}

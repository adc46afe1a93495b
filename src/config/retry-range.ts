import type { BackoffPolicy } from '../worker/backoff';

/**
 * A source's own `retry.base_ms` above its `retry.max_ms`: every delay is capped at the maximum, so
 * the base was silently never used (each retry waited about max_ms), as with RETRY_BASE_MS above
 * RETRY_MAX_MS (src/config/env/worker.ts). A half that is not set is the gateway's (RETRY_BASE_MS or
 * RETRY_MAX_MS), as the worker fills it: `base_ms: 7200000` alone is compared with RETRY_MAX_MS,
 * and the message says so, since raising base_ms alone never lengthens a wait past RETRY_MAX_MS.
 */
export function sourceRetryProblem(
  retry: { baseMs?: number; maxMs?: number } | undefined,
  defaults: BackoffPolicy,
): string | undefined {
  if (retry?.baseMs === undefined && retry?.maxMs === undefined) return undefined;
  const base = retry.baseMs ?? defaults.baseMs;
  const max = retry.maxMs ?? defaults.maxMs;
  if (base <= max) return undefined;
  const baseText = retry.baseMs === undefined ? `${base}, the gateway's RETRY_BASE_MS, as it is not set` : `${base}`;
  const maxText = retry.maxMs === undefined ? `${max}, the gateway's RETRY_MAX_MS, as it is not set` : `${max}`;
  return (
    `retry.base_ms (${baseText}) must not exceed retry.max_ms (${maxText}): the first retry waits about ` +
    `base_ms and later ones grow up to max_ms; ` +
    `${retry.maxMs === undefined ? 'set' : 'raise'} retry.max_ms or ${retry.baseMs === undefined ? 'set a lower' : 'lower'} retry.base_ms`
  );
}

import { parseRetryAfter } from '../../http/retry-after';
import { OutboundRefusedError } from '../../outbound/policy';

/** How one HTTP call is retried: attempts after the first, and the delay between them. */
export interface RetryPolicy {
  maxRetries: number;
  baseMs: number;
  /** Longest wait between two tries; a Retry-After beyond it gives up instead of waiting. */
  maxMs: number;
  timeoutMs: number;
}

/** The remote kept failing (or asked for a longer pause than we wait). */
export class HttpRetryError extends Error {
  override name = 'HttpRetryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const RETRYABLE = (status: number) => status === 429 || status === 408 || status >= 500;

/**
 * Calls `send` until it answers something other than 429/408/5xx or the retries are used up.
 * Network errors and timeouts are retried too (not a connection the outbound policy refused). The wait is exponential with equal jitter, or the
 * server's Retry-After when that is longer; a Retry-After over `maxMs` ends the retries at once
 * (better to try at the next run than to hold the lock idle). The last response is returned as is
 * when it is not retryable; a retryable one that never recovered throws HttpRetryError.
 */
export async function fetchWithRetry(
  send: (signal: AbortSignal) => Promise<Response>,
  policy: RetryPolicy,
  signal: AbortSignal,
  what: string,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let response: Response | undefined;
    let failure: string;
    try {
      response = await send(AbortSignal.any([signal, AbortSignal.timeout(policy.timeoutMs)]));
      if (!RETRYABLE(response.status)) return response;
      failure = `HTTP ${response.status}`;
    } catch (err) {
      if (signal.aborted) throw err;
      // The policy refuses the same address a moment later too: the run fails now, the next run tries again.
      if (err instanceof OutboundRefusedError) throw new HttpRetryError(`${what}: ${err.message}`);
      failure =
        err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${policy.timeoutMs} ms` : describe(err);
    }
    const requested = response ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
    if (response) discard(response);
    if (attempt >= policy.maxRetries) {
      throw new HttpRetryError(`${what} failed after ${attempt + 1} tries: ${failure}`, response?.status);
    }
    if (requested !== undefined && requested > policy.maxMs) {
      throw new HttpRetryError(
        `${what}: ${failure} with Retry-After ${Math.ceil(requested / 1000)} s; trying again at the next run`,
        response?.status,
      );
    }
    const backoff = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    await sleep(Math.max(requested ?? 0, jittered), signal);
  }
}

/**
 * Lets go of a response body we will not read. Not awaited: the connection is released either
 * way, and some stream implementations only settle the cancel promise once the producer ends.
 */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One line about a network error: undici hides the useful part in `cause`. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

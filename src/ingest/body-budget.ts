import { GatewayError } from '../errors';

/**
 * The ingest body bytes this process may hold in memory at once, over all connections
 * (INGEST_BODY_BUDGET_BYTES). A body is read before its signature can be checked (the HMAC needs
 * the bytes), so without this bound anyone who can reach the port could make the process buffer
 * MAX_CONNECTIONS × MAX_BODY_BYTES (measured: 300 connections holding 1 MiB each took the RSS from
 * 160 MB to 462 MB, 900 to 982 MB). A request takes its bytes before its body is read and gives them
 * back when it ends, however it ends; one that does not fit is refused with 503, which loses
 * nothing: nothing was acknowledged, and the sender retries.
 *
 * Plain integer arithmetic: it runs for every webhook.
 */
export interface BodyBudget {
  readonly totalBytes: number;
  /** Takes `bytes` when they fit in what is left and says so; takes nothing when they do not. */
  tryTake(bytes: number): boolean;
  /** Gives back bytes taken with tryTake. */
  release(bytes: number): void;
  /** Bytes taken now. */
  held(): number;
}

export function createBodyBudget(totalBytes: number): BodyBudget {
  let held = 0;
  return {
    totalBytes,
    tryTake(bytes) {
      if (held + bytes > totalBytes) return false;
      held += bytes;
      return true;
    },
    release(bytes) {
      held -= bytes;
    },
    held: () => held,
  };
}

/**
 * Bodies held by other requests are answered or timed out within REQUEST_TIMEOUT_MS plus the write
 * timeout at worst, and usually within milliseconds; a retry a few seconds later finds room.
 */
const RETRY_AFTER_SECONDS = '5';

/** The answer to a request whose body does not fit in the budget now. */
export const ingestBusy = () =>
  new GatewayError(503, 'ingest_busy', 'The gateway holds as many request bodies as it may right now; retry later', {
    internal: false,
    headers: { 'retry-after': RETRY_AFTER_SECONDS },
  });

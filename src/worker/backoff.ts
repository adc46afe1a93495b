export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before the attempt after `attempt` (1-based): exponential (base, 2×base, 4×base, …) capped
 * at maxMs, with "equal jitter" — a random point in the upper half — so events that failed together
 * (one upstream outage) do not all come back in the same instant, yet never retry sooner than half
 * the nominal delay.
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

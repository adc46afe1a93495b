/**
 * A fixed log-scale histogram of latencies in milliseconds, so per-minute counts from any number of
 * processes add up (percentiles do not). Bucket i holds values up to GROWTH^i ms: 1 ms, 1.5 ms,
 * 2.25 ms … up to about 35 hours in 47 buckets, the last one open-ended. A percentile read from it
 * is interpolated inside its bucket, so it is within one bucket's width (±25 %) of the truth.
 */
const GROWTH = 1.5;
export const LATENCY_BUCKETS = 47;

/** The upper bound of bucket i in ms (the last bucket is unbounded and reported at its lower bound). */
const upper = (i: number) => GROWTH ** i;

/** The bucket a latency falls in. */
export function latencyBucket(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms) / Math.log(GROWTH)));
}

/** An empty histogram. */
export const emptyHistogram = (): number[] => new Array<number>(LATENCY_BUCKETS).fill(0);

/** Adds `from` into `into` bucket by bucket (a stored array may be shorter if the bounds ever grow). */
export function addHistogram(into: number[], from: readonly (number | null)[]): void {
  for (let i = 0; i < Math.min(into.length, from.length); i++) into[i]! += from[i] ?? 0;
}

/** The q-quantile (0 < q ≤ 1) in ms, or null for an empty histogram. */
export function quantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i]!;
    if (n > 0 && seen + n >= rank) {
      const low = i === 0 ? 0 : upper(i - 1);
      if (i === histogram.length - 1) return Math.round(low);
      const within = (rank - seen) / n;
      return Math.round((low + (upper(i) - low) * within) * 10) / 10;
    }
    seen += n;
  }
  return Math.round(upper(histogram.length - 2));
}

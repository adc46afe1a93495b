/**
 * A tiny time-bounded cache for token lookups: a burst of requests with one token costs one query
 * a second, and a revoked token is refused within `ttlMs` everywhere without any cross-instance
 * signalling. Concurrent misses for one key share the query. Bounded: cleared when it grows past
 * `maxEntries` (a flood of distinct well-formed tokens cannot grow memory).
 */
export function createTokenCache<T>(ttlMs: number, maxEntries = 10_000) {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return {
    get(key: string, load: () => Promise<T>): Promise<T> {
      const now = Date.now();
      const hit = entries.get(key);
      if (hit && now - hit.at < ttlMs) return hit.value;
      if (entries.size >= maxEntries) entries.clear();
      const value = load();
      entries.set(key, { at: now, value });
      // A failed lookup is not remembered: the next request tries again.
      value.catch(() => entries.delete(key));
      return value;
    },
  };
}

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { Stats } from '../api/types';
import { useApi } from '../session';
import { useLiveEvents } from './live';
import { useResource, type Resource } from './useResource';

const REFRESH_MS = 15_000;
const AFTER_LIVE_MS = 1000;

const StatsContext = createContext<Resource<Stats> | null>(null);

/**
 * The last-24-hours figures (GET /api/stats), shared by the pages that show them: refreshed every
 * 15 s, about a second after live events (at most once a second), and after the stream reconnects.
 */
export function StatsProvider({ children }: { children: ComponentChildren }) {
  const api = useApi();
  const stats = useResource((signal) => api.stats(signal), [api]);
  const soon = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const timer = setInterval(stats.reload, REFRESH_MS);
    return () => {
      clearInterval(timer);
      clearTimeout(soon.current);
    };
  }, [stats.reload]);
  useLiveEvents({
    event: () => {
      soon.current ??= setTimeout(() => {
        soon.current = undefined;
        stats.reload();
      }, AFTER_LIVE_MS);
    },
    reconnected: stats.reload,
  });
  return <StatsContext.Provider value={stats}>{children}</StatsContext.Provider>;
}

export function useStats(): Resource<Stats> {
  const stats = useContext(StatsContext);
  if (!stats) throw new Error('useStats outside StatsProvider');
  return stats;
}

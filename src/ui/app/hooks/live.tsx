import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LiveEvent } from '../api/types';
import { readEventStream } from '../api/stream';
import { useSession } from '../session';

const MAX_ITEMS = 50;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;

export interface LiveListener {
  /** An event was received, completed or failed. */
  event?(event: LiveEvent): void;
  /** The stream came back after a break: events may have been missed, reload what is shown. */
  reconnected?(): void;
}

export interface LiveItem {
  key: number;
  at: Date;
  event: LiveEvent;
}

interface Live {
  items: LiveItem[];
  state: { text: string; on: boolean };
  subscribe(listener: LiveListener): () => void;
}

const LiveContext = createContext<Live | null>(null);

/**
 * Follows GET /api/events/stream while signed in: keeps the last 50 changes for the live panel and
 * tells subscribed pages. Reconnects after 1 s, doubling up to 15 s.
 */
export function LiveProvider({ children }: { children: ComponentChildren }) {
  const { api, signOut } = useSession();
  const [items, setItems] = useState<LiveItem[]>([]);
  const [state, setState] = useState({ text: 'connecting…', on: false });
  const listeners = useRef(new Set<LiveListener>());

  useEffect(() => {
    if (!api) return;
    const controller = new AbortController();
    let delay = FIRST_DELAY_MS;
    let connectedBefore = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let key = 0;
    const connect = async () => {
      setState({ text: 'connecting…', on: false });
      try {
        await readEventStream('/api/events/stream', {
          token: api.token,
          signal: controller.signal,
          onOpen: () => {
            setState({ text: 'live', on: true });
            delay = FIRST_DELAY_MS;
            if (connectedBefore) for (const l of listeners.current) l.reconnected?.();
            connectedBefore = true;
          },
          onMessage: ({ event, data }) => {
            if (event === 'ready') return;
            const live = data as LiveEvent;
            setItems((list) => [{ key: ++key, at: new Date(), event: live }, ...list].slice(0, MAX_ITEMS));
            for (const l of listeners.current) l.event?.(live);
          },
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if ((err as { status?: number }).status === 401) {
          signOut('The gateway refused the stored token. Sign in again.');
          return;
        }
      }
      if (controller.signal.aborted) return;
      setState({ text: `reconnecting in ${delay / 1000} s`, on: false });
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    };
    connect();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [api, signOut]);

  const subscribe = useCallback((listener: LiveListener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);
  const live = useMemo<Live>(() => ({ items, state, subscribe }), [items, state, subscribe]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside LiveProvider');
  return live;
}

/** Calls the listener's methods on live changes while the component is shown. */
export function useLiveEvents(listener: LiveListener): void {
  const { subscribe } = useLive();
  const current = useRef(listener);
  current.current = listener;
  useEffect(
    () =>
      subscribe({
        event: (e) => current.current.event?.(e),
        reconnected: () => current.current.reconnected?.(),
      }),
    [subscribe],
  );
}

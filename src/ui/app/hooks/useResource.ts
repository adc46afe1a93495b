import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Resource<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  /** Loads again; reloads never overlap, and one asked for during a load runs once it ends. */
  reload(): void;
}

/**
 * Data loaded from the API for a page: loaded again when `deps` change (the previous request is
 * aborted, so a late answer for an old address never lands on the new page).
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const loader = useRef(load);
  loader.current = load;
  const run = useRef({ running: false, again: false, controller: new AbortController() });

  const reload = useCallback(async () => {
    const current = run.current;
    if (current.running) {
      current.again = true;
      return;
    }
    current.running = true;
    const { signal } = current.controller;
    do {
      current.again = false;
      try {
        const data = await loader.current(signal);
        if (!signal.aborted) setState({ data, loading: false });
      } catch (error) {
        if (!signal.aborted) setState({ error: error as Error, loading: false });
      }
    } while (current.again && !signal.aborted);
    current.running = false;
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    run.current = { running: false, again: false, controller };
    setState({ loading: true });
    reload();
    return () => controller.abort();
  }, deps);

  return { ...state, reload };
}

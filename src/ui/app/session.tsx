import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useMemo, useState } from 'preact/hooks';
import { createApiClient, type ApiClient } from './api/client';

const KEY = 'webhook-gateway.ops-token';

/**
 * The ops token lives in sessionStorage: this tab only, gone when the tab closes, never in
 * localStorage (earlier versions could keep it there; it is removed on load).
 */
const storage = {
  get: () => sessionStorage.getItem(KEY),
  set: (token: string) => sessionStorage.setItem(KEY, token),
  clear: () => {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  },
};

export interface Session {
  /** The API client with the signed-in token; null when signed out. */
  api: ApiClient | null;
  /** Why the last session ended, when the gateway ended it. */
  reason: string | null;
  signIn(token: string): void;
  signOut(reason?: string): void;
}

const SessionContext = createContext<Session | null>(null);

/** Holds the token and the API client built on it; a refused token (401) signs out. */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [token, setToken] = useState<string | null>(() => {
    localStorage.removeItem(KEY);
    return storage.get();
  });
  const [reason, setReason] = useState<string | null>(null);

  const signOut = useCallback((why?: string) => {
    storage.clear();
    setToken(null);
    setReason(why ?? null);
  }, []);
  const signIn = useCallback((value: string) => {
    storage.set(value);
    setReason(null);
    setToken(value);
  }, []);

  const api = useMemo(
    () =>
      token
        ? createApiClient({
            token,
            onUnauthorized: () => signOut('The gateway refused the stored token. Sign in again.'),
          })
        : null,
    [token, signOut],
  );
  const session = useMemo(() => ({ api, reason, signIn, signOut }), [api, reason, signIn, signOut]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The API client of a signed-in page (pages are only drawn when signed in). */
export function useApi(): ApiClient {
  const { api } = useSession();
  if (!api) throw new Error('useApi while signed out');
  return api;
}

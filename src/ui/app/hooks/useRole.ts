import { useMemo } from 'preact/hooks';
import { sourcesApi } from '../api/sources';
import type { Role } from '../api/types';
import { allows } from '../pages/sources/roles';
import { useApi } from '../session';
import { useResource } from './useResource';

/**
 * Whether the signed-in token's role (GET /api/whoami) may take actions needing `needed`, so a
 * page offers only those; `role` once known. While the role loads nothing is offered; if it
 * cannot be read the action is offered and the API's answer says why it is refused.
 */
export function useRole(needed: Role): { role?: Role; may: boolean } {
  const api = useApi();
  const whoami = useMemo(() => sourcesApi(api).whoami, [api]);
  const who = useResource((signal) => whoami(signal), [whoami]);
  const role = who.data?.role;
  return { role, may: role ? allows(role, needed) : who.error !== undefined };
}

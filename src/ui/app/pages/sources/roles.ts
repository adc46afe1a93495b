import type { Role } from '../../api/types';

const RANK: Record<Role, number> = { metrics: 0, viewer: 1, operator: 2, admin: 3 };

/** Whether the session's role may take an action needing `needed` (as the API's requireRole decides). */
export const allows = (role: Role | undefined, needed: Role) => role !== undefined && RANK[role] >= RANK[needed];

/**
 * The one wording of a refusal by role, on every page: "Replaying needs the operator or admin role;
 * your token has the viewer role." `action` starts the sentence; `role` is the signed-in token's.
 */
export const roleNeeded = (action: string, needed: 'operator' | 'admin', role: Role) =>
  `${action} the ${needed === 'operator' ? 'operator or admin' : 'admin'} role; your token has the ${role} role.`;

/** 45 s, 12 min, 3 h, 2 d. */
export function age(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

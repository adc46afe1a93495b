import type { Context } from 'hono';
import type { Change } from './service';
import type { SourceView } from './view';

/** A change as a route answers it: audited, with the ETag, the source shown as the caller may see it. */
export type AnswerChange = (
  c: Context,
  change: Change & { secret?: string; secret_id?: number },
  status?: 200 | 201,
) => Promise<Response>;

/** How `/api/sources…` answers: what a caller may see of a source, and the answer to a change. */
export function createSourceAnswer(audit?: (entry: Change, c: Context) => Promise<void>) {
  // Anyone may read the list (the UI's Sources page), but only admins see `spec`: its destinations
  // may hold literal credentials.
  const shown = (c: Context, source: SourceView): SourceView =>
    c.get('identity').role === 'admin' ? source : { ...source, spec: null };

  const answer: AnswerChange = async (c, change, status = 200) => {
    await audit?.({ action: change.action, source: change.source, before: change.before, after: change.after }, c);
    const { action: _a, source: _s, before: _b, after, ...extra } = change;
    if (after?.version) c.header('etag', `"${after.version}"`);
    // Pause and resume are an operator's: their answer shows the source as GET does for that role.
    return c.json(after ? { ...shown(c, after), ...extra } : { deleted: change.source }, status);
  };
  return { shown, answer };
}

import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { POLL_RUN_STATUSES } from '../db/schema-poll';
import { GatewayError, badRequest, notFound } from '../errors';
import { describeIssues } from '../validation/issue-list';
import { limitBody, OPS_MAX_BODY_BYTES } from '../ingest/body-limit';
import { requireRole } from '../ops/auth';
import { decimalId, filterText, pageLimit } from '../ops/schema-fields';
import type { LockHolder } from './lock-sql';
import type { PollRunLog } from './run-log';
import type { PollRunner, TriggerResult } from './runner';
import { pollRunDetail, pollRunSummary, pollSourceView } from './serialize';

export interface PollRoutesDeps {
  runner: PollRunner;
  runs: PollRunLog;
}

// A source name is compared with stored text and quoted back: bounded, and never a NUL (which the
// database refused, answered 400 with its error code instead of the field's name).
const sourceName = filterText(200);
const listQuery = z.object({
  source: sourceName.optional(),
  status: z.enum(POLL_RUN_STATUSES).optional(),
  limit: pageLimit(),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'cursor must be the next_cursor value of a previous page')
    .transform(Number)
    .optional(),
});
const runId = decimalId();
const pollBody = z.object({ source: sourceName.optional() }).default({});

/**
 * The poll API, behind the ops token:
 * POST /api/sps/poll (optional source) starts runs now; GET /api/sps/runs and /api/sps/runs/:id
 * show the run log; GET /api/sps/sources shows each source's schedule, lock and last run.
 */
export function createPollRoutes(deps: PollRoutesDeps): Hono {
  const { runner } = deps;
  const app = new Hono();
  // Reading runs is a viewer's; starting one changes state, an operator's.
  app.use('/api/sps/*', requireRole('viewer'));

  app.post('/api/sps/poll', requireRole('operator'), limitBody(OPS_MAX_BODY_BYTES), async (c) => {
    const asked = c.req.query('source');
    const source = asked === undefined ? (await readBody(c)).source : parse(sourceName, asked, 'source');
    if (source !== undefined) {
      const result = await runner.trigger(source, 'manual');
      if (result.status === 'unknown_source') {
        throw notFound(
          'poll_source_not_found',
          `No poll source named "${source}"; configured: ${runner.sourceNames.join(', ') || 'none'}`,
        );
      }
      if (result.status === 'busy') throw inProgress([result]);
      if (result.status === 'stopping') throw shuttingDown();
      return c.json({ runs: [started(result)] }, 202);
    }
    if (runner.sourceNames.length === 0) throw notFound('poll_source_not_found', 'No poll sources are configured');
    const results = await Promise.all(runner.sourceNames.map((name) => runner.trigger(name, 'manual')));
    if (results.every((r) => r.status === 'stopping')) throw shuttingDown();
    if (results.every((r) => r.status !== 'started')) throw inProgress(results);
    return c.json({ runs: results.map((r) => (r.status === 'started' ? started(r) : skipped(r))) }, 202);
  });

  app.get('/api/sps/runs', async (c) => {
    const query = parse(listQuery, c.req.query(), 'query');
    const page = await deps.runs.list({ ...query, beforeId: query.cursor, limit: query.limit + 1 });
    const runs = page.slice(0, query.limit);
    const next = page.length > query.limit ? String(runs[runs.length - 1]!.id) : null;
    return c.json({ runs: runs.map(pollRunSummary), next_cursor: next });
  });

  app.get('/api/sps/runs/:id', async (c) => {
    const id = parse(runId, c.req.param('id'), 'id');
    const run = await deps.runs.get(id);
    if (!run) throw notFound('poll_run_not_found', `No poll run with id ${id}`);
    return c.json(pollRunDetail(run));
  });

  app.get('/api/sps/sources', async (c) => {
    const locks = new Map((await deps.runs.locks()).map((lock) => [lock.source, lock]));
    const sources = await Promise.all(
      runner.sourceNames.map(async (name) =>
        pollSourceView(runner.options(name)!, locks.get(name), await deps.runs.latest(name)),
      ),
    );
    return c.json({ sources });
  });

  return app;
}

type Started = Extract<TriggerResult, { status: 'started' }>;
const started = (r: Started) => ({ source: r.source, status: 'started', run_id: r.runId });

function skipped(r: Exclude<TriggerResult, Started>) {
  if (r.status === 'busy') return { source: r.source, status: 'in_progress', ...holderView(r.holder) };
  return { source: r.source, status: r.status };
}

const holderView = (holder: LockHolder | undefined) =>
  holder
    ? {
        run_id: holder.runId,
        held_by: `${holder.hostname}:${holder.pid}`,
        since: holder.lockedAt.toISOString(),
        lease_expires_at: holder.expiresAt.toISOString(),
      }
    : {};

/** 409, naming who is polling each source and since when. */
function inProgress(results: TriggerResult[]): GatewayError {
  const described = results.map((r) => {
    const holder = r.status === 'busy' ? r.holder : undefined;
    const who = holder
      ? ` (run ${holder.runId ?? '?'} on ${holder.hostname}:${holder.pid} since ${holder.lockedAt.toISOString()})`
      : '';
    return `"${r.source}"${who}`;
  });
  return new GatewayError(
    409,
    'poll_in_progress',
    `A poll run is already in progress for ${described.join(', ')}; wait for it to finish (GET /api/sps/runs) and trigger again if needed`,
  );
}

const shuttingDown = () =>
  new GatewayError(503, 'shutting_down', 'The gateway is shutting down; trigger the poll on another instance');

/** The optional JSON body `{ "source": "…" }`; an empty body means every source. */
async function readBody(c: Context): Promise<z.infer<typeof pollBody>> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('invalid_json', 'The body must be JSON such as {"source":"sps"}, or empty to poll every source');
  }
  return parse(pollBody, value);
}

/** `input` through `schema`, or a 400 naming each field (`whole` names the value itself). */
function parse<T>(schema: z.ZodType<T>, input: unknown, whole = 'body'): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw badRequest('invalid_request', describeIssues(parsed.error.issues, whole));
  }
  return parsed.data;
}

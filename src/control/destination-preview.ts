import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Destination, ForwardingPlan } from '../deliver/destinations';
import { buildEnvelope, type EnvelopeSource } from '../deliver/envelope';
import { filterContext } from '../deliver/filtering';
import { standardWebhooksHeaders } from '../deliver/sign';
import { GatewayError, badRequest, notFound } from '../errors';
import { errorResponses } from '../ops/schemas';
import { matchesFilter, validateFilter, type Filter } from '../routing/filter';
import { storedRequestTarget } from '../ingest/request-target';
import type { WebhookEvent } from '../db/schema';
import { parseJsonOrUndefined } from '../worker/handlers';
import { bearer, error, json } from './routes';

/**
 * The signature of a preview is computed at this fixed instant (2000-01-01T00:00:00Z): it proves
 * the key and the bytes (verify it with the destination's secret and that timestamp), but no
 * receiver that checks timestamps (Standard Webhooks libraries allow 5 minutes) accepts it, so a
 * preview cannot be replayed to the destination.
 */
export const PREVIEW_SIGNED_AT = new Date('2000-01-01T00:00:00Z');
const HIDDEN = '<hidden>';

export interface PreviewDeps {
  /** The destination with its key (file or database), and the sources it serves; undefined: unknown. */
  destination(name: string): { destination?: Destination; problem?: string; sources: string[] } | undefined;
  /** The source's envelope options (provider, aggregate_id path, tenant context). */
  planFor(source: string): ForwardingPlan | undefined;
  event(
    id: number,
  ): Promise<
    | Pick<WebhookEvent, 'id' | 'source' | 'webhookId' | 'topic' | 'body' | 'headers' | 'receivedAt' | 'requestTarget'>
    | undefined
  >;
}

const PreviewBody = z
  .object({
    event_id: z.number().int().positive().optional().openapi({ description: 'A stored event' }),
    payload: z.unknown().optional().openapi({ description: 'Or a pasted payload (any JSON value)' }),
    topic: z.string().max(1024).optional().openapi({ description: 'With payload: its topic' }),
    headers: z.record(z.string(), z.string()).optional().openapi({ description: 'With payload: its headers' }),
    source: z
      .string()
      .max(63)
      .optional()
      .openapi({ description: "With payload: whose envelope (default: the destination's first source)" }),
    path: z
      .string()
      .max(1024)
      .optional()
      .openapi({ description: 'With payload: the request path, for filters on path' }),
    query: z
      .string()
      .max(2048)
      .optional()
      .openapi({ description: 'With payload: the query string (a=1&b=2), for filters on query' }),
    draft: z
      .object({
        // Checked in previewDelivery (validateFilter), so the error names the filter's own path.
        filter: z.unknown().optional().openapi({ description: 'A filter (null: none)' }),
        sources: z.array(z.string().max(63)).max(1000).optional(),
      })
      .strict()
      .optional()
      .openapi({ description: 'Unsaved rules evaluated instead of the saved ones (nothing is saved)' }),
  })
  .strict()
  .openapi('PreviewRequest');
const PreviewAnswer = z
  .object({
    matched: z.boolean().openapi({
      description:
        "false: the destination's filter skips it (logged as ignored: filtered), or the event's source is not one of its sources",
    }),
    routed: z.boolean().openapi({ description: "false: the event's source is not one of the destination's sources" }),
    body: z.string().openapi({ description: 'The exact bytes that would be posted' }),
    headers: z.record(z.string(), z.string()).openapi({
      description: `Signed at ${PREVIEW_SIGNED_AT.toISOString()} (webhook-timestamp); configured header values show as ${HIDDEN}`,
    }),
  })
  .openapi('PreviewAnswer');

type PreviewInput = z.infer<typeof PreviewBody>;

/** Runs the destination's filter on the event and builds what it would be sent, signed. */
export async function previewDelivery(deps: PreviewDeps, name: string, input: PreviewInput) {
  const found = deps.destination(name);
  if (!found) throw notFound('destination_not_found', `No destination named "${name}"`);
  if (!found.destination)
    throw new GatewayError(409, 'destination_unusable', `Destination "${name}": ${found.problem ?? 'unusable here'}`);
  // A draft's filter and sources replace the saved ones (a draft filter of null: no filter).
  const sources = input.draft?.sources ?? found.sources;
  const filter = input.draft?.filter !== undefined ? draftFilter(input.draft.filter) : found.destination.filter;
  const event = await eventFor(deps, input, sources[0] ?? found.sources[0] ?? name);
  const payload = parseJsonOrUndefined(event.rawBody);
  const plan = deps.planFor(event.source);
  const body = buildEnvelope({ ...event, payload }, plan ?? {});
  const { destination } = found;
  const routed = sources.includes(event.source);
  const matched = routed && (!filter || matchesFilter(filter, filterContext({ ...event, payload })));
  const configured = Object.fromEntries(Object.keys(destination.headers ?? {}).map((h) => [h, HIDDEN]));
  return {
    matched,
    routed,
    body,
    headers: {
      ...configured,
      'content-type': 'application/json',
      'user-agent': 'webhook-gateway',
      ...standardWebhooksHeaders(destination.secret, `evt_${event.id ?? 'preview'}`, body, PREVIEW_SIGNED_AT),
    },
  };
}

/** A draft filter as the API would save it: refused with the path of its first problem. */
function draftFilter(value: unknown): Filter | null {
  if (value === null) return null;
  const check = validateFilter(value, 'draft.filter');
  if (!check.ok) throw badRequest('invalid_filter', `${check.path}: ${check.message}`);
  return check.filter;
}

async function eventFor(
  deps: PreviewDeps,
  input: PreviewInput,
  defaultSource: string,
): Promise<EnvelopeSource & { id: number | null; headers: Record<string, string>; requestTarget: string | null }> {
  if (input.event_id !== undefined) {
    if (input.payload !== undefined)
      throw badRequest('invalid_preview', 'event_id: send either event_id or payload, not both');
    const stored = await deps.event(input.event_id);
    if (!stored) throw notFound('event_not_found', `event_id: no stored event ${input.event_id}`);
    return { ...stored, rawBody: stored.body, payload: undefined };
  }
  if (input.payload === undefined)
    throw badRequest(
      'invalid_preview',
      'payload: send a stored event as {"event_id": N} or a payload as {"payload": {…}, "topic": "…"}',
    );
  return {
    id: null,
    source: input.source ?? defaultSource,
    webhookId: 'preview',
    topic: input.topic ?? 'preview',
    rawBody: Buffer.from(JSON.stringify(input.payload)),
    payload: undefined,
    headers: input.headers ?? {},
    // As ingest would store it: credential-like query parameters are not matched either.
    requestTarget:
      input.path === undefined && input.query === undefined
        ? null
        : storedRequestTarget(input.path ?? '', input.query ?? ''),
    receivedAt: new Date(),
  };
}

/** `POST /api/destinations/{name}/preview` (operator; read-only, so not audited). */
export function addPreviewRoute(
  app: OpenAPIHono,
  deps: PreviewDeps,
  NameParam: z.ZodObject<{ name: z.ZodString }>,
): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/destinations/{name}/preview',
      summary: 'Whether the filter lets an event through, and the exact signed request the destination would get',
      security: bearer,
      request: {
        params: NameParam,
        body: { content: { 'application/json': { schema: PreviewBody } }, required: true },
      },
      responses: {
        200: json(PreviewAnswer, 'The preview; nothing is sent'),
        404: error('No such destination or event'),
        409: error("The destination's secret cannot be decrypted here"),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await previewDelivery(deps, c.req.valid('param').name, c.req.valid('json')), 200),
  );
}

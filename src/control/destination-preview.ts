import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Destination, ForwardingPlan } from '../deliver/destinations';
import { buildEnvelope, type EnvelopeSource } from '../deliver/envelope';
import { filterContext } from '../deliver/filtering';
import { standardWebhooksHeaders } from '../deliver/sign';
import { GatewayError, badRequest, notFound } from '../errors';
import { errorResponses } from '../ops/schemas';
import { matchesFilter, type Filter } from '../routing/filter';
import { filterSchema } from '../config/processing';
import { transformSchema, describePosition, type Transform } from '../transform';
import { defaultRunner, transformInput } from '../deliver/transforming';
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
        filter: z.record(z.string(), z.unknown()).nullable().optional(),
        transform: z.object({ language: z.string(), code: z.string() }).nullable().optional(),
        sources: z.array(z.string()).max(1000).optional(),
      })
      .strict()
      .optional()
      .openapi({ description: 'Evaluated instead of the saved filter/transform (nothing is saved); null removes one' }),
  })
  .strict()
  .openapi('PreviewRequest');
const PreviewAnswer = z
  .object({
    matched: z
      .boolean()
      .openapi({
        description:
          "false: the destination's filter skips it (logged as ignored: filtered), or the event's source is not one of its sources",
      }),
    routed: z.boolean().openapi({ description: "false: the event's source is not one of the destination's sources" }),
    body: z.string().optional().openapi({ description: 'The exact bytes that would be posted' }),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .openapi({
        description: `Signed at ${PREVIEW_SIGNED_AT.toISOString()} (webhook-timestamp); configured header values show as ${HIDDEN}`,
      }),
    rule_version: z.number().nullable().openapi({ description: "The saved rules' version (null: file destination)" }),
    error: z
      .object({ code: z.literal('transformation_failed'), message: z.string(), position: z.unknown().optional() })
      .optional()
      .openapi({ description: 'The transformation failed: no body; the delivery would fail (permanently) with this' }),
  })
  .openapi('PreviewAnswer');

type PreviewInput = z.infer<typeof PreviewBody>;

/** Runs the destination's filter on the event and builds what it would be sent, signed. */
export async function previewDelivery(deps: PreviewDeps, name: string, input: PreviewInput) {
  const found = deps.destination(name);
  if (!found) throw notFound('destination_not_found', `No destination named "${name}"`);
  if (!found.destination)
    throw new GatewayError(409, 'destination_unusable', `Destination "${name}": ${found.problem ?? 'unusable here'}`);
  const { filter, transform } = draftRules(input.draft, found.destination);
  const sources = input.draft?.sources ?? found.sources;
  const event = await eventFor(deps, input, sources[0] ?? found.sources[0] ?? name);
  const payload = parseJsonOrUndefined(event.rawBody);
  const plan = deps.planFor(event.source);
  const envelope = buildEnvelope({ ...event, payload }, plan ?? {});
  const { destination } = found;
  const rule_version = destination.ruleVersion ?? null;
  const routed = sources.includes(event.source);
  const matched = routed && (!filter || matchesFilter(filter, filterContext({ ...event, payload })));
  let body = envelope;
  if (transform) {
    const rawText = event.rawBody.toString('utf8');
    const outcome = await defaultRunner(transform, transformInput({ ...event, payload, rawText }));
    if (!outcome.ok)
      return {
        matched,
        routed,
        rule_version,
        error: {
          code: 'transformation_failed' as const,
          message: `${outcome.message}${describePosition(outcome.position)}`,
          ...(outcome.position ? { position: outcome.position } : {}),
        },
      };
    body = outcome.body;
  }
  const configured = Object.fromEntries(Object.keys(destination.headers ?? {}).map((h) => [h, HIDDEN]));
  return {
    matched,
    routed,
    rule_version,
    body,
    headers: {
      ...configured,
      'content-type': 'application/json',
      'user-agent': 'webhook-gateway',
      ...standardWebhooksHeaders(destination.secret, `evt_${event.id ?? 'preview'}`, body, PREVIEW_SIGNED_AT),
    },
  };
}

/** The rules a preview evaluates: the draft's where given (checked like a save: 400 invalid_filter / invalid_transform), else the saved ones. */
function draftRules(draft: PreviewInput['draft'], saved: Destination): { filter?: Filter; transform?: Transform } {
  let filter = saved.filter;
  let transform = saved.transform;
  if (draft?.filter !== undefined) {
    const checked = filterSchema.safeParse(draft.filter ?? undefined);
    if (draft.filter !== null && !checked.success)
      throw badRequest('invalid_filter', `draft.filter${checked.error.issues[0]!.message.replace(/^filter/, '')}`);
    filter = draft.filter === null ? undefined : (draft.filter as Filter);
  }
  if (draft?.transform !== undefined) {
    if (draft.transform === null) transform = undefined;
    else {
      // A draft that does not compile is answered like one that fails (200, error with its position),
      // which suits a live preview; only a malformed draft (language, size) is a 400.
      const checked = transformSchema.safeParse(draft.transform);
      if (!checked.success && checked.error.issues.some((i) => i.path[0] !== 'code' || i.code !== 'custom'))
        throw badRequest('invalid_transform', `draft.transform: ${checked.error.issues[0]!.message}`);
      transform = draft.transform as Transform;
    }
  }
  return { filter, transform };
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

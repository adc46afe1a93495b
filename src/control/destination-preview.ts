import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Destination, ForwardingPlan } from '../deliver/destinations';
import { buildEnvelope, type EnvelopeSource } from '../deliver/envelope';
import { filterContext } from '../deliver/filtering';
import { deliveryHeaders, standardWebhooksHeaders } from '../deliver/sign';
import { GatewayError, badRequest, notFound } from '../errors';
import { errorResponses } from '../ops/schemas';
import { matchesFilter, type Filter } from '../routing/filter';
import { filterSchema } from '../config/processing';
import { transformSchema, describePosition, type Transform, type TransformOutcome } from '../transform';
import type { SourceTransformRule } from '../worker/source-transform';
import { defaultRunner, transformInput } from '../deliver/transforming';
import { withheldForMask } from '../transform/masked-error';
import { storedRequestTarget } from '../ingest/request-target';
import type { WebhookEvent } from '../db/schema';
import { parseJsonOrUndefined } from '../worker/handlers';
import { payloadView } from '../ops/payload-view';
import { eventDocument, type DocumentLookup } from '../routing/document';
import { shown, type SourceMask } from '../ops/source-mask';
import { bearer, error, json } from './route-openapi';
import { exactJsonBody } from '../http/exact-json';
import { stringifyExact } from '../json/exact-values';
import {
  HIDDEN,
  PREVIEW_SIGNED_AT,
  PreviewAnswer,
  PreviewBody,
  type PreviewInput,
} from './destination-preview-schemas';

export { PREVIEW_SIGNED_AT } from './destination-preview-schemas';

export interface PreviewDeps {
  /** The destination with its key (file or database), and the sources it serves; undefined: unknown. */
  destination(name: string): Promise<{ destination?: Destination; problem?: string; sources: string[] } | undefined>;
  /** The source's envelope options (provider, aggregate_id path, tenant context). */
  planFor(source: string): ForwardingPlan | undefined;
  /** The source's transformation, applied first as the worker does; left out: none. */
  sourceTransform?(source: string): SourceTransformRule | undefined;
  /** What the ops API hides of the source's events (src/ops/source-mask.ts). */
  maskFor(source: string): SourceMask;
  /** The source provider's documentOf (src/routing/document.ts): a stored event is previewed with its JSON, as the worker reads it. */
  documentOf?: DocumentLookup;
  event(
    id: number,
  ): Promise<
    | Pick<WebhookEvent, 'id' | 'source' | 'webhookId' | 'topic' | 'body' | 'headers' | 'receivedAt' | 'requestTarget'>
    | undefined
  >;
}

/** Runs the destination's filter on the event and builds what it would be sent, signed. */
export async function previewDelivery(deps: PreviewDeps, name: string, input: PreviewInput) {
  const found = await deps.destination(name);
  if (!found) throw notFound('destination_not_found', `No destination named "${name}"`);
  if (!found.destination)
    throw new GatewayError(409, 'destination_unusable', `Destination "${name}": ${found.problem ?? 'unusable here'}`);
  const { filter, transform } = draftRules(input.draft, found.destination);
  const sources = input.draft?.sources ?? found.sources;
  const received = await eventFor(deps, input, sources[0] ?? found.sources[0] ?? name);
  const { destination } = found;
  const rule_version = destination.ruleVersion ?? null;
  const routed = sources.includes(received.source);
  // As the worker does: the source's transformation first, and everything after sees its result.
  const rule = deps.sourceTransform?.(received.source);
  const source_transform = rule ? { source: received.source, transform_version: rule.version } : null;
  // What the worker would record: no payload value quoted when the source masks fields.
  const masksPayload = deps.maskFor(received.source).paths.length > 0;
  const failure = (outcome: Extract<TransformOutcome, { ok: false }>, stage: 'source' | 'destination') =>
    failureOf(withheldForMask(outcome, masksPayload), stage);
  let event = received;
  if (rule) {
    const outcome = await runOn(rule.transform, received);
    if (!outcome.ok)
      return { matched: false, routed, rule_version, source_transform, error: failure(outcome, 'source') };
    event = { ...received, rawBody: Buffer.from(outcome.body) };
  }
  const payload = parseJsonOrUndefined(event.rawBody);
  const plan = deps.planFor(event.source);
  const envelope = buildEnvelope({ ...event, payload }, plan ?? {});
  const matched = routed && (!filter || matchesFilter(filter, filterContext({ ...event, payload })));
  let body = envelope;
  if (transform) {
    const outcome = await runOn(transform, event);
    if (!outcome.ok) return { matched, routed, rule_version, source_transform, error: failure(outcome, 'destination') };
    body = outcome.body;
  }
  const configured = Object.fromEntries(Object.keys(destination.headers ?? {}).map((h) => [h, HIDDEN]));
  return {
    matched,
    routed,
    rule_version,
    source_transform,
    body,
    headers: deliveryHeaders(configured, {
      'content-type': 'application/json',
      'user-agent': 'webhook-gateway',
      ...standardWebhooksHeaders(destination.secret, `evt_${event.id ?? 'preview'}`, body, PREVIEW_SIGNED_AT),
    }),
  };
}

type PreviewEvent = Awaited<ReturnType<typeof eventFor>>;

/** Runs a transformation on the preview's event, with the same `input` a delivery's gets. */
const runOn = (transform: Transform, event: PreviewEvent) =>
  defaultRunner(transform, transformInput({ ...event, payload: parseJsonOrUndefined(event.rawBody) }));

/** A failed transformation as the answer shows it: what a delivery (or the event) would record. */
const failureOf = (outcome: Extract<TransformOutcome, { ok: false }>, stage: 'source' | 'destination') => ({
  code: 'transformation_failed' as const,
  message: `${outcome.message}${describePosition(outcome.position)}`,
  ...(outcome.position ? { position: outcome.position } : {}),
  stage,
});

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
    // A masked source's event is previewed as the ops API shows it (masked text, or a placeholder when
    // it cannot be masked): the answer shows the body, and a draft filter or transformation could
    // otherwise read or guess a masked value (docs/security.md, masking).
    // The envelope's event_type and dedupe_key too, when read from a masked path.
    const mask = deps.maskFor(stored.source);
    const document = eventDocument(deps.documentOf, stored);
    const rawBody =
      mask.paths.length > 0
        ? Buffer.from(payloadView(stored.body, mask.paths, document).body.data)
        : (document ?? stored.body);
    const webhookId = shown(stored.webhookId, mask.webhookId);
    return { ...stored, webhookId, topic: shown(stored.topic, mask.topic), rawBody, payload: undefined };
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
    // Written back with the digits pasted (exactPreviewInput), as the sender's bytes would carry them.
    rawBody: Buffer.from(stringifyExact(input.payload)),
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
    async (c) =>
      c.json(
        await previewDelivery(deps, c.req.valid('param').name, await exactPreviewInput(c, c.req.valid('json'))),
        200,
      ),
  );
}

/**
 * The validated request with its pasted payload and draft filter read exactly: a payload's
 * `{"customer_id": 820982911946154508}` is previewed with those digits, as the event would be, not
 * as JSON.parse's 820982911946154500 (the rest of the request holds no number that could round).
 */
async function exactPreviewInput(c: Context, valid: PreviewInput): Promise<PreviewInput> {
  const exact = (await exactJsonBody(c)) as Pick<PreviewInput, 'payload' | 'draft'>;
  return {
    ...valid,
    ...(valid.payload !== undefined ? { payload: exact.payload } : {}),
    ...(valid.draft?.filter ? { draft: { ...valid.draft, filter: exact.draft!.filter } } : {}),
  };
}

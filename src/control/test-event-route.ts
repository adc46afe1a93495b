import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { GatewayError } from '../errors';
import { errorResponses } from '../ops/schemas';
import { CannotSignError } from '../senders/signers';
import { buildTestEvent } from '../senders/test-event';
import type { ControlRoutesDeps } from './routes';

/** What POST /api/sources/{name}/test-event needs beyond the other source routes. */
export interface TestEventDeps extends Pick<ControlRoutesDeps, 'sources' | 'audit'> {
  /** Answers a request as the gateway's HTTP app does: the test event takes the real ingest path. */
  ingest(request: Request): Response | Promise<Response>;
}

const TestEventBody = z
  .object({
    topic: z.string().min(1).max(100).optional().openapi({
      description: "The event's topic (Shopify: orders/create, GitHub: push); default: the provider's sample",
      example: 'orders/create',
    }),
  })
  .strict()
  .openapi('TestEventRequest');
const TestEventAnswer = z
  .object({
    status: z.enum(['accepted', 'duplicate', 'conflict', 'rejected']).openapi({ description: "Ingest's answer" }),
    event_id: z.number().nullable().openapi({ description: 'The stored event (accepted, conflict)' }),
    topic: z.string().nullable(),
    ingest_status: z.number().openapi({ description: 'The HTTP status ingest answered the signed request with' }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .openapi({ description: 'Why ingest rejected it' }),
  })
  .openapi('TestEventAnswer');

type Answer = z.infer<typeof TestEventAnswer>;

const error = (description: string) => ({ description, content: errorResponses[400].content });

/**
 * `POST /api/sources/{name}/test-event`: a sample event signed with the source's secret as its
 * provider signs it, sent through ingest in-process (verification, rate limit, dedupe, pause all
 * apply), so it proves the source end to end. Admin only: it signs with a stored secret and the
 * event it fabricates flows on to the source's destinations.
 */
export function addTestEventRoute(
  app: OpenAPIHono,
  deps: TestEventDeps,
  NameParam: z.ZodObject<{ name: z.ZodString }>,
): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/sources/{name}/test-event',
      summary: "Send a sample event signed as the source's provider would, through the real ingest path",
      security: [{ opsToken: [] }],
      request: {
        params: NameParam,
        body: { content: { 'application/json': { schema: TestEventBody } }, required: false },
      },
      responses: {
        200: {
          description: "Ingest's answer (also when it rejected the event)",
          content: { 'application/json': { schema: TestEventAnswer } },
        },
        404: error('No such source'),
        409: error('No valid secret, or a source the gateway cannot sign for'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const raw = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : undefined;
      const { topic } = TestEventBody.parse(raw ?? {});
      const source = await deps.sources.signingSource(name);
      let request;
      try {
        request = await buildTestEvent(source, topic);
      } catch (err) {
        if (err instanceof CannotSignError) throw new GatewayError(409, 'cannot_sign', err.message);
        throw err;
      }
      const response = await deps.ingest(
        new Request(new URL(request.path, 'http://gateway.internal'), {
          method: 'POST',
          headers: request.headers,
          body: request.body,
        }),
      );
      const answer = await answerOf(response, request.topic);
      await audit(c, deps, name, answer);
      return c.json(answer, 200);
    },
  );
}

async function answerOf(response: Response, topic: string | undefined): Promise<Answer> {
  const body = (await response.json().catch(() => ({}))) as {
    status?: string;
    id?: number;
    event_id?: number;
    error?: Answer['error'];
  };
  const status =
    response.ok && (body.status === 'accepted' || body.status === 'duplicate' || body.status === 'conflict')
      ? body.status
      : 'rejected';
  return {
    status,
    event_id: body.id ?? body.event_id ?? null,
    topic: topic ?? null,
    ingest_status: response.status,
    ...(status === 'rejected' && body.error ? { error: body.error } : {}),
  };
}

/** The audit entry: the source as it is, with what the test event did (no secret, no signature). */
async function audit(c: Context, deps: TestEventDeps, name: string, answer: Answer): Promise<void> {
  const view = await deps.sources.get(name);
  await deps.audit?.(
    { action: 'source.test_event', source: name, before: null, after: { ...view, test_event: answer } as typeof view },
    c,
  );
}

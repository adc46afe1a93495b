import { z } from '@hono/zod-openapi';

// The preview's request and answer (POST /api/destinations/{name}/preview), apart from what computes it.

/**
 * The signature of a preview is computed at this fixed instant (2000-01-01T00:00:00Z): it proves
 * the key and the bytes (verify it with the destination's secret and that timestamp), but no
 * receiver that checks timestamps (Standard Webhooks libraries allow 5 minutes) accepts it, so a
 * preview cannot be replayed to the destination.
 */
export const PREVIEW_SIGNED_AT = new Date('2000-01-01T00:00:00Z');
export const HIDDEN = '<hidden>';

export const PreviewBody = z
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
export const PreviewAnswer = z
  .object({
    matched: z.boolean().openapi({
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
    source_transform: z.object({ source: z.string(), transform_version: z.number().int() }).nullable().openapi({
      description:
        "The event's source has a transformation (docs/destinations.md#a-sources-transformation): it ran first, and the filter, the envelope and the destination's transformation saw its result; null: none",
    }),
    error: z
      .object({
        code: z.literal('transformation_failed'),
        message: z.string(),
        position: z.unknown().optional(),
        stage: z.enum(['source', 'destination']),
      })
      .optional()
      .openapi({
        description:
          "A transformation failed: no body. stage destination: this delivery would fail (permanently) with it; stage source: the source's, the event would fail with no delivery at all",
      }),
  })
  .openapi('PreviewAnswer');

export type PreviewInput = z.infer<typeof PreviewBody>;

import {
  transformPool,
  describePosition,
  TRANSFORMATION_FAILED,
  type Transform,
  type TransformInput,
  type TransformOutcome,
} from '../transform';
import type { DeliveredEvent } from '../worker/handlers';

/** Runs a transformation (the process's transform threads by default; tests may inject). */
export type TransformRunner = (transform: Transform, input: string) => Promise<TransformOutcome>;
export const defaultRunner: TransformRunner = (transform, input) => transformPool().run(transform, input);

type InputSource = Pick<DeliveredEvent, 'source' | 'webhookId' | 'topic' | 'headers' | 'payload' | 'receivedAt'> & {
  id: number | null;
  rawText?: string;
};

/**
 * What every transformation of an event receives, as JSON text (built once per event): the topic,
 * the stored headers, the body parsed as JSON (its text when it is not JSON, null when not UTF-8),
 * and the event's identity. Numbers beyond 2^53 are rounded here, as in any JSON.parse.
 */
export function transformInput(event: InputSource): string {
  const input: TransformInput = {
    topic: event.topic,
    headers: event.headers,
    body: event.payload !== undefined ? event.payload : (event.rawText ?? null),
    event: {
      id: event.id,
      source: event.source,
      webhookId: event.webhookId,
      receivedAt: event.receivedAt.toISOString(),
    },
  };
  return JSON.stringify(input);
}

/** The delivery error of a failed transformation: permanent for that destination and rule version. */
export const transformationError = (outcome: Extract<TransformOutcome, { ok: false }>) =>
  `${TRANSFORMATION_FAILED}: ${outcome.message}${describePosition(outcome.position)}`;

export const isTransformationError = (error: string | null | undefined) =>
  typeof error === 'string' && error.startsWith(`${TRANSFORMATION_FAILED}:`);

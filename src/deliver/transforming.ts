import {
  transformPool,
  describePosition,
  TRANSFORMATION_FAILED,
  type Transform,
  type TransformInput,
  type TransformOutcome,
} from '../transform';
import type { DeliveredEvent } from '../worker/handlers';
import { isJson, utf8Text } from '../json/read';
import { RawJson, objectJson } from '../json/raw';

/** Runs a transformation (the process's transform threads by default; tests may inject). */
export type TransformRunner = (transform: Transform, input: string) => Promise<TransformOutcome>;
export const defaultRunner: TransformRunner = (transform, input) => transformPool().run(transform, input);

type InputSource = Pick<
  DeliveredEvent,
  'source' | 'webhookId' | 'topic' | 'headers' | 'payload' | 'rawBody' | 'receivedAt'
> & {
  id: number | null;
  rawText?: string;
};

/**
 * What every transformation of an event receives, as JSON text (built once per event): the topic,
 * the stored headers, the body as JSON (its text when it is not JSON, null when not UTF-8), and the
 * event's identity. A JSON body is embedded as the text that was sent, so the thread knows each
 * number's digits and gives them back to the numbers the transformation passes through
 * (src/transform/exact-digits.ts); inside the sandbox they are JavaScript numbers.
 */
export function transformInput(event: InputSource): string {
  const text = event.rawText ?? utf8Text(event.rawBody);
  // `payload` is JSON.parse of a lossy decoding: JSON when the bytes are not UTF-8 and then not embeddable.
  const json = event.payload === undefined ? undefined : text !== undefined && isJson(text) ? text : undefined;
  return objectJson({
    topic: event.topic,
    headers: event.headers,
    body: json !== undefined ? new RawJson(json) : event.payload !== undefined ? event.payload : (text ?? null),
    event: {
      id: event.id,
      source: event.source,
      webhookId: event.webhookId,
      receivedAt: event.receivedAt.toISOString(),
    },
  } satisfies Record<keyof TransformInput, unknown>);
}

/** The delivery error of a failed transformation: permanent for that destination and rule version. */
export const transformationError = (outcome: Extract<TransformOutcome, { ok: false }>) =>
  `${TRANSFORMATION_FAILED}: ${outcome.message}${describePosition(outcome.position)}`;

export const isTransformationError = (error: string | null | undefined) =>
  typeof error === 'string' && error.startsWith(`${TRANSFORMATION_FAILED}:`);

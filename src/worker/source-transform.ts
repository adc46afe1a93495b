import { defaultRunner, transformInput, type TransformRunner } from '../deliver/transforming';
import { TRANSFORMATION_FAILED, describePosition, type Transform } from '../transform/types';
import { withheldForMask } from '../transform/masked-error';
import { PermanentError, toDeliveredEvent, type DeliveredEvent } from './handlers';
import type { ClaimedEvent } from './queue-sql';

/** A source's transformation and the version an attempt records when it runs it. */
export interface SourceTransformRule {
  transform: Transform;
  version: number;
  /** The source masks payload fields: a failure's message quotes no payload value (src/transform/masked-error.ts). */
  masksPayload?: boolean;
}

/** The source's rule right now (read at each attempt); undefined: the event is routed as received. */
export type SourceTransformLookup = (source: string) => SourceTransformRule | undefined;

/**
 * A source's transformation failed: the event fails at once (it would fail the same way on every
 * retry) and no destination is tried. Named for the code, so the event's error reads
 * `transformation_failed: <message>` like a destination's failed delivery.
 */
export class TransformationFailedError extends PermanentError {
  override name = TRANSFORMATION_FAILED;
}

/**
 * The event as routing sees it (docs/destinations.md#a-sources-transformation): the same claim
 * with the transformation's JSON as its body, so destination filters, destination
 * transformations, the envelope and handlers all read the computed payload. Only this attempt's
 * view changes: the stored body is never written. The transformation receives the event as
 * received, the same `input` a destination's gets.
 */
export async function transformForRouting(
  event: ClaimedEvent,
  received: DeliveredEvent,
  rule: SourceTransformRule,
  run: TransformRunner = defaultRunner,
): Promise<DeliveredEvent> {
  const outcome = await run(rule.transform, transformInput(received));
  if (!outcome.ok) {
    const shown = withheldForMask(outcome, rule.masksPayload ?? false);
    throw new TransformationFailedError(`${shown.message}${describePosition(shown.position)}`);
  }
  return toDeliveredEvent({ ...event, body: Buffer.from(outcome.body) });
}

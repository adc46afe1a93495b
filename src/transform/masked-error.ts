import { DEADLINE_MESSAGE, TRANSFORM_MEMORY_MB, MAX_TRANSFORM_OUTPUT, type TransformOutcome } from './types';

/** The messages the gateway writes itself: they never hold a payload value. */
const OWN_MESSAGES = new Set([
  DEADLINE_MESSAGE,
  `ran out of memory (limit ${TRANSFORM_MEMORY_MB} MB)`,
  `the result is larger than ${MAX_TRANSFORM_OUTPUT} bytes`,
]);

/** "T2001: …" (a JSONata code) or "TypeError: …" (a JavaScript error's name). */
const LEADING_CODE = /^([A-Za-z][A-Za-z0-9_]{0,63}): /;

export const WITHHELD = 'message withheld: this source masks payload fields (docs/security.md)';

/**
 * A failed transformation's outcome as a source that masks payload fields may show it. JSONata
 * and JavaScript error messages quote the values they choke on ("… cast value to a number:
 * \"alice@example.com\""), and a script may throw any text it builds from the payload, so a
 * message cannot be told to be free of masked values: for such a source only the error's code or
 * name and its position in the code are kept, plus the gateway's own fixed messages (deadline,
 * memory, output size). Error texts are stored in last_error and delivery errors, which viewers
 * read and the worker logs. Sources without masks keep the full message.
 */
export function withheldForMask(outcome: Extract<TransformOutcome, { ok: false }>, masks: boolean): typeof outcome {
  if (!masks || OWN_MESSAGES.has(outcome.message)) return outcome;
  const code = LEADING_CODE.exec(outcome.message)?.[1];
  return { ...outcome, message: code ? `${code}: ${WITHHELD}` : WITHHELD };
}

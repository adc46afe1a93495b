import type { Context } from 'hono';
import { badRequest } from '../errors';
import { InexactJsonError, parseExact, stringifyExact } from '../json/exact-values';

// The ops API's JSON in and out (destinations, their preview, the audit log) without rounding a
// number: a filter's `{"customer_id": 820982911946154508}` is read, saved and shown with those digits, and a pasted
// preview payload is read so too (src/json/exact-values.ts). Hono's c.req.json() and c.json() use
// JSON.parse and JSON.stringify, which would make it 820982911946154500.

/**
 * The request's JSON body read exactly. The route's validator has already refused text that is not
 * JSON; what remains is valid JSON without one exact reading (a key repeated with different values,
 * nesting beyond what is parsed): 400 invalid_json saying so.
 */
export async function exactJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return parseExact(text);
  } catch (err) {
    if (err instanceof InexactJsonError) throw badRequest('invalid_json', `The body ${err.message}`);
    throw badRequest('invalid_json', 'The body is not valid JSON');
  }
}

/** A JSON answer whose exact numbers (LosslessNumber) are written with their digits. */
export const exactJson = (c: Context, value: unknown, status: 200 | 201) =>
  c.body(stringifyExact(value), status, { 'content-type': 'application/json' });

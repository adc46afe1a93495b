import { isLosslessNumber } from 'lossless-json';
import { z } from 'zod';
import { badRequest } from '../src/errors';
import { decodeUtf8Reversibly } from '../src/json/escaped-utf8';
import { parseNumbersAsText, readExactJsonText } from '../src/json/read';
import { headerName } from './options';
import { contentDigest, requireHeaders } from './signature';
import type { EventIdentity, IdentityPaths, InboundRequest, RequestHead, Verification } from './types';

/** A dot path into the JSON payload ("data.object.id"; numeric segments index arrays). */
const jsonPath = z
  .string()
  .regex(/^[^.]+(?:\.[^.]+)*$/, 'must be a dot path such as data.id')
  .transform((path) => path.split('.'));

/**
 * Where a configurable source (generic HMAC, basic auth, API key) finds the webhook id and topic.
 * Without an id the dedupe key is the hash of the signed content, so a retry of the same signed
 * bytes stores once.
 */
export const identityOptions = {
  id_header: headerName.optional(),
  id_path: jsonPath.optional(),
  topic_header: headerName.optional(),
  topic_path: jsonPath.optional(),
};

type IdentityOptions = z.output<z.ZodObject<typeof identityOptions>>;

/** Config-time check: id and topic each come from at most one place. */
export function identityProblems(options: IdentityOptions): { path: string; message: string }[] {
  const problems = [];
  if (options.id_header && options.id_path)
    problems.push({ path: 'id_path', message: 'set id_header or id_path, not both' });
  if (options.topic_header && options.topic_path) {
    problems.push({ path: 'topic_path', message: 'set topic_header or topic_path, not both' });
  }
  return problems;
}

/** Headers named by the identity options, worth keeping with the event. */
export const identityHeaders = (options: IdentityOptions) =>
  [options.id_header, options.topic_header].filter((name) => name !== undefined);

/** The body paths the identity is read from (id_path, topic_path), for masking (src/ops/source-mask.ts). */
export const identityPaths = (options: IdentityOptions): IdentityPaths => ({
  ...(options.id_path ? { webhookId: [options.id_path] } : {}),
  ...(options.topic_path ? { topic: [options.topic_path] } : {}),
});

/** The id header's value: present and within the length bound, else 400. */
const idFromHeader = (name: string, request: RequestHead) => requireHeaders(request.headers, [name], 'identity')[name]!;

/** The topic header's value, or 'unknown' when it is absent or blank. */
const topicFromHeader = (name: string, request: RequestHead) => request.headers[name]?.trim() || 'unknown';

/**
 * The identifyHead of a configurable source: the id and topic headers, before the body is read.
 * Undefined when there is nothing to check there: no identity header, or an id read from the body
 * (its errors come first, so the topic header must wait for them).
 */
export function configuredIdentityHead(
  options: IdentityOptions,
): ((request: RequestHead) => Partial<EventIdentity>) | undefined {
  const { id_header: id, topic_header: topic } = options;
  if (options.id_path || (!id && !topic)) return undefined;
  return (request) => ({
    webhookId: id ? idFromHeader(id, request) : undefined,
    topic: topic ? topicFromHeader(topic, request) : undefined,
  });
}

/** The event identity a configurable source declares; `provider` names it in error messages. */
export function identifyConfigured(
  options: IdentityOptions,
  request: InboundRequest,
  verification: Verification,
  provider: string,
): EventIdentity {
  let webhookId = contentDigest(verification.signed);
  if (options.id_header) {
    webhookId = idFromHeader(options.id_header, request);
  } else if (options.id_path) {
    const body = exactJson(request.rawBody);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest(
        'invalid_json',
        `${provider} payload must be a JSON object${body === undefined ? '; the body is not valid JSON' : ''}`,
      );
    }
    const value = scalarAt(body, options.id_path);
    if (value === undefined) {
      throw badRequest(
        'missing_id',
        `${provider} payload has no string or number at ${options.id_path.join('.')} to deduplicate on`,
      );
    }
    webhookId = value;
  }
  if (options.topic_header) return { webhookId, topic: topicFromHeader(options.topic_header, request) };
  const topic = options.topic_path ? scalarAt(exactJson(request.rawBody), options.topic_path) : undefined;
  return { webhookId, topic: topic || 'unknown' };
}

/**
 * The body with every number as the exact text that was sent (lossless-json): JSON.parse turns two
 * ids beyond 2^53 that differ only in their last digits into one number, so they would dedupe as
 * one event. A body lossless-json does not read (nested beyond MAX_JSON_DEPTH, a key repeated with
 * different values) is read as JSON.parse reads it, its numbers still exact (parseNumbersAsText);
 * undefined when it is not JSON at all. Bytes that are not UTF-8 are escaped, not replaced
 * (decodeUtf8Reversibly), so two ids differing only in them stay two ids.
 */
function exactJson(rawBody: Buffer): unknown {
  const read = readExactJsonText(decodeUtf8Reversibly(rawBody));
  if (read.ok) return read.value;
  return read.text === undefined ? undefined : parseNumbersAsText(read.text);
}

/** The non-empty string or finite number at a path, as text (a number as the sender wrote it). */
function scalarAt(value: unknown, path: readonly string[]): string | undefined {
  let node = value;
  for (const segment of path) {
    if (Array.isArray(node) && /^\d+$/.test(segment)) node = node[Number(segment)];
    else if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.hasOwn(node, segment)) {
      node = (node as Record<string, unknown>)[segment];
    } else return undefined;
  }
  if (typeof node === 'string' && node.length > 0) return node;
  if (isLosslessNumber(node)) return node.value;
  if (typeof node === 'number' && Number.isFinite(node)) return String(node);
  return undefined;
}

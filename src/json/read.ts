import { parse } from 'lossless-json';

/**
 * Deepest nesting of arrays and objects the gateway parses into values (the ops API's payload, a
 * handler's `exactPayload`, the envelope's `aggregate_id`). The parsers and printers involved
 * recurse once or more per level: Node's JSON.stringify overflows its stack near 4,100 levels and
 * lossless-json's parse (ours, and the web UI's) near 5,000 (measured on Node 20); Jackson stops at
 * 1,000 by default and serde_json at 128. Real webhook payloads nest about ten levels (Shopify's
 * orders/create test order: 7). 256 is 25 times deeper than senders go and leaves a 16-fold margin
 * below the first overflow for whatever walks the value afterwards (the UI's tree, a handler).
 * Deeper bodies are still stored, forwarded verbatim and shown as raw text.
 */
export const MAX_JSON_DEPTH = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text when they are valid UTF-8, else undefined. A BOM is kept (never silently dropped). */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * True when the text is exactly one JSON value (RFC 8259; a BOM or a comment makes it false).
 * V8's JSON.parse is iterative: linear in the length and safe at any depth (a 200,000-level body
 * parses), which is what checking a body before embedding it verbatim needs.
 */
export function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Calls `visit` with each character code outside JSON strings and its offset; `visit` returns the
 * offset it is done with (past what it consumed), or -1 to stop. One pass, no recursion: brackets,
 * digits and quotes inside strings are never seen.
 */
function forEachOutsideStrings(text: string, visit: (c: number, i: number) => number): void {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // the escaped character cannot end the string
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else {
      i = visit(c, i);
      if (i < 0) return;
    }
  }
}

/**
 * Whether arrays and objects nest deeper than `limit`, stopping at the first bracket beyond it.
 * Brackets inside strings do not count.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let deeper = false;
  forEachOutsideStrings(text, (c, i) => {
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) deeper = true;
    } else if (c === 0x5d || c === 0x7d) depth--;
    return deeper ? -1 : i;
  });
  return deeper;
}

export type JsonUnavailable = 'not_utf8' | 'not_json' | 'nesting_too_deep' | 'duplicate_keys';

/** A body read as exact JSON, or why it could not be. */
export type ExactJson =
  { ok: true; text: string; value: unknown } | { ok: false; reason: JsonUnavailable; message: string; text?: string };

/**
 * Reads a body with lossless-json: every number becomes a LosslessNumber holding the exact text
 * that was sent (`.value`), so ids beyond 2^53, long decimals, `-0` and `1e400` survive. Nesting is
 * checked first, so no body can overflow the parser's stack. lossless-json refuses an object that
 * repeats a key with different values (JSON.parse silently keeps the last); such a body is valid
 * JSON but has no single exact reading.
 */
export function readExactJson(bytes: Uint8Array): ExactJson {
  const text = utf8Text(bytes);
  if (text === undefined)
    return { ok: false, reason: 'not_utf8', message: 'The body is not UTF-8 text, so it is not JSON' };
  return readExactJsonText(text);
}

/** readExactJson for text already decoded (src/json/escaped-utf8.ts decodes bytes that are not UTF-8). */
export function readExactJsonText(text: string): ExactJson {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      reason: 'nesting_too_deep',
      message: `The body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels, the most the gateway parses; read it as raw text`,
      text,
    };
  }
  try {
    return { ok: true, text, value: parse(text) };
  } catch (err) {
    if (!isJson(text)) return { ok: false, reason: 'not_json', message: 'The body is not valid JSON', text };
    const detail = err instanceof Error ? ` (${err.message})` : '';
    return {
      ok: false,
      reason: 'duplicate_keys',
      message: `The body repeats a key within an object with different values${detail}; read it as raw text`,
      text,
    };
  }
}

/**
 * Valid JSON that lossless-json does not read (nested beyond MAX_JSON_DEPTH, a key repeated with
 * different values) as V8's JSON.parse reads it (iterative: any depth; the last copy of a key wins),
 * but with every number literal a string of its exact text, so none is rounded. For finding one
 * value in it (an id, an ordering key), where a number counts as its text anyway. Undefined when
 * the text is not JSON.
 */
export function parseNumbersAsText(text: string): unknown {
  return isJson(text) ? JSON.parse(quoteNumbers(text)) : undefined;
}

/** Valid JSON text with each number literal quoted. */
function quoteNumbers(text: string): string {
  let out = '';
  let from = 0;
  forEachNumberLiteral(text, (start, end) => {
    out += `${text.slice(from, start)}"${text.slice(start, end)}"`;
    from = end;
  });
  return out + text.slice(from);
}

/**
 * Calls `visit` with the start and end offsets of each number literal in valid JSON text, in
 * order: outside strings, only numbers start with `-` or a digit.
 */
export function forEachNumberLiteral(text: string, visit: (start: number, end: number) => void): void {
  forEachOutsideStrings(text, (c, i) => {
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) return i;
    let end = i + 1;
    while (end < text.length && NUMBER_CHAR.test(text[end]!)) end++;
    visit(i, end);
    return end - 1;
  });
}

const NUMBER_CHAR = /[0-9+\-.eE]/;

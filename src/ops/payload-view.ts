import { readExactJson, utf8Text, type JsonUnavailable } from '../json/read';
import { RawJson } from '../json/raw';
import { maskJsonText } from './mask';

/** How the ops API shows a stored body. */
export interface PayloadView {
  /** The body's JSON text (masked fields replaced), embedded verbatim in the response; null when not shown as JSON. */
  payload: RawJson | null;
  /** Why `payload` is null: the body is not JSON, nests too deeply, or repeats a key. */
  payload_unavailable: { reason: JsonUnavailable; message: string } | null;
  body: { encoding: 'utf8' | 'base64'; data: string; masked: boolean };
  /** Present when `payload` is the JSON the body carries rather than the body (a GitHub form hook's `payload=…`). */
  payload_from?: 'form_payload';
}

/**
 * The payload exactly as sent: the stored text itself, never parsed and re-serialised, so every
 * number literal reaches the API client as the sender wrote it. It is shown as `payload` only when
 * lossless-json (the parser the web UI uses) reads it; otherwise `body` carries the raw text and
 * `payload_unavailable` says why. With masking, a body that cannot be masked is never shown.
 *
 * `document` is the JSON the body carries when the provider wraps it (providers/types.ts,
 * documentOf): shown as `payload` when it is JSON, with `body` still the stored text — or, with
 * masking, the masked JSON, since the form text holds every value unmasked.
 */
export function payloadView(bytes: Buffer, mask: readonly string[], document?: Buffer): PayloadView {
  if (document !== undefined) {
    const read = readExactJson(document);
    if (read.ok) {
      const masking = mask.length > 0;
      const shown = masking ? maskJsonText(read.text, mask) : read.text;
      const body = masking ? { encoding: 'utf8' as const, data: shown, masked: true } : plainBody(bytes);
      return { payload: new RawJson(shown), payload_unavailable: null, body, payload_from: 'form_payload' };
    }
  }
  const read = readExactJson(bytes);
  const masking = mask.length > 0;
  if (read.ok) {
    const shown = masking ? maskJsonText(read.text, mask) : read.text;
    return {
      payload: new RawJson(shown),
      payload_unavailable: null,
      body: { encoding: 'utf8', data: shown, masked: masking },
    };
  }
  const unavailable = { reason: read.reason, message: read.message };
  if (read.reason === 'duplicate_keys' && read.text !== undefined) {
    // Still strict JSON within the depth limit, so it can be masked; every copy of a key is.
    const shown = masking ? maskJsonText(read.text, mask) : read.text;
    return {
      payload: null,
      payload_unavailable: unavailable,
      body: { encoding: 'utf8', data: shown, masked: masking },
    };
  }
  if (masking) {
    const why = read.reason === 'nesting_too_deep' ? 'body nests too deeply to mask' : 'body is not JSON';
    return {
      payload: null,
      payload_unavailable: unavailable,
      body: { encoding: 'utf8', data: `[masked: ${why}]`, masked: true },
    };
  }
  return { payload: null, payload_unavailable: unavailable, body: plainBody(bytes, read.text) };
}

/** The stored bytes as the view's `body`: their text, or base64 when they are not UTF-8. */
function plainBody(bytes: Buffer, text: string | undefined = utf8Text(bytes)): PayloadView['body'] {
  return text === undefined
    ? { encoding: 'base64', data: bytes.toString('base64'), masked: false }
    : { encoding: 'utf8', data: text, masked: false };
}

import { readExactJson, type JsonUnavailable } from '../json/read';
import { RawJson } from '../json/raw';
import { maskJsonText } from './mask';

/** How the ops API shows a stored body. */
export interface PayloadView {
  /** The body's JSON text (masked fields replaced), embedded verbatim in the response; null when not shown as JSON. */
  payload: RawJson | null;
  /** Why `payload` is null: the body is not JSON, nests too deeply, or repeats a key. */
  payload_unavailable: { reason: JsonUnavailable; message: string } | null;
  body: { encoding: 'utf8' | 'base64'; data: string; masked: boolean };
}

/**
 * The payload exactly as sent: the stored text itself, never parsed and re-serialised, so every
 * number literal reaches the API client as the sender wrote it. It is shown as `payload` only when
 * lossless-json (the parser the web UI uses) reads it; otherwise `body` carries the raw text and
 * `payload_unavailable` says why. With masking, a body that cannot be masked is never shown.
 */
export function payloadView(bytes: Buffer, mask: readonly string[]): PayloadView {
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
  const body =
    read.text === undefined
      ? { encoding: 'base64' as const, data: bytes.toString('base64'), masked: false }
      : { encoding: 'utf8' as const, data: read.text, masked: false };
  return { payload: null, payload_unavailable: unavailable, body };
}

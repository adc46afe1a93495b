import { terminalSafe } from './context';

/** One Server-Sent Events message. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  /** Set when the message's data passed the reader's limit: `data` is then empty, the rest was skipped. */
  oversize?: true;
}

/**
 * Most characters of one message's data (and of any one line). A live-stream message with
 * `include=request` carries the stored body in base64: 64 Mi characters hold a 48 MiB body, far
 * above MAX_BODY_BYTES' default (1 MiB) and a polled file's event at the default max_file_bytes.
 * A stream that never ends a line (not the gateway, or a broken proxy) can make the CLI hold no more.
 */
export const MAX_SSE_MESSAGE_CHARS = 64 * 1024 * 1024;

/** The line `tail` and `listen` print for an oversize message (the id made safe for a terminal). */
export function skippedMessage(id: string | undefined): string {
  const which = id ? ` (id ${terminalSafe(id.slice(0, 40))})` : '';
  return `Skipped a stream message${which} larger than ${MAX_SSE_MESSAGE_CHARS} characters: it was not read`;
}

/** Stands for a line longer than the limit: its text was dropped as it arrived. */
const TOO_LONG = Symbol('too long');

/**
 * The lines of a byte stream (split at CRLF, LF or CR), each at most `maxChars`; a longer one is
 * dropped as it arrives and yielded as TOO_LONG. Each chunk is searched once: the text of an
 * unfinished line is kept as a list of pieces, never re-scanned (nor one growing string, which V8
 * copies whole on every search).
 */
async function* linesOf(body: ReadableStream<Uint8Array>, maxChars: number): AsyncGenerator<string | typeof TOO_LONG> {
  const decoder = new TextDecoder();
  const breaks = /[\r\n]/g;
  let pieces: string[] = [];
  let length = 0;
  let skipping = false;
  // The last chunk ended with "\r": a "\n" starting the next one belongs to that line break.
  let afterCr = false;
  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    if (text === '') continue;
    let from = afterCr && text.startsWith('\n') ? 1 : 0;
    afterCr = false;
    for (;;) {
      breaks.lastIndex = from;
      const found = breaks.exec(text);
      if (!found) break;
      const end = found.index;
      const last = text.slice(from, end);
      if (skipping || length + last.length > maxChars) yield TOO_LONG;
      else yield pieces.length === 0 ? last : pieces.join('') + last;
      pieces = [];
      length = 0;
      skipping = false;
      from = end + 1;
      if (text[end] === '\r') {
        if (from === text.length) afterCr = true;
        else if (text[from] === '\n') from += 1;
      }
    }
    if (skipping || from === text.length) continue;
    const rest = text.slice(from);
    length += rest.length;
    if (length > maxChars) {
      skipping = true;
      pieces = [];
      length = 0;
    } else pieces.push(rest);
  }
}

/**
 * Reads a `text/event-stream` body message by message (the WHATWG parsing rules: fields up to a
 * blank line, `:` comments ignored, one optional space after the colon, data lines joined by "\n").
 * A message whose data passes `maxChars` is not buffered: the rest of it is skipped and it is
 * yielded with `oversize` set and no data, so a reader can say so and go on.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxChars = MAX_SSE_MESSAGE_CHARS,
): AsyncGenerator<SseMessage> {
  let oversize = false;
  let event = '';
  let id: string | undefined;
  let data: string[] = [];
  let dataChars = 0;
  for await (const line of linesOf(body, maxChars)) {
    if (line === TOO_LONG) {
      oversize = true;
      data = [];
      continue;
    }
    if (line === '') {
      if (oversize) yield { event: event || 'message', data: '', id, oversize: true };
      else if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
      event = '';
      data = [];
      dataChars = 0;
      oversize = false;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') {
      dataChars += value.length + 1;
      if (dataChars > maxChars) {
        oversize = true;
        data = [];
      } else if (!oversize) data.push(value);
    } else if (field === 'id') id = value;
  }
}

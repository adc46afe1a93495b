import { ApiError } from './client';
import { parseApiJson } from './json';

export interface StreamMessage {
  event: string;
  data: unknown;
}

/**
 * Reads GET `path` as Server-Sent Events with the bearer token (an EventSource cannot send an
 * Authorization header), calling onMessage per message until the stream ends (resolves) or fails
 * (rejects). `onOpen` runs once the response has arrived.
 */
export async function readEventStream(
  path: string,
  options: { token: string; signal: AbortSignal; onOpen?: () => void; onMessage: (message: StreamMessage) => void },
): Promise<void> {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' },
    signal: options.signal,
    cache: 'no-store',
  });
  if (response.status === 401) throw new ApiError(401, 'invalid_token', 'The ops token was refused.');
  if (!response.ok || !response.body)
    throw new ApiError(response.status, `http_${response.status}`, 'The live stream is unavailable.');
  options.onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    // Lines end in \n (or \r\n); a message ends at a blank line; ":" starts a keep-alive comment.
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (data.length) options.onMessage({ event: event || 'message', data: parseApiJson(data.join('\n')) });
        event = '';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
    }
  }
}

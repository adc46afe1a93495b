/* global sessionStorage, localStorage, fetch, window, CustomEvent, TextDecoderStream */
// The ops API from the browser: the bearer token, JSON requests, and the live stream read with
// fetch + ReadableStream (EventSource cannot send an Authorization header).

const KEY = 'webhook-gateway.ops-token';

/** The token lives in sessionStorage (this tab), or localStorage when "remember" was ticked. */
export const token = {
  get: () => sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY),
  set(value, remember) {
    this.clear();
    (remember ? localStorage : sessionStorage).setItem(KEY, value);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One request; a refused token signs the page out (the 'gateway:unauthorized' event). */
export async function api(path, { method = 'GET', body, signal, bearer = token.get() } = {}) {
  const headers = { authorization: `Bearer ${bearer ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      signal,
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'unreachable', 'The gateway cannot be reached. Is it running?');
  }
  if (response.ok) return response.json();
  let error = { code: `http_${response.status}`, message: `The gateway answered ${response.status}` };
  try {
    error = (await response.json()).error ?? error;
  } catch {
    // not JSON: keep the generic message
  }
  if (response.status === 401) window.dispatchEvent(new CustomEvent('gateway:unauthorized'));
  throw new ApiError(response.status, error.code, error.message);
}

/**
 * Reads GET `path` as Server-Sent Events, calling onMessage({ event, data }) per message, until
 * the stream ends (resolves) or fails (rejects). `onOpen` runs once the response has arrived.
 */
export async function readStream(path, { signal, onOpen, onMessage }) {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${token.get() ?? ''}`, accept: 'text/event-stream' },
    signal,
    cache: 'no-store',
  });
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('gateway:unauthorized'));
    throw new ApiError(401, 'invalid_token', 'The ops token was refused');
  }
  if (!response.ok || !response.body)
    throw new ApiError(response.status, `http_${response.status}`, 'The live stream is unavailable');
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    // Lines end in \n (or \r\n); a message ends at a blank line. Comments (":") keep the line open.
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (data.length) onMessage({ event: event || 'message', data: data.join('\n') });
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

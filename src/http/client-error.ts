import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** How the HTTP server is configured, for messages that say what the client must change. */
export interface ClientErrorLimits {
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

interface Answer {
  status: number;
  code: string;
  message: string;
}

// llhttp's error codes (deps/llhttp in Node) by the part of the request they are about. Unknown
// codes get the general 400 of clientErrorAnswer.
const REQUEST_LINE = new Set(['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'HPE_INVALID_VERSION', 'HPE_INVALID_CONSTANT']);
const HEADERS = new Set([
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
]);
const CHUNKED_BODY = new Set(['HPE_INVALID_CHUNK_SIZE']);

/**
 * The answer to a request Node's HTTP parser refused (or timed out) before the app saw it, by the
 * error's code: the statuses of Node's own default answers (431, 413, 408, otherwise 400), with
 * the gateway's JSON error instead of an empty body. Nothing of the request is quoted.
 */
export function clientErrorAnswer(code: string | undefined, limits: ClientErrorLimits): Answer {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers_too_large',
        message: `The request line and headers exceed ${limits.maxHeaderBytes} bytes; send fewer or shorter headers`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: 'chunk_extensions_too_large',
        message: 'The chunk extensions of the body are too large; send the body without them',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'request_timeout',
        message: `The request did not arrive in time: headers within ${limits.headersTimeoutMs} ms, the whole request within ${limits.requestTimeoutMs} ms`,
      };
    case 'HPE_INVALID_EOF_STATE':
      return {
        status: 400,
        code: 'incomplete_request',
        message: 'The connection was closed before the request was complete',
      };
  }
  if (code && REQUEST_LINE.has(code))
    return { status: 400, code: 'malformed_request_line', message: 'The request line is not "METHOD /path HTTP/1.1"' };
  if (code && HEADERS.has(code))
    return {
      status: 400,
      code: 'malformed_headers',
      message: 'A request header is malformed (name, Content-Length or Transfer-Encoding)',
    };
  if (code && CHUNKED_BODY.has(code))
    return {
      status: 400,
      code: 'malformed_chunked_body',
      message: 'The chunked body is malformed: each chunk starts with its size in hex, then CRLF',
    };
  return { status: 400, code: 'malformed_request', message: 'The request is not valid HTTP/1.1' };
}

/** A complete HTTP/1.1 response carrying the gateway's JSON error, after which the connection closes. */
export function serializeErrorResponse({ status, code, message }: Answer): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'X-Content-Type-Options: nosniff\r\n' +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * How long a connection whose request was refused may still send before it is cut. Closing at
 * once with unread bytes in the socket makes the kernel send a reset, which can discard the answer
 * before the client reads it; draining briefly first lets it arrive (a "lingering close").
 */
export const LINGER_MS = 1000;

/**
 * The server's 'clientError' listener (replacing Node's default, which answers with an empty
 * body): writes the JSON answer if nothing of a response went out on the connection yet, closes
 * the connection, logs only the error's code — the error itself carries the raw request bytes —
 * and reports the answer's code (a metric: these requests never reach the app or its logs).
 */
export function createClientErrorHandler(logger: Logger, limits: ClientErrorLimits, onRefused: (code: string) => void) {
  const answered = new WeakSet<Duplex>();
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // The parser reports every later chunk of an already refused connection again: it is draining.
    if (answered.has(socket)) return;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    const answer = clientErrorAnswer(err.code, limits);
    logger.debug(
      { code: err.code ?? 'unknown', status: answer.status },
      'refused a request the HTTP parser could not accept',
    );
    onRefused(answer.code);
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // The parser is still healthy here: headers or a body completed during a linger would still
      // reach the app after the client was told 408. Cut at once, as Node's default does (the
      // answer is small enough to leave in one write before the close).
      socket.write(serializeErrorResponse(answer));
      socket.destroy();
      return;
    }
    // After a parse error the parser stays failed: what else arrives is read and dropped.
    socket.end(serializeErrorResponse(answer));
    const cut = setTimeout(() => socket.destroy(), LINGER_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  };
}

/**
 * Whether a response on this connection already sent bytes (a pipelined or in-flight one): a
 * second status line would corrupt it, so the connection is only closed. `_httpMessage` is the
 * response Node's server assigned to the socket; its own default handler checks the same field.
 */
function responseStarted(socket: Duplex): boolean {
  const response = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  return Boolean(response?.headersSent);
}

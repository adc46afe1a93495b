import { BodyTooLargeError, readLimited, readTextPrefix } from '../http/bounded-body';
import { CliError } from './context';
import { stringifyExact } from '../json/exact-values';

/** How long the CLI waits for the gateway's answer by default (`--answer-timeout-ms`). */
export const ANSWER_TIMEOUT_MS = 60_000;
/**
 * Most bytes of one answer the CLI reads. The largest is `events show` of one event, whose body
 * the gateway took (MAX_BODY_BYTES, 1 MiB by default) or a polled file's event (a few times
 * max_file_bytes, at most 64 MiB): 256 MiB is far above both, and bounds what a server that is
 * not the gateway can make the CLI hold.
 */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
/** Bytes of an error answer read for its message (the gateway's are a few hundred). */
const ERROR_ANSWER_BYTES = 64 * 1024;

/**
 * A small client for the ops API: bearer token, JSON in and out, errors as CliError. Each answer
 * must arrive within `timeoutMs` (a stream: its headers) and is read up to MAX_ANSWER_BYTES.
 */
export function createOpsClient(base: string, token: string, timeoutMs = ANSWER_TIMEOUT_MS) {
  const request = async (
    method: string,
    path: string,
    init: { body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<{ response: Response; deadline: Deadline }> => {
    const deadline = startDeadline(timeoutMs, () => noAnswer(base, method, path, timeoutMs));
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        signal: init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal,
        headers: {
          authorization: `Bearer ${token}`,
          ...init.headers,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        // A filter's exact numbers (apply -f) are sent with their digits (src/json/exact-values.ts).
        body: init.body === undefined ? undefined : stringifyExact(init.body),
      });
    } catch (err) {
      deadline.clear();
      if (init.signal?.aborted) throw err;
      if (deadline.signal.aborted) throw deadline.error();
      throw unreachable(base, err);
    }
    if (!response.ok) {
      try {
        throw await httpError(response);
      } finally {
        deadline.clear();
      }
    }
    return { response, deadline };
  };

  /** The answer's bytes, within the deadline and MAX_ANSWER_BYTES. */
  const read = async ({ response, deadline }: { response: Response; deadline: Deadline }, what: string) => {
    try {
      if (!response.body) return '';
      const bytes = await readLimited(
        response.body,
        MAX_ANSWER_BYTES,
        () => new BodyTooLargeError(`The answer to ${what} is larger than ${MAX_ANSWER_BYTES} bytes; it was not read`),
      );
      return bytes.toString('utf8');
    } catch (err) {
      if (deadline.signal.aborted) throw deadline.error();
      if (err instanceof BodyTooLargeError) throw new CliError(err.message);
      throw new CliError(`The answer to ${what} broke off: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      deadline.clear();
    }
  };
  const json = async (exchange: { response: Response; deadline: Deadline }, what: string) => {
    const text = await read(exchange, what);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CliError(`The answer to ${what} is not JSON: is --url the gateway's address?`);
    }
  };

  return {
    /** GET a JSON resource. */
    async get<T>(path: string): Promise<T> {
      return (await json(await request('GET', path), `GET ${path}`)) as T;
    },
    /** GET a JSON resource as its text, to print it without rounding any number. */
    async getText(path: string): Promise<string> {
      return read(await request('GET', path), `GET ${path}`);
    },
    /** POST a JSON body, returning the JSON answer. */
    async post<T>(path: string, body: unknown = {}): Promise<T> {
      return (await json(await request('POST', path, { body }), `POST ${path}`)) as T;
    },
    /** DELETE a resource, returning the JSON answer. */
    async delete<T>(path: string): Promise<T> {
      return (await json(await request('DELETE', path), `DELETE ${path}`)) as T;
    },
    /** Any method with an optional JSON body (PATCH, DELETE, …) and headers (If-Match), returning the JSON answer. */
    async call<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
      const exchange = await request(method, path, { body, headers });
      // 204 No Content (a DELETE of the alerts API) has no body to parse.
      if (exchange.response.status === 204) {
        exchange.deadline.clear();
        void exchange.response.body?.cancel().catch(() => {});
        return undefined as T;
      }
      return (await json(exchange, `${method} ${path}`)) as T;
    },
    /**
     * Opens a streaming GET (Server-Sent Events) and returns the response with its body unread.
     * The timeout covers the answer's headers only: the stream itself lasts until `signal`.
     */
    async stream(path: string, signal: AbortSignal, headers?: Record<string, string>): Promise<Response> {
      const { response, deadline } = await request('GET', path, { signal, headers });
      deadline.clear();
      return response;
    },
  };
}

interface Deadline {
  signal: AbortSignal;
  /** The CliError to report once the deadline has passed. */
  error(): CliError;
  clear(): void;
}

/** An abort signal that fires after `ms` unless cleared first (AbortSignal.timeout cannot be cleared). */
function startDeadline(ms: number, error: () => CliError): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, error, clear: () => clearTimeout(timer) };
}

/** Connected, but no (complete) answer in time. */
function noAnswer(base: string, method: string, path: string, timeoutMs: number): CliError {
  return new CliError(
    `The gateway at ${base} did not answer ${method} ${path.split('?')[0]} within ${timeoutMs} ms. ` +
      'Is it overloaded, or is --url another server? --answer-timeout-ms waits longer.',
  );
}

export type OpsClient = ReturnType<typeof createOpsClient>;

/** No answer at all: say where we tried and what to check. */
export function unreachable(base: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new CliError(
    `Cannot reach the gateway at ${base} (${reason}). Is it running (npm start)? Pass --url to use another address.`,
  );
}

/** The gateway's `{"error":{"code","message"}}` as one line, with a hint for a refused token; exit code 2 for a 400. */
export async function httpError(
  response: Response,
  hintFor: (status: number, code: string) => string | undefined = opsHint,
): Promise<CliError> {
  const text = await readTextPrefix(response, ERROR_ANSWER_BYTES);
  let code = `http_${response.status}`;
  let message = text.slice(0, 200) || response.statusText;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not the gateway's JSON (a proxy's page, say): show the start of the text.
  }
  const extra = hintFor(response.status, code);
  const hint = extra ? `${/[.!?]$/.test(message) ? '' : '.'} ${extra}` : '';
  // A 400 means the arguments made an invalid request (a bad --status or --since): wrong usage.
  return new CliError(
    `The gateway answered ${response.status} ${code}: ${message}${hint}`,
    response.status === 400 ? 2 : 1,
    code,
  );
}

/** The ops API's 401 is about the ops token; its 403 about the token's role; its 412 about a change made meanwhile (If-Match). */
const opsHint = (status: number) =>
  status === 401
    ? 'Check --token or OPS_API_TOKEN.'
    : status === 403
      ? 'Use a token with a larger role (webhook-gateway tokens create --role …).'
      : status === 412
        ? // Also --if-match's answer, where the version was the operator's, not read by this command.
          'Nothing was changed: look at what is stored now (`get`), then run the command again (with --if-match, give the new version).'
        : undefined;

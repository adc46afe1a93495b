import { CliError } from './context';

/** A small client for the ops API: bearer token, JSON in and out, errors as CliError. */
export function createOpsClient(base: string, token: string) {
  const request = async (
    method: string,
    path: string,
    init: { body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ) => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        signal: init.signal,
        headers: {
          authorization: `Bearer ${token}`,
          ...init.headers,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw unreachable(base, err);
    }
    if (!response.ok) throw await httpError(response);
    return response;
  };
  return {
    /** GET a JSON resource. */
    async get<T>(path: string): Promise<T> {
      return (await (await request('GET', path)).json()) as T;
    },
    /** GET a JSON resource as its text, to print it without rounding any number. */
    async getText(path: string): Promise<string> {
      return (await request('GET', path)).text();
    },
    /** POST a JSON body, returning the JSON answer. */
    async post<T>(path: string, body: unknown = {}): Promise<T> {
      return (await (await request('POST', path, { body })).json()) as T;
    },
    /** DELETE a resource, returning the JSON answer. */
    async delete<T>(path: string): Promise<T> {
      return (await (await request('DELETE', path)).json()) as T;
    },
    /** Any method with an optional JSON body (PATCH, DELETE, …), returning the JSON answer. */
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await request(method, path, { body });
      // 204 No Content (a DELETE of the alerts API) has no body to parse.
      return (response.status === 204 ? undefined : await response.json()) as T;
    },
    /** Opens a streaming GET (Server-Sent Events) and returns the response with its body unread. */
    stream(path: string, signal: AbortSignal, headers?: Record<string, string>): Promise<Response> {
      return request('GET', path, { signal, headers });
    },
  };
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
  const text = await response.text().catch(() => '');
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
  );
}

/** The ops API's 401 is about the ops token; its 403 about the token's role. */
const opsHint = (status: number) =>
  status === 401
    ? 'Check --token or OPS_API_TOKEN.'
    : status === 403
      ? 'Use a token with a larger role (webhook-gateway tokens create --role …).'
      : undefined;

import { http, HttpResponse, type HttpHandler } from 'msw';

// A fake SPS Commerce: the client-credentials token endpoint and the Transaction API v5 data
// endpoints (list with cursor pagination, download, delete), built from msw handlers. Every
// SPS-shaped HTTP the poll tests need lives here. The fake keeps its files and tokens in memory and
// records every request, so tests can assert what the gateway asked for.

export const SPS_BASE_URL = 'https://api.sps.test';
export const SPS_TOKEN_URL = 'https://auth.sps.test/oauth/token';
export const SPS_CLIENT_ID = 'gw-client-id';
export const SPS_CLIENT_SECRET = 'sps-client-secret-do-not-log';

const DATA = '/transactions/v5/data/';

export interface SpsRequest {
  method: string;
  /** Path under /transactions/v5/data/ (decoded), e.g. `out/` or `out/PO_1.edi`. */
  path: string;
  query: Record<string, string>;
  /** The bearer token presented. */
  token: string | undefined;
  status: number;
}

interface Fault {
  method: 'GET' | 'DELETE' | 'TOKEN';
  /** Matches listing (`out/`) or file paths by prefix; omitted: any. */
  path?: string;
  status: number;
  retryAfter?: string;
  times: number;
}

export interface FakeSpsOptions {
  /** Clock the fake uses to expire tokens (share it with the client to move time). */
  now?: () => number;
  /** Seconds a token lives. */
  tokenLifetimeSeconds?: number;
}

/** A fresh fake SPS. Pass `handlers` to setupServer; `server` state resets with a new fake. */
export function createFakeSps(options: FakeSpsOptions = {}) {
  const now = options.now ?? Date.now;
  const files = new Map<string, { content: Buffer; declareLength: boolean }>();
  const tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  const requests: SpsRequest[] = [];
  const tokenRequests: Record<string, string>[] = [];
  const faults: Fault[] = [];
  /** Listing entries served as they are, whatever they name (hostile listings). */
  const extraEntries: { path: string; type?: string }[] = [];
  /** Requests to the API host outside /transactions/v5/data/: the gateway must never make any. */
  const strays: { method: string; url: string }[] = [];
  const hooks: {
    afterListPage?: (page: number) => void | Promise<void>;
    beforeDelete?: (path: string) => void | Promise<void>;
  } = {};

  const takeFault = (method: Fault['method'], path: string) => {
    const fault = faults.find((f) => f.method === method && f.times > 0 && (!f.path || path.startsWith(f.path)));
    if (!fault) return undefined;
    fault.times -= 1;
    return HttpResponse.json(
      { title: fault.status === 429 ? 'Too Many Requests' : 'Service Unavailable', status: fault.status },
      { status: fault.status, headers: fault.retryAfter ? { 'retry-after': fault.retryAfter } : {} },
    );
  };

  /** Checks the bearer token; returns a 401 response when it is unknown, revoked or expired. */
  const authorize = (request: Request) => {
    const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
    const known = token ? tokens.get(token) : undefined;
    const ok = known && !known.revoked && now() < known.expiresAt;
    return {
      token,
      denied: ok ? undefined : HttpResponse.json({ title: 'Unauthorized', status: 401 }, { status: 401 }),
    };
  };

  const record = (request: Request, token: string | undefined, status: number) => {
    const url = new URL(request.url);
    requests.push({
      method: request.method,
      path: decodeURIComponent(url.pathname.slice(DATA.length)),
      query: Object.fromEntries(url.searchParams),
      token,
      status,
    });
  };

  const handlers: HttpHandler[] = [
    http.post(SPS_TOKEN_URL, async ({ request }) => {
      const form = Object.fromEntries(new URLSearchParams(await request.text()));
      tokenRequests.push(form);
      const fault = takeFault('TOKEN', '');
      if (fault) return fault;
      if (
        form.grant_type !== 'client_credentials' ||
        form.client_id !== SPS_CLIENT_ID ||
        form.client_secret !== SPS_CLIENT_SECRET
      ) {
        return HttpResponse.json({ error: 'invalid_client', error_description: 'Unauthorized' }, { status: 401 });
      }
      const lifetime = options.tokenLifetimeSeconds ?? 3600;
      const token = `sps-access-token-${tokenRequests.length}`;
      tokens.set(token, { expiresAt: now() + lifetime * 1000, revoked: false });
      return HttpResponse.json({ access_token: token, token_type: 'Bearer', expires_in: lifetime });
    }),

    http.get(`${SPS_BASE_URL}${DATA}*`, async ({ request }) => {
      const url = new URL(request.url);
      const path = decodeURIComponent(url.pathname.slice(DATA.length));
      const { token, denied } = authorize(request);
      const refused = denied ?? takeFault('GET', path);
      if (refused) {
        record(request, token, refused.status);
        return refused;
      }
      record(request, token, 200);

      if (path.endsWith('/')) {
        // Listing: the files directly in this folder, in name order, `limit` per page.
        const limit = Number(url.searchParams.get('limit') ?? 100);
        const offset = Number(url.searchParams.get('cursor')?.replace('page-', '') ?? 0);
        const inFolder = [...files.keys()]
          .filter((p) => p.startsWith(path) && !p.slice(path.length).includes('/'))
          .sort();
        const page = inFolder.slice(offset, offset + limit);
        const next = offset + limit < inFolder.length ? { cursor: `page-${offset + limit}` } : null;
        await hooks.afterListPage?.(offset / limit + 1);
        const extras = offset === 0 ? extraEntries : [];
        return HttpResponse.json({
          results: [...page.map((p) => ({ path: p, type: 'file', url: `${SPS_BASE_URL}${DATA}${p}` })), ...extras],
          paging: { next },
        });
      }

      const file = files.get(path);
      if (!file) return HttpResponse.json({ title: 'Not Found', status: 404 }, { status: 404 });
      if (file.declareLength) {
        return new HttpResponse(file.content, {
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.content.length) },
        });
      }
      // Streamed in chunks without a Content-Length: the client must count the bytes itself.
      const chunks = Array.from({ length: Math.ceil(file.content.length / 1024) }, (_, i) =>
        file.content.subarray(i * 1024, (i + 1) * 1024),
      );
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk) controller.enqueue(new Uint8Array(chunk));
          else controller.close();
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'application/octet-stream' } });
    }),

    http.delete(`${SPS_BASE_URL}${DATA}*`, async ({ request }) => {
      const path = decodeURIComponent(new URL(request.url).pathname.slice(DATA.length));
      const { token, denied } = authorize(request);
      const refused = denied ?? takeFault('DELETE', path);
      if (refused) {
        record(request, token, refused.status);
        return refused;
      }
      await hooks.beforeDelete?.(path);
      const existed = files.delete(path);
      record(request, token, existed ? 204 : 404);
      return existed
        ? new HttpResponse(null, { status: 204 })
        : HttpResponse.json({ title: 'Not Found', status: 404 }, { status: 404 });
    }),
  ];

  // Last, so it only sees what no handler above took.
  handlers.push(
    http.all(`${SPS_BASE_URL}/*`, ({ request }) => {
      strays.push({ method: request.method, url: request.url });
      return HttpResponse.json({ title: 'Forbidden' }, { status: 403 });
    }),
  );

  return {
    handlers,
    requests,
    strays,
    /** Adds a raw entry to the first listing page (not a file the fake can serve). */
    addListingEntry(entry: { path: string; type?: string }) {
      extraEntries.push(entry);
    },
    tokenRequests,
    hooks,
    /** Puts a file in the fake (path relative to the data root, e.g. `out/PO_1.edi`). */
    addFile(path: string, content: string | Buffer, opts: { declareLength?: boolean } = {}) {
      files.set(path, { content: Buffer.from(content), declareLength: opts.declareLength ?? true });
    },
    /** Paths still on the server (not yet acknowledged). */
    remaining: () => [...files.keys()].sort(),
    /** The next `times` matching requests answer `status` (with Retry-After when given). */
    failNext(
      method: Fault['method'],
      status: number,
      opts: { path?: string; retryAfter?: string; times?: number } = {},
    ) {
      faults.push({ method, status, path: opts.path, retryAfter: opts.retryAfter, times: opts.times ?? 1 });
    },
    /** Every token issued so far stops working (as if SPS expired or revoked it early). */
    revokeTokens() {
      for (const t of tokens.values()) t.revoked = true;
    },
    /** Requests other than the token endpoint, filtered by method. */
    calls: (method?: string) => requests.filter((r) => !method || r.method === method),
  };
}

export type FakeSps = ReturnType<typeof createFakeSps>;

/** Options of an SPS REST poll source pointing at the fake (raw config input, before the schema). */
export function spsRestSource(overrides: Record<string, unknown> = {}) {
  return {
    name: 'sps',
    kind: 'sps-rest' as const,
    base_url: SPS_BASE_URL,
    token_url: SPS_TOKEN_URL,
    client_id: SPS_CLIENT_ID,
    client_secret: 'env:SPS_CLIENT_SECRET',
    retry_base_ms: 10,
    retry_max_ms: 5_000,
    request_timeout_ms: 5_000,
    ...overrides,
  };
}

/** The env the poll source schema resolves `env:` secrets from in tests. */
export const SPS_ENV = { SPS_CLIENT_SECRET: SPS_CLIENT_SECRET };

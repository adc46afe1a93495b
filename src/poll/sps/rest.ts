import { z } from 'zod';
import type { SpsRestOptions } from '../config';
import { discard, fetchWithRetry, HttpRetryError, type RetryPolicy } from './http-retry';
import { createTokenCache } from './oauth-token';
import { BodyTooLargeError, readJsonLimited, readLimited, readTextPrefix } from '../../http/bounded-body';
import { childName, quotePath, trimTrailingSlashes } from '../remote-path';
import { FileTooLargeError, RemoteFileError, type PullSession, type PullSource } from '../source';

// The SPS Commerce Transaction API (v5):
//   GET    /transactions/v5/data/out/?limit=&cursor=   → { results: [{ path, type, url }], paging: { next: { cursor } } }
//   GET    /transactions/v5/data/{path}                 → the file
//   DELETE /transactions/v5/data/{path}                 → acknowledge (SPS requires deleting what you took)
// with a bearer token from a client-credentials token endpoint.

const listing = z.object({
  results: z
    .array(
      z.looseObject({
        path: z.string().min(1),
        type: z.string().optional(),
        url: z.string().optional(),
        size: z.number().int().nonnegative().optional(),
      }),
    )
    .default([]),
  paging: z.looseObject({ next: z.looseObject({ cursor: z.string().nullish() }).nullish() }).nullish(),
});

const DATA_PREFIX = '/transactions/v5/data/';
/** A listing page of 1000 entries is about 300 KB; anything past 4 MiB is not a listing. */
const MAX_LISTING_BYTES = 4 * 1024 * 1024;
/** Listing pages in a row with nothing to take before a run gives up (100,000 entries at the default page size). */
const MAX_PAGES_WITHOUT_FILE = 1000;

export interface SpsRestDeps {
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Clock of the token cache (tests move it to expire tokens). */
  now?: () => number;
}

/** The SPS REST pull source. The token cache lives as long as the source, across runs. */
export function createSpsRestSource(options: SpsRestOptions, deps: SpsRestDeps = {}): PullSource {
  const doFetch = deps.fetch ?? fetch;
  const retry: RetryPolicy = {
    maxRetries: options.max_retries,
    baseMs: options.retry_base_ms,
    maxMs: options.retry_max_ms,
    timeoutMs: options.request_timeout_ms,
  };
  const tokens = createTokenCache(
    {
      tokenUrl: options.token_url,
      clientId: options.client_id,
      clientSecret: options.client_secret,
      audience: options.audience,
      scope: options.scope,
    },
    { retry, fetch: doFetch, now: deps.now },
  );
  const base = trimTrailingSlashes(options.base_url);
  const dataUrl = (path: string) => `${base}${DATA_PREFIX}${path.split('/').map(encodeURIComponent).join('/')}`;

  /**
   * One API call with the cached token. A 401 means the token expired or was revoked early: it is
   * dropped and the call is made once more with a fresh one.
   */
  async function call(method: 'GET' | 'DELETE', url: string, signal: AbortSignal, what: string): Promise<Response> {
    for (let fresh = false; ; fresh = true) {
      const token = await tokens.get(signal);
      const response = await fetchWithRetry(
        (s) =>
          doFetch(url, {
            method,
            signal: s,
            headers: { authorization: `Bearer ${token}`, 'user-agent': 'webhook-gateway' },
          }),
        retry,
        signal,
        what,
      );
      if (response.status !== 401 || fresh) return response;
      discard(response);
      tokens.invalidate(token);
    }
  }

  const session: PullSession = {
    async *list(signal) {
      let cursor: string | undefined;
      const seen = new Set<string>();
      let pagesWithoutFile = 0;
      do {
        const url = new URL(dataUrl(options.directory));
        url.searchParams.set('limit', String(options.page_size));
        if (cursor) url.searchParams.set('cursor', cursor);
        if (options.entry_name_prefix) url.searchParams.set('entryNamePrefix', options.entry_name_prefix);
        const response = await call('GET', url.toString(), signal, `listing ${options.directory}`);
        if (!response.ok) throw await unexpected(response, `listing ${options.directory}`);
        const page = listing.safeParse(
          await readJsonLimited(response, MAX_LISTING_BYTES, `listing ${options.directory}`).catch(rethrowTooLarge),
        );
        if (!page.success)
          throw new Error(`listing ${options.directory}: the answer is not a v5 listing (results, paging)`);
        for (const entry of page.data.results) {
          const folder = isDirectory(entry.path, entry.type);
          const raw = folder ? trimTrailingSlashes(entry.path) : entry.path;
          // The API may or may not filter by prefix itself; filtering here makes it certain.
          const prefix = options.entry_name_prefix;
          if (prefix && raw.startsWith(options.directory) && !raw.startsWith(prefix, options.directory.length))
            continue;
          const child = childName(options.directory, raw);
          if ('refusal' in child) {
            pagesWithoutFile = -1; // reported, and counted by max_files_per_run like a file
            yield { path: quotePath(entry.path), name: '', refusal: child.refusal };
            continue;
          }
          if (folder) continue; // a sub-folder: nothing to take
          pagesWithoutFile = -1;
          yield { path: `${options.directory}${child.name}`, name: child.name, size: entry.size };
        }
        // The run stops taking files at max_files_per_run, but a page with none to take (sub-folders,
        // other prefixes) never reaches it: an API handing out new cursors over such pages forever
        // would keep the run, and the source's lock, busy for good.
        if (++pagesWithoutFile >= MAX_PAGES_WITHOUT_FILE)
          throw new Error(
            `listing ${options.directory}: ${MAX_PAGES_WITHOUT_FILE} pages in a row with no file to take; stopped (the next run lists again)`,
          );
        cursor = page.data.paging?.next?.cursor ?? undefined;
        // A cursor handed out twice would loop forever: stop and let the next run continue.
        if (cursor && seen.has(cursor))
          throw new Error(`listing ${options.directory}: the API repeated cursor ${quotePath(cursor)}`);
        if (cursor) seen.add(cursor);
      } while (cursor);
    },

    async download(file, maxBytes, signal) {
      const response = await call('GET', dataUrl(file.path), signal, `downloading ${file.path}`);
      if (response.status === 404) {
        discard(response);
        throw new RemoteFileError('file_gone', `${file.path} was listed but is gone (deleted by another consumer?)`);
      }
      if (!response.ok) throw await unexpected(response, `downloading ${file.path}`);
      const declared = Number(response.headers.get('content-length') ?? NaN);
      if (declared > maxBytes) {
        discard(response);
        throw new FileTooLargeError(file.path, maxBytes, declared);
      }
      if (!response.body) return Buffer.alloc(0);
      return readLimited(response.body, maxBytes, () => new FileTooLargeError(file.path, maxBytes));
    },

    async acknowledge(file, signal) {
      const response = await call('DELETE', dataUrl(file.path), signal, `deleting ${file.path}`);
      discard(response);
      // 404: already gone (a retried DELETE that had succeeded, or a previous run): the goal is met.
      if (!response.ok && response.status !== 404) throw await unexpected(response, `deleting ${file.path}`);
    },

    close: async () => {},
  };

  return { kind: 'sps-rest', connect: async () => session };
}

const isDirectory = (path: string, type: string | undefined) =>
  path.endsWith('/') || (type !== undefined && /^(dir|directory|folder)$/i.test(type));

/** An oversize answer is reported as such; an unreadable one becomes `undefined` (fails the schema). */
function rethrowTooLarge(err: unknown): undefined {
  if (err instanceof BodyTooLargeError) throw err;
  return undefined;
}

/** An answer we cannot use: status and the start of the body, which SPS fills with a problem description. */
async function unexpected(response: Response, what: string): Promise<Error> {
  const text = await readTextPrefix(response);
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new HttpRetryError(`${what}: HTTP ${response.status}${excerpt ? ` ${excerpt}` : ''}`, response.status);
}

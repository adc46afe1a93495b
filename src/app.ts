import { Hono, type ErrorHandler, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import type { Logger } from 'pino';
import { describeDatabaseError, isDataError, sqlState } from './db/errors';
import { GatewayError } from './errors';
import { unroutedAnswer } from './http/unrouted';
import { provideAuthenticator, type Authenticator } from './ops/auth';

/** The HTTP shell: the mounted route groups, and JSON errors for everything. */
export function createApp(deps: {
  logger: Logger;
  routes: Hono<any, any, any>[];
  /** Resolves ops API tokens for requireRole; without one every role-gated route fails closed. */
  authenticator?: Authenticator;
  isStopping?: () => boolean;
  /**
   * Requests under `prefix` (the webhook routes) are answered by an app of their own holding only
   * `routes` (which are in `routes` above too), behind the same shell. See dedicatePrefix.
   */
  dedicated?: { prefix: string; routes: Hono<any, any, any> };
}): Hono {
  const middlewares = shellMiddlewares(deps);
  const onError = errorAnswer(deps.logger);
  const shelled = (routes: Hono<any, any, any>[]) => {
    const app = new Hono();
    for (const middleware of middlewares) app.use(middleware);
    for (const group of routes) app.route('/', group);
    app.notFound(unroutedAnswer(app));
    app.onError(onError);
    return app;
  };
  const app = shelled(deps.routes);
  if (deps.dedicated) dedicatePrefix(app, shelled([deps.dedicated.routes]), deps.dedicated.prefix);
  return app;
}

/**
 * Sends the requests whose path starts with `prefix` to `own` instead of `app`. Why: with 214
 * routes Hono's default router falls back to its trie router (its RegExpRouter refuses three ops
 * routes), which collects and sorts the 16 handlers matching every webhook: 1.6 µs and ~4 KB per
 * request, the largest allocation site of the gateway under load (a sampling allocation profile of
 * an end-to-end burst: 9 % of all bytes). With the webhook routes alone the default router is its
 * RegExpRouter, which answers the same match from a prebuilt table in 0.1 µs. The answer must not
 * change: the handlers both apps match under the prefix are compared here, and a difference (say,
 * a middleware mounted on `/api/*` that `own` lacks) stops the start.
 */
function dedicatePrefix(app: Hono, own: Hono, prefix: string): void {
  const handlers = (of: Hono, method: string, path: string): unknown[] =>
    of.router.match(method, path)[0].map(([[handler]]) => handler);
  for (const method of ['POST', 'GET', 'PUT']) {
    for (const path of [prefix, `${prefix}probe`, `${prefix}probe/sub/path`]) {
      const mine = handlers(own, method, path);
      const theirs = handlers(app, method, path);
      if (mine.length !== theirs.length || mine.some((handler, i) => handler !== theirs[i])) {
        throw new Error(
          `the routes under ${prefix} differ between the app and its dedicated router (${method} ${path})`,
        );
      }
    }
  }
  // And no route of another group is registered under the prefix itself (`GET /api/webhooks/x`
  // would be answered by the webhook routes' 405 otherwise).
  const ownHandlers = new Set(own.routes.map((route) => route.handler));
  const elsewhere = app.routes.find((route) => route.path.startsWith(prefix) && !ownHandlers.has(route.handler));
  if (elsewhere) {
    throw new Error(`${elsewhere.method} ${elsewhere.path} is under ${prefix} but not one of its dedicated routes`);
  }
  const everyRoute = app.fetch;
  app.fetch = (request, env, executionCtx) =>
    getPath(request).startsWith(prefix)
      ? own.fetch(request, env, executionCtx)
      : everyRoute(request, env, executionCtx);
}

/** The middlewares every request passes, created once so that both apps share them. */
function shellMiddlewares(deps: { authenticator?: Authenticator; isStopping?: () => boolean }): MiddlewareHandler[] {
  const middlewares: MiddlewareHandler[] = [];
  if (deps.authenticator) middlewares.push(provideAuthenticator(deps.authenticator));
  // While shutting down, every answer asks the client to close its keep-alive connection, so
  // the server can finish: a busy keep-alive connection would otherwise never become idle.
  if (deps.isStopping) {
    const isStopping = deps.isStopping;
    middlewares.push(async (c, next) => {
      await next();
      if (isStopping()) c.header('connection', 'close');
    });
  }
  return middlewares;
}

/** JSON errors for everything. */
function errorAnswer(logger: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof GatewayError) {
      if (err.internal) logger.error({ err: err.cause ?? err, code: err.code, path: c.req.path }, err.message);
      else if (err.status >= 500) {
        logger.warn(
          // `cause` is logged as describeError's one line (src/logger.ts).
          { code: err.code, path: c.req.path, cause: err.cause },
          err.message,
        );
      }
      return c.json(err.toJSON(), err.status, err.options.headers);
    }
    // Hono's validators throw this for a body that is not what its content-type says (an empty or
    // malformed JSON body): the caller's mistake, answered in our shape rather than as a 500.
    if (err instanceof HTTPException && err.status < 500) {
      return c.json(
        {
          error: {
            code: 'invalid_body',
            message: `${err.message}: send a JSON object, or no content-type with no body`,
          },
        },
        err.status,
      );
    }
    // An operator's search stopped by its statement_timeout (DB_SEARCH_TIMEOUT_MS, src/store/events.ts):
    // the same search would be stopped again, so it says how to narrow it rather than to retry.
    if (sqlState(err) === '57014') {
      logger.warn({ path: c.req.path }, 'search stopped by DB_SEARCH_TIMEOUT_MS');
      return c.json(
        {
          error: {
            code: 'search_timeout',
            message:
              'The database stopped this search after DB_SEARCH_TIMEOUT_MS: no index serves its filters over every day kept; narrow it with since/until, source, status or webhook_id',
          },
        },
        503,
      );
    }
    // A value the database refuses (SQLSTATE class 22 or 54) fails the same way on every retry:
    // the request's fault, not an outage. Routes validate their input first; this is the backstop.
    if (isDataError(err)) {
      const description = describeDatabaseError(err)!;
      logger.warn({ path: c.req.path, cause: description }, 'request refused by the database');
      return c.json(
        {
          error: {
            code: 'invalid_value',
            message: `A value in this request cannot be stored or searched (${description}); correct the request`,
          },
        },
        400,
      );
    }
    logger.error({ err, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal_error', message: 'Internal error' } }, 500);
  };
}

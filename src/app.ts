import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { describeDatabaseError, isDataError } from './db/errors';
import { GatewayError, describeError } from './errors';
import { provideAuthenticator, type Authenticator } from './ops/auth';

/** The HTTP shell: the mounted route groups, and JSON errors for everything. */
export function createApp(deps: {
  logger: Logger;
  routes: Hono<any, any, any>[];
  /** Resolves ops API tokens for requireRole; without one every role-gated route fails closed. */
  authenticator?: Authenticator;
  isStopping?: () => boolean;
}): Hono {
  const app = new Hono();
  if (deps.authenticator) app.use(provideAuthenticator(deps.authenticator));

  // While shutting down, every answer asks the client to close its keep-alive connection, so
  // the server can finish: a busy keep-alive connection would otherwise never become idle.
  if (deps.isStopping) {
    const isStopping = deps.isStopping;
    app.use(async (c, next) => {
      await next();
      if (isStopping()) c.header('connection', 'close');
    });
  }

  for (const routes of deps.routes) app.route('/', routes);

  app.notFound((c) =>
    c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      if (err.internal) deps.logger.error({ err: err.cause ?? err, code: err.code, path: c.req.path }, err.message);
      else if (err.status >= 500) {
        deps.logger.warn({ code: err.code, path: c.req.path, cause: err.cause === undefined ? undefined : describeError(err.cause) }, err.message);
      }
      return c.json(err.toJSON(), err.status, err.options.headers);
    }
    // Hono's validators throw this for a body that is not what its content-type says (an empty or
    // malformed JSON body): the caller's mistake, answered in our shape rather than as a 500.
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: { code: 'invalid_body', message: `${err.message}: send a JSON object, or no content-type with no body` } }, err.status);
    }
    // A value the database refuses (SQLSTATE class 22 or 54) fails the same way on every retry:
    // the request's fault, not an outage. Routes validate their input first; this is the backstop.
    if (isDataError(err)) {
      const description = describeDatabaseError(err)!;
      deps.logger.warn({ path: c.req.path, cause: description }, 'request refused by the database');
      return c.json({ error: { code: 'invalid_value', message: `A value in this request cannot be stored or searched (${description}); correct the request` } }, 400);
    }
    deps.logger.error({ err, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal_error', message: 'Internal error' } }, 500);
  });

  return app;
}

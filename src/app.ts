import { Hono } from 'hono';
import type { Logger } from 'pino';
import { GatewayError } from './errors';

/** The HTTP shell: the mounted route groups, and JSON errors for everything. */
export function createApp(deps: { logger: Logger; routes: Hono<any, any, any>[]; isStopping?: () => boolean }): Hono {
  const app = new Hono();

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
      else if (err.status >= 500) deps.logger.warn({ code: err.code, path: c.req.path, cause: describe(err.cause) }, err.message);
      return c.json(err.toJSON(), err.status, err.options.headers);
    }
    deps.logger.error({ err, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal_error', message: 'Internal error' } }, 500);
  });

  return app;
}

/** One line about a cause, for warnings that need no stack. */
const describe = (cause: unknown) => (cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined);

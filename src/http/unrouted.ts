import type { Context, Hono } from 'hono';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods a route of `app` (not a middleware, which is registered for every method) answers at
 * `path`; HEAD wherever GET is, as Hono answers it with the GET route.
 */
export function allowedMethods(app: Hono<any, any, any>, path: string): string[] {
  const allowed: string[] = METHODS.filter((method) =>
    app.router.match(method, path)[0].some(([[, route]]) => route.method === method),
  );
  return allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
}

/**
 * The answer to a request no route takes: 405 with Allow when the path has routes for other
 * methods (`PUT /api/events` was a 404, as if the path did not exist), else 404.
 */
export function unroutedAnswer(app: Hono<any, any, any>) {
  return (c: Context) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return c.json(
        {
          error: {
            code: 'method_not_allowed',
            message: `${c.req.method} is not supported on ${c.req.path}; use ${allowed.join(', ')}`,
          },
        },
        405,
        { allow: allowed.join(', ') },
      );
    }
    return c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
  };
}

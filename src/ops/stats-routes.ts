import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { StatsSeries as Series, SeriesWindow } from '../store/stats-series';
import { requireOpsToken } from './auth';
import { StatsSeries, StatsSeriesQuery, errorResponses } from './schemas';

export interface SeriesDeps {
  tokens: readonly string[];
  /** Per-minute series from the rollup (src/store/stats-series.ts). */
  series: (window: SeriesWindow, source: string | undefined) => Promise<Series>;
}

/** GET /api/stats/series: the dashboard's charts, one bounded read of the per-minute rollup. */
export function addStatsSeriesRoute(app: OpenAPIHono, deps: SeriesDeps): void {
  app.use('/api/stats/*', requireOpsToken(deps.tokens));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/stats/series',
      summary: 'Per-minute received, completed, failed and rejected counts, latency percentiles and backlog',
      description:
        'Read from the per-minute rollup, so the cost depends on the window, not on the history kept. Counts reach it within about 10 seconds.',
      security: [{ opsToken: [] }],
      request: { query: StatsSeriesQuery },
      responses: {
        200: {
          description: 'One entry per minute in each array',
          content: { 'application/json': { schema: StatsSeries } },
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { window, source } = c.req.valid('query');
      return c.json(await deps.series(window, source), 200);
    },
  );
}
